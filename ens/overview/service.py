"""The home-screen summary of a space, gathered from every capability's service."""

from __future__ import annotations

from ens.overview.schemas import HolderSummary, SpaceSummary
from ens.spaces.door import SpaceAccess
from ens.vaccination.service import due_counts
from ens.vitals.service import bmi_of, latest_values


async def space_summary(access: SpaceAccess) -> SpaceSummary:
    """Holder and status; each capability adds its part of the summary as it lands."""
    space = access.space
    latest = await latest_values(space.id)
    return SpaceSummary(
        id=space.id,
        holder=HolderSummary(
            given_name=space.given_name, family_name=space.family_name, birthdate=space.birthdate, sex=space.sex
        ),
        status=space.status,
        timezone=space.timezone,
        role=access.role,
        vitals=latest,
        bmi=bmi_of(latest),
        vaccination=await due_counts(access),
    )
