"""A wrong-code budget per login attempt (and per session renewing its recovery codes).

The second factor's wrong-code lock counted per account only, five codes: anyone with the person's
password at the identity provider (or a stolen access token, through the renewal of recovery codes)
could type five wrong codes on purpose and keep the person out of their own space, lock after lock
(found by a security review). Each way in now has its own budget here, ``ENS_OTP_MAX_FAILURES``;
the account's lock stays as the backstop, at ``ENS_OTP_ACCOUNT_MAX_FAILURES``. Rows go once
``expires_at`` has passed (``ens purge``, by the index)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-11T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "otp_budgets: wrong codes tried per login attempt or session"

STATEMENTS = [
    """CREATE TABLE otp_budgets (
        id UUID PRIMARY KEY,
        failures INTEGER NOT NULL DEFAULT 0,
        expires_at TIMESTAMPTZ NOT NULL
    )""",
    "CREATE INDEX otp_budgets_expiry ON otp_budgets (expires_at)",
]

INDEXES = [
    Index("otp_budgets_expiry", "otp_budgets", ("expires_at",)),
]

forwards = ddl_migration(ID, "auth", description=DESCRIPTION, statements=STATEMENTS)
