from ens.core.db import Index, ddl_migration

ID = "2026-12-04T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "which e-mails each person wants: notices, and the daily digest of others' changes"

STATEMENTS = [
    """CREATE TABLE notification_preferences (
        account_id UUID NOT NULL PRIMARY KEY REFERENCES accounts (id),
        document_added BOOLEAN NOT NULL DEFAULT TRUE,
        emergency_access BOOLEAN NOT NULL DEFAULT TRUE,
        representatives_digest BOOLEAN NOT NULL DEFAULT FALSE,
        apps_digest BOOLEAN NOT NULL DEFAULT FALSE,
        digest_sent_until TIMESTAMPTZ,
        updated_at TIMESTAMPTZ NOT NULL
    )""",
]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
