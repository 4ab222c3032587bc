"""A checkpoint says how new the newest row it seals, or any before it in its space, is
(``history_checkpoints.newest_at``), so that the history read ``since`` a time skips every row it
knows to be older (``ens.spaces.history``): the rows up to the last checkpoint whose ``newest_at`` is
before that time. Without it, a ``since`` that few rows match walked the space's whole history,
newest first, to the oldest row. Checkpoints made before this migration have none: the sealer
gives the next checkpoint of each space its value from the rows (once), and until then the read
walks as before."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-13T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "history_checkpoints.newest_at (the newest row at or before each checkpoint), indexed"

STATEMENTS = [
    "ALTER TABLE history_checkpoints ADD COLUMN newest_at TIMESTAMPTZ",
    "CREATE INDEX history_checkpoints_newest ON history_checkpoints (space_id, newest_at, upto_id)",
]

INDEXES = [Index("history_checkpoints_newest", "history_checkpoints", ("space_id", "newest_at", "upto_id"))]

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
