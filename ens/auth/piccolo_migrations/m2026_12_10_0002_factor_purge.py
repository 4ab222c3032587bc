"""An index for ``ens purge`` to find the second factors nobody can use any more.

Every login of an account without an active factor begins an enrolment: a ``pending`` factor with
its encrypted seed. One never confirmed, and one revoked (replaced after a lost phone), kept their
seeds for ever. The purge deletes them (``ens.auth.maintenance``); this index holds only those rows
(partial: the active factors, one an account, cost no entry), so the daily purge reads them alone."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-10T09:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "partial index on the second factors that are not active, for the purge"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS otp_factors_unused ON otp_factors (created_at) WHERE status <> 'active'",
]

INDEXES = [
    Index("otp_factors_unused", "otp_factors", ("created_at",), partial=True),
]

forwards = ddl_migration(ID, "auth", description=DESCRIPTION, statements=STATEMENTS)
