from ens.core.db import Index, ddl_migration

ID = "2026-12-23T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the country of birth (INSEE code) the identity provider gives beside the commune"

# Nullable, no default: PostgreSQL adds it without rewriting the table.
STATEMENTS = ["ALTER TABLE accounts ADD COLUMN birthcountry VARCHAR(16)"]

# These statements create no index.
INDEXES: list[Index] = []


forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
