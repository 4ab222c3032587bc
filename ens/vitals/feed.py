"""The change feed: the space's change numbers, the feed a phone replays, the purge of tombstones.

Every write takes numbers from the space's change-feed counter inside its transaction (see
:class:`ens.vitals.tables.VitalFeedCounter`), so the feed replays writes in commit order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from ens.core import clock
from ens.core.api import Cursors, check_limit
from ens.core.db import as_uuid, fetch, fetch_one, write_transaction
from ens.core.errors import BadRequest, FieldError, Gone
from ens.spaces.door import SpaceAccess
from ens.vitals.reads import measurements_sql, raw, readable_types, type_filter
from ens.vitals.schemas import DeleteChange, RawChangeFeed, RawUpsertChange


async def take_feed_numbers(space_id: UUID, count: int) -> int:
    """Reserve ``count`` change numbers in the space's feed; returns the last one.

    Must run inside the writing transaction: the counter row stays locked until commit, so the
    writers of one space commit in the order of their numbers.
    """
    row = await fetch_one(
        """INSERT INTO vital_feed_counters (space_id, last_seq, purged_seq) VALUES ({}, {}, 0)
           ON CONFLICT (space_id) DO UPDATE SET last_seq = vital_feed_counters.last_seq + excluded.last_seq
           RETURNING last_seq""",
        space_id,
        count,
    )
    assert row is not None
    return int(row["last_seq"])


async def changes(
    access: SpaceAccess, cursors: Cursors, *, cursor: str | None, limit: int | None, retention_days: int
) -> RawChangeFeed:
    """Upserts and deletions after ``cursor``, in the order they were committed.

    Positions are the space's change numbers (see ``VitalFeedCounter``). A cursor older than the
    tombstone retention, or from before a purge, is 410: deletions it would need are gone.
    """
    types = readable_types(access, None)
    size = check_limit(limit)
    purpose = f"vitals.changes:{access.space_id}"
    now = clock.now()
    after = 0
    if cursor is not None:
        position = cursors.decode(purpose, cursor)
        try:
            after, issued = int(position[0]), datetime.fromtimestamp(float(position[1]), UTC)
        except (IndexError, TypeError, ValueError) as exc:
            raise BadRequest("The cursor is malformed.", [FieldError("/cursor", "malformed")]) from exc
        counter = await fetch_one("SELECT purged_seq FROM vital_feed_counters WHERE space_id = {}", access.space_id)
        purged = int(counter["purged_seq"]) if counter else 0
        if issued < now - timedelta(days=retention_days) or after < purged:
            raise Gone("This sync cursor has expired: fetch everything again without a cursor.")
    type_sql, type_args = type_filter(types, column="m.type")
    rows = await fetch(
        measurements_sql(where="m.space_id = {} AND m.seq > {}" + type_sql, order="ORDER BY m.seq LIMIT {}").replace(
            " AS body FROM", " AS body, m.seq, m.id, m.hidden_from_representatives AS hidden FROM"
        ),
        access.space_id,
        after,
        *type_args,
        size + 1,
    )
    type_sql, type_args = type_filter(types)
    tombstones = await fetch(
        f"SELECT id, seq FROM vital_tombstones WHERE space_id = {{}} AND seq > {{}}{type_sql} ORDER BY seq LIMIT {{}}",
        access.space_id,
        after,
        *type_args,
        size + 1,
    )
    # A measure hidden from representatives is, to them, a deletion (nothing at all in a first sync).
    hides = not access.sees_confidential
    merged: list[tuple[int, RawUpsertChange | DeleteChange]] = [
        (
            int(row["seq"]),
            DeleteChange(id=as_uuid(row["id"]))
            if hides and row["hidden"]
            else RawUpsertChange(measurement=raw(row["body"])),
        )
        for row in rows
        if not (hides and row["hidden"] and cursor is None)
    ]
    merged += [(int(row["seq"]), DeleteChange(id=as_uuid(row["id"]))) for row in tombstones]
    merged.sort(key=lambda pair: pair[0])
    page = merged[:size]
    last = page[-1][0] if page else after
    return RawChangeFeed(
        changes=[change for _, change in page],
        next_cursor=cursors.encode(purpose, [last, now.timestamp()]),
        has_more=len(merged) > size,
    )


async def purge_tombstones(retention_days: int, now: datetime | None = None) -> int:
    """Remove tombstones older than the retention; feed cursors from before them then answer 410."""
    cutoff = (now or clock.now()) - timedelta(days=retention_days)
    async with write_transaction():
        # Remember, per space, the newest change number purged: an older cursor would miss it.
        await fetch(
            """UPDATE vital_feed_counters SET purged_seq = purged.max_seq
               FROM (SELECT space_id, MAX(seq) AS max_seq FROM vital_tombstones
                     WHERE deleted_at < {} GROUP BY space_id) AS purged
               WHERE vital_feed_counters.space_id = purged.space_id""",
            cutoff,
        )
        removed = await fetch("DELETE FROM vital_tombstones WHERE deleted_at < {} RETURNING id", cutoff)
    return len(removed)
