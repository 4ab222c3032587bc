"""An emergency access's notice is claimed with a lease (``ens.spaces.owed_notices``).

The claim cleared ``notice_due`` before the mail went: a process that stopped between the claim
and the mail server's answer (or before marking the notice owed again when the mail server failed)
lost the notice for good, and the holder never learnt that a professional opened their space. The
claim now writes until when it holds (``notice_lease_until``), the flag stays set until the notice
is told, and a claim whose lease has passed is due again. The partial index on the flag is
unchanged: it still holds the few accesses owed their notice, those under a lease with them."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-13T07:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "emergency_accesses.notice_lease_until (a notice's claim holds until then)"

STATEMENTS = ["ALTER TABLE emergency_accesses ADD COLUMN notice_lease_until TIMESTAMPTZ"]

# These statements create no index.
INDEXES: list[Index] = []

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
