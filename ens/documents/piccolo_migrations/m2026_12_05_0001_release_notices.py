"""A document a professional holds back from the holder until a day is announced to the holder on
that day by ``ens notify`` (release_notice_due, cleared once told or released by hand); a partial
index finds the few due across spaces without reading the others."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-05T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "documents held until a day: their notice on that day"

STATEMENTS = [
    "ALTER TABLE documents ADD COLUMN release_notice_due BOOLEAN NOT NULL DEFAULT FALSE",
    "CREATE INDEX documents_release_notice_due ON documents (shown_to_holder_at) WHERE release_notice_due",
]

INDEXES = [Index("documents_release_notice_due", "documents", ("shown_to_holder_at",), partial=True)]

forwards = ddl_migration(ID, "documents", description=DESCRIPTION, statements=STATEMENTS)
