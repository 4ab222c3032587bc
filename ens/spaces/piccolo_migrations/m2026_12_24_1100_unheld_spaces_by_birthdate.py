"""The spaces no one holds yet (children's), by birthdate: ``ens notify`` finds each day those whose
child comes of age within three months (``ens.spaces.adulthood``). It read every space and every
notice to find them (a scale audit: 41 ms at 220,000 spaces, a full read of the table at 68 million);
the partial index holds only the unheld spaces, and the notice reads three months of births.

On a large table, build it beforehand without blocking (``CREATE INDEX CONCURRENTLY`` with the same
name and definition): the migration then finds it (``IF NOT EXISTS``)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-24T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "spaces_unheld_birthdate: the children's spaces by birthdate"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS spaces_unheld_birthdate ON spaces (birthdate) WHERE holder_account_id IS NULL",
]

INDEXES = [Index("spaces_unheld_birthdate", "spaces", ("birthdate",), partial=True)]

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
