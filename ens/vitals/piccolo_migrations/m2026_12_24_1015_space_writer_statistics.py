"""PostgreSQL learns that a space's measures mostly come from one writer (an app, or the person).

Its planner takes the selectivities of ``space_id`` and ``writer`` as independent; in a space a
watch feeds, the writer is nearly every row, and the estimate of "this writer's rows of this
space" is the space's rows divided by the writers everywhere: a few. The step counts' check at
ingestion (one count a day and writer, ``ens.vitals.ingest._refuse_second_day_counts``) then read
the writer's every row through ``vital_measurements_client_record`` (150,520 rows, 42 ms a batch;
a scale audit) where the days asked hold a handful. Functional dependency statistics on the pair
correct the estimate (0.07 ms). SQLite has no such statistics; its planner keeps the rule of thumb.

``ens partition`` re-creates the table: it creates this statistics object again (docs/scale.md)."""

from ens.core.db import Index, PostgresOnly, ddl_migration

ID = "2026-12-24T10:15:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "functional dependency statistics on vital_measurements (space_id, writer)"

STATEMENTS = [
    PostgresOnly(
        "CREATE STATISTICS IF NOT EXISTS vital_measurements_space_writer (dependencies) "
        "ON space_id, writer FROM vital_measurements"
    ),
    # Partitioned already (ens partition): each partition's too, named as ens partition names them;
    # a query pruned to one partition is estimated from that partition's statistics (a review).
    PostgresOnly(
        """DO $$ DECLARE part record; BEGIN
             FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                         WHERE i.inhparent = 'vital_measurements'::regclass LOOP
               EXECUTE format('CREATE STATISTICS IF NOT EXISTS %I (dependencies) ON space_id, writer FROM %I',
                              'vital_measurements_space_writer_' || substr(part.relname, 20), part.relname);
             END LOOP;
           END $$"""
    ),
]

# A statistics object, no index.
INDEXES: list[Index] = []

forwards = ddl_migration(ID, "vitals", description=DESCRIPTION, statements=STATEMENTS)
