"""Request counts per key and minute, shared by every process (ens.core.limits)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-03T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "rate counters"

STATEMENTS = [
    """CREATE TABLE rate_counters (
        key VARCHAR(64) NOT NULL,
        window_start BIGINT NOT NULL,
        hits INTEGER NOT NULL,
        PRIMARY KEY (key, window_start)
    )""",
]

INDEXES: list[Index] = []
PRIMARY_KEYS = {"rate_counters": ("key", "window_start")}

forwards = ddl_migration(ID, "core", description=DESCRIPTION, statements=STATEMENTS)
