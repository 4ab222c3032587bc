"""The items removed while hidden from representatives, by space.

A representative's access history leaves out the rows about an item hidden from them. Once the
holder removed such an item, nothing said it had been hidden, and its rows (added, read, removed,
with its id) came back into the representative's history (found by a review). The removal of a
hidden item now leaves its id here, in the removal's transaction; the history reads these with the
items hidden now, and the measures' tombstones that say they were hidden. Erasing the space
erases them (``space_id``)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-10T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "hidden_items_removed: the ids of items removed while hidden from representatives"

STATEMENTS = [
    """CREATE TABLE hidden_items_removed (
        space_id UUID NOT NULL REFERENCES spaces (id),
        id UUID NOT NULL,
        removed_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (space_id, id)
    )""",
]

INDEXES: list[Index] = []

PRIMARY_KEYS = {"hidden_items_removed": ("space_id", "id")}

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
