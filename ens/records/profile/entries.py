"""What every list of the profile does: a page, one entry, add, change, remove; every entry for the
export, and the home screen's count."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import msgspec
from msgspec import UnsetType

from ens.core import clock
from ens.core.api import Cursors, check_limit, time_and_id
from ens.core.clock import aware
from ens.core.db import Row, Scalar, as_uuid, fetch, fetch_one, write_transaction
from ens.core.errors import FieldError, Invalid, NotFound
from ens.records.concurrency import check_precondition, lock_records
from ens.records.profile.kinds import KINDS, R, _Kind
from ens.spaces.door import SpaceAccess, visible_to
from ens.spaces.history import note_hidden_item_removed

# Every list's Update and Read structs have it (``ens.records.schemas.HIDE``).
_HIDDEN = "hidden_from_representatives"


async def _page(
    kind: _Kind[R], access: SpaceAccess, cursors: Cursors, *, limit: int | None, cursor: str | None
) -> tuple[list[R], str | None]:
    size = check_limit(limit)
    purpose = f"{kind.table}:{access.space_id}"
    args: list[object] = [access.space_id]
    after = ""
    if cursor:
        created, last_id = cursors.place(purpose, cursor, time_and_id)
        # A row-value comparison: one range of the space's (created_at, id) order, as the measures'.
        after = "AND (created_at, id) > ({}, {})"
        args += [created, last_id]
    rows = await fetch(kind.select(after + visible_to(access)) + " ORDER BY created_at, id LIMIT {}", *args, size + 1)
    items = [kind.read(row) for row in rows[:size]]
    next_cursor = None
    if len(rows) > size:
        last = rows[size - 1]
        next_cursor = cursors.encode(purpose, [aware(last["created_at"]).isoformat(), str(as_uuid(last["id"]))])
    return items, next_cursor


async def every_entry(kind: _Kind[R], space_id: UUID, *, with_hidden: bool) -> list[tuple[R, str | None]]:
    """Every entry of one list, in the order written (for the export: a profile is a few dozen at
    most), each with the name of the professional or the representative who recorded it (``None``:
    the person did, or an entry recorded before representatives were named, 2026-12-05). Accounts
    are never deleted; one that could not be read is named by its recorder's kind rather than
    becoming the patient. Without ``with_hidden`` (a representative's export), entries hidden from
    representatives are left out."""
    hidden = "" if with_hidden else "AND NOT hidden_from_representatives "
    rows = await fetch(kind.select(hidden + "ORDER BY created_at, id"), space_id)
    names: dict[UUID, str] = {}
    for column, unnamed in _RECORDERS.items():
        for account_id in {as_uuid(r[column]) for r in rows if r[column]} - names.keys():
            account = await fetch_one("SELECT given_name, family_name FROM accounts WHERE id = {}", account_id)
            names[account_id] = f"{account['given_name']} {account['family_name']}" if account is not None else unnamed
    return [(kind.read(row), _recorder(row, names)) for row in rows]


# The columns that name who recorded an entry other than the person, and the words for them when
# their account could not be read.
_RECORDERS = {"recorded_by_professional": "Professionnel de santé", "recorded_by_representative": "Représentant légal"}


def _recorder(row: Row, names: dict[UUID, str]) -> str | None:
    recorder = row["recorded_by_professional"] or row["recorded_by_representative"]
    return names[as_uuid(recorder)] if recorder else None


async def _one(kind: _Kind[R], access: SpaceAccess, item_id: UUID) -> R:
    """One entry; an entry hidden from a representative does not exist for them."""
    return kind.read(await _one_row(kind, access, item_id))


async def _one_row(kind: _Kind[Any], access: SpaceAccess, item_id: UUID) -> Row:
    row = await fetch_one(kind.select("AND id = {}" + visible_to(access)), access.space_id, item_id)
    if row is None:
        raise NotFound(f"{kind.missing} in this space.")
    return row


# A list of the profile holds at most this many entries shown to the representatives, and as many
# hidden from them. A person's conditions, allergies, treatments or relatives' conditions are a few
# dozen at most; unbounded, a client in a loop filled one without end, and the export and the home
# screen read each whole (an outside audit of the records). Counted among those of the new entry's
# kind of visibility: a representative, who sees no hidden entry, is never told how many there are,
# and an import brings back whatever an export held.
MAX_ENTRIES = 200


async def _room_for(kind: _Kind[Any], space_id: UUID, *, hidden: bool, pointer: str) -> None:
    """Raise 422 (at ``pointer``) when the list of ``kind`` holds :data:`MAX_ENTRIES` entries of
    that visibility (``hidden``) already: one more, added or moved there, would pass the bound. In
    the caller's transaction, under the space's lock."""
    held = await fetch_one(
        f"SELECT COUNT(*) AS n FROM {kind.table} WHERE space_id = {{}} AND hidden_from_representatives = {{}}",
        space_id,
        hidden,
    )
    if held is not None and int(held["n"]) >= MAX_ENTRIES:
        which = " hidden from the representatives" if hidden else ""
        raise Invalid(
            f"At most {MAX_ENTRIES} entries{which} in this list: remove one first.",
            [FieldError(pointer, f"at most {MAX_ENTRIES} entries{which}")],
        )


async def _add(kind: _Kind[R], access: SpaceAccess, values: Sequence[object], *, hide: bool | UnsetType) -> R:
    """Add an entry; the holder may add it hidden from the representatives (``hide``). 422 when its
    list is full (:data:`MAX_ENTRIES`)."""
    hidden = bool(access.hiding(hide))
    item_id, now = uuid.uuid4(), clock.now()
    access.names_new_item(item_id, "profile")
    placeholders = ", ".join(["{}"] * (len(values) + 7))
    async with write_transaction():
        await lock_records(access.space_id)  # two adds at once would both find room for one
        await _room_for(kind, access.space_id, hidden=hidden, pointer="")
        await fetch(
            f"INSERT INTO {kind.table} (space_id, id, {', '.join(kind.columns)}, created_at, updated_at, "
            "hidden_from_representatives, recorded_by_professional, recorded_by_representative) "
            f"VALUES ({placeholders})",
            access.space_id,
            item_id,
            *values,
            now,
            now,
            hidden,
            access.caller.account_id if access.role == "professional" else None,
            access.caller.account_id if access.role == "representative" else None,
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
    hidden = access.hiding(getattr(update, _HIDDEN))
    async with write_transaction():
        # Two changes sent with the same If-Match: the second waits, then finds its tag stale.
        await lock_records(access.space_id)
        row = await _one_row(kind, access, item_id)
        current = kind.read(row)
        check_precondition(if_match, current, required=False)
        changes = {name: value for name in kind.columns if (value := getattr(update, name)) is not msgspec.UNSET}
        if changes:
            # Hiding an entry on a minor's space, at the minor's request, is another matter: any entry.
            _refuse_a_professional_on_others(access, row, verb="changes")
        errors = check(current, changes)
        if errors:
            raise Invalid("The change breaks a rule; nothing was changed.", errors)
        hidden = access.hiding_change(
            getattr(current, _HIDDEN), hidden, row["recorded_by_professional"], noun="profile entries"
        )
        if hidden is not None:
            # Moved to the other side, the entry counts there: the bound held for adds only, and
            # adding, hiding, adding again filled a list without end (a review of the bound).
            await _room_for(kind, access.space_id, hidden=hidden, pointer="/hiddenFromRepresentatives")
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


def _refuse_a_professional_on_others(access: SpaceAccess, row: Row, *, verb: str) -> None:
    """A professional changes or removes only the entries they added, not the person's own (as
    measures, vaccinations and documents: :meth:`SpaceAccess.refuse_a_professional_on_others`)."""
    access.refuse_a_professional_on_others(row["recorded_by_professional"], verb=verb, noun="profile entries")


def _stored(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


async def _remove(kind: _Kind[Any], access: SpaceAccess, item_id: UUID, *, if_match: str | None) -> None:
    async with write_transaction():
        await lock_records(access.space_id)
        row = await _one_row(kind, access, item_id)
        current = kind.read(row)
        check_precondition(if_match, current, required=False)
        _refuse_a_professional_on_others(access, row, verb="removes")
        await fetch(f"DELETE FROM {kind.table} WHERE space_id = {{}} AND id = {{}}", access.space_id, item_id)
        await note_hidden_item_removed(access.space_id, item_id, hidden=bool(current.hidden_from_representatives))


def count_profile_entries(space_id: UUID, *, with_hidden: bool, kinds: Sequence[_Kind[Any]] = KINDS) -> Scalar:
    """How many entries the lists hold together, the four or the ``kinds`` the caller reads (the
    home screen, :func:`fetch_scalars`); without ``with_hidden`` (a representative asks), entries
    hidden from representatives are not counted."""
    hidden = "" if with_hidden else " AND NOT hidden_from_representatives"
    counts = " + ".join(f"(SELECT COUNT(*) FROM {kind.table} WHERE space_id = {{}}{hidden})" for kind in kinds)
    return Scalar(f"SELECT {counts}", (space_id,) * len(kinds))
