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
the tail). Each chunk a seal run commits logs a line with its range and counts, for the
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
from ens.core.db import Row, as_uuid, fetch, fetch_one, insert_rows, row_lock, write_transaction

log = logging.getLogger("ens.audit")

SEAL_LAG = timedelta(seconds=60)
# The oldest_at of checkpoints made before it was kept (migration m2026_12_13_1300): perhaps older.
_UNKNOWN_OLDEST = datetime(1, 1, 2, tzinfo=UTC)
_CHUNK = 20_000
_SPACES_PER_QUERY = 400

# The key rows and checkpoints are sealed with, then those of the keys it replaced (rows sealed
# before ENS_SECRET_KEY changed still verify: ens.core.keyring, "Rotation").
_keys: tuple[bytes, ...] = ()


def configure(secret_key: str) -> None:
    """The keys of the access history (``ens.app`` and the commands set them, after the keyring)."""
    global _keys
    _keys = tuple(keyring.derive_key(key, "access-history-mac") for key in keyring.secrets_of(secret_key))


def _mac(payload: bytes, key: int = 0) -> str:
    if not _keys:
        raise RuntimeError("ens.spaces.audit.configure() was not called")
    return hmac.new(_keys[key], payload, hashlib.sha256).hexdigest()


def _key_of(payload: bytes, stored: str) -> int | None:
    """Which key ``stored`` is ``payload``'s MAC under: 0 the current one, 1 the newest it replaced,
    and so on; ``None`` when under none."""
    return next((key for key in range(len(_keys)) if hmac.compare_digest(_mac(payload, key), stored)), None)


def _replaced_after_newer(what: str) -> str:
    return (
        f"{what} is sealed under a key ENS_SECRET_KEY replaced, after a row or checkpoint of the space sealed "
        "under a newer key: written with the replaced key after the change (one that leaked?), or by a process "
        "not restarted with the new key (or ENS_PREVIOUS_SECRET_KEYS is not newest first)"
    )


# Values encoded as they are: looked up by their exact type first, since a row's MAC is computed for
# every request (most of a row's 15 values are text or null).
_AS_THEY_ARE = frozenset({str, int, type(None), bool})


def _canonical(value: Any) -> Any:
    if type(value) in _AS_THEY_ARE:
        return value
    if isinstance(value, datetime):
        return aware(value).astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, UUID):
        return str(value)
    return value


_ENCODE = msgspec.json.Encoder()


def row_mac(values: Sequence[Any]) -> str:
    """The MAC of a row's sealed columns (``ens.spaces.history.SEALED_COLUMNS``, in that order, then
    those of ``SEALED_IF_SET`` when one of them is set: :func:`sealed`)."""
    return _mac(_row_payload(values))


def _row_payload(values: Sequence[Any]) -> bytes:
    return _ENCODE.encode([_canonical(value) for value in values])


# Columns a row's MAC covers after ``ens.spaces.history.SEALED_COLUMNS``, a group at a time when one
# of its columns is set: an operator's row says whose right they recorded, ended or restored
# (migration m2026_12_12_0002); a row kept from the representatives says so (a minor's secret in an
# emergency access, CSP L1111-5: migration m2026_12_27_1000), TRUE or NULL, never FALSE.
SEALED_IF_SET_GROUPS = (("subject_name", "subject_kind"), ("kept_from_representatives",))
SEALED_IF_SET = tuple(column for group in SEALED_IF_SET_GROUPS for column in group)


def sealed(values: Sequence[Any], if_set: Sequence[Any]) -> tuple[Any, ...]:
    """What a row's MAC covers: ``values``, then each group of ``if_set`` (the values of
    :data:`SEALED_IF_SET`, in order) whose values are not all null. Columns added to the history
    later are sealed so: a row written before them (nulls there) keeps its MAC, and a value set or
    removed there afterwards no longer matches. (Each later group is a group of its own: added to
    the operators' one, it would have changed the MAC of every operator's row written before it.)"""
    covered = list(values)
    start = 0
    for group in SEALED_IF_SET_GROUPS:
        part = if_set[start : start + len(group)]
        start += len(group)
        if any(value is not None for value in part):
            covered.extend(part)
    return tuple(covered)


