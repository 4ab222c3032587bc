"""A glucose summary of one moment (``glucoseMoment=fasting``...) reads that moment's measures from
an index of their own (PostgreSQL), not every glucose of the span.

Without it the summary read the type's range of the (space_id, type, effective_at) index and visited
each row's heap page for its moment: a glucose sensor's 288 readings a day (docs/scale.md), every
one of them, for the one fasting glucose a day asked. A year of a sensor's readings in a space that
also holds a watch's heart rates: 105,120 rows read for 365 returned (34 to 37 ms), and under the
generic plan PostgreSQL settles on once a connection ran the summary five times, the space's time
index, every type's row of the span (up to 255,120 rows, 64 to 78 ms); from this index, 365 rows,
0.4 to 1 ms, both plans (EXPLAIN ANALYZE among 3.15 million measures; a scale audit).

Partial: only the rows that have a moment (every blood glucose, no other type), which the summary's
``glucose_moment = $n`` implies whatever its value, so a generic plan can read it. It adds one entry
to each glucose written, none to the other types'; it carries the value and the hidden flag, so the
summary reads it alone. SQLite keeps its own way (one person's development database).

On a large table, build it beforehand without blocking writes, under the same name
(``CREATE INDEX CONCURRENTLY vital_measurements_glucose_moments ...``): the migration then finds it
(``IF NOT EXISTS``)."""

from ens.core.db import Index, PostgresOnly, ddl_migration

ID = "2026-12-30T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "vital_measurements_glucose_moments: a glucose summary of one moment reads that moment's rows"

STATEMENTS = [
    PostgresOnly(
        "CREATE INDEX IF NOT EXISTS vital_measurements_glucose_moments ON vital_measurements "
        "(space_id, type, glucose_moment, effective_at) INCLUDE (value, hidden_from_representatives) "
        "WHERE glucose_moment IS NOT NULL"
    ),
]

INDEXES: list[Index] = []
POSTGRES_INDEXES = [
    Index(
        "vital_measurements_glucose_moments",
        "vital_measurements",
        ("space_id", "type", "glucose_moment", "effective_at"),
        partial=True,
        included=("value", "hidden_from_representatives"),
    )
]

forwards = ddl_migration(ID, "vitals", description=DESCRIPTION, statements=STATEMENTS)
