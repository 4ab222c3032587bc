"""Whether a deleted measure was hidden from representatives, kept on its tombstone.

A representative's first sync of the change feed shows nothing at all of the measures hidden from
them; a deleted one still came as ``{"op": "delete", "id": ...}``, the id of a measure they never
saw (found by a review). The tombstone now says it was hidden, and that first sync leaves it out.
Tombstones written before say ``false``, as their measures' flag is gone with them."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-10T10:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "vital_tombstones.hidden_from_representatives"

STATEMENTS = [
    "ALTER TABLE vital_tombstones ADD COLUMN hidden_from_representatives BOOLEAN NOT NULL DEFAULT FALSE",
]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "vitals", description=DESCRIPTION, statements=STATEMENTS)
