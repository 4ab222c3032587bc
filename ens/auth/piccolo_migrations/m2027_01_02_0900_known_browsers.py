"""The browsers where a person has passed the second factor, each with its own wrong-code lock.

Every wrong code counted toward one lock per account: anyone with the person's password at the
identity provider could type 30 wrong codes over six logins and lock every way in (the right code,
the recovery codes, the e-mail code) for 15 minutes, then a day, again and again; and each right
code of the person's started the lock's escalation over, giving the guesser 30 more codes each time
(an outside audit of the login). A browser that has passed the second factor for an account keeps
a cookie whose keyed hash with the account is a row here: its codes count on that row's lock, not the account's, which
only strangers' browsers now meet. Rows go once ``expires_at`` has passed (``ens purge``)."""

from ens.core.db import Index, ddl_migration

ID = "2027-01-02T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "known_browsers: the browsers that passed a person's second factor, and their locks"

STATEMENTS = [
    """CREATE TABLE known_browsers (
        key_hash VARCHAR(64) PRIMARY KEY,
        account_id UUID NOT NULL REFERENCES accounts (id),
        failures INTEGER NOT NULL DEFAULT 0,
        locked_until TIMESTAMPTZ,
        expires_at TIMESTAMPTZ NOT NULL
    )""",
    "CREATE INDEX known_browsers_account ON known_browsers (account_id)",
    "CREATE INDEX known_browsers_expiry ON known_browsers (expires_at)",
]

INDEXES = [
    Index("known_browsers_account", "known_browsers", ("account_id",)),
    Index("known_browsers_expiry", "known_browsers", ("expires_at",)),
]

forwards = ddl_migration(ID, "auth", description=DESCRIPTION, statements=STATEMENTS)
