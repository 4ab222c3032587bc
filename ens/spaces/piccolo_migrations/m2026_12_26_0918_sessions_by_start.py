"""The phone sessions' grants by when they began: ``ens purge`` deletes those whose refresh chain
ended (``ens.auth.maintenance``), oldest first, along this index. Each login made one, kept for
ever (an outside audit: at tens of millions of logins a day, the table grew by as many rows a day,
and an account's session list walked every session it ever had).

On a large table, build it beforehand without blocking logins (``CREATE INDEX CONCURRENTLY`` with the
same name and definition): the migration then finds it (``IF NOT EXISTS``)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-26T09:18:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "grants_session_start: the phone sessions' grants by start"

STATEMENTS = ["CREATE INDEX IF NOT EXISTS grants_session_start ON grants (created_at) WHERE kind = 'session'"]

INDEXES = [Index("grants_session_start", "grants", ("created_at",), partial=True)]

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
