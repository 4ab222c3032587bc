"""Each measure keeps its JSON as the API shows it (``body``): reads return it as it is."""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from ens.core.db import Index, current, fetch, run_ddl, write_transaction

ID = "2026-12-01T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "measures keep their JSON as the API shows it (body), backfilled"

STATEMENTS = ["ALTER TABLE vital_measurements ADD COLUMN body TEXT NOT NULL DEFAULT ''"]

# These statements create no index.
INDEXES: list[Index] = []

BATCH = 5000


async def backfill() -> int:
    """Write the body of every stored measure, a batch per transaction (by primary key)."""
    from ens.vitals.representation import body_of_row

    done = 0
    while True:
        async with write_transaction():
            rows = await fetch("SELECT * FROM vital_measurements WHERE body = '' LIMIT {}", BATCH)
            for row in rows:
                await fetch(
                    "UPDATE vital_measurements SET body = {} WHERE space_id = {} AND id = {}",
                    body_of_row(row),
                    row["space_id"],
                    row["id"],
                )
        done += len(rows)
        if len(rows) < BATCH:
            return done


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="vitals", description=DESCRIPTION)

    async def run(*_: Any) -> None:
        await run_ddl(current(), STATEMENTS)
        await backfill()

    manager.add_raw(run)
    return manager