def _stored_values(row: Row, columns: Sequence[str]) -> list[Any]:
    values: list[Any] = []
    for name in columns:
        value = row[name]
        if name == "at":
            value = aware(value)
        elif name in ("space_id", "actor_account_id") and value is not None:
            value = as_uuid(value)
        elif name == "kept_from_representatives" and value is not None:
            value = bool(value)  # SQLite stores 1
        values.append(value)
    return values


def _checkpoint_mac(previous: str, space_id: UUID, after_id: int, upto_id: int, rows: Sequence[tuple[int, Any]]) -> str:
    """``rows``: the sealed rows' ``(id, mac)``, by id."""
    return _mac(_checkpoint_payload(previous, space_id, after_id, upto_id, rows))


def _checkpoint_payload(
    previous: str, space_id: UUID, after_id: int, upto_id: int, rows: Sequence[tuple[int, Any]]
) -> bytes:
    return _ENCODE.encode([previous, str(space_id), after_id, upto_id, [[row_id, mac] for row_id, mac in rows]])


# ---------------------------------------------------------------------------------------------
# Sealing


@dataclass(frozen=True)
class SealRun:
    checkpoints: int
    rows: int
    upto_id: int


_STATE = "SELECT sealed_upto, pending_upto, pending_at FROM history_seal_state WHERE name = 'access'"


async def seal(*, lag: timedelta = SEAL_LAG, now: datetime | None = None, chunk: int = _CHUNK) -> SealRun:
    """One run of ``ens audit seal``: checkpoints for the rows noted by the previous run.

    One short write transaction per ``chunk`` ids (not one for the whole range: a backlog held
    SQLite's write lock, and PostgreSQL's oldest snapshot, for as long as it took): each commits its
    checkpoints with ``sealed_upto`` moved past them, so a run stopped between two leaves a history
    that verifies, and the next run goes on from there. The chunks go in id order, each space's
    checkpoint chained to the one the chunk before committed. The newest id is noted (for the next
    run) with the last chunk."""
    at = now or clock.now()
    async with write_transaction():
        state = await fetch_one(_STATE + row_lock("UPDATE"))
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
        if sealed_upto >= pending_upto:
            await _note(pending_upto, max(highest, pending_upto), at)
            return SealRun(0, 0, sealed_upto)
    checkpoints = rows_sealed = 0
    after = sealed_upto
    while after < pending_upto:
        async with write_transaction():
            state = await fetch_one(_STATE + row_lock("UPDATE"))
            # Another run went on meanwhile (or finished this range): it has the rest in hand.
            if state is None or int(state["pending_upto"]) != pending_upto or int(state["sealed_upto"]) != after:
                break
            upto = min(after + max(chunk, 1), pending_upto)
            made, count = await _seal_range(after, upto, at=at)
            if upto < pending_upto:
                await fetch("UPDATE history_seal_state SET sealed_upto = {} WHERE name = 'access'", upto)
            else:
                await _note(upto, max(highest, pending_upto), at)
        log.info(
            "access history sealed",
            extra={"event": "history_sealed", "after_id": after, "upto_id": upto, "rows": count, "checkpoints": made},
        )
        checkpoints += made
        rows_sealed += count
        after = upto
    return SealRun(checkpoints, rows_sealed, after)


async def sealed_upto_held() -> int:
    """Inside a write transaction: the last id sealed, held there until the transaction ends.

    A seal run holds the state's row for update while it reads a range and seals it (each chunk);
    held shared here, no range is sealed meanwhile. A row past the id returned may be changed in
    this transaction: the run that seals it waits for its commit, then reads the row as changed. A
    row up to it is sealed, and changing it breaks its checkpoint (``ens.spaces.history``)."""
    state = await fetch_one("SELECT sealed_upto FROM history_seal_state WHERE name = 'access'" + row_lock("SHARE"))
    return int(state["sealed_upto"]) if state is not None else 0


