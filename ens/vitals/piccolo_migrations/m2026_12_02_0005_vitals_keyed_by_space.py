"""Measures and their deletion tombstones keyed by their space first (PostgreSQL): they can be
hash-partitioned and distributed by ``space_id`` (docs/scale.md)."""

from ens.core.db import Index, PostgresOnly, ddl_migration

ID = "2026-12-02T12:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "vital_measurements and vital_tombstones keyed by (space_id, id) on PostgreSQL"

STATEMENTS = [
    PostgresOnly(
        "ALTER TABLE vital_measurements DROP CONSTRAINT vital_measurements_pkey, ADD PRIMARY KEY (space_id, id)"
    ),
    PostgresOnly("ALTER TABLE vital_tombstones DROP CONSTRAINT vital_tombstones_pkey, ADD PRIMARY KEY (space_id, id)"),
]

INDEXES: list[Index] = []
POSTGRES_PRIMARY_KEYS = {"vital_measurements": ("space_id", "id"), "vital_tombstones": ("space_id", "id")}

forwards = ddl_migration(ID, "vitals", description=DESCRIPTION, statements=STATEMENTS)
