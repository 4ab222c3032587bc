"""An index for the access history filtered on a resource other than the vital measures.

A busy space's history is mostly about its measures: an app's batches, the phone's reads of them.
Asking for the rows about another resource (the directives, the documents, the representatives)
walked that history newest first looking for them, or read the whole table: 23.6 ms for the
directives among 300,000 rows, growing with the history. This index holds only the rows about
something other than the measures (partial), so a row about a measure, nearly all of them, costs
no index entry more; the history's filter names the resource literally
(``ens.spaces.history.HistoryFilter``) so that both databases use it. Among 300,000 rows: 0.25 ms.
Rows about the measures are dense where they are many, and read from the space's key in order.

On a large table, build it beforehand without blocking the history's inserts (``CREATE INDEX
CONCURRENTLY`` with the same name and definition): the migration then finds it (``IF NOT EXISTS``)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-09T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "partial index on the access history's rows about a resource other than the vital measures"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS access_history_resources ON access_history (space_id, resource_type, id) "
    "WHERE resource_type <> 'vitals'",
]

INDEXES = [
    Index("access_history_resources", "access_history", ("space_id", "resource_type", "id"), partial=True),
]

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