async def _note(sealed_upto: int, pending_upto: int, at: datetime) -> None:
    """Sealed up to ``sealed_upto``; the next run seals up to ``pending_upto``, noted ``at``."""
    await fetch(
        "UPDATE history_seal_state SET sealed_upto = {}, pending_upto = {}, pending_at = {} WHERE name = 'access'",
        sealed_upto,
        pending_upto,
        at,
    )


async def _seal_range(after: int, upto: int, *, at: datetime) -> tuple[int, int]:
    """Checkpoints for every space with rows whose ids are in ``(after, upto]``, each with the newest
    ``at`` of its space's rows up to ``upto`` (``newest_at``: the history read ``since`` a time skips
    the rows up to a checkpoint older than it) and the oldest of the rows it seals (``oldest_at``:
    read ``until`` a time, the rows of a checkpoint not older than it are skipped)."""
    rows = await fetch(
        "SELECT space_id, id, mac, at FROM access_history WHERE id > {} AND id <= {} ORDER BY id", after, upto
    )
    by_space: dict[UUID, list[tuple[int, Any]]] = {}
    newest: dict[UUID, datetime] = {}
    oldest: dict[UUID, datetime] = {}
    for row in rows:
        space_id, row_at = as_uuid(row["space_id"]), aware(row["at"])
        by_space.setdefault(space_id, []).append((int(row["id"]), row["mac"]))
        newest[space_id] = max(newest.get(space_id, row_at), row_at)
        oldest[space_id] = min(oldest.get(space_id, row_at), row_at)
    spaces = list(by_space)
    previous: dict[UUID, str] = {}
    before: dict[UUID, datetime] = {}  # only the times known (a NULL newest_at is read from the rows)
    for start in range(0, len(spaces), _SPACES_PER_QUERY):
        part = spaces[start : start + _SPACES_PER_QUERY]
        placeholders = ", ".join(["{}"] * len(part))
        heads = await fetch(
            f"""SELECT c.space_id, c.mac, c.newest_at FROM history_checkpoints c
                JOIN (SELECT space_id, MAX(upto_id) AS upto FROM history_checkpoints
                      WHERE space_id IN ({placeholders}) GROUP BY space_id) last
                  ON last.space_id = c.space_id AND last.upto = c.upto_id""",
            *part,
        )
        previous.update({as_uuid(head["space_id"]): str(head["mac"]) for head in heads})
        before.update({as_uuid(head["space_id"]): head["newest_at"] for head in heads if head["newest_at"]})
        # A space's first checkpoint, or the first since checkpoints say how new their rows are: its
        # rows before this range, read once (none for a new space; a space's rows between two of its
        # checkpoints are in the later one, and rows older than sealing in none).
        unknown = [space_id for space_id in part if space_id not in before]
        if unknown:
            older = await fetch(
                f"SELECT space_id, MAX(at) AS newest FROM access_history "
                f"WHERE space_id IN ({', '.join(['{}'] * len(unknown))}) AND id <= {{}} GROUP BY space_id",
                *unknown,
                after,
            )
            before.update({as_uuid(row["space_id"]): row["newest"] for row in older if row["newest"]})
    for space_id, earlier in before.items():
        newest[space_id] = max(newest[space_id], aware(earlier))
    made = [
        (space_id, uuid.uuid4(), after, upto, len(space_rows),
         _checkpoint_mac(previous.get(space_id, ""), space_id, after, upto, space_rows), at, newest[space_id],
         oldest[space_id])
        for space_id, space_rows in by_space.items()
    ]  # fmt: skip
    if made:
        await insert_rows(
            "history_checkpoints",
            ("space_id", "id", "after_id", "upto_id", "row_count", "mac", "sealed_at", "newest_at", "oldest_at"),
            rows=made,
        )
    return len(made), len(rows)


