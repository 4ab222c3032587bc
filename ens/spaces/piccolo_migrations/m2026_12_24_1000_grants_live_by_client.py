"""The live grants of one registered app, found by an index (``ens apps disable`` ends them all).

Partial: only the grants still live, and not the phone app's sessions (nearly every grant; the
service's own app is never disabled), so the index holds the apps' live connections and the
professionals' software sessions, and costs the phone's sign-ins nothing.

On a large table, build it beforehand without blocking sign-ins (``CREATE INDEX CONCURRENTLY`` with
the same name and definition): the migration then finds it (``IF NOT EXISTS``)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-24T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "grants_live_by_client: the live grants of a registered app"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS grants_live_by_client ON grants (client_id, id) "
    "WHERE revoked_at IS NULL AND client_id <> 'ens-mobile'"
]

INDEXES = [Index("grants_live_by_client", "grants", ("client_id", "id"), partial=True)]

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
