"""Where a hidden measure was first shown to the representatives, kept on its hide.

A measure added visible and hidden between two of a representative's syncs, which they never had,
came to them as a deletion of its id: the id of a measure the holder hid (a gap the README named).
A hide now keeps the place the measure took when it was added (``shown_xid``, ``shown_seq``), when
it was not changed since: a representative whose feed has not reached that place is told nothing.
Hides placed before, and those of measures changed before being hidden, keep none: sent as before
(telling too much rather than leaving a hidden measure on a phone). Nullable columns without a
default rewrite no row on PostgreSQL."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-19T00:03:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "vital_hides.shown_xid, shown_seq"

STATEMENTS = [
    "ALTER TABLE vital_hides ADD COLUMN shown_xid BIGINT",
    "ALTER TABLE vital_hides ADD COLUMN shown_seq BIGINT",
]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "vitals", description=DESCRIPTION, statements=STATEMENTS)
