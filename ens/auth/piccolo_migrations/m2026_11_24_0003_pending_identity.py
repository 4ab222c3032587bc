from ens.core.db import Index, ddl_migration

ID = "2026-11-24T11:11:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "claims from the provider wait on the login attempt until the second factor passes"

STATEMENTS = ["ALTER TABLE login_attempts ADD COLUMN pending_identity TEXT"]

# These statements create no index.
INDEXES: list[Index] = []


forwards = ddl_migration(ID, "auth", description=DESCRIPTION, statements=STATEMENTS)
