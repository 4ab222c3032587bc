"""The change feed: places in a space's feed, the feed a phone replays, the purge of tombstones.

A phone syncs by asking for the changes after the last one it saw, so the feed must never show a
change and later reveal an older one before it. Every write takes its place with
:func:`take_feed_numbers`, inside its transaction:

- On PostgreSQL a place is ``(feed_xid, seq)``: the writing transaction's id, then a number from
  the sequence ``vital_feed_seq`` (a write takes a block of ``FEED_BLOCK`` numbers in one call).
  Nothing is locked: writers of one space run side by side. The
  feed shows only rows written by transactions older than every transaction still running
  (``pg_snapshot_xmin``): those are all finished, so no row can appear before a place the feed
  has already passed. A change shows once the writes that began before it have ended (under
  load, milliseconds; a write transaction held open holds the feed back until it ends).
- On SQLite (one writer at a time) ``feed_xid`` is 0 and ``seq`` comes from the space's counter
  row: numbers follow commits.

A measure hidden from the representatives once shown to them is, to them, deleted: the hide has a
place of its own (``vital_hides``, :func:`place_hide`) that their feed reads as the deletion, and
while the measure stays hidden its own row and its tombstone are nothing in their feed, so its later
changes (a correction, an app's replacement, its deletion) tell them nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from ens.core import clock, db
from ens.core.api import Cursors, check_limit, cursor_int
from ens.core.db import as_uuid, current, execute, fetch, fetch_one, insert_rows, is_postgres
from ens.core.errors import Gone
from ens.spaces.door import SpaceAccess
from ens.vitals.reads import raw, readable_types, type_filter
from ens.vitals.schemas import DeleteChange, RawChangeFeed, RawUpsertChange


@dataclass(frozen=True)
class FeedNumbers:
    """The places a writing transaction takes: its id (0 on SQLite) and one number per change."""

    xid: int
    seqs: list[int]


# The sequence moves by this much: each call takes a block, numbers its changes from the block's
# first (migration m2026_12_07_0007). A batch holds at most 1000 measures.
FEED_BLOCK = 1000

# PostgreSQL: the transaction's id (taking one if it had none) and a block of numbers. (A batch of
# measures takes them in the statement that looks up its records: ens.vitals.ingest.)
FEED_PLACES_SQL = "pg_current_xact_id()::text::bigint AS xid, nextval('vital_feed_seq') AS first_seq"


def numbers_from(row: Mapping[str, Any], count: int) -> FeedNumbers:
    """The places of ``count`` changes from a row carrying ``FEED_PLACES_SQL``'s columns."""
    if count > FEED_BLOCK:
        raise ValueError(f"{count} changes in one call: a block holds {FEED_BLOCK}")
    first = int(row["first_seq"])
    return FeedNumbers(xid=int(row["xid"]), seqs=list(range(first, first + count)))


async def take_feed_numbers(space_id: UUID, count: int) -> FeedNumbers:
    """Places for ``count`` changes (at most ``FEED_BLOCK``) in the space's feed, inside the
    writing transaction."""
    if is_postgres(current()):
        row = await fetch_one(f"SELECT {FEED_PLACES_SQL}")
        assert row is not None
        return numbers_from(row, count)
    row = await fetch_one(
        """INSERT INTO vital_feed_counters (space_id, last_seq, purged_seq) VALUES ({}, {}, 0)
           ON CONFLICT (space_id) DO UPDATE SET last_seq = vital_feed_counters.last_seq + excluded.last_seq
           RETURNING last_seq""",
        space_id,
        count,
    )
    assert row is not None
    last = int(row["last_seq"])
    return FeedNumbers(xid=0, seqs=list(range(last - count + 1, last + 1)))


# What a hide row holds: the measure's id, its space, its type, its place (``FeedNumbers``),
# ``deleted_at`` (null: the measure is there, hidden), and the place the measure was first shown at
# (null: not known).
HIDE_COLUMNS = ("id", "space_id", "type", "feed_xid", "seq", "deleted_at", "shown_xid", "shown_seq")

Place = tuple[int, int]


async def place_hides(rows: Sequence[tuple[UUID, UUID, str, int, int]], *, shown: Place | None = None) -> None:
    """Measures visible to the representatives until now, hidden in this transaction at the places
    given (``(id, space_id, type, feed_xid, seq)``, the places their rows take): each is a deletion
    in the representatives' feed, there and nowhere else while it stays hidden (module doc).
    ``shown`` (one measure): the place it took when added, unchanged since; a representative whose
    feed has not reached it never had it, and is told nothing."""
    first = shown or (None, None)
    await insert_rows("vital_hides", HIDE_COLUMNS, rows=[(*row, None, *first) for row in rows])


