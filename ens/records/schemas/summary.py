"""The records' part of the home screen."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta

from ens.core.api import ReadStruct
from ens.records.schemas.directives import ReviewDue

DirectivesState = Literal["none", "active", "pointer", "revoked"]


class RecordsSummary(ReadStruct, kw_only=True):
    directives: DirectivesState
    review_due: ReviewDue
    directives_reviewed_at: Annotated[
        datetime | None, Meta(description="When the directives in force were last written or confirmed")
    ]
    trusted_person: bool
    emergency_contacts: Annotated[
        int, Meta(description="To a representative, those hidden from representatives are not counted")
    ]
    doctor: bool
    profile: Annotated[
        int,
        Meta(
            description="Entries of the medical profile, all four lists together (to a representative, those "
            "hidden from representatives are not counted)"
        ),
    ]
