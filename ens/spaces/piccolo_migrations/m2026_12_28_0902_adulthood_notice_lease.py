"""The parents' notice of a coming 18th birthday is claimed under a lease, as every owed notice is
(``ens.core.owed_mail.OwedNotice``).

Its row in ``space_notices`` was written before the e-mails went, and said the notice was sent: a
process stopped between the two (killed, its machine gone) lost it for good. The row is now written
owed (``owed``), claimed under a lease (``lease_until``), and says told once the mail server took
it (``owed`` false). The rows there before were told: a constant default of FALSE, and a nullable
column, which PostgreSQL adds without rewriting the table; no index (the notice is read by its
space's unique (space_id, kind))."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-28T09:02:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "space_notices.owed and space_notices.lease_until (the birthday notice's claim is a lease)"

STATEMENTS = [
    "ALTER TABLE space_notices ADD COLUMN owed BOOLEAN NOT NULL DEFAULT FALSE",
    "ALTER TABLE space_notices ADD COLUMN lease_until TIMESTAMPTZ",
]

# These statements create no index.
INDEXES: list[Index] = []

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
