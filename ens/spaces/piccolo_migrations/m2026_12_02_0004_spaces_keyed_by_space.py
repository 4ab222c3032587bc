"""The spaces' health tables keyed by their space first (PostgreSQL): they can be hash-partitioned
and distributed by ``space_id`` (docs/scale.md). The access history's separate ``(space_id, id)``
index is its primary key now: one index fewer on the table every request writes to."""

from ens.core.db import Index, PostgresOnly, ddl_migration

ID = "2026-12-02T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "representatives and access_history keyed by (space_id, id) on PostgreSQL"

STATEMENTS = [
    PostgresOnly("ALTER TABLE representatives DROP CONSTRAINT representatives_pkey, ADD PRIMARY KEY (space_id, id)"),
    PostgresOnly("ALTER TABLE access_history DROP CONSTRAINT access_history_pkey, ADD PRIMARY KEY (space_id, id)"),
    PostgresOnly("DROP INDEX access_history_space"),
]

INDEXES: list[Index] = []
POSTGRES_PRIMARY_KEYS = {"representatives": ("space_id", "id"), "access_history": ("space_id", "id")}
POSTGRES_DROPPED_INDEXES = ["access_history_space"]

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
