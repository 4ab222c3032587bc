"""An imported measure keeps where it first came from (its source is now the import)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-02T14:15:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "measures keep their original source when imported"

# The source a measure had before it was imported, as JSON {"clientId", "name"}; NULL for every
# measure written here.
STATEMENTS = [
    "ALTER TABLE vital_measurements ADD COLUMN original_source TEXT NULL",
]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "vitals", description=DESCRIPTION, statements=STATEMENTS)
