"""A key's row keeps the item its first request's access-history row named as created
(``idempotency_keys.created_item``): a replay's own row names it too, so that whom the item is
kept from (the representatives, for a measure hidden from them; the holder, for a professional's
document held back) is not shown the replay's row either. Before, a replay named only an ``id`` at
the top of the stored answer, which a batch of measures (``{"items": [...]}``) has not. Rows stored
before name nothing; they live a day at most."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-25T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "idempotency_keys.created_item: what the first request's history row named as created"

# Nullable, no default: PostgreSQL adds it without rewriting the table.
STATEMENTS = ["ALTER TABLE idempotency_keys ADD COLUMN created_item UUID"]

# These statements create no index.
INDEXES: list[Index] = []


forwards = ddl_migration(ID, "core", description=DESCRIPTION, statements=STATEMENTS)
