"""A write takes its change numbers as one block (PostgreSQL): one ``nextval`` a transaction
statement instead of one per change (``ens.vitals.feed``).

The sequence now moves by ``FEED_BLOCK`` (1000, a batch's most): a write takes the block's first
number and numbers its changes from it. Numbers stay unique and keep increasing, so no measure
ever takes a number it had before (page validators include them); the feed's order is unchanged
(transaction id, then number). Measured: 100 ``nextval`` calls cost PostgreSQL 49 us of execution,
one costs 12 (``EXPLAIN ANALYZE``).
"""

from ens.core.db import Index, PostgresOnly, ddl_migration

ID = "2026-12-07T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "vitals feed numbers taken by blocks of 1000"

STATEMENTS = [PostgresOnly("ALTER SEQUENCE vital_feed_seq INCREMENT BY 1000")]
INDEXES: list[Index] = []  # no index added or dropped

forwards = ddl_migration(ID, "vitals", description=DESCRIPTION, statements=STATEMENTS)
