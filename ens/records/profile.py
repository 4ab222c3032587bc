"""The medical profile: what the person says about their own health, as Mon espace santé's "profil
médical" keeps it — conditions and past surgery, allergies, long-term treatments, family history.

Four small lists with the same life: listed in the order they were written (keyset on
``(created_at, id)``), added, changed (absent fields kept, ``null`` clears), removed. Holders and
representatives (a parent for a child) keep them. The holder may hide an entry from the
representatives (CSP R1111-50): to them it does not exist — not listed, not counted, 404 when
named.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

import msgspec
from msgspec import UnsetType

from ens.core import clock
from ens.core.api import Cursors, check_limit
from ens.core.clock import as_date, aware
from ens.core.db import Row, as_uuid, fetch, fetch_one, write_transaction
from ens.core.errors import FieldError, Invalid, NotFound
from ens.records.authorship import hiding, today_in
from ens.records.concurrency import check_precondition, lock_records
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
from ens.spaces.door import SpaceAccess, visible_to

R = TypeVar("R", bound=msgspec.Struct)

# Every list's Update and Read structs have it (``ens.records.schemas.HIDE``).
_HIDDEN = "hidden_from_representatives"


@dataclass(frozen=True)
class _Kind(Generic[R]):
    """One profile list: its table, its data columns (in the order of the Read struct's fields) and
    how a row becomes what the API shows."""

    table: str
    columns: tuple[str, ...]
    read: Callable[[Row], R]
    missing: str

    def select(self, where: str) -> str:
        columns = ", ".join(self.columns)
        return (
            f"SELECT id, {columns}, created_at, updated_at, hidden_from_representatives "
            f"FROM {self.table} WHERE space_id = {{}} {where}"
        )


def _condition(row: Row) -> ConditionRead:
    return ConditionRead(
        id=as_uuid(row["id"]),
        label=row["label"],
        since=as_date(row["since"]),
        code=row["code"],
        created_at=aware(row["created_at"]),
        updated_at=aware(row["updated_at"]),
        hidden_from_representatives=bool(row["hidden_from_representatives"]),
    )


def _allergy(row: Row) -> AllergyRead:
    return AllergyRead(
        id=as_uuid(row["id"]),
        substance=row["substance"],
        reaction=row["reaction"],
        severity=row["severity"],
        created_at=aware(row["created_at"]),
        updated_at=aware(row["updated_at"]),
        hidden_from_representatives=bool(row["hidden_from_representatives"]),
    )


def _treatment(row: Row) -> TreatmentRead:
    return TreatmentRead(
        id=as_uuid(row["id"]),
        medication=row["medication"],
        dose=row["dose"],
        since=as_date(row["since"]),
        until=as_date(row["until"]),
        created_at=aware(row["created_at"]),
        updated_at=aware(row["updated_at"]),
        hidden_from_representatives=bool(row["hidden_from_representatives"]),
    )


def _family_history(row: Row) -> FamilyHistoryRead:
    return FamilyHistoryRead(
        id=as_uuid(row["id"]),
        relative=row["relative"],
        condition=row["condition"],
        created_at=aware(row["created_at"]),
        updated_at=aware(row["updated_at"]),
        hidden_from_representatives=bool(row["hidden_from_representatives"]),
    )


CONDITIONS = _Kind("profile_conditions", ("label", "since", "code"), _condition, "No such condition")
ALLERGIES = _Kind("profile_allergies", ("substance", "reaction", "severity"), _allergy, "No such allergy")
TREATMENTS = _Kind("profile_treatments", ("medication", "dose", "since", "until"), _treatment, "No such treatment")
FAMILY_HISTORY = _Kind(
    "profile_family_history", ("relative", "condition"), _family_history, "No such family history entry"
)
KINDS: tuple[_Kind[Any], ...] = (CONDITIONS, ALLERGIES, TREATMENTS, FAMILY_HISTORY)


# ---------------------------------------------------------------------------------------------
# What every list does


async def _page(
    kind: _Kind[R], access: SpaceAccess, cursors: Cursors, *, limit: int | None, cursor: str | None
) -> tuple[list[R], str | None]:
    size = check_limit(limit)
    purpose = f"{kind.table}:{access.space_id}"
    args: list[object] = [access.space_id]
    after = ""
    if cursor:
        created_text, id_text = cursors.decode(purpose, cursor)
        created, last_id = datetime.fromisoformat(str(created_text)), UUID(str(id_text))
        after = "AND (created_at > {} OR (created_at = {} AND id > {}))"
        args += [created, created, last_id]
    rows = await fetch(kind.select(after + visible_to(access)) + " ORDER BY created_at, id LIMIT {}", *args, size + 1)
    items = [kind.read(row) for row in rows[:size]]
    next_cursor = None
    if len(rows) > size:
        last = rows[size - 1]
        next_cursor = cursors.encode(purpose, [aware(last["created_at"]).isoformat(), str(as_uuid(last["id"]))])
    return items, next_cursor


async def every_entry(kind: _Kind[R], space_id: UUID, *, with_hidden: bool) -> list[R]:
    """Every entry of one list, in the order written (for the export: a profile is a few dozen at
    most). Without ``with_hidden`` (a representative's export), entries hidden from representatives
    are left out."""
    hidden = "" if with_hidden else "AND NOT hidden_from_representatives "
    return [kind.read(row) for row in await fetch(kind.select(hidden + "ORDER BY created_at, id"), space_id)]


async def _one(kind: _Kind[R], access: SpaceAccess, item_id: UUID) -> R:
    """One entry; an entry hidden from a representative does not exist for them."""
    row = await fetch_one(kind.select("AND id = {}" + visible_to(access)), access.space_id, item_id)
    if row is None:
        raise NotFound(f"{kind.missing} in this space.")
    return kind.read(row)


async def _add(kind: _Kind[R], access: SpaceAccess, values: Sequence[object], *, hide: bool | UnsetType) -> R:
    """Add an entry; the holder may add it hidden from the representatives (``hide``)."""
    hidden = bool(hiding(access, hide))
    item_id, now = uuid.uuid4(), clock.now()
    placeholders = ", ".join(["{}"] * (len(values) + 5))
    async with write_transaction():
        await fetch(
            f"INSERT INTO {kind.table} (space_id, id, {', '.join(kind.columns)}, created_at, updated_at, "
            f"hidden_from_representatives) VALUES ({placeholders})",
            access.space_id,
            item_id,
            *values,
            now,
            now,
            hidden,
        )
        return await _one(kind, access, item_id)


async def _change(
    kind: _Kind[R],
    access: SpaceAccess,
    item_id: UUID,
    *,
    update: msgspec.Struct,
    if_match: str | None,
    check: Callable[[R, dict[str, object]], list[FieldError]],
) -> R:
    """Apply the fields ``update`` sends (``UNSET`` ones are kept) after ``check`` found no broken rule.
    Hiding the entry from the representatives, or showing it again, is the holder's alone."""
    hidden = hiding(access, getattr(update, _HIDDEN))
    async with write_transaction():
        # Two changes sent with the same If-Match: the second waits, then finds its tag stale.
        await lock_records(access.space_id)
        current = await _one(kind, access, item_id)
        check_precondition(if_match, current, required=False)
        changes = {name: value for name in kind.columns if (value := getattr(update, name)) is not msgspec.UNSET}
        errors = check(current, changes)
        if errors:
            raise Invalid("The change breaks a rule; nothing was changed.", errors)
        if hidden is not None and hidden != getattr(current, _HIDDEN):
            changes[_HIDDEN] = hidden
        if changes:
            assignments = ", ".join(f"{name} = {{}}" for name in changes)
            await fetch(
                f"UPDATE {kind.table} SET {assignments}, updated_at = {{}} WHERE space_id = {{}} AND id = {{}}",
                *[_stored(value) for value in changes.values()],
                clock.now(),
                access.space_id,
                item_id,
            )
        return await _one(kind, access, item_id)


def _stored(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


async def _remove(kind: _Kind[Any], access: SpaceAccess, item_id: UUID, *, if_match: str | None) -> None:
    async with write_transaction():
        await lock_records(access.space_id)
        current = await _one(kind, access, item_id)
        check_precondition(if_match, current, required=False)
        await fetch(f"DELETE FROM {kind.table} WHERE space_id = {{}} AND id = {{}}", access.space_id, item_id)


def _not_future(day: date | None, *, pointer: str, today: date, errors: list[FieldError]) -> None:
    if day is not None and day > today:
        errors.append(FieldError(pointer, "in the future"))


async def count_profile_entries(space_id: UUID, *, with_hidden: bool) -> int:
    """How many entries the four lists hold together (the home screen's count); without
    ``with_hidden`` (a representative asks), entries hidden from representatives are not counted."""
    hidden = "" if with_hidden else " AND NOT hidden_from_representatives"
    counts = " + ".join(f"(SELECT COUNT(*) FROM {kind.table} WHERE space_id = {{}}{hidden})" for kind in KINDS)
    row = await fetch_one(f"SELECT {counts} AS n", *[space_id] * len(KINDS))
    return int(row["n"]) if row else 0


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
    _not_future(body.since, pointer="/since", today=today_in(access), errors=errors)
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
        _not_future(since if isinstance(since, date) else None, pointer="/since", today=today, errors=errors)
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


def _treatment_errors(since: object, until: object, *, today: date) -> list[FieldError]:
    errors: list[FieldError] = []
    _not_future(since if isinstance(since, date) else None, pointer="/since", today=today, errors=errors)
    if isinstance(since, date) and isinstance(until, date) and until < since:
        errors.append(FieldError("/until", "before since"))
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
    errors = _treatment_errors(body.since, body.until, today=today_in(access))
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
        return _treatment_errors(changes.get("since", current.since), changes.get("until", current.until), today=today)

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
