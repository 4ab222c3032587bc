from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from ens.db import run_ddl

ID = "2026-11-23T12:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "idempotency keys"

STATEMENTS = [
    """CREATE TABLE idempotency_keys (
        id UUID PRIMARY KEY,
        caller VARCHAR(200) NOT NULL,
        key VARCHAR(255) NOT NULL,
        request_hash VARCHAR(64) NOT NULL,
        state VARCHAR(16) NOT NULL,
        status INTEGER,
        headers TEXT,
        body {blob},
        space_id UUID,
        created_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    )""",
    "CREATE UNIQUE INDEX idempotency_keys_caller_key ON idempotency_keys (caller, key)",
    "CREATE INDEX idempotency_keys_space ON idempotency_keys (space_id)",
    "CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at)",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def create() -> None:
        from ens.db import current

        await run_ddl(current(), STATEMENTS)

    manager.add_raw(create)
    return manager
