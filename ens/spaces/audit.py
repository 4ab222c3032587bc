"""The access history, tamper-evident (issue 16, point 5): a MAC on every row, and checkpoints that
seal each space's rows in batches.

- **Every row carries a MAC** (HMAC-SHA256 with a key derived from ``ENS_SECRET_KEY``) over what it
  says: who, as what, did what, when, with what outcome. Computed when the row is written, from
  the values in hand: no read, a few microseconds. A row changed in the database no longer matches.
- **Checkpoints** (``ens audit seal``, run every few minutes): for each space with new rows, one
  checkpoint row holds an HMAC over the previous checkpoint's MAC and the new rows' ids and MACs,
  in order. A row deleted, added or moved inside a sealed range breaks its checkpoint, and every
  checkpoint is chained to the one before: a checkpoint removed from the middle breaks the next.
- ``ens audit verify [SPACE]`` recomputes both and reports the first broken link.

Why checkpoints and not a hash chain through every row: chaining each row to the one before it in
its space means reading that row and holding the space's chain head locked until the new row
commits — one more round trip and one more lock on the path of every request, and the writers of
one space in single file. ``make bench`` measures the two ("history" lines): the MAC costs the
request path almost nothing; the chain costs what the numbers say. The sealer does the same work
off the request path, for many rows at once.

What it does not catch on its own: the newest rows and checkpoints deleted together (truncating
the tail). Each seal run logs a line with its range and a digest of what it sealed, for the
operators' log store, which a database writer cannot reach.

Sealing ranges: rows get their ids when they are inserted and commit a moment later (a request's
transaction is short). A run seals the ids it saw at least ``SEAL_LAG`` before, never an id still
being written: each run notes the highest id, the next run (``SEAL_LAG`` later or more) seals up
to it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from ens.core import clock, keyring
from ens.core.clock import aware
from ens.core.db import Row, as_uuid, fetch, fetch_one, insert_rows, write_transaction

log = logging.getLogger("ens.audit")

SEAL_LAG = timedelta(seconds=60)
_CHUNK = 20_000
_SPACES_PER_QUERY = 400

_key: bytes | None = None


def configure(secret_key: str) -> None:
    """The key rows and checkpoints are sealed with (``ens.app`` and the commands set it)."""
    global _key
    _key = keyring.derive_key(secret_key, "access-history-mac")


def _mac(payload: bytes) -> str:
    if _key is None:
        raise RuntimeError("ens.spaces.audit.configure() was not called")
    return hmac.new(_key, payload, hashlib.sha256).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return aware(value).astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, UUID):
        return str(value)
    return value


_ENCODE = msgspec.json.Encoder()


def row_mac(values: Sequence[Any]) -> str:
    """The MAC of a row's sealed columns (``ens.spaces.history.SEALED_COLUMNS``, in that order, then
    those of ``SEALED_IF_SET`` when one of them is set: :func:`sealed`)."""
    return _mac(_ENCODE.encode([_canonical(value) for value in values]))


# Columns a row's MAC covers after ``ens.spaces.history.SEALED_COLUMNS`` when one of them is set: an
# operator's row says whose right they recorded, ended or restored (migration m2026_12_12_0002).
SEALED_IF_SET = ("subject_name", "subject_kind")


def sealed(values: Sequence[Any], if_set: Sequence[Any]) -> tuple[Any, ...]:
    """What a row's MAC covers: ``values``, and ``if_set`` too when any of them is not null. Columns
    added to the history later are sealed so: a row written before them (nulls there) keeps its MAC,
    and a value set or removed there afterwards no longer matches."""
    return (*values, *if_set) if any(value is not None for value in if_set) else tuple(values)


def _stored_values(row: Row, columns: Sequence[str]) -> list[Any]:
    values: list[Any] = []
    for name in columns:
        value = row[name]
        if name == "at":
            value = aware(value)
        elif name in ("space_id", "actor_account_id") and value is not None:
            value = as_uuid(value)
        values.append(value)
    return values


def _checkpoint_mac(previous: str, space_id: UUID, after_id: int, upto_id: int, rows: Sequence[Row]) -> str:
    payload = _ENCODE.encode([previous, str(space_id), after_id, upto_id, [[int(r["id"]), r["mac"]] for r in rows]])
    return _mac(payload)


# ---------------------------------------------------------------------------------------------
# Sealing


@dataclass(frozen=True)
class SealRun:
    checkpoints: int
    rows: int
    upto_id: int


async def seal(*, lag: timedelta = SEAL_LAG, now: datetime | None = None) -> SealRun:
    """One run of ``ens audit seal``: checkpoints for the rows noted by the previous run."""
    at = now or clock.now()
    async with write_transaction():
        state = await fetch_one(
            "SELECT sealed_upto, pending_upto, pending_at FROM history_seal_state WHERE name = 'access'"
        )
        # Only past the last id noted: the BRIN index on id reads the table's tail, not all of it
        # (neither it nor the (space_id, id) key answers a bare MAX(id) without a full scan).
        noted = int(state["pending_upto"]) if state else 0
        top = await fetch_one("SELECT MAX(id) AS top FROM access_history WHERE id > {}", noted)
        highest = int(top["top"]) if top and top["top"] is not None else 0
        if state is None:
            await fetch(
                "INSERT INTO history_seal_state (name, sealed_upto, pending_upto, pending_at) "
                "VALUES ('access', 0, {}, {})",
                highest,
                at,
            )
            return SealRun(0, 0, 0)
        sealed_upto, pending_upto = int(state["sealed_upto"]), int(state["pending_upto"])
        if at - aware(state["pending_at"]) < lag:
            return SealRun(0, 0, sealed_upto)
        checkpoints = rows_sealed = 0
        after = sealed_upto
        while after < pending_upto:
            upto = min(after + _CHUNK, pending_upto)
            made, count = await _seal_range(after, upto, at=at)
            checkpoints += made
            rows_sealed += count
            after = upto
        await fetch(
            "UPDATE history_seal_state SET sealed_upto = {}, pending_upto = {}, pending_at = {} WHERE name = 'access'",
            pending_upto,
            max(highest, pending_upto),
            at,
        )
    log.info(
        "access history sealed",
        extra={"event": "history_sealed", "after_id": sealed_upto, "upto_id": pending_upto, "rows": rows_sealed,
               "checkpoints": checkpoints},
    )  # fmt: skip
    return SealRun(checkpoints, rows_sealed, pending_upto)


async def _seal_range(after: int, upto: int, *, at: datetime) -> tuple[int, int]:
    """Checkpoints for every space with rows whose ids are in ``(after, upto]``."""
    rows = await fetch(
        "SELECT space_id, id, mac FROM access_history WHERE id > {} AND id <= {} ORDER BY id", after, upto
    )
    by_space: dict[UUID, list[Row]] = {}
    for row in rows:
        by_space.setdefault(as_uuid(row["space_id"]), []).append(row)
    spaces = list(by_space)
    previous: dict[UUID, str] = {}
    for start in range(0, len(spaces), _SPACES_PER_QUERY):
        part = spaces[start : start + _SPACES_PER_QUERY]
        placeholders = ", ".join(["{}"] * len(part))
        heads = await fetch(
            f"""SELECT c.space_id, c.mac FROM history_checkpoints c
                JOIN (SELECT space_id, MAX(upto_id) AS upto FROM history_checkpoints
                      WHERE space_id IN ({placeholders}) GROUP BY space_id) last
                  ON last.space_id = c.space_id AND last.upto = c.upto_id""",
            *part,
        )
        previous.update({as_uuid(head["space_id"]): str(head["mac"]) for head in heads})
    made = [
        (space_id, uuid.uuid4(), after, upto, len(space_rows),
         _checkpoint_mac(previous.get(space_id, ""), space_id, after, upto, space_rows), at)
        for space_id, space_rows in by_space.items()
    ]  # fmt: skip
    if made:
        await insert_rows(
            "history_checkpoints",
            ("space_id", "id", "after_id", "upto_id", "row_count", "mac", "sealed_at"),
            rows=made,
        )
    return len(made), len(rows)


# ---------------------------------------------------------------------------------------------
# Verifying


@dataclass(frozen=True)
class Finding:
    space_id: UUID
    what: str


async def verify_space(space_id: UUID, columns: Sequence[str]) -> Finding | None:
    """The first broken link of one space's history, or ``None``. ``columns``: those every row's MAC
    covers (``ens.spaces.history.SEALED_COLUMNS``); those of :data:`SEALED_IF_SET` are read too.

    Read in the order the sealer commits, so that a seal committing meanwhile is no tamper: how far
    the history is sealed first (a seal commits its checkpoints with that mark: every row up to it
    has its checkpoint by then), then the checkpoints, then the rows (those a checkpoint seals were
    committed before it was made). A checkpoint made after the mark was read is checked too; rows
    past the mark are not asked for one."""
    if_set = SEALED_IF_SET
    state = await fetch_one("SELECT sealed_upto FROM history_seal_state WHERE name = 'access'")
    sealed_upto = int(state["sealed_upto"]) if state else 0
    checkpoints = await fetch(
        "SELECT id, after_id, upto_id, row_count, mac FROM history_checkpoints WHERE space_id = {} ORDER BY upto_id",
        space_id,
    )
    rows = await fetch(
        f"SELECT id, {', '.join([*columns, *if_set])}, mac FROM access_history WHERE space_id = {{}} ORDER BY id",
        space_id,
    )
    for row in rows:
        if row["mac"] is None:
            return Finding(
                space_id, f"row {row['id']} carries no MAC (written before sealing existed, or its MAC removed)"
            )
        values = sealed(_stored_values(row, columns), _stored_values(row, if_set))
        if not hmac.compare_digest(row_mac(values), str(row["mac"])):
            return Finding(space_id, f"row {row['id']} was changed after it was written")
    previous = ""
    covered: set[int] = set()
    for checkpoint in checkpoints:
        after, upto = int(checkpoint["after_id"]), int(checkpoint["upto_id"])
        inside = [row for row in rows if after < int(row["id"]) <= upto]
        expected = _checkpoint_mac(previous, space_id, after, upto, inside)
        if not hmac.compare_digest(expected, str(checkpoint["mac"])):
            return Finding(
                space_id,
                f"checkpoint {checkpoint['id']} (rows {after + 1} to {upto}) no longer matches: rows were deleted, "
                f"added or changed there ({checkpoint['row_count']} sealed, {len(inside)} now), or an earlier "
                "checkpoint was removed",
            )
        covered.update(int(row["id"]) for row in inside)
        previous = str(checkpoint["mac"])
    for row in rows:
        if int(row["id"]) <= sealed_upto and int(row["id"]) not in covered:
            return Finding(space_id, f"row {row['id']} is in a sealed range but no checkpoint covers it: added later")
    return None


async def spaces_with_history(*, after: UUID | None, limit: int) -> list[UUID]:
    """Spaces that have history rows or checkpoints, by id (``ens audit verify`` of them all)."""
    rows = await fetch("SELECT id FROM spaces WHERE id > {} ORDER BY id LIMIT {}", after or UUID(int=0), limit)
    return [as_uuid(row["id"]) for row in rows]
