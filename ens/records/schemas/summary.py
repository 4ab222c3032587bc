"""The records' part of the home screen."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta

from ens.core.api import ReadStruct
from ens.records.schemas.directives import ReviewDue

DirectivesState = Literal["none", "active", "pointer", "revoked"]


# A part of the summary the caller may not read (a professional whose profession the access matrix
# does not open it to) is null.
_CLOSED = "null to a professional whose profession the access matrix does not let read it"


class RecordsSummary(ReadStruct, kw_only=True):
    directives: Annotated[DirectivesState | None, Meta(description=_CLOSED)]
    review_due: ReviewDue | None
    directives_reviewed_at: Annotated[
        datetime | None, Meta(description="When the directives in force were last written or confirmed")
    ]
    trusted_person: Annotated[bool | None, Meta(description=_CLOSED)]
    emergency_contacts: Annotated[
        int | None,
        Meta(description="To a representative, those hidden from representatives are not counted; " + _CLOSED),
    ]
    doctor: Annotated[bool | None, Meta(description=_CLOSED)]
    profile: Annotated[
        int | None,
        Meta(
            description="Entries of the medical profile, all four lists together (to a representative, those "
            "hidden from representatives are not counted; to a professional, the lists the access matrix "
            "lets their profession read: a nurse or a pharmacist counts allergies and treatments only); " + _CLOSED
        ),
    ]
