"""A checkpoint says how new the newest row it seals, or any before it in its space, is
(``history_checkpoints.newest_at``), and how old the oldest row it seals is (``oldest_at``), so that
the history read ``since`` or ``until`` a time skips the rows it knows to be outside
(``ens.spaces.history``): since, the rows up to the last checkpoint whose ``newest_at`` is before
that time; until, those of the checkpoints whose ``oldest_at`` is not before it. Without them, a
``since`` that few rows match walked the space's whole history, newest first, to the oldest row,
and an ``until`` long past walked every newer row. Checkpoints made before this migration have
neither: the sealer gives the next checkpoint of each space its ``newest_at`` from the rows (once),
and their ``oldest_at`` is the year 1 (their rows are always read: "perhaps older")."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-13T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "history_checkpoints.newest_at and oldest_at (how new and old the rows sealed are), indexed"

STATEMENTS = [
    "ALTER TABLE history_checkpoints ADD COLUMN newest_at TIMESTAMPTZ",
    "CREATE INDEX history_checkpoints_newest ON history_checkpoints (space_id, newest_at, upto_id)",
    # A constant default: PostgreSQL adds the column without rewriting the table.
    # Read through the (space_id, upto_id) key, newest first: the last checkpoint sealing an older row.
    "ALTER TABLE history_checkpoints ADD COLUMN oldest_at TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00'",
]

INDEXES = [Index("history_checkpoints_newest", "history_checkpoints", ("space_id", "newest_at", "upto_id"))]

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
