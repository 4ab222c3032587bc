"""A claim code an operator issues (``ens claim-codes issue``) says who issued it and why.

A space whose parents made no claim code before the 18th birthday, or whose code expired, could
never be taken over: a parent's right ends that day, and nothing else made one (found by a review).
An operator, once they checked the young adult's identity, now issues the code; the row keeps their
name and their reason (the identity check and its reference), as a court measure's row keeps its
decision. Such a code's ``created_by`` is the nil UUID: an operator has no account."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-11T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "space_codes: the operator who issued a claim code, and why"

STATEMENTS = [
    "ALTER TABLE space_codes ADD COLUMN operator_name VARCHAR(255)",
    "ALTER TABLE space_codes ADD COLUMN operator_reason VARCHAR(255)",
]

INDEXES: list[Index] = []

forwards = ddl_migration(ID, "spaces", description=DESCRIPTION, statements=STATEMENTS)
