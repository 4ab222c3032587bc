"""A document's notice is claimed with a lease (``ens.spaces.owed_notices``).

The claim cleared ``release_notice_due`` before the mail went: a process that stopped between the
claim and the mail server's answer (or before marking the notice owed again when the mail server
failed) lost the notice for good. The claim now writes until when it holds
(``release_notice_lease_until``), the flag stays set until the notice is told, and a claim whose
lease has passed is due again. The partial index on the flag is unchanged: it still holds the few
documents owed their notice, those under a lease with them."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-13T07:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "documents.release_notice_lease_until (a notice's claim holds until then)"

STATEMENTS = ["ALTER TABLE documents ADD COLUMN release_notice_lease_until TIMESTAMPTZ"]

# These statements create no index.
INDEXES: list[Index] = []

forwards = ddl_migration(ID, "documents", description=DESCRIPTION, statements=STATEMENTS)