async def place_hide(
    space_id: UUID,
    measurement_id: UUID,
    vital_type: str,
    *,
    was_hidden: bool,
    hidden: bool,
    numbers: FeedNumbers,
    shown: Place | None,
) -> None:
    """A measure changed at ``numbers``'s first place: hidden now, its hide takes that place (with
    ``shown``, see :func:`place_hides`); shown again, its hide goes (its row, at that place, is an
    upsert to the representatives)."""
    if hidden and not was_hidden:
        await place_hides([(measurement_id, space_id, vital_type, numbers.xid, numbers.seqs[0])], shown=shown)
    elif was_hidden and not hidden:
        await fetch("DELETE FROM vital_hides WHERE space_id = {} AND id = {}", space_id, measurement_id)


async def hidden_measure_deleted(space_id: UUID, measurement_id: UUID, deleted_at: datetime) -> None:
    """A measure deleted while hidden: its tombstone is nothing to the representatives (its hide,
    if it was ever shown to them, told them), and its hide is purged with the tombstone."""
    await fetch(
        "UPDATE vital_hides SET deleted_at = {} WHERE space_id = {} AND id = {}", deleted_at, space_id, measurement_id
    )


def _horizon(alias: str) -> str:
    """PostgreSQL: only rows of transactions older than every one still running (see module doc)."""
    if is_postgres(current()):
        return f" AND {alias}.feed_xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
    return ""


# A place past every change: the seq part of the PostgreSQL head (below).
_LAST_SEQ = 2**63 - 1


def _head() -> str:
    """The feed's head as the page's statement sees it: every change at or before it is in that
    statement's snapshot (or never will be). PostgreSQL: ``(pg_snapshot_xmin - 1, last)``, since
    every transaction older than the horizon has ended and every one still running or to come has
    an id at or past it. SQLite (one writer at a time): the space's counter, read in the same
    statement, so under the same snapshot as the rows (a number is taken in the transaction that
    writes its row)."""
    if is_postgres(current()):
        return f"SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint - 1 AS head_xid, {_LAST_SEQ} AS head_seq"
    return (
        "SELECT 0 AS head_xid, COALESCE((SELECT c.last_seq FROM vital_feed_counters c WHERE c.space_id = {}), 0)"
        " AS head_seq"
    )


# Each table gives at most a page of its first changes after the cursor (an ordered range of its
# (space_id, feed_xid, seq) index), then the page is the first of both: a space's whole history is
# never read and sorted to serve one page of it. The head (one row, joined to the page, so that an
# empty page still has it) is read in the same statement, under the same snapshot. A caller who does
# not see what is hidden from the representatives reads neither hidden measures nor their tombstones,
# and reads the hides (HIDES).
_FEED = """
SELECT h.head_xid AS head_xid, h.head_seq AS head_seq, c.xid AS xid, c.seq AS seq, c.id AS id, c.body AS body,
       c.hidden AS hidden
FROM (HEAD) AS h LEFT JOIN (
SELECT * FROM (
    SELECT m.feed_xid AS xid, m.seq AS seq, m.id AS id, m.body AS body, m.hidden_from_representatives AS hidden
    FROM vital_measurements m WHERE m.space_id = {} AND (m.feed_xid, m.seq) > ({}, {})MEASURE_FILTERS
    ORDER BY m.feed_xid, m.seq LIMIT {}) AS measures
UNION ALL
SELECT * FROM (
    SELECT t.feed_xid AS xid, t.seq AS seq, t.id AS id, NULL AS body, t.hidden_from_representatives AS hidden
    FROM vital_tombstones t WHERE t.space_id = {} AND (t.feed_xid, t.seq) > ({}, {})TOMBSTONE_FILTERS
    ORDER BY t.feed_xid, t.seq LIMIT {}) AS tombstones
HIDES) AS c ON 1 = 1 ORDER BY c.xid, c.seq LIMIT {}
"""
_HIDES = """UNION ALL
SELECT * FROM (
    SELECT v.feed_xid AS xid, v.seq AS seq, v.id AS id, NULL AS body, TRUE AS hidden
    FROM vital_hides v WHERE v.space_id = {} AND (v.feed_xid, v.seq) > ({}, {})
        AND (v.shown_seq IS NULL OR (v.shown_xid, v.shown_seq) <= ({}, {}))HIDE_FILTERS
    ORDER BY v.feed_xid, v.seq LIMIT {}) AS hides
"""


