"""A booklet entry can be hidden from the space's representatives (CSP R1111-50)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-02T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "vaccinations hidden from representatives"

STATEMENTS = [
    "ALTER TABLE vaccinations ADD COLUMN hidden_from_representatives BOOLEAN NOT NULL DEFAULT FALSE",
]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "vaccination", description=DESCRIPTION, statements=STATEMENTS)
