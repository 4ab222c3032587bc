"""An invitation keeps the mark of the Idempotency-Key it was made with (``space_codes.idempotency_mark``).

An invitation's answer carries its code, shown once: it is never stored for an Idempotency-Key
replay, so a retry with the same key ran again and left two live codes, the first of which the
client never saw (it retried because it lost that answer). The retry now finds the code its key
made and expires it before making the new one: one key, at most one live code. Codes made before
this migration have no mark (a retry of one of them still makes a second code, as it did)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-14T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "space_codes.idempotency_mark: a retried invitation replaces the code its key made"

STATEMENTS = ["ALTER TABLE space_codes ADD COLUMN idempotency_mark VARCHAR(64)"]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
