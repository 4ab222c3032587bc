"""A validated entry keeps who had declared it: a professional's validation made the entry theirs
(``recordedBy``), and who first wrote it was then only in the access history."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-18T00:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "who declared a validated vaccination"

STATEMENTS = [
    "ALTER TABLE vaccinations ADD COLUMN declared_by_role VARCHAR(16)",
    "ALTER TABLE vaccinations ADD COLUMN declared_by_name VARCHAR(255)",
]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "vaccination", description=DESCRIPTION, statements=STATEMENTS)
