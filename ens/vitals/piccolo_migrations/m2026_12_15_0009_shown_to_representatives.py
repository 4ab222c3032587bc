"""Whether a measure was ever shown to the space's representatives, kept on the measure and on its
tombstone.

A representative's sync after their first got ``{"op": "delete", "id": ...}`` for a measure the
holder hid from them from its first moment (added hidden, then changed or deleted): the id and the
time of a measure they never saw (found by a review). A measure now says whether it was ever
visible to them; one that never was is nothing at all in their feed, its deletion neither.
Rows written before say ``true`` (they may have been shown): their deletions are sent as before.
Adding a column with a constant default rewrites no row on PostgreSQL."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-15T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "vital_measurements and vital_tombstones.shown_to_representatives"

STATEMENTS = [
    "ALTER TABLE vital_measurements ADD COLUMN shown_to_representatives BOOLEAN NOT NULL DEFAULT TRUE",
    "ALTER TABLE vital_tombstones ADD COLUMN shown_to_representatives BOOLEAN NOT NULL DEFAULT TRUE",
]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "vitals", description=DESCRIPTION, statements=STATEMENTS)
