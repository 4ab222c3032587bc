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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from ens.core import clock
from ens.core.api import Cursors, check_limit
from ens.core.clock import aware
from ens.core.db import as_uuid, current, fetch, fetch_one, is_postgres, write_transaction
from ens.core.errors import BadRequest, FieldError, Gone
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


def _horizon(alias: str) -> str:
    """PostgreSQL: only rows of transactions older than every one still running (see module doc)."""
    if is_postgres(current()):
        return f" AND {alias}.feed_xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
    return ""


# Each table gives at most a page of its first changes after the cursor (an ordered range of its
# (space_id, feed_xid, seq) index), then the page is the first of both: a space's whole history is
# never read and sorted to serve one page of it.
_FEED = """
SELECT xid, seq, id, body, hidden, changed_at FROM (
SELECT * FROM (
    SELECT m.feed_xid AS xid, m.seq AS seq, m.id AS id, m.body AS body, m.hidden_from_representatives AS hidden,
           m.updated_at AS changed_at
    FROM vital_measurements m WHERE m.space_id = {} AND (m.feed_xid, m.seq) > ({}, {})MEASURE_FILTERS
    ORDER BY m.feed_xid, m.seq LIMIT {}) AS measures
UNION ALL
SELECT * FROM (
    SELECT t.feed_xid AS xid, t.seq AS seq, t.id AS id, NULL AS body, t.hidden_from_representatives AS hidden,
           t.deleted_at AS changed_at
    FROM vital_tombstones t WHERE t.space_id = {} AND (t.feed_xid, t.seq) > ({}, {})TOMBSTONE_FILTERS
    ORDER BY t.feed_xid, t.seq LIMIT {}) AS tombstones
) AS changes ORDER BY xid, seq LIMIT {}
"""


def _position(position: list[object]) -> tuple[tuple[int, int], datetime, datetime | None]:
    """A cursor's place, when it was issued, and, within a first sync (the pages that follow the one
    asked without a cursor, until its last), when that first sync began: ``[xid, seq, issued,
    began]`` (``began`` 0 after it); ``[xid, seq, issued]`` and ``[seq, issued]`` as issued before
    (their rows have ``feed_xid`` 0), not within a first sync."""
    if len(position) == 2:
        position = [0, *position]
    if len(position) == 3:
        position = [*position, 0]
    if len(position) != 4:
        raise ValueError("a feed position has four parts")
    xid, seq, issued, began = position
    began_at = float(str(began))
    return (
        (int(str(xid)), int(str(seq))),
        datetime.fromtimestamp(float(str(issued)), UTC),
        datetime.fromtimestamp(began_at, UTC) if began_at else None,
    )


async def changes(
    access: SpaceAccess, cursors: Cursors, *, cursor: str | None, limit: int | None, retention_days: int
) -> RawChangeFeed:
    """Upserts and deletions after ``cursor``, in the order of their places (module doc).

    A cursor older than the tombstone retention, or from before a purge, is 410: deletions it
    would need are gone.
    """
    types = readable_types(access, None)
    size = check_limit(limit)
    purpose = f"vitals.changes:{access.space_id}"
    now = clock.now()
    after = (0, 0)
    began: datetime | None = now  # a first sync begins: what is hidden then is never shown, not even deleted
    if cursor is not None:
        try:
            after, issued, began = _position(cursors.decode(purpose, cursor))
        except (TypeError, ValueError) as exc:
            raise BadRequest("The cursor is malformed.", [FieldError("/cursor", "malformed")]) from exc
        if issued < now - timedelta(days=retention_days):
            raise _expired()
    # One statement, so both tables are read under one snapshot and one horizon.
    measure_sql, measure_args = type_filter(types, column="m.type")
    tombstone_sql, tombstone_args = type_filter(types, column="t.type")
    sql = _FEED.replace("MEASURE_FILTERS", measure_sql + _horizon("m")).replace(
        "TOMBSTONE_FILTERS", tombstone_sql + _horizon("t")
    )
    rows = await fetch(
        sql,
        *(access.space_id, *after, *measure_args, size + 1),
        *(access.space_id, *after, *tombstone_args, size + 1),
        size + 1,
    )
    if cursor is not None:
        # Checked after the read, not before: a purge that commits between the two statements is
        # then seen here (a 410 the phone did not strictly need), never missed (deletions it needed
        # gone from the read, with no 410).
        counter = await fetch_one(
            "SELECT purged_xid, purged_seq FROM vital_feed_counters WHERE space_id = {}", access.space_id
        )
        if counter is not None and after < (int(counter["purged_xid"]), int(counter["purged_seq"])):
            raise _expired()
    # A measure hidden from representatives is, to them, a deletion. In a first sync (every one of
    # its pages), one hidden before it began is nothing at all, its deletion neither (its tombstone
    # says it was hidden); one hidden since may have been sent on an earlier page: a deletion.
    hides = not access.sees_confidential
    page = rows[:size]
    more = len(rows) > size
    listed: list[RawUpsertChange | DeleteChange] = []
    for row in page:
        if hides and row["hidden"] and began is not None and aware(row["changed_at"]) <= began:
            continue
        if row["body"] is None or (hides and row["hidden"]):
            listed.append(DeleteChange(id=as_uuid(row["id"])))
        else:
            listed.append(RawUpsertChange(measurement=raw(row["body"])))
    last = (int(page[-1]["xid"]), int(page[-1]["seq"])) if page else after
    return RawChangeFeed(
        changes=listed,
        next_cursor=cursors.encode(purpose, [*last, now.timestamp(), began.timestamp() if began and more else 0]),
        has_more=more,
    )


def _expired() -> Gone:
    return Gone("This sync cursor has expired: fetch everything again without a cursor.")


async def purge_tombstones(retention_days: int, now: datetime | None = None) -> int:
    """Remove tombstones older than the retention; feed cursors from before them then answer 410."""
    cutoff = (now or clock.now()) - timedelta(days=retention_days)
    async with write_transaction():
        # Remember, per space, the newest place purged: an older cursor would miss a deletion.
        await fetch(
            """INSERT INTO vital_feed_counters (space_id, last_seq, purged_seq, purged_xid)
               SELECT t.space_id, 0, MAX(t.seq), t.feed_xid FROM vital_tombstones t
               WHERE t.deleted_at < {} AND t.feed_xid = (SELECT MAX(u.feed_xid) FROM vital_tombstones u
                                                        WHERE u.space_id = t.space_id AND u.deleted_at < {})
               GROUP BY t.space_id, t.feed_xid
               ON CONFLICT (space_id) DO UPDATE SET purged_xid = excluded.purged_xid, purged_seq = excluded.purged_seq
               WHERE (vital_feed_counters.purged_xid, vital_feed_counters.purged_seq)
                     < (excluded.purged_xid, excluded.purged_seq)""",
            cutoff,
            cutoff,
        )
        removed = await fetch("DELETE FROM vital_tombstones WHERE deleted_at < {} RETURNING id", cutoff)
    return len(removed)
