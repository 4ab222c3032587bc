"""An emergency contact or a profile entry can be hidden from the space's representatives (CSP R1111-50)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-02T09:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "emergency contacts and profile entries hidden from representatives"

HIDEABLE = (
    "emergency_contacts",
    "profile_conditions",
    "profile_allergies",
    "profile_treatments",
    "profile_family_history",
)

# No backfill: every item stored so far is visible (the default). No index: a space's contacts
# (10 at most) and profile lists are read whole through their (space_id, ...) indexes, and the
# flag is filtered on those rows.
STATEMENTS = [
    f"ALTER TABLE {table} ADD COLUMN hidden_from_representatives BOOLEAN NOT NULL DEFAULT FALSE" for table in HIDEABLE
]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "records", description=DESCRIPTION, statements=STATEMENTS)
