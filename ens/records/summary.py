"""The records' part of the home screen: what is filled in, and whether the directives are due
for a review (a reminder, never an expiry). Each record's module gives its values
(``ens.core.db.Scalar``), which the home screen selects with the documents' in one statement; read
one by one they took six round trips of the home screen's ten."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from ens.core import clock
from ens.core.clock import aware, aware_or_none
from ens.core.db import Row, Scalar
from ens.records.directives import current_directives_scalars, review_state
from ens.records.doctor import doctor_recorded
from ens.records.emergency_contacts import count_emergency_contacts
from ens.records.profile import KINDS, count_profile_entries
from ens.records.schemas import DirectivesState, RecordsSummary
from ens.records.trusted_person import trusted_person_designated
from ens.spaces.door import SpaceAccess, visible_to

T = TypeVar("T")


def records_scalars(space_id: UUID, *, with_hidden: bool, reads: Callable[[str], bool]) -> dict[str, Scalar]:
    """What the home screen selects of the records, in its one statement (:func:`fetch_scalars`):
    only what the caller ``reads`` (a professional, what the access matrix opens to their
    profession; of the medical profile, the lists it reads). Without ``with_hidden`` (a
    representative asks), the contacts and profile entries hidden from representatives are not
    counted: to them they do not exist."""
    profile = [kind for kind in KINDS if reads(f"profile/{kind.part}")]
    wanted: dict[str, Callable[[], dict[str, Scalar]]] = {
        "directives": lambda: current_directives_scalars(space_id),
        "trusted-person": lambda: {"trusted_person": trusted_person_designated(space_id)},
        "emergency-contacts": lambda: {
            "emergency_contacts": count_emergency_contacts(space_id, with_hidden=with_hidden)
        },
        "doctor": lambda: {"doctor": doctor_recorded(space_id)},
    }
    scalars = {name: scalar for resource, part in wanted.items() if reads(resource) for name, scalar in part().items()}
    if profile:
        scalars["profile"] = count_profile_entries(space_id, with_hidden=with_hidden, kinds=profile)
    return scalars


def records_summary(row: Row, *, timezone: str) -> RecordsSummary:
    """Whether directives, trusted person, emergency contacts, doctor and profile are filled in,
    from the values :func:`records_scalars` selected (``None`` for what it did not select);
    ``timezone``, the space's (the calendar the review reminder is counted on)."""
    selected = set(row.keys())
    state: DirectivesState | None = None
    review_due: bool | None = None
    reviewed_at = None
    if "directives_status" in selected:
        status = row["directives_status"]
        review_due = False
        if status is None:
            state = "none"
        else:
            state = "revoked" if status == "revoked" else "pointer" if row["directives_form"] == "pointer" else "active"
            reviewed, review_due = review_state(
                status,
                aware(row["directives_created_at"]),
                aware_or_none(row["directives_confirmed_at"]),
                now=clock.now(),
                timezone=timezone,
            )
            reviewed_at = reviewed if status == "active" else None

    def value(name: str, kind: Callable[[Any], T]) -> T | None:
        return kind(row[name]) if name in selected else None

    return RecordsSummary(
        directives=state,
        review_due=review_due,
        directives_reviewed_at=reviewed_at,
        trusted_person=value("trusted_person", bool),
        emergency_contacts=value("emergency_contacts", int),
        doctor=value("doctor", bool),
        profile=value("profile", int),
    )


def any_record_seen(access: SpaceAccess) -> Scalar:
    """Whether the space holds a record the caller sees (advance directives, a trusted person now or
    before, an emergency contact, the doctor, a profile entry), as one value of a statement
    (``fetch_scalars``): what the space import calls "not empty". Contacts and profile entries hidden
    from the caller are not seen; directives, the trusted person and the doctor are seen by whoever
    reads the space. Directives' rereadings (``directive_reviews``) come with their versions."""
    seen = visible_to(access)
    kept = ("directive_versions", "trusted_persons", "doctors")
    hideable = ("emergency_contacts", *(kind.table for kind in KINDS))
    exists = [f"EXISTS (SELECT 1 FROM {table} WHERE space_id = {{}})" for table in kept]
    exists += [f"EXISTS (SELECT 1 FROM {table} WHERE space_id = {{}}{seen})" for table in hideable]
    return Scalar("SELECT " + " OR ".join(exists), (access.space_id,) * len(exists))
