"""An erasure's record is written at its point of no return (``space_erasures.finished_at`` empty
until its rows are deleted): the space's data key destroyed, the space closed and the record
written in one transaction, so that an erasure that fails after that point (the database lost
between the steps) is finished by ``ens purge`` rather than only by the same request sent again,
and leaves its record outside the space from that moment (an erasure that failed left none, its
space open to every app and representative, its documents unreadable). The erasures recorded before
were finished when recorded."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-25T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "space_erasures.finished_at: an erasure recorded at its point of no return"

STATEMENTS = [
    # Nullable, no default: PostgreSQL adds it without rewriting the table; the update then writes
    # each row once (the table holds one row per erased space).
    "ALTER TABLE space_erasures ADD COLUMN finished_at TIMESTAMPTZ",
    "UPDATE space_erasures SET finished_at = erased_at",
    # The erasures under way: an erasure sent again finds its space's, ens purge reads them all.
    "CREATE INDEX IF NOT EXISTS space_erasures_unfinished ON space_erasures (erased_space_id) "
    "WHERE finished_at IS NULL",
]

INDEXES = [Index("space_erasures_unfinished", "space_erasures", ("erased_space_id",), partial=True)]

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
