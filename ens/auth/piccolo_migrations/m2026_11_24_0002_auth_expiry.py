from ens.core.db import Index, ddl_migration

ID = "2026-11-24T09:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes for purging expired login state"

STATEMENTS = [
    "CREATE INDEX email_codes_expiry ON email_codes (expires_at)",
    "CREATE INDEX authorization_codes_expiry ON authorization_codes (expires_at)",
    "CREATE INDEX refresh_tokens_chain_start ON refresh_tokens (chain_started_at)",
]

# The indexes these statements create (checked against the migrated database by a test).
INDEXES = [
    Index("email_codes_expiry", "email_codes", ("expires_at",)),
    Index("authorization_codes_expiry", "authorization_codes", ("expires_at",)),
    Index("refresh_tokens_chain_start", "refresh_tokens", ("chain_started_at",)),
]


forwards = ddl_migration(ID, "auth", description=DESCRIPTION, statements=STATEMENTS)
