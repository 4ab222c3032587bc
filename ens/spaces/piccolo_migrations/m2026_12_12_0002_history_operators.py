"""An operator's row in a space's access history: whose right they recorded, ended or restored.

The commands that change who may reach a space from the operators' shell (``ens representatives
add | end | restore-parent``, ``ens claim-codes issue``) left no row in that space's history, only a
line in the operators' security log: the holder and the representatives never saw that a tutor was
named, or a parent's right ended or given back. Each now writes one row (``acting_as`` operator, no
account), and says in it whose right it was and its kind, so the sentence names them as they were
then. Both columns are null on every other row; a row's MAC covers them when they are set
(``ens.spaces.history.SEALED_IF_SET``), so the rows written before keep theirs. Adding a nullable
column is a change of the catalogue only, on a large table too: no index."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-12T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "access_history.subject_name and subject_kind (an operator's rows)"

STATEMENTS = [
    "ALTER TABLE access_history ADD COLUMN subject_name VARCHAR(255)",
    "ALTER TABLE access_history ADD COLUMN subject_kind VARCHAR(32)",
]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