# ---------------------------------------------------------------------------------------------
# Verifying


@dataclass(frozen=True)
class Finding:
    space_id: UUID
    what: str


_PAGE = 1_000


async def verify_space(space_id: UUID, columns: Sequence[str], *, page: int = _PAGE) -> Finding | None:
    """The first broken link of one space's history (by id), or ``None``. ``columns``: those every
    row's MAC covers (``ens.spaces.history.SEALED_COLUMNS``); those of :data:`SEALED_IF_SET` are
    read too.

    One pass over the rows and the checkpoints together, both by id, read ``page`` at a time (not
    the whole history in memory, and no scan of the rows for each checkpoint): held at once, a page
    of checkpoints and the rows of the one being checked (at most a seal chunk's).

    Read in the order the sealer commits, so that a seal committing meanwhile is no tamper: how far
    the history is sealed first (a seal commits each chunk's checkpoints with that mark: every row
    up to it has its checkpoint by then), then a page of checkpoints, then the rows up to the last
    of them (those a checkpoint seals were committed before it was made), and so on; the rows past
    the last checkpoint last. A checkpoint made after the mark was read is checked too; rows past
    the mark are not asked for one."""
    if_set = SEALED_IF_SET
    page = max(page, 1)
    state = await fetch_one("SELECT sealed_upto FROM history_seal_state WHERE name = 'access'")
    sealed_upto = int(state["sealed_upto"]) if state else 0
    read_rows = (
        f"SELECT id, {', '.join([*columns, *if_set])}, mac FROM access_history WHERE space_id = {{}} AND id > {{}}"
    )
    previous = ""
    checkpoints_after = rows_after = 0
    newest: datetime | None = None  # the newest ``at`` of the rows read so far (by id)
    # The newest key a row or checkpoint read so far is sealed under (0: the current one). Written in
    # id order, a space's history only ever goes to newer keys: once one is sealed under a key, a
    # later one under a key that key replaced was made by someone holding the replaced key, which
    # ENS_PREVIOUS_SECRET_KEYS keeps (a key replaced because it leaked seals nothing after the change).
    keys = _Newest(len(_keys))
    while True:
        checkpoints = await fetch(
            "SELECT id, after_id, upto_id, row_count, mac, newest_at, oldest_at FROM history_checkpoints "
            "WHERE space_id = {} AND upto_id > {} ORDER BY upto_id LIMIT {}",
            space_id,
            checkpoints_after,
            page,
        )
        last_page = len(checkpoints) < page
        inside: list[tuple[int, Any]] = []  # the rows of checkpoints[k], the one open
        inside_oldest: datetime | None = None  # the oldest ``at`` among them
        k = 0
        while True:
            if last_page:  # the rows up to the last checkpoint, then those past it
                rows = await fetch(read_rows + " ORDER BY id LIMIT {}", space_id, rows_after, page)
            else:
                bound = int(checkpoints[-1]["upto_id"])
                rows = await fetch(read_rows + " AND id <= {} ORDER BY id LIMIT {}", space_id, rows_after, bound, page)
            for row in rows:
                row_id = int(row["id"])
                while k < len(checkpoints) and int(checkpoints[k]["upto_id"]) < row_id:
                    if (
                        finding := _check(space_id, checkpoints[k], previous, inside, newest, inside_oldest, keys)
                    ) is not None:
                        return finding
                    previous, inside, inside_oldest, k = str(checkpoints[k]["mac"]), [], None, k + 1
                if row["mac"] is None:
                    return Finding(
                        space_id, f"row {row_id} carries no MAC (written before sealing existed, or its MAC removed)"
                    )
                at = aware(row["at"])
                newest = at if newest is None else max(newest, at)
                values = sealed(_stored_values(row, columns), _stored_values(row, if_set))
                key = _key_of(_row_payload(values), str(row["mac"]))
                if key is None:
                    return Finding(space_id, f"row {row_id} was changed after it was written")
                if not keys.allows(key):
                    return Finding(space_id, _replaced_after_newer(f"row {row_id}"))
                if k < len(checkpoints) and int(checkpoints[k]["after_id"]) < row_id:
                    inside.append((row_id, row["mac"]))
                    inside_oldest = at if inside_oldest is None else min(inside_oldest, at)
                elif row_id <= sealed_upto:
                    return Finding(
                        space_id,
                        f"row {row_id} is in a sealed range but no checkpoint covers it: added later, or its "
                        "checkpoint removed",
                    )
            if rows:
                rows_after = int(rows[-1]["id"])
            if len(rows) < page:
                break
        while k < len(checkpoints):
            if (finding := _check(space_id, checkpoints[k], previous, inside, newest, inside_oldest, keys)) is not None:
                return finding
            previous, inside, inside_oldest, k = str(checkpoints[k]["mac"]), [], None, k + 1
        if last_page:
            return None
        checkpoints_after = int(checkpoints[-1]["upto_id"])


