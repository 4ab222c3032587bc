"""The database's shape: ``ens migrate`` and ``ens partition``."""

from __future__ import annotations

import asyncio

from ens.cli.refusal import fail
from ens.core import db
from ens.core.settings import Settings


def migrate(settings: Settings) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    async def run() -> None:
        async with db.connected(settings):
            result = await run_forwards(app_name="all")
            if not result.success:
                fail(f"migration failed: {result.message}")

    asyncio.run(run())


def partition_table(settings: Settings, table: str, partitions: int) -> None:
    """Operators: a table of health data becomes hash-partitioned by space_id (PostgreSQL)."""
    from ens.core.partition import CannotPartition, partition_by_space

    if not settings.database_url.startswith(("postgres://", "postgresql://")):
        fail("partitioning is PostgreSQL's: ENS_DATABASE_URL names an SQLite file")

    async def run() -> int:
        async with db.connected(settings):
            return await partition_by_space(table, partitions)

    try:
        moved = asyncio.run(run())
    except CannotPartition as exc:
        fail(f"cannot partition {table}: {exc}")
    print(f"{table}: {partitions} partitions by hash of space_id, {moved} rows moved")
