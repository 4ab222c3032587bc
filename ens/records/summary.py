"""The records' part of the home screen: what is filled in, and whether the directives are due
for a review (a reminder, never an expiry). Each record's module gives its values
(``ens.core.db.Scalar``), which the home screen selects with the documents' in one statement; read
one by one they took six round trips of the home screen's ten."""

from __future__ import annotations

from uuid import UUID

from ens.core import clock
from ens.core.clock import aware, aware_or_none
from ens.core.db import Row, Scalar
from ens.records.directives import current_directives_scalars, review_state
from ens.records.doctor import doctor_recorded
from ens.records.emergency_contacts import count_emergency_contacts
from ens.records.profile import count_profile_entries
from ens.records.schemas import DirectivesState, RecordsSummary
from ens.records.trusted_person import trusted_person_designated


def records_scalars(space_id: UUID, *, with_hidden: bool) -> dict[str, Scalar]:
    """What the home screen selects of the records, in its one statement (:func:`fetch_scalars`).
    Without ``with_hidden`` (a representative asks), the contacts and profile entries hidden from
    representatives are not counted: to them they do not exist."""
    return {
        **current_directives_scalars(space_id),
        "trusted_person": trusted_person_designated(space_id),
        "emergency_contacts": count_emergency_contacts(space_id, with_hidden=with_hidden),
        "doctor": doctor_recorded(space_id),
        "profile": count_profile_entries(space_id, with_hidden=with_hidden),
    }


def records_summary(row: Row) -> RecordsSummary:
    """Whether directives, trusted person, emergency contacts, doctor and profile are filled in,
    from the values :func:`records_scalars` selected."""
    status = row["directives_status"]
    state: DirectivesState
    review_due, reviewed_at = False, None
    if status is None:
        state = "none"
    else:
        state = "revoked" if status == "revoked" else "pointer" if row["directives_form"] == "pointer" else "active"
        reviewed, review_due = review_state(
            status,
            aware(row["directives_created_at"]),
            aware_or_none(row["directives_confirmed_at"]),
            now=clock.now(),
        )
        reviewed_at = reviewed if status == "active" else None
    return RecordsSummary(
        directives=state,
        review_due=review_due,
        directives_reviewed_at=reviewed_at,
        trusted_person=bool(row["trusted_person"]),
        emergency_contacts=int(row["emergency_contacts"]),
        doctor=bool(row["doctor"]),
        profile=int(row["profile"]),
    )
