"""The hides of measures shown to the space's representatives: their own place in the change feed.

An outside audit: a measure hidden once shown came to a representative's feed as a deletion at
every later change of it (a correction, an app's replacement, its deletion), so their feed told
"hidden, still changed" from "deleted", and when the holder worked on it. A hide now takes a row
of its own, at the hide's place, which the representatives' feed reads as the deletion; the
measure's own row and its tombstone are skipped for them while it is hidden. The row goes when
the measure is shown again (its row's new place is an upsert to them), and is purged with the
measure's tombstone when it is deleted hidden (``deleted_at``).

Measures and tombstones hidden and shown before this migration get their row at their present
place: a representative past it was told already, one before it is told once. A table of its own
so that the measures' writes, nearly all of them visible, carry no second feed index; keyed by
its space first on PostgreSQL, as the measures are."""

from ens.core.db import Index, PostgresOnly, ddl_migration

ID = "2026-12-19T00:01:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "vital_hides"

# The rows of measures (and tombstones) hidden and shown before: at their present place. Run once,
# by the migration; a hide already placed is left as it is (a test runs them again).
BACKFILL = [
    """INSERT INTO vital_hides (id, space_id, type, seq, feed_xid, deleted_at)
       SELECT m.id, m.space_id, m.type, m.seq, m.feed_xid, NULL FROM vital_measurements m
       WHERE m.hidden_from_representatives AND m.shown_to_representatives
         AND NOT EXISTS (SELECT 1 FROM vital_hides h WHERE h.space_id = m.space_id AND h.id = m.id)""",
    """INSERT INTO vital_hides (id, space_id, type, seq, feed_xid, deleted_at)
       SELECT t.id, t.space_id, t.type, t.seq, t.feed_xid, t.deleted_at FROM vital_tombstones t
       WHERE t.hidden_from_representatives AND t.shown_to_representatives
         AND NOT EXISTS (SELECT 1 FROM vital_hides h WHERE h.space_id = t.space_id AND h.id = t.id)""",
]

STATEMENTS = [
    """CREATE TABLE vital_hides (
        id UUID PRIMARY KEY,
        space_id UUID NOT NULL REFERENCES spaces (id),
        type VARCHAR(32) NOT NULL,
        seq BIGINT NOT NULL,
        feed_xid BIGINT NOT NULL DEFAULT 0,
        deleted_at TIMESTAMPTZ
    )""",
    # The representatives' change feed: an ordered range of the space's hides after a cursor.
    "CREATE INDEX vital_hides_space_feed ON vital_hides (space_id, feed_xid, seq)",
    # The daily purge, with the tombstones: the hides of measures deleted hidden, past the retention.
    "CREATE INDEX vital_hides_deleted_at ON vital_hides (deleted_at) WHERE deleted_at IS NOT NULL",
    PostgresOnly("ALTER TABLE vital_hides DROP CONSTRAINT vital_hides_pkey, ADD PRIMARY KEY (space_id, id)"),
    *BACKFILL,
]

INDEXES = [
    Index("vital_hides_space_feed", "vital_hides", ("space_id", "feed_xid", "seq")),
    Index("vital_hides_deleted_at", "vital_hides", ("deleted_at",), partial=True),
]
POSTGRES_PRIMARY_KEYS = {"vital_hides": ("space_id", "id")}

forwards = ddl_migration(ID, "vitals", description=DESCRIPTION, statements=STATEMENTS)