@dataclass(frozen=True)
class _Position:
    """What a cursor carries (see :func:`changes`)."""

    after: Place
    issued: datetime
    began: datetime | None
    known: Place
    reach: str | None


def _reach(types: list[str], sees_confidential: bool) -> str:
    """A digest of what a caller may read in the feed: its readable types and whether it sees the
    measures hidden from representatives. A cursor carries it: one presented by a caller whose
    reach has changed since is 410 (changes it could not read then were skipped, measures it may no
    longer see were sent)."""
    what = msgspec.json.encode([sorted(types), sees_confidential])
    return hashlib.sha256(what).hexdigest()[:24]


def _position(position: list[object]) -> _Position:
    """A cursor's place, when it was issued, within a first sync (the pages that follow the one
    asked without a cursor, until its last) when that first sync began, the place up to which no
    deletion concerns the caller any more, and the caller's reach: ``[xid, seq, issued, began,
    known_xid, known_seq, reach]`` (``began`` 0 after a first sync). Cursors issued before the
    reach was carried (``[xid, seq, issued, began]``, ``[xid, seq, issued]``, ``[seq, issued]``)
    have no reach: 410."""
    if len(position) == 2:
        position = [0, *position]
    if len(position) == 3:
        position = [*position, 0]
    if len(position) == 4:
        position = [*position, position[0], position[1], None]
    if len(position) != 7:
        raise ValueError("a feed position has seven parts")
    xid, seq, issued, began, known_xid, known_seq, reach = position
    if reach is not None and not isinstance(reach, str):
        raise ValueError("a reach is a string")
    began_at = float(str(began))
    # Within their bigint columns: a key ENS_SECRET_KEY replaced still opens a cursor, and its holder
    # writes any place in it (ens.core.api.Cursors.place).
    return _Position(
        after=(cursor_int(xid), cursor_int(seq)),
        issued=datetime.fromtimestamp(float(str(issued)), UTC),
        began=datetime.fromtimestamp(began_at, UTC) if began_at else None,
        known=(cursor_int(known_xid), cursor_int(known_seq)),
        reach=reach,
    )


async def changes(
    access: SpaceAccess, cursors: Cursors, *, cursor: str | None, limit: int | None, retention_days: int
) -> RawChangeFeed:
    """Upserts and deletions after ``cursor``, in the order of their places (module doc).

    A cursor carries the place of the last change the caller was given and ``known``: a place up
    to which no deletion concerns the caller any more (it was sent, or its measure was deleted
    before the caller could read it). A page that is the last one moves both to the head of the
    feed (:func:`_head`): the caller has then read every change it may read up to there, so its
    cursor passes the changes of types it does not read, and later purges of their tombstones.
    The first sync's pages start ``known`` at the head of its first read: a measure whose tombstone
    is at or before it was deleted before that read.

    A cursor older than the tombstone retention, one presented by a caller whose reach (its
    readable types, whether it sees hidden measures) changed since it was issued, or one whose
    ``known`` is before a purged tombstone is 410: fetch everything again.
    """
    types = readable_types(access, None)
    reach = _reach(types, access.sees_confidential)
    size = check_limit(limit)
    purpose = f"vitals.changes:{access.space_id}"
    now = clock.now()
    after: Place = (0, 0)
    known: Place | None = None  # a first sync: the head of its first read
    began: datetime | None = now  # a first sync begins: what is hidden at its first read is never shown
    if cursor is not None:
        position = cursors.place(purpose, cursor, _position)
        if position.issued < now - timedelta(days=retention_days) or position.reach != reach:
            raise _expired()
        after, began, known = position.after, position.began, position.known
    # One statement, so the tables and the head are read under one snapshot and one horizon.
    hides = not access.sees_confidential
    measure_sql, measure_args = type_filter(types, column="m.type")
    tombstone_sql, tombstone_args = type_filter(types, column="t.type")
    hide_sql, hide_args = type_filter(types, column="v.type")
    unhidden = " AND NOT {}.hidden_from_representatives" if hides else ""
    sql = (
        _FEED.replace("HEAD", _head())
        .replace("MEASURE_FILTERS", measure_sql + unhidden.format("m") + _horizon("m"))
        .replace("TOMBSTONE_FILTERS", tombstone_sql + unhidden.format("t") + _horizon("t"))
        .replace("HIDES", _HIDES.replace("HIDE_FILTERS", hide_sql + _horizon("v")) if hides else "")
    )
    rows = await fetch(
        sql,
        *(() if is_postgres(current()) else (access.space_id,)),
        *(access.space_id, *after, *measure_args, size + 1),
        *(access.space_id, *after, *tombstone_args, size + 1),
        *((access.space_id, *after, *after, *hide_args, size + 1) if hides else ()),
        size + 1,
    )
    head = (int(rows[0]["head_xid"]), int(rows[0]["head_seq"]))
    rows = [row for row in rows if row["id"] is not None]
    if known is not None:
        # Checked after the read, not before: a purge that commits between the two statements is
        # then seen here (a 410 the phone did not strictly need), never missed (deletions it needed
        # gone from the read, with no 410).
        counter = await fetch_one(
            "SELECT purged_xid, purged_seq FROM vital_feed_counters WHERE space_id = {}", access.space_id
        )
        if counter is not None and known < (int(counter["purged_xid"]), int(counter["purged_seq"])):
            raise _expired()
    else:
        known = head
    # To a representative, a hide (the only hidden rows their feed reads) is a deletion. In a first
    # sync (every one of its pages), a measure hidden before its first read is nothing at all (it
    # was in none of its pages); one hidden since may have been sent on an earlier page: a
    # deletion. Before or since is the hide's place against the head of the first read (``known``
    # within a first sync: past the cursor, a place at or before it is at or before that head), not
    # its time: a hide reads the clock before it waits for the write lock (and, on PostgreSQL,
    # passes the horizon after it commits), so one committed after a page sent its measure may
    # carry an earlier time than the sync's start. A measure added hidden and never shown has no
    # hide: nothing at all, its deletion neither.
    first_read = known if began is not None else None  # within a first sync
    page = rows[:size]
    more = len(rows) > size
    listed: list[RawUpsertChange | DeleteChange] = []
    for row in page:
        hidden_since = hides and row["hidden"]
        if hidden_since and first_read is not None and (int(row["xid"]), int(row["seq"])) <= first_read:
            continue  # hidden before the first read: nothing the caller holds
        if row["body"] is None:  # a tombstone, or a hide
            listed.append(DeleteChange(id=as_uuid(row["id"])))
        else:
            listed.append(RawUpsertChange(measurement=raw(row["body"])))
    last = (int(page[-1]["xid"]), int(page[-1]["seq"])) if page else after
    if not more:
        last = max(last, head)
    known = max(known, last)
    return RawChangeFeed(
        changes=listed,
        next_cursor=cursors.encode(
            purpose, [*last, now.timestamp(), began.timestamp() if began and more else 0, *known, reach]
        ),
        has_more=more,
    )


