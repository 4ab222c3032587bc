"""The records' part of the home screen: what is filled in, and whether the directives are due
for a review (a reminder, never an expiry)."""

from __future__ import annotations

from uuid import UUID

from ens.records.directives import current_directives
from ens.records.doctor import doctor_recorded
from ens.records.emergency_contacts import count_emergency_contacts
from ens.records.profile import count_profile_entries
from ens.records.schemas import DirectivesState, RecordsSummary
from ens.records.trusted_person import trusted_person_designated


async def records_summary(space_id: UUID, *, with_hidden: bool) -> RecordsSummary:
    """Whether directives, trusted person, emergency contacts, doctor and profile are filled in.
    Without ``with_hidden`` (a representative asks), the contacts and profile entries hidden from
    representatives are not counted: to them they do not exist."""
    directives = await current_directives(space_id)
    state: DirectivesState
    if directives is None:
        state = "none"
    elif directives.status == "revoked":
        state = "revoked"
    else:
        state = "pointer" if directives.form == "pointer" else "active"
    return RecordsSummary(
        directives=state,
        review_due=directives.review_due if directives else False,
        directives_reviewed_at=directives.last_reviewed_at if directives and directives.status == "active" else None,
        trusted_person=await trusted_person_designated(space_id),
        emergency_contacts=await count_emergency_contacts(space_id, with_hidden=with_hidden),
        doctor=await doctor_recorded(space_id),
        profile=await count_profile_entries(space_id, with_hidden=with_hidden),
    )
