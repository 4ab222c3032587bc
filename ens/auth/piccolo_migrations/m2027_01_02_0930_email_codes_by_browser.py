"""Which known browser asked for an e-mail code (``known_browsers``), so that the hourly limit of
e-mail codes counts a known browser's apart from strangers'.

The limit (``ENS_EMAIL_CODES_PER_HOUR``) counted every code of the account: a stranger holding only
the person's password at the identity provider asked for the hour's five, and the person's own
browser, the lost-factor way in included, got "Trop de codes envoyés par e-mail", without a wrong
code typed (a review). Null: a stranger's browser, which all share the account's count."""

from ens.core.db import Index, ddl_migration

ID = "2027-01-02T09:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "email_codes.browser_key: the known browser that asked for the code, if any"

STATEMENTS = [
    "ALTER TABLE email_codes ADD COLUMN browser_key VARCHAR(64)",
]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "auth", description=DESCRIPTION, statements=STATEMENTS)
