"""A summary reads its measures from the index alone (PostgreSQL): the (space_id, type,
effective_at, id) index also carries the values and the hidden flag (INCLUDE), so aggregating a
span is an index-only scan instead of a visit to each row's heap page.

A dense series (a watch's heart rate) is written among every other space's rows, so its rows are
spread over the table: 50,000 heart rates of one space written among others' took 20.2 ms to
summarise by day over a year, 12.1 ms from the index alone (both warm; EXPLAIN ANALYZE, "Heap
Fetches: 0"), and far more than that from a cold cache, one heap page per row. What remains is the
aggregation itself (~0.2 us a row); a year of minutes calls for daily roll-ups (docs/scale.md).
The index is the same key, wider by its four included columns; SQLite keeps its own. A correction
or a hide now updates this index too (no heap-only update): both are rare beside the inserts.

On a large table, build the index beforehand without blocking writes, under the same name
(``CREATE INDEX CONCURRENTLY vital_measurements_space_type_time_values ...``): the migration then
finds it (``IF NOT EXISTS``) and only drops the old one."""

from ens.core.db import Index, PostgresOnly, ddl_migration

ID = "2026-12-08T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the type-and-time index of the measures carries their values (index-only summaries)"

STATEMENTS = [
    PostgresOnly(
        "CREATE INDEX IF NOT EXISTS vital_measurements_space_type_time_values ON vital_measurements "
        "(space_id, type, effective_at, id) INCLUDE (value, systolic, diastolic, hidden_from_representatives)"
    ),
    PostgresOnly("DROP INDEX IF EXISTS vital_measurements_space_type_time"),
]

INDEXES: list[Index] = []
POSTGRES_INDEXES = [
    Index(
        "vital_measurements_space_type_time_values",
        "vital_measurements",
        ("space_id", "type", "effective_at", "id"),
        included=("value", "systolic", "diastolic", "hidden_from_representatives"),
    )
]
POSTGRES_DROPPED_INDEXES = ["vital_measurements_space_type_time"]

forwards = ddl_migration(ID, "vitals", description=DESCRIPTION, statements=STATEMENTS)
