"""An emergency access's notice to the holder is owed until it is sent.

The holder (for a child's space no one holds, the parents) was e-mailed right after the access
committed, once: a mail server down at that moment, or a process stopped right after the commit,
and they were never told that a professional opened their space in an emergency. The access now
says, in its own transaction, that its notice is owed (``notice_due``); the request tells at once and
clears it, ``ens notify`` tells what is still owed. The partial index holds only the few accesses
whose notice is still owed. Accesses opened before this migration were told (or not) already."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-12T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "emergency_accesses.notice_due (the holder's notice, owed until sent)"

STATEMENTS = [
    "ALTER TABLE emergency_accesses ADD COLUMN notice_due BOOLEAN NOT NULL DEFAULT FALSE",
    "CREATE INDEX emergency_accesses_notice_due ON emergency_accesses (started_at) WHERE notice_due",
]

INDEXES = [Index("emergency_accesses_notice_due", "emergency_accesses", ("started_at",), partial=True)]

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
