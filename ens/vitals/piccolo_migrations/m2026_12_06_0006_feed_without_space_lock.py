"""The change feed without a lock per space (PostgreSQL): a measure's place in its space's feed is
the writing transaction's id, then a number from one sequence (``ens.vitals.feed``).

Before, each write took its numbers from its space's counter row and held that row locked until
its commit, so the writers of one space committed one after the other. Now every measure and
tombstone also carries ``feed_xid``: on PostgreSQL the id of the transaction that wrote it, on
SQLite 0 (SQLite has one writer at a time; its counter still numbers the writes). Rows written
before this migration keep 0 and come first, in their old order; a sync cursor issued before it
stays valid. The sequence starts above every number handed out, so no measure ever takes a
number it had before (page validators include them).
"""

from ens.core.db import Index, PostgresOnly, ddl_migration

ID = "2026-12-06T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "vitals feed ordered by (writing transaction, sequence): no per-space lock"

STATEMENTS = [
    "ALTER TABLE vital_measurements ADD COLUMN feed_xid BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE vital_tombstones ADD COLUMN feed_xid BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE vital_feed_counters ADD COLUMN purged_xid BIGINT NOT NULL DEFAULT 0",
    "DROP INDEX vital_measurements_space_seq",
    "DROP INDEX vital_tombstones_space_seq",
    "CREATE INDEX vital_measurements_space_feed ON vital_measurements (space_id, feed_xid, seq)",
    "CREATE INDEX vital_tombstones_space_feed ON vital_tombstones (space_id, feed_xid, seq)",
    PostgresOnly("CREATE SEQUENCE vital_feed_seq AS BIGINT"),
    PostgresOnly(
        "SELECT setval('vital_feed_seq', GREATEST(1, (SELECT MAX(last_seq) FROM vital_feed_counters), "
        "(SELECT MAX(seq) FROM vital_measurements), (SELECT MAX(seq) FROM vital_tombstones)))"
    ),
]

INDEXES = [
    Index("vital_measurements_space_feed", "vital_measurements", ("space_id", "feed_xid", "seq")),
    Index("vital_tombstones_space_feed", "vital_tombstones", ("space_id", "feed_xid", "seq")),
]
DROPPED_INDEXES = ["vital_measurements_space_seq", "vital_tombstones_space_seq"]

forwards = ddl_migration(ID, "vitals", description=DESCRIPTION, statements=STATEMENTS)
