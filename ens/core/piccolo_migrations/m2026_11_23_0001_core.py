from ens.core.db import Index, ddl_migration

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

# The indexes these statements create (checked against the migrated database by a test).
INDEXES = [
    Index("idempotency_keys_caller_key", "idempotency_keys", ("caller", "key"), unique=True),
    Index("idempotency_keys_space", "idempotency_keys", ("space_id",)),
    Index("idempotency_keys_expiry", "idempotency_keys", ("expires_at",)),
]


forwards = ddl_migration(ID, "core", description=DESCRIPTION, statements=STATEMENTS)
