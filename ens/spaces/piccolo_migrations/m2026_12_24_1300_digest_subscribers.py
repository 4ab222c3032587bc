"""The holders who asked for a digest, by account: ``ens notify`` reads them a thousand at a time
in this order. It read every preference, account and space at once (a scale audit: 395 ms at
20,000 subscribers among 200,000, a full read of three national tables a day)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-24T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notification_preferences_digests: the digests' subscribers"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS notification_preferences_digests ON notification_preferences (account_id) "
    "WHERE representatives_digest OR apps_digest",
]

INDEXES = [Index("notification_preferences_digests", "notification_preferences", ("account_id",), partial=True)]

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
