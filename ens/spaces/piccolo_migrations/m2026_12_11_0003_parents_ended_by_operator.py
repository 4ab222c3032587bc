"""Whether an operator ended a representation (``ens representatives end``, citing a court decision).

A parent an operator removed from a child's space for a court decision was invited again by the
other parent and had every right back, erasing the space included (found by a review). Accepting an
invitation now looks for this mark on the account's last parent right on the space. Rows ended
before say so by their reason: every reason the service writes itself is one of the three below,
an operator's is the decision's text."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-11T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "representatives.ended_by_operator"

STATEMENTS = [
    "ALTER TABLE representatives ADD COLUMN ended_by_operator BOOLEAN NOT NULL DEFAULT FALSE",
    "UPDATE representatives SET ended_by_operator = TRUE WHERE revoked_at IS NOT NULL "
    "AND ended_reason IS NOT NULL AND ended_reason NOT IN ('withdrew', 'holder came of age', 'expired')",
]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
