"""``vital_deletion_free_spaces``: a row for each space where no app's record was ever deleted, in
place of the column ``spaces.vital_records_deleted`` (migration ``m2026_12_29_0900``), so that the
lock an app's batch takes on it is no longer on the space's row.

A batch of an app's records with ``clientRecordId``s reads its space's row here under ``FOR KEY
SHARE``, last in its one statement (``ens.vitals.ingest._FLAG_PART``): present, the deleted records
are not looked up. The first deletion of an app's record in the space deletes the row (a trigger
on ``vital_deleted_records``, in the deleting transaction, whoever inserts there); the DELETE
conflicts with the batch's lock, so a batch that waited on the measure being deleted finds the row
gone once the deletion commits and looks the deleted records up. On the space's row the flag's share
lock had made every UPDATE of it (the emergency switch, a claim at 18, the first deletion) wait for
the app batches in flight into the space, which could keep coming and starve it (an outside review
reproduced it); here only the first deletion of a space waits for them, once, for the batches
already in flight: the trigger first takes the space's deletions lock whole (a transaction-scoped
advisory lock), which each batch tries shared, without waiting, before it locks the row. A row's
KEY SHARE is granted past a DELETE waiting for it, so without that lock a stream of overlapping
batches held the deletion as long as it lasted (a later review: 2.2 s for six); a batch whose try
fails (the trigger holds or awaits the lock) does not read the row and looks the deleted records up.

A row is made with its space (a trigger on ``spaces``, whoever inserts there), goes with it (``ON
DELETE CASCADE``; an erasure deletes it before), and is never made again by the service: a
deletion in a space without one takes no lock here, so a row made beside it could miss its record.
``ens vitals recheck-deletions`` makes the rows of the spaces there before this migration that never
had a deletion, each space's row locked first (``ens.vitals.deletion_flags``). DDL only: the servers
are stopped while ``ens migrate`` runs (README, "Upgrading"); the spaces there before count as having
had a deletion (their batches look, as before the column) until the command has run beside the
service. ``ens partition`` carries ``vital_deleted_records``'s trigger over
(``ens.core.partition``)."""

from ens.core.db import Index, PostgresOnly, SqliteOnly, ddl_migration

ID = "2026-12-31T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "vital_deletion_free_spaces, in place of spaces.vital_records_deleted"

_FIRST_DELETION = "DELETE FROM vital_deletion_free_spaces WHERE space_id = NEW.space_id"
# The space's deletions lock, whole, before the DELETE (PostgreSQL; ens.vitals.ingest.deletions_lock
# writes the same key): a batch tries it shared before it locks the row, and fails while this waits.
_DELETIONS_LOCK = "PERFORM pg_advisory_xact_lock(hashtextextended('vital-deletions:' || NEW.space_id::text, 0))"
_NEW_SPACE = "INSERT INTO vital_deletion_free_spaces (space_id) VALUES (NEW.id)"

STATEMENTS = [
    PostgresOnly("DROP TRIGGER IF EXISTS vital_records_deleted_in_space ON vital_deleted_records"),
    SqliteOnly("DROP TRIGGER IF EXISTS vital_records_deleted_in_space"),
    PostgresOnly("DROP FUNCTION IF EXISTS vital_records_deleted_in_space()"),
    "ALTER TABLE spaces DROP COLUMN vital_records_deleted",
    "CREATE TABLE vital_deletion_free_spaces (space_id UUID PRIMARY KEY REFERENCES spaces (id) ON DELETE CASCADE)",
    PostgresOnly(
        "CREATE FUNCTION vital_deletion_seen_in_space() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {_DELETIONS_LOCK}; {_FIRST_DELETION}; RETURN NULL; END $$"
    ),
    PostgresOnly(
        "CREATE TRIGGER vital_deletion_seen_in_space AFTER INSERT ON vital_deleted_records "
        "FOR EACH ROW EXECUTE FUNCTION vital_deletion_seen_in_space()"
    ),
    SqliteOnly(
        f"CREATE TRIGGER vital_deletion_seen_in_space AFTER INSERT ON vital_deleted_records "
        f"BEGIN {_FIRST_DELETION}; END"
    ),
    PostgresOnly(
        "CREATE FUNCTION vital_space_deletion_free() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {_NEW_SPACE}; RETURN NULL; END $$"
    ),
    PostgresOnly(
        "CREATE TRIGGER vital_space_deletion_free AFTER INSERT ON spaces "
        "FOR EACH ROW EXECUTE FUNCTION vital_space_deletion_free()"
    ),
    SqliteOnly(f"CREATE TRIGGER vital_space_deletion_free AFTER INSERT ON spaces BEGIN {_NEW_SPACE}; END"),
]

# Its primary key alone.
INDEXES: list[Index] = []

forwards = ddl_migration(ID, "vitals", description=DESCRIPTION, statements=STATEMENTS)
