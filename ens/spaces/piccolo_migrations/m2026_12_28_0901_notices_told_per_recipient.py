"""An emergency access's notice, and the parents' notice of a coming 18th birthday, are owed to each
of their recipients until told to them (``ens.core.owed_mail``), as a document's is.

The mail server taking a notice for one parent and failing for the other settled it: the second
parent was never told. Now the recipients already told are kept on the row while it is owed to
others (``emergency_accesses.notice_told``, ``space_notices.told``: their account ids). Nullable
columns with no default: PostgreSQL adds them without rewriting either table."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-28T09:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "emergency_accesses.notice_told, space_notices.told (whom a notice still owed to others was told)"

STATEMENTS = [
    "ALTER TABLE emergency_accesses ADD COLUMN notice_told TEXT",
    "ALTER TABLE space_notices ADD COLUMN told TEXT",
]

# These statements create no index.
INDEXES: list[Index] = []

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
