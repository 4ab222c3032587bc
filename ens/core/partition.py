"""``ens partition TABLE --partitions N``: turn a table of health data into a hash-partitioned one
by ``space_id`` (PostgreSQL; docs/scale.md).

In one transaction, holding the table's lock: the table is renamed aside, a partitioned table
takes its name with the same columns, defaults, primary key, indexes (same names), foreign
keys and triggers, ``N`` partitions are attached, the rows are moved, and the old table is dropped. Queries do
not change: each names its space, so PostgreSQL prunes it to one partition. Suited to a
maintenance window or a young table; the online path for a large live one is in docs/scale.md.
"""

from __future__ import annotations

import re

from ens.core.db import fetch, fetch_one, write_transaction


class CannotPartition(Exception):
    """The table cannot be partitioned by space_id (said why)."""


_NAME = re.compile(r"[a-z_][a-z0-9_]*")
# pg_statistic_ext.stxkind: the kinds of statistics an object keeps, as CREATE STATISTICS names them.
_STATISTICS_KINDS = {"d": "dependencies", "f": "ndistinct", "m": "mcv"}


async def partition_by_space(table: str, partitions: int) -> int:
    """Partition ``table`` into ``partitions`` by hash of ``space_id``; returns the rows moved."""
    if not _NAME.fullmatch(table):
        raise CannotPartition(f"{table!r} is not a table name")
    if not 2 <= partitions <= 1024:
        raise CannotPartition("between 2 and 1024 partitions")
    async with write_transaction():
        found = await fetch_one(
            "SELECT c.relkind::text AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relname = {}",
            table,
        )
        if found is None:
            raise CannotPartition(f"no table {table}")
        if found["kind"] == "p":
            raise CannotPartition(f"{table} is partitioned already")
        column = await fetch_one(
            "SELECT is_nullable FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = {} AND column_name = 'space_id'",
            table,
        )
        if column is None or column["is_nullable"] != "NO":
            raise CannotPartition(f"{table} has no space_id column that may not be null")
        indexes = await fetch(
            """SELECT i.relname AS name, ix.indisprimary AS is_primary, ix.indisunique AS is_unique,
                      pg_get_indexdef(ix.indexrelid) AS definition,
                      (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = ix.indrelid
                       AND a.attnum = ix.indkey[0]) AS first
               FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
               WHERE ix.indrelid = {}::regclass""",
            table,
        )
        for index in indexes:
            if (index["is_primary"] or index["is_unique"]) and index["first"] != "space_id":
                raise CannotPartition(f"{table}'s key {index['name']} does not start with space_id")
        incoming = await fetch(
            "SELECT conname FROM pg_constraint WHERE contype = 'f' AND confrelid = {}::regclass", table
        )
        if incoming:
            raise CannotPartition(f"other tables reference {table}: {', '.join(r['conname'] for r in incoming)}")
        primary = await fetch_one(
            "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
            "WHERE contype = 'p' AND conrelid = {}::regclass",
            table,
        )
        foreign = await fetch(
            "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid = {}::regclass",
            table,
        )
        owned = await fetch(
            """SELECT s.relname AS sequence, a.attname AS column FROM pg_depend d
               JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
               JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
               WHERE d.refobjid = {}::regclass AND d.deptype = 'a'""",
            table,
        )
        # Extended statistics (a migration's CREATE STATISTICS): on the partitioned table, and on
        # each partition, where the planner estimates a query pruned to one of them.
        statistics = await fetch(
            """SELECT x.stxname AS name, x.stxkind::text[] AS kinds,
                      ARRAY(SELECT a.attname::text FROM unnest(x.stxkeys) AS k(attnum)
                            JOIN pg_attribute a ON a.attrelid = x.stxrelid AND a.attnum = k.attnum) AS columns
               FROM pg_statistic_ext x WHERE x.stxrelid = {}::regclass""",
            table,
        )
        # Its triggers (a migration's: vital_deleted_records deletes its space's row of
        # vital_deletion_free_spaces), each as written on the table's name; made again on the
        # partitioned table once the rows are moved, which they had already acted on (PostgreSQL
        # clones a partitioned table's row trigger to each partition).
        triggers = await fetch(
            "SELECT pg_get_triggerdef(oid) AS definition FROM pg_trigger WHERE tgrelid = {}::regclass "
            "AND NOT tgisinternal ORDER BY tgname",
            table,
        )
        old = f"{table}_unpartitioned"
        await fetch(f"ALTER TABLE {table} RENAME TO {old}")
        for found_statistics in statistics:
            await fetch(
                f"ALTER STATISTICS {found_statistics['name']} RENAME TO {found_statistics['name']}_unpartitioned"
            )
        for index in indexes:
            await fetch(f"ALTER INDEX {index['name']} RENAME TO {index['name']}_unpartitioned")
        for constraint in foreign:
            await fetch(f"ALTER TABLE {old} RENAME CONSTRAINT {constraint['conname']} TO {constraint['conname']}_old")
        await fetch(
            f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE) "
            "PARTITION BY HASH (space_id)"
        )
        for sequence in owned:
            # The sequence outlives the old table: the new column's default still draws from it.
            await fetch(f"ALTER SEQUENCE {sequence['sequence']} OWNED BY {table}.{sequence['column']}")
        if primary is not None:
            await fetch(f"ALTER TABLE {table} ADD CONSTRAINT {primary['conname']} {primary['definition']}")
        for index in indexes:
            if not index["is_primary"]:
                # Its definition as read before the renames: its own name, on the table's name.
                await fetch(str(index["definition"]))
        for constraint in foreign:
            await fetch(f"ALTER TABLE {table} ADD CONSTRAINT {constraint['conname']} {constraint['definition']}")
        for remainder in range(partitions):
            await fetch(
                f"CREATE TABLE {table}_p{remainder:03d} PARTITION OF {table} "
                f"FOR VALUES WITH (MODULUS {partitions}, REMAINDER {remainder})"
            )
        for found_statistics in statistics:
            kinds = ", ".join(
                _STATISTICS_KINDS[kind] for kind in found_statistics["kinds"] if kind in _STATISTICS_KINDS
            )
            columns = ", ".join(found_statistics["columns"])
            targets = [(found_statistics["name"], table)] + [
                (f"{found_statistics['name']}_p{remainder:03d}", f"{table}_p{remainder:03d}")
                for remainder in range(partitions)
            ]
            for name, target in targets:
                await fetch(f"CREATE STATISTICS {name} ({kinds}) ON {columns} FROM {target}")
        moved = await fetch(
            f"WITH moved AS (INSERT INTO {table} SELECT * FROM {old} RETURNING 1) SELECT COUNT(*) AS n FROM moved"
        )
        for trigger in triggers:
            await fetch(str(trigger["definition"]))
        await fetch(f"DROP TABLE {old}")
    return int(moved[0]["n"])
