"""Each list's service functions, with its own rules: conditions and past surgery, allergies,
long-term treatments, family history."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from ens.core.api import Cursors
from ens.core.errors import FieldError, Invalid
from ens.core.local_time import EARLIEST_YEAR, LATEST_YEAR
from ens.records.authorship import today_in
from ens.records.profile.entries import _add, _change, _one, _page, _remove
from ens.records.profile.kinds import ALLERGIES, CONDITIONS, FAMILY_HISTORY, TREATMENTS
from ens.records.schemas import (
    AllergyCreate,
    AllergyPage,
    AllergyRead,
    AllergyUpdate,
    ConditionCreate,
    ConditionPage,
    ConditionRead,
    ConditionUpdate,
    FamilyHistoryCreate,
    FamilyHistoryPage,
    FamilyHistoryRead,
    FamilyHistoryUpdate,
    TreatmentCreate,
    TreatmentPage,
    TreatmentRead,
    TreatmentUpdate,
)
from ens.spaces.door import SpaceAccess


def _a_past_day(day: date | None, *, pointer: str, today: date, born: date | None, errors: list[FieldError]) -> None:
    if day is not None and day > today:
        errors.append(FieldError(pointer, "in the future"))
    elif day is not None and day.year < EARLIEST_YEAR:
        # A day of a person's medical history is in a life (as a document's date, a measure's).
        errors.append(FieldError(pointer, f"before {EARLIEST_YEAR}"))
    elif day is not None and born is not None and day < born:
        # Since before the holder was born (an outside audit: a 2005 onset for a child born 2019).
        errors.append(FieldError(pointer, "before the holder's birth"))


# ---------------------------------------------------------------------------------------------
# Conditions and past surgery


async def list_conditions(
    access: SpaceAccess, cursors: Cursors, *, limit: int | None, cursor: str | None
) -> ConditionPage:
    """Conditions and past surgery, in the order they were written."""
    items, next_cursor = await _page(CONDITIONS, access, cursors, limit=limit, cursor=cursor)
    return ConditionPage(items=items, next_cursor=next_cursor)


async def get_condition(access: SpaceAccess, item_id: UUID) -> ConditionRead:
    """One condition."""
    return await _one(CONDITIONS, access, item_id)


async def add_condition(access: SpaceAccess, body: ConditionCreate) -> ConditionRead:
    """Add a condition or a past surgery (``since`` not in the future)."""
    errors: list[FieldError] = []
    _a_past_day(body.since, pointer="/since", today=today_in(access), born=access.space.birthdate, errors=errors)
    if errors:
        raise Invalid("The condition breaks a rule; nothing was stored.", errors)
    return await _add(
        CONDITIONS, access, (body.label.strip(), body.since, body.code), hide=body.hidden_from_representatives
    )


async def change_condition(
    access: SpaceAccess, item_id: UUID, update: ConditionUpdate, *, if_match: str | None
) -> ConditionRead:
    """Change a condition."""
    today = today_in(access)

    def check(current: ConditionRead, changes: dict[str, object]) -> list[FieldError]:
        errors: list[FieldError] = []
        since = changes.get("since", current.since)
        day = since if isinstance(since, date) else None
        _a_past_day(day, pointer="/since", today=today, born=access.space.birthdate, errors=errors)
        return errors

    return await _change(CONDITIONS, access, item_id, update=update, if_match=if_match, check=check)


async def remove_condition(access: SpaceAccess, item_id: UUID, *, if_match: str | None) -> None:
    """Remove a condition."""
    await _remove(CONDITIONS, access, item_id, if_match=if_match)


# ---------------------------------------------------------------------------------------------
# Allergies


async def list_allergies(
    access: SpaceAccess, cursors: Cursors, *, limit: int | None, cursor: str | None
) -> AllergyPage:
    """Allergies, in the order they were written."""
    items, next_cursor = await _page(ALLERGIES, access, cursors, limit=limit, cursor=cursor)
    return AllergyPage(items=items, next_cursor=next_cursor)


async def get_allergy(access: SpaceAccess, item_id: UUID) -> AllergyRead:
    """One allergy."""
    return await _one(ALLERGIES, access, item_id)


async def add_allergy(access: SpaceAccess, body: AllergyCreate) -> AllergyRead:
    """Add an allergy: the substance, the reaction it causes, how severe."""
    reaction = body.reaction.strip() if body.reaction else None
    return await _add(
        ALLERGIES, access, (body.substance.strip(), reaction, body.severity), hide=body.hidden_from_representatives
    )


async def change_allergy(
    access: SpaceAccess, item_id: UUID, update: AllergyUpdate, *, if_match: str | None
) -> AllergyRead:
    """Change an allergy."""
    return await _change(ALLERGIES, access, item_id, update=update, if_match=if_match, check=lambda _c, _u: [])


async def remove_allergy(access: SpaceAccess, item_id: UUID, *, if_match: str | None) -> None:
    """Remove an allergy."""
    await _remove(ALLERGIES, access, item_id, if_match=if_match)


# ---------------------------------------------------------------------------------------------
# Long-term treatments


def _treatment_errors(
    since: object, until: object, *, today: date, born: date | None, until_kept: bool = False
) -> list[FieldError]:
    """``until_kept``: a change sent ``since`` alone, so a ``since`` past the ``until`` kept is told at
    ``/since``, the field sent (a pointer points into the request: it was told at ``/until``)."""
    errors: list[FieldError] = []
    day = since if isinstance(since, date) else None
    _a_past_day(day, pointer="/since", today=today, born=born, errors=errors)
    if isinstance(since, date) and isinstance(until, date) and until < since:
        if until_kept:
            errors.append(FieldError("/since", "after until"))
        else:
            errors.append(FieldError("/until", "before since"))
    elif isinstance(until, date) and until.year > LATEST_YEAR:
        # A planned end, in a life: 2999-01-01 was taken (an outside audit).
        errors.append(FieldError("/until", f"after {LATEST_YEAR}"))
    elif isinstance(until, date) and until.year < EARLIEST_YEAR:
        # In a life at the other end too: 1800-01-01 was taken (an outside audit).
        errors.append(FieldError("/until", f"before {EARLIEST_YEAR}"))
    elif isinstance(until, date) and born is not None and until < born:
        errors.append(FieldError("/until", "before the holder's birth"))
    return errors


async def list_treatments(
    access: SpaceAccess, cursors: Cursors, *, limit: int | None, cursor: str | None
) -> TreatmentPage:
    """Long-term treatments, in the order they were written."""
    items, next_cursor = await _page(TREATMENTS, access, cursors, limit=limit, cursor=cursor)
    return TreatmentPage(items=items, next_cursor=next_cursor)


async def get_treatment(access: SpaceAccess, item_id: UUID) -> TreatmentRead:
    """One treatment."""
    return await _one(TREATMENTS, access, item_id)


async def add_treatment(access: SpaceAccess, body: TreatmentCreate) -> TreatmentRead:
    """Add a long-term treatment (``since`` not in the future, ``until`` not before ``since``)."""
    errors = _treatment_errors(body.since, body.until, today=today_in(access), born=access.space.birthdate)
    if errors:
        raise Invalid("The treatment breaks a rule; nothing was stored.", errors)
    dose = body.dose.strip() if body.dose else None
    return await _add(
        TREATMENTS,
        access,
        (body.medication.strip(), dose, body.since, body.until),
        hide=body.hidden_from_representatives,
    )


async def change_treatment(
    access: SpaceAccess, item_id: UUID, update: TreatmentUpdate, *, if_match: str | None
) -> TreatmentRead:
    """Change a treatment (stopping it: ``until``)."""
    today = today_in(access)

    def check(current: TreatmentRead, changes: dict[str, object]) -> list[FieldError]:
        since, until = changes.get("since", current.since), changes.get("until", current.until)
        kept = "since" in changes and "until" not in changes
        return _treatment_errors(since, until, today=today, born=access.space.birthdate, until_kept=kept)

    return await _change(TREATMENTS, access, item_id, update=update, if_match=if_match, check=check)


async def remove_treatment(access: SpaceAccess, item_id: UUID, *, if_match: str | None) -> None:
    """Remove a treatment."""
    await _remove(TREATMENTS, access, item_id, if_match=if_match)


# ---------------------------------------------------------------------------------------------
# Family history


async def list_family_history(
    access: SpaceAccess, cursors: Cursors, *, limit: int | None, cursor: str | None
) -> FamilyHistoryPage:
    """Family history, in the order it was written."""
    items, next_cursor = await _page(FAMILY_HISTORY, access, cursors, limit=limit, cursor=cursor)
    return FamilyHistoryPage(items=items, next_cursor=next_cursor)


async def get_family_history(access: SpaceAccess, item_id: UUID) -> FamilyHistoryRead:
    """One family history entry."""
    return await _one(FAMILY_HISTORY, access, item_id)


async def add_family_history(access: SpaceAccess, body: FamilyHistoryCreate) -> FamilyHistoryRead:
    """Add a relative's condition."""
    return await _add(
        FAMILY_HISTORY, access, (body.relative, body.condition.strip()), hide=body.hidden_from_representatives
    )


async def change_family_history(
    access: SpaceAccess, item_id: UUID, update: FamilyHistoryUpdate, *, if_match: str | None
) -> FamilyHistoryRead:
    """Change a family history entry."""
    return await _change(FAMILY_HISTORY, access, item_id, update=update, if_match=if_match, check=lambda _c, _u: [])


async def remove_family_history(access: SpaceAccess, item_id: UUID, *, if_match: str | None) -> None:
    """Remove a family history entry."""
    await _remove(FAMILY_HISTORY, access, item_id, if_match=if_match)
