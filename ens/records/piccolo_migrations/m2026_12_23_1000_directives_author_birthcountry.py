from ens.core.db import Index, ddl_migration

ID = "2026-12-23T10:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "a directives version names its author's country of birth (INSEE code) beside the commune"

# Nullable, no default: PostgreSQL adds it without rewriting the table.
STATEMENTS = ["ALTER TABLE directive_versions ADD COLUMN author_birthcountry VARCHAR(16)"]

# These statements create no index.
INDEXES: list[Index] = []


forwards = ddl_migration(ID, "records", description=DESCRIPTION, statements=STATEMENTS)
