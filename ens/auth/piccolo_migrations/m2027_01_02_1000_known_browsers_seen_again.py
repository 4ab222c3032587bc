"""Whether a known browser has come back since its first login (``known_browsers.seen_again``), so
that an account's cap of rows evicts a once-seen row before a browser the person keeps using.

A client that keeps no cookie (an app's private in-app browser session) makes a new row at each
login: the cap evicted the least recently used rows alike, and twenty such logins in a month made
the person's computer, used once a month, a stranger's browser again (meeting strangers' lock)."""

from ens.core.db import Index, ddl_migration

ID = "2027-01-02T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "known_browsers.seen_again: a browser back after its first login, kept before once-seen ones"

STATEMENTS = [
    "ALTER TABLE known_browsers ADD COLUMN seen_again BOOLEAN NOT NULL DEFAULT FALSE",
]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "auth", description=DESCRIPTION, statements=STATEMENTS)
