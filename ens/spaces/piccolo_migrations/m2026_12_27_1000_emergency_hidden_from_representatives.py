"""An emergency access a minor's professional keeps from the parents (CSP L1111-5).

A minor may oppose their parents being told of care they receive (contraception, IVG, some
consultations), and the professional then keeps it from them. An emergency access opened on a
minor's space showed the parents the access, its reason and every read under it in their history,
the professional in their list, and e-mailed them: what the minor asked to keep from them.

``emergency_accesses.hidden_from_representatives``: the access was opened so (``POST
/v1/pro/emergency-access`` ``{"hiddenFromRepresentatives": true}``); the door reads it with the
access on every request. ``access_history.kept_from_representatives``: TRUE on the rows of such an
access (its opening, a refused try, every request under it), which a representative's history
leaves out; NULL on every other row (never FALSE), so the rows written before keep their MAC, which
covers the column when it is set (``ens.spaces.audit.SEALED_IF_SET``). A constant default and a
nullable column: PostgreSQL adds both without rewriting either table; no index (the history is read
by space and id, the flag a condition on the rows read)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-27T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = (
    "emergency_accesses.hidden_from_representatives and access_history.kept_from_representatives "
    "(a minor's secret, CSP L1111-5)"
)

STATEMENTS = [
    "ALTER TABLE emergency_accesses ADD COLUMN hidden_from_representatives BOOLEAN NOT NULL DEFAULT FALSE",
    "ALTER TABLE access_history ADD COLUMN kept_from_representatives BOOLEAN",
]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
