"""An index for "my own accesses" asked by someone who is not the space's holder.

A parent, a guardian or a professional asking a busy space's history for their own requests
(``actor=me``) walked it newest first looking for them: the holder's, the other parent's and the
apps' rows all come before. This index holds only the rows of those who act on a space without
holding it (partial, as ``access_history_others``), keyed by who acted: a holder's own rows, nearly
all of a space's history, cost no index entry more. It relies on "someone who is not the holder
never has a holder's row here": a space's holder only ever changes from none (the claim at 18,
``ens.spaces.adulthood``). The history's filter names the condition literally for such a caller
(``ens.spaces.history.HistoryFilter``) so that both databases use it.

On a large table, build it beforehand without blocking the history's inserts (``CREATE INDEX
CONCURRENTLY`` with the same name and definition): the migration then finds it (``IF NOT EXISTS``)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-10T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "partial index on the access history's rows of those who act on a space without holding it, by actor"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS access_history_actors ON access_history (space_id, actor_account_id, id) "
    "WHERE acting_as <> 'holder'",
]

INDEXES = [
    Index("access_history_actors", "access_history", ("space_id", "actor_account_id", "id"), partial=True),
]

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
