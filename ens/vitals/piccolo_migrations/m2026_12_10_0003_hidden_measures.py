"""An index of the measures hidden from representatives, by space.

A representative's access history leaves out the rows about items hidden from them
(``ens.spaces.history.hidden_items``), which reads the space's hidden items in every table that can
hide one. The measures' table is the only large one: this partial index holds only the hidden
measures (a few, or none), so that read costs nothing however many measures the space has; the
other measures cost no index entry more.

On a large table, build it beforehand without blocking the measures' inserts (``CREATE INDEX
CONCURRENTLY`` with the same name and definition): the migration then finds it (``IF NOT EXISTS``)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-10T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "partial index on the measures hidden from representatives"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS vital_measurements_hidden ON vital_measurements (space_id, id) "
    "WHERE hidden_from_representatives",
]

INDEXES = [
    Index("vital_measurements_hidden", "vital_measurements", ("space_id", "id"), partial=True),
]

forwards = ddl_migration(ID, "vitals", description=DESCRIPTION, statements=STATEMENTS)
