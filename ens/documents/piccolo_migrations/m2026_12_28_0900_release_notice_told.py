"""A document's notice is owed to each of its recipients until told to them (``ens.core.owed_mail``).

For a child's space no one holds, the notice goes to each parent. The mail server taking it for one
and failing for the other settled it: the second parent was never told. Now the recipients already
told are kept on the row while it is owed to others (``release_notice_told``: their account ids),
and the next run tells the others only. A nullable column with no default: PostgreSQL adds it
without rewriting the table (tens of millions of documents); it is null on every row but the few
whose notice was told to some of its recipients only."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-28T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "documents.release_notice_told (whom a notice still owed to others was told)"

STATEMENTS = ["ALTER TABLE documents ADD COLUMN release_notice_told TEXT"]

# These statements create no index.
INDEXES: list[Index] = []

forwards = ddl_migration(ID, "documents", description=DESCRIPTION, statements=STATEMENTS)
