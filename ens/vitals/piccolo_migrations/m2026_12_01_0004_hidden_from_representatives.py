"""A measure can be hidden from the space's representatives (CSP R1111-50)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-01T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "measures hidden from representatives"

# No backfill: the stored JSON omits the field while it is false (its default).
STATEMENTS = [
    "ALTER TABLE vital_measurements ADD COLUMN hidden_from_representatives BOOLEAN NOT NULL DEFAULT FALSE",
]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "vitals", description=DESCRIPTION, statements=STATEMENTS)
