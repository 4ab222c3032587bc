"""The rate counters by window: ``ens purge`` deletes the windows past an hour a batch at a time
(``ens.core.limits.purge_old_windows``), each batch found along this index. The table's key leads
with the counter's key, so each batch read the table from its start, past the rows deleted before
it (an outside audit: a day of the country's requests is tens of millions of windows; one DELETE
of them all read the table whole and held one transaction for as long).

On a large table, build it beforehand without blocking the counters' writes (``CREATE INDEX
CONCURRENTLY`` with the same name and definition): the migration then finds it (``IF NOT EXISTS``)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-26T09:17:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "rate_counters_window: the rate counters by window"

STATEMENTS = ["CREATE INDEX IF NOT EXISTS rate_counters_window ON rate_counters (window_start)"]

INDEXES = [Index("rate_counters_window", "rate_counters", ("window_start",))]

forwards = ddl_migration(ID, "core", description=DESCRIPTION, statements=STATEMENTS)
