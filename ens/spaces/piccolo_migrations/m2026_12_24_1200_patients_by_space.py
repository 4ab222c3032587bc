"""A professional's patients (``GET /v1/pro/patients``) read in the order of their pages.

The list is paged by space id; the index gave the professional's authorised rows in no order, so
each page read and sorted all of them (a professional with 5,019 rows: 23.8 ms a page, the whole
list O(n²); a scale audit). Keyed (professional_id, status, space_id), a page is the next rows of
the index from the cursor. It replaces (professional_id, status), which it begins with.

On a large table, build it beforehand without blocking (``CREATE INDEX CONCURRENTLY`` with the same
name and definition): the migration then finds it (``IF NOT EXISTS``)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-24T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "space_professionals_patients_by_space: a professional's patients by space id"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS space_professionals_patients_by_space "
    "ON space_professionals (professional_id, status, space_id)",
    "DROP INDEX IF EXISTS space_professionals_patients",
]

INDEXES = [
    Index("space_professionals_patients_by_space", "space_professionals", ("professional_id", "status", "space_id"))
]
DROPPED_INDEXES = ["space_professionals_patients"]

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
