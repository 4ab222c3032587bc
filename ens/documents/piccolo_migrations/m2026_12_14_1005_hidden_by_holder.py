"""Whether the adult holder themself hid a document from professionals
(``documents.hidden_from_professionals_by_holder``).

An outside review found a family representative showing professionals a document the protected
adult had hidden from them. The person decides about their own person as far as they can (Code
civil, art. 457-1 and 459): what they hid themself, only they show again. Documents hidden before
this migration have the flag unset (a representative may still show them, as before)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-14T10:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "documents.hidden_from_professionals_by_holder (the adult holder's own mask)"

# A constant default: PostgreSQL adds the column without rewriting the table.
STATEMENTS = ["ALTER TABLE documents ADD COLUMN hidden_from_professionals_by_holder BOOLEAN NOT NULL DEFAULT FALSE"]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "documents", description=DESCRIPTION, statements=STATEMENTS)
