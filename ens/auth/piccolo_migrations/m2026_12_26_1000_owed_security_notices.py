"""Security notices owed until sent (``owed_security_notices``).

A security notice (a new device, a recovery code used, a factor replaced, the codes locked, the
address changed, new recovery codes) was only logged when the mail server failed: the one that
matters in an account takeover ("un code de secours vient d'être utilisé") was lost for good (an
outside audit of the e-mails). It is now kept here, and ``ens notify`` sends it until it goes. The
table holds only the notices still owed, a few; its index serves ``ens notify``'s walk in order."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-26T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "owed_security_notices"

STATEMENTS = [
    """CREATE TABLE owed_security_notices (
        id UUID PRIMARY KEY,
        account_id UUID NOT NULL REFERENCES accounts (id),
        to_address VARCHAR(320) NOT NULL,
        subject VARCHAR(200) NOT NULL,
        body TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        lease_until TIMESTAMPTZ
    )""",
    "CREATE INDEX owed_security_notices_due ON owed_security_notices (created_at, id)",
]

INDEXES = [Index("owed_security_notices_due", "owed_security_notices", ("created_at", "id"))]

forwards = ddl_migration(ID, "auth", description=DESCRIPTION, statements=STATEMENTS)
