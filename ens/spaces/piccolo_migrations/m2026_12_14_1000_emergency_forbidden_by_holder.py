"""Whether the adult holder themself forbade emergency access (``spaces.emergency_forbidden_by_holder``).

An outside review found a guardian or a family representative allowing again the emergency access
the protected adult had forbidden. The person decides about their own person as far as they can
(Code civil, art. 457-1 and 459): what they forbade themself, only they allow again. Spaces whose
holder forbade it before this migration have the flag unset (a representative may still allow it
there, as before)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-14T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "spaces.emergency_forbidden_by_holder (the adult holder's own refusal of emergency access)"

# A constant default: PostgreSQL adds the column without rewriting the table.
STATEMENTS = ["ALTER TABLE spaces ADD COLUMN emergency_forbidden_by_holder BOOLEAN NOT NULL DEFAULT FALSE"]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
