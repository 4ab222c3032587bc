"""A person's login attempts, by account: a second factor's activation reads them (the attempt that
enrolled it by recovery, then every other attempt of the account superseded, ``ens.auth.otp.totp``),
at every person's first login and at each replacement. Without the index each activation read the
whole table, a day of the country's logins (a scale audit: 12 ms at 100,000 attempts).

On a large table, build it beforehand without blocking logins (``CREATE INDEX CONCURRENTLY`` with the
same name and definition): the migration then finds it (``IF NOT EXISTS``)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-24T10:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "login_attempts_account: a person's login attempts"

STATEMENTS = ["CREATE INDEX IF NOT EXISTS login_attempts_account ON login_attempts (account_id)"]

INDEXES = [Index("login_attempts_account", "login_attempts", ("account_id",))]

forwards = ddl_migration(ID, "auth", description=DESCRIPTION, statements=STATEMENTS)
