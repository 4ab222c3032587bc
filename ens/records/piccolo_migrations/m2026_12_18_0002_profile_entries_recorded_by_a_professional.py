"""A medical profile entry a professional added names them: they change or remove only their own,
not the person's (an outside audit: a doctor edited and deleted the holder's own conditions)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-18T00:02:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "profile entries recorded by a professional"

STATEMENTS = [
    f"ALTER TABLE {table} ADD COLUMN recorded_by_professional UUID"
    for table in ("profile_conditions", "profile_allergies", "profile_treatments", "profile_family_history")
]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "records", description=DESCRIPTION, statements=STATEMENTS)
