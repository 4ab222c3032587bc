"""``spaces.vital_records_deleted``: whether the space holds, or held, an app's deleted record
(a row of ``vital_deleted_records``), so that a batch of an app's records into a space that never
had one skips looking their keys up there (``ens.vitals.ingest``): one round trip and an index
probe per measure. Skipping the lookup outright measured +0.03 x COPY on make bench's ingestion
line (0.51-0.52 to 0.54-0.55); the flag's own runs, 0.51 to 0.56, stayed inside the machine's spread.

Set by a trigger on ``vital_deleted_records``, whoever inserts there: this version's deletion, an
older server's still running beside it while a deployment rolls, or any later path. It is set in
the deleting transaction, after the measure's row was deleted; a batch that waited on that row
reads the flag under a share lock of the space's row, which returns the row as the deletion left
it (``ens.vitals.ingest._FLAG_PART``).

Never cleared (``ens.spaces.tables.Space``): a deletion in a space already TRUE takes no lock of the
space's row, so a reset to FALSE racing it would miss its record. The rows there before read TRUE (a
constant default, which PostgreSQL adds without rewriting the table, and no walk of
``vital_deleted_records`` under the table's lock): their batches look up as they did, until
``ens vitals recheck-deletions`` (``ens.vitals.deletion_flags``, which locks each space's row
first) sets FALSE those that never had one. A space this version creates says FALSE.
``ens partition`` carries the trigger over (``ens.core.partition``); an older ``ens partition``
would drop it (docs/scale.md)."""

from ens.core.db import Index, PostgresOnly, SqliteOnly, ddl_migration

ID = "2026-12-29T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "spaces.vital_records_deleted, set by a trigger on vital_deleted_records"

_SET = "UPDATE spaces SET vital_records_deleted = TRUE WHERE id = NEW.space_id AND NOT vital_records_deleted"

STATEMENTS = [
    "ALTER TABLE spaces ADD COLUMN vital_records_deleted BOOLEAN NOT NULL DEFAULT TRUE",
    PostgresOnly(
        "CREATE FUNCTION vital_records_deleted_in_space() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {_SET}; RETURN NULL; END $$"
    ),
    PostgresOnly(
        "CREATE TRIGGER vital_records_deleted_in_space AFTER INSERT ON vital_deleted_records "
        "FOR EACH ROW EXECUTE FUNCTION vital_records_deleted_in_space()"
    ),
    SqliteOnly(
        f"CREATE TRIGGER vital_records_deleted_in_space AFTER INSERT ON vital_deleted_records BEGIN {_SET}; END"
    ),
]

# A column and a trigger, no index.
INDEXES: list[Index] = []

forwards = ddl_migration(ID, "vitals", description=DESCRIPTION, statements=STATEMENTS)
