"""A login's browser holds its attempt by a random token, and the attempt's row keeps only its hash
(``login_attempts.browser_key``); the forms' token is derived from the same token, in no row. The
cookie named the attempt's id, the row's key, and the forms' token was the ``csrf`` column, in clear:
a read of the table (a backup, a replica's disk) rebuilt the cookie of a login in flight and could
finish its enrolment, seeing the new TOTP seed and the recovery codes (an outside security audit).

The column is renamed and emptied: the logins under way when it runs (30 minutes at most) start
again, as their cookies name no token. The table holds a day of logins at most (``ens purge``);
its rename, update and index take its lock for as long, which holds the logins of that moment back:
run it at a quiet hour, just after ``ens purge``."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-25T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "login_attempts.browser_key: the hash of the browser's token, in place of csrf"

STATEMENTS = [
    "ALTER TABLE login_attempts RENAME COLUMN csrf TO browser_key",
    "UPDATE login_attempts SET browser_key = ''",
    "CREATE INDEX IF NOT EXISTS login_attempts_browser ON login_attempts (browser_key)",
]

INDEXES = [Index("login_attempts_browser", "login_attempts", ("browser_key",))]

forwards = ddl_migration(ID, "auth", description=DESCRIPTION, statements=STATEMENTS)
