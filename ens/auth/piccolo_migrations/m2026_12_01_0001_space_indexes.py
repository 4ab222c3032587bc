from ens.core.db import Index, ddl_migration

ID = "2026-12-01T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes on space_id for the login tables that name a space (an erase deletes by it)"

# Found by the schema test: erasing a space deleted these rows by space_id through full scans.
STATEMENTS = [
    "CREATE INDEX login_attempts_space ON login_attempts (space_id)",
    "CREATE INDEX authorization_codes_space ON authorization_codes (space_id)",
    "CREATE INDEX refresh_tokens_space ON refresh_tokens (space_id)",
]

INDEXES = [
    Index("login_attempts_space", "login_attempts", ("space_id",)),
    Index("authorization_codes_space", "authorization_codes", ("space_id",)),
    Index("refresh_tokens_space", "refresh_tokens", ("space_id",)),
]


forwards = ddl_migration(ID, "auth", description=DESCRIPTION, statements=STATEMENTS)
