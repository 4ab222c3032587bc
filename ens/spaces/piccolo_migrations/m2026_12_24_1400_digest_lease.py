"""A digest's claim is a lease (``notification_preferences.digest_lease_until``): the span it covers
moves on only once told, so that a run whose e-mail failed leaves it for the next, even when a
second run read it meanwhile (a review: the span moved with the claim, a second run moved it on,
empty, and the first's failed send could no longer give it back)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-24T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notification_preferences.digest_lease_until"

# Nullable, no default: PostgreSQL adds it without rewriting the table.
STATEMENTS = ["ALTER TABLE notification_preferences ADD COLUMN digest_lease_until TIMESTAMPTZ"]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
