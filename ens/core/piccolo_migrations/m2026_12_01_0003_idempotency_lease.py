from ens.core.db import Index, ddl_migration

ID = "2026-12-01T10:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "idempotency claims hold a lease, so a crashed request's key can be retried"

STATEMENTS = ["ALTER TABLE idempotency_keys ADD COLUMN lease_until TIMESTAMPTZ"]

# These statements create no index.
INDEXES: list[Index] = []


forwards = ddl_migration(ID, "core", description=DESCRIPTION, statements=STATEMENTS)
