"""``ens vitals recheck-deletions``: once after upgrading, the spaces made before their row of
``vital_deletion_free_spaces`` (migration ``m2026_12_31_0900``, which leaves them without one) that
never had an app's record deleted are given it, and their batches stop looking the deleted records
up (``ens.vitals.ingest``).

The service makes a space's row only with the space: a deletion in a space without one takes no
lock there (its trigger finds nothing to delete), so a row made reading "no deleted record" while the
deletion is under way would miss it, and the app's re-sync would bring the measure back. Here each
space's row of ``spaces`` is first locked ``FOR UPDATE``: every write under the space door holds
that row ``FOR KEY SHARE`` from its first statement (``ens.spaces.door.access.readmit``), so a
space locked here has no write under way, and one that starts waits until this batch commits (its
trigger then deletes the row again). A space some write holds at that moment is passed over
(``SKIP LOCKED``), left without a row, and counted: run the command again. The check that follows
is a statement of its own, whose snapshot sees every deletion committed before the lock was
granted. SQLite's writers are serialised.

A window of 500 spaces' ids a transaction, in their order, resumable: each run walks every space's
id and probes the rows' key for each (a space with a row is passed over unlocked; one with a
deleted record is rechecked, a probe of ``vital_deleted_records``' index more)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from ens.core.db import current, fetch, is_postgres, row_lock, write_transaction

BATCH = 500

# Of the spaces named, those without a row: asked of a window of 500 ids. Asked along ``spaces``
# with a LIMIT (the first way), 2 million spaces took 358 s.
_WITHOUT_ROW = "NOT EXISTS (SELECT 1 FROM vital_deletion_free_spaces f WHERE f.space_id = spaces.id)"


@dataclass(frozen=True)
class Rechecked:
    """What :func:`recheck_deletions` found, in spaces."""

    cleared: int  # no deleted record: given their row now
    kept: int  # a deleted record: left without one
    busy: int  # a write held the space then: left without one, for another run


async def recheck_deletions(*, batch: int = BATCH) -> Rechecked:
    """Every space without a row, rechecked (module doc)."""
    cleared = kept = busy = 0
    after: UUID | None = None
    skip = " SKIP LOCKED" if is_postgres(current()) else ""
    while True:
        async with write_transaction():
            if skip:
                # Planned for each window: with the plan PostgreSQL keeps after a few, made while
                # the table of rows was nearly empty, the walk slowed as that table filled (500,000
                # spaces: 121 s, against 14 s planned each time).
                await fetch("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")
            window = await fetch(
                "SELECT id FROM spaces" + (" WHERE id > {}" if after is not None else "") + " ORDER BY id LIMIT {}",
                *([after] if after is not None else []),
                batch,
            )
            if not window:
                return Rechecked(cleared=cleared, kept=kept, busy=busy)
            after = window[-1]["id"]
            named = [row["id"] for row in window]
            marks = ", ".join(["{}"] * len(named))
            without = f"SELECT id FROM spaces WHERE id IN ({marks}) AND {_WITHOUT_ROW} ORDER BY id"
            # The spaces a write holds now are passed over by the locked read: counted by the
            # unlocked one.
            unlocked = len(await fetch(without, *named)) if skip else 0
            ids = [row["id"] for row in await fetch(without + row_lock("UPDATE") + skip, *named)]
            busy += unlocked - len(ids) if skip else 0
            if not ids:
                continue
            marks = ", ".join(["{}"] * len(ids))
            made = await fetch(
                f"INSERT INTO vital_deletion_free_spaces (space_id) SELECT id FROM spaces WHERE id IN ({marks}) "
                "AND NOT EXISTS (SELECT 1 FROM vital_deleted_records d WHERE d.space_id = spaces.id) "
                # (A second run at once may have made it: a review.)
                "ON CONFLICT DO NOTHING RETURNING space_id",
                *ids,
            )
            cleared += len(made)
            kept += len(ids) - len(made)