class _Newest:
    """The newest key (the lowest index of :data:`_keys`) the rows and checkpoints read so far are
    sealed under, in the order they were made."""

    def __init__(self, none_yet: int) -> None:
        self.key = none_yet

    def allows(self, key: int) -> bool:
        """Whether what is sealed under ``key`` may come next (a key no older); noted if so."""
        if key > self.key:
            return False
        self.key = key
        return True


def _check(
    space_id: UUID,
    checkpoint: Row,
    previous: str,
    inside: Sequence[tuple[int, Any]],
    newest: datetime | None,
    oldest: datetime | None,
    keys: _Newest,
) -> Finding | None:
    """A checkpoint against the MAC of the one before it in its space and the rows now in its range;
    its ``newest_at`` against ``newest``, the newest ``at`` of the space's rows up to it, and its
    ``oldest_at`` against ``oldest``, the oldest of its rows (a time changed would hide rows from
    the history read ``since`` or ``until`` it)."""
    after, upto = int(checkpoint["after_id"]), int(checkpoint["upto_id"])
    key = _key_of(_checkpoint_payload(previous, space_id, after, upto, inside), str(checkpoint["mac"]))
    if key is not None:
        if not keys.allows(key):
            return Finding(
                space_id, _replaced_after_newer(f"checkpoint {checkpoint['id']} (rows {after + 1} to {upto})")
            )
        for column, stated, found in (
            ("newest", checkpoint["newest_at"], newest),
            ("oldest", checkpoint["oldest_at"], oldest),
        ):
            # None, or the year 1 for oldest_at: made before checkpoints kept it ("perhaps older": its
            # rows are always read). Not for newest_at: the year 1 there would skip them all.
            if stated is None or found is None or aware(stated) == found:
                continue
            if column == "oldest" and aware(stated) <= _UNKNOWN_OLDEST:
                continue
            return Finding(
                space_id,
                f"checkpoint {checkpoint['id']} (rows {after + 1} to {upto}) says its {column} row is of "
                f"{aware(stated).isoformat()}, its rows say {found.isoformat()}: changed after it was made",
            )
        return None
    return Finding(
        space_id,
        f"checkpoint {checkpoint['id']} (rows {after + 1} to {upto}) no longer matches: rows were deleted, added "
        f"or changed there ({checkpoint['row_count']} sealed, {len(inside)} now), or an earlier checkpoint was "
        "removed",
    )


async def spaces_with_history(*, after: UUID | None, limit: int) -> list[UUID]:
    """Spaces that have history rows or checkpoints, by id (``ens audit verify`` of them all)."""
    rows = await fetch("SELECT id FROM spaces WHERE id > {} ORDER BY id LIMIT {}", after or UUID(int=0), limit)
    return [as_uuid(row["id"]) for row in rows]


async def space_exists(space_id: UUID) -> bool:
    """Whether the space exists (an erased one is gone, its history with it)."""
    return await fetch_one("SELECT id FROM spaces WHERE id = {}", space_id) is not None
