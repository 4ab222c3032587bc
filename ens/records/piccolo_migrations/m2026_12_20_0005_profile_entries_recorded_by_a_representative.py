"""A medical profile entry a representative added names them, as one a professional added does: the
export said the patient stated what a parent or a guardian typed into the space."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-20T00:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "profile entries recorded by a representative"

STATEMENTS = [
    f"ALTER TABLE {table} ADD COLUMN recorded_by_representative UUID"
    for table in ("profile_conditions", "profile_allergies", "profile_treatments", "profile_family_history")
]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "records", description=DESCRIPTION, statements=STATEMENTS)
