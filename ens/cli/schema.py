"""The database's shape: ``ens migrate`` and ``ens partition``."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import sys
from collections.abc import AsyncIterator
from typing import Any

from ens.cli.refusal import database_refusal, fail
from ens.core import db
from ens.core.settings import Settings
from ens.vitals.piccolo_migrations import m2026_12_31_0900_deletion_free_spaces as deletion_free_spaces

# pg_advisory_lock's key for ``ens migrate`` ("ensm"): one run at a time on a database.
MIGRATION_LOCK_KEY = 0x656E_736D

# The migrations after which the operator has a command to run once, beside the servers, by (app,
# migration id): ``ens migrate`` says so when it has just run one on a database that holds spaces.
AFTERWARDS = {
    ("vitals", deletion_free_spaces.ID): (
        "migration m2026_12_31_0900 ran: the spaces made before it count as having had an app's "
        "record deleted, and each batch of an app's records into them looks the deleted records up, "
        "until `ens vitals recheck-deletions` has run once, beside the servers (README, Upgrading)"
    ),
}


def migrate(settings: Settings) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    async def run() -> None:
        async with db.connected(settings) as engine, _one_run_at_a_time(settings, engine):
            ran_before = await _ran_migrations()
            try:
                result = await run_forwards(app_name="all")
            except BaseException:
                # A later migration failed: what ran before it is recorded as run, and the next
                # `ens migrate` would not say it (a review).
                with contextlib.suppress(Exception):
                    await _say_what_is_due(ran_before)
                raise
            await _say_what_is_due(ran_before)
            if not result.success:
                fail(f"migration failed: {result.message}")

    asyncio.run(run())


async def _say_what_is_due(ran_before: set[tuple[str, str]]) -> None:
    """What the operator has to run once now (:data:`AFTERWARDS`), for the migrations this run ran
    on a database that holds spaces."""
    ran_now = await _ran_migrations() - ran_before
    due = [then for migration, then in AFTERWARDS.items() if migration in ran_now]
    if due and await db.fetch_one("SELECT 1 AS one FROM spaces LIMIT 1") is not None:
        print(flush=True)  # (piccolo may have left a line open: "- <migration> [forwards]... ")
        for then in due:
            print(f"ens migrate: {then}.", flush=True)


def check_migrated(settings: Settings) -> None:
    """``ens serve`` before it starts: a database its migrations have not all reached (an empty one,
    or one an upgrade's ``ens migrate`` has not run on) stops it in one line. Served, ``/ready`` said
    ``ready`` and every request that met a missing table or column was a 500 (an outside audit)."""

    async def run() -> tuple[int, int, list[str]]:
        async with db.connected(settings, pool_size=1):
            missing, total = await _missing_migrations()
            return missing, total, [] if missing else await _unopened(settings)

    try:
        missing, total, unopened = asyncio.run(run())
    except (TimeoutError, OSError) as exc:
        fail(f"cannot reach the database named by ENS_DATABASE_URL ({type(exc).__name__}: {exc})")
    except Exception as exc:
        if (refused := database_refusal(exc)) is None:
            raise
        fail(refused)
    if missing:
        fail(
            f"the database named by ENS_DATABASE_URL lacks {missing} of this version's {total} migrations: "
            "run `ens migrate` first, with the same configuration"
        )
    if unopened:
        fail(
            f"ENS_SECRET_KEY opens none of the {' and none of the '.join(unopened)} tried: it is not the key "
            "they were sealed under, nor one of ENS_PREVIOUS_SECRET_KEYS. Serve with the key they were made "
            "under, or give it in ENS_PREVIOUS_SECRET_KEYS (then `ens keys rotate` re-seals them under the new one)"
        )


async def _unopened(settings: Settings) -> list[str]:
    """What the service's keys open none of, of what they seal at rest (a few rows of each). Served,
    a key changed without the one it replaced made every document request a 500 and every
    authenticator code refused, and nothing said why until someone asked (the documents audit)."""
    from ens.auth.otp.totp import seeds_open
    from ens.core import keyring
    from ens.documents.keys import space_keys_open

    keyring.configure(settings.secret_key, settings.previous_keys)
    checks = (
        ("spaces' document keys", await space_keys_open(settings.secret_key)),
        ("authenticators' seeds", await seeds_open(settings)),
    )
    return [what for what, opens in checks if opens is False]


async def _ran_migrations() -> set[tuple[str, str]]:
    """The migrations the database records as run, by (app, migration id)."""
    from piccolo.apps.migrations.tables import Migration

    if not await Migration.table_exists().run():
        return set()
    rows = await Migration.select(Migration.app_name, Migration.name).run()
    return {(row["app_name"], row["name"]) for row in rows}


async def _missing_migrations() -> tuple[int, int]:
    """How many of this version's migrations the database has not recorded as run, and how many there are."""
    from piccolo.apps.migrations.commands.base import BaseMigrationManager

    manager = BaseMigrationManager()
    ran = await _ran_migrations()
    missing = total = 0
    for app_name in manager.get_sorted_app_names():
        folder = manager.get_app_config(app_name).resolved_migrations_folder_path
        ids = manager.get_migration_ids(manager.get_migration_modules(folder))
        total += len(ids)
        missing += sum((app_name, migration_id) not in ran for migration_id in ids)
    return missing, total


@contextlib.asynccontextmanager
async def _one_run_at_a_time(settings: Settings, engine: Any) -> AsyncIterator[None]:
    """Hold the database's migration lock while migrating: a second ``ens migrate`` (another machine's
    deployment, started at the same moment) waits, then finds every migration done. Without it both
    ran the same migrations at once and one died on the other's table (an outside audit).

    PostgreSQL: a session advisory lock on a connection of its own, outside the pool the migrations
    use, ended with it (a killed run's lock goes with its connection). SQLite: an exclusive
    ``flock`` on a file beside the database (``….migrate-lock``, left in place, empty), not on the
    database itself, whose own locks are POSIX locks that some systems merge with ``flock``."""
    if settings.is_postgres:
        import asyncpg

        connection = await asyncpg.connect(**engine.config)
        try:
            if not await connection.fetchval("SELECT pg_try_advisory_lock($1)", MIGRATION_LOCK_KEY):
                print("another `ens migrate` is running on this database: waiting for it to end", file=sys.stderr)
                await connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
            yield
        finally:
            await connection.close()  # the lock ends with the session
        return
    path = f"{db.sqlite_path(settings.database_url)}.migrate-lock"
    with await asyncio.to_thread(open, path, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("another `ens migrate` is running on this database: waiting for it to end", file=sys.stderr)
            await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


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
