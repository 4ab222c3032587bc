"""The access history, tamper-evident (ens.spaces.audit): a MAC on every row, checkpoints sealing
each space's rows, the sealer's state. On PostgreSQL a BRIN index on the rows' ids lets the sealer
read the newest range without a B-tree on the table every request writes to (SQLite's ids are its
rowids: a range of them is read directly)."""

from ens.core.db import Index, PostgresOnly, ddl_migration

ID = "2026-12-03T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "access history MACs, per-space checkpoints, the sealer's state"

STATEMENTS = [
    "ALTER TABLE access_history ADD COLUMN mac VARCHAR(64)",
    """CREATE TABLE history_checkpoints (
        space_id UUID NOT NULL REFERENCES spaces (id),
        id UUID NOT NULL,
        after_id BIGINT NOT NULL,
        upto_id BIGINT NOT NULL,
        row_count INTEGER NOT NULL,
        mac VARCHAR(64) NOT NULL,
        sealed_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (space_id, id)
    )""",
    "CREATE UNIQUE INDEX history_checkpoints_space_upto ON history_checkpoints (space_id, upto_id)",
    """CREATE TABLE history_seal_state (
        name VARCHAR(16) PRIMARY KEY,
        sealed_upto BIGINT NOT NULL,
        pending_upto BIGINT NOT NULL,
        pending_at TIMESTAMPTZ NOT NULL
    )""",
    PostgresOnly("CREATE INDEX access_history_id_brin ON access_history USING brin (id)"),
]

INDEXES = [Index("history_checkpoints_space_upto", "history_checkpoints", ("space_id", "upto_id"), unique=True)]
POSTGRES_INDEXES = [Index("access_history_id_brin", "access_history", ("id",))]
PRIMARY_KEYS = {"history_checkpoints": ("space_id", "id")}

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
