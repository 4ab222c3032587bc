"""One entry per vaccine and full day as each caller sees the booklet: the unique index now includes
``hidden_from_representatives``.

A representative who recorded the same vaccine on the same day as an entry hidden from them got a
409 saying the vaccine was already in the booklet: it told a parent that their child had a
confidential vaccination (CSP L1111-5, R1111-50; found by a review). Their entry is now recorded,
shown to them, beside the hidden one; the index keeps one entry per vaccine, day and visibility, so
a visible and a hidden entry of one injection may coexist, never two of either
(``ens.vaccination.booklet.writes``). The new index is created before the old one is dropped: the
rows already satisfy it (the old index was stricter).

On a large table, build it beforehand without blocking the booklet's writes (``CREATE UNIQUE INDEX
CONCURRENTLY vaccinations_same_day_visibility ON vaccinations (space_id, vaccine_key, earliest_on,
hidden_from_representatives) WHERE date_precision = 'day'``; a build that failed leaves an INVALID
index of that name: drop it and build again), and drop the old one the same way (``DROP INDEX
CONCURRENTLY vaccinations_same_day``): the migration then finds the first (``IF NOT EXISTS``) and
not the second (``IF EXISTS``)."""

from ens.core.db import Index, ddl_migration

ID = "2026-12-11T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one vaccination per vaccine, full day and visibility to representatives"

STATEMENTS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS vaccinations_same_day_visibility ON vaccinations "
    "(space_id, vaccine_key, earliest_on, hidden_from_representatives) WHERE date_precision = 'day'",
    "DROP INDEX IF EXISTS vaccinations_same_day",
]

INDEXES = [
    Index(
        "vaccinations_same_day_visibility",
        "vaccinations",
        ("space_id", "vaccine_key", "earliest_on", "hidden_from_representatives"),
        unique=True,
        partial=True,
    ),
]
DROPPED_INDEXES = ["vaccinations_same_day"]

forwards = ddl_migration(ID, "vaccination", description=DESCRIPTION, statements=STATEMENTS)