def _expired() -> Gone:
    return Gone("This sync cursor has expired: fetch everything again without a cursor.")


async def purge_tombstones(retention_days: int, now: datetime | None = None) -> int:
    """Remove tombstones older than the retention; feed cursors from before them then answer 410.

    Oldest first, about ``PURGE_BATCH`` at a time (``ens.core.db.delete_in_batches``), each batch
    with its spaces' purged places in a transaction of its own: the day's expired deletions of every
    space were one transaction, which held every space's change feed back (its horizon is the oldest
    transaction running) for as long as it ran (an outside audit)."""
    cutoff = (now or clock.now()) - timedelta(days=retention_days)

    async def with_each(within: str, bounds: tuple[Any, ...]) -> None:
        # Remember, per space, the newest place purged: an older cursor would miss a deletion.
        # One sort of the batch's tombstones (the newest place of each space first); a subquery
        # for each tombstone took 2.6 s for 266,000 (a scale audit). A place only moves forward.
        await fetch(
            f"""INSERT INTO vital_feed_counters (space_id, last_seq, purged_seq, purged_xid)
               SELECT space_id, 0, seq, feed_xid FROM (
                 SELECT t.space_id, t.seq, t.feed_xid,
                        ROW_NUMBER() OVER (PARTITION BY t.space_id ORDER BY t.feed_xid DESC, t.seq DESC) AS newest
                 FROM vital_tombstones t WHERE {within}) AS expired
               WHERE newest = 1
               ON CONFLICT (space_id) DO UPDATE
               SET purged_xid = excluded.purged_xid, purged_seq = excluded.purged_seq
               WHERE (vital_feed_counters.purged_xid, vital_feed_counters.purged_seq)
                     < (excluded.purged_xid, excluded.purged_seq)""",
            *bounds,
        )
        # The hides of measures deleted hidden go with their tombstones, deleted at the same moment
        # (each tombstone's place is past its hide's: the purged place above covers both).
        await execute(f"DELETE FROM vital_hides WHERE {within}", *bounds)

    return await db.delete_in_batches("vital_tombstones", "deleted_at", cutoff, with_each=with_each)
