"""The schema is declared twice, by the piccolo tables and by the hand-written migrations: on the
migrated database (SQLite or PostgreSQL, whichever the suite runs on) they must agree — every
column's type, nullability and primary key, and exactly the indexes the migrations list."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from piccolo.columns import Column
from piccolo.conf.apps import Finder
from piccolo.table import Table

from ens.core import db
from ens.core.db import Index

ROOT = Path(__file__).resolve().parents[2]

# piccolo column class -> (PostgreSQL data_type, SQLite declared type)
_TYPES = {
    "UUID": ("uuid", "UUID"),
    "Varchar": ("character varying", "VARCHAR"),
    "Text": ("text", "TEXT"),
    "Timestamptz": ("timestamp with time zone", "TIMESTAMPTZ"),
    "Date": ("date", "DATE"),
    "Integer": ("integer", "INTEGER"),
    "BigInt": ("bigint", "BIGINT"),
    "BigSerial": ("bigint", "INTEGER"),
    "DoublePrecision": ("double precision", "DOUBLE PRECISION"),
    "Boolean": ("boolean", "BOOLEAN"),
    "Bytea": ("bytea", "BLOB"),
}


def _product_tables() -> list[type[Table]]:
    return [t for t in db.all_tables() if t._meta.tablename != "migration"]


def _migration_modules() -> list[ModuleType]:
    modules: list[ModuleType] = []
    for config in Finder().get_app_configs():
        folder = Path(config.resolved_migrations_folder_path)
        package = ".".join(folder.relative_to(ROOT).parts)
        modules += [importlib.import_module(f"{package}.{path.stem}") for path in folder.glob("m*.py")]
    return sorted(modules, key=lambda module: str(module.ID))


def expected_primary_keys(*, postgres: bool) -> dict[str, tuple[str, ...]]:
    """Composite primary keys the migrations declare (``PRIMARY_KEYS``: piccolo tables cannot;
    ``POSTGRES_PRIMARY_KEYS``: re-keyed on PostgreSQL only, see ``ens.core.db.PostgresOnly``)."""
    keys: dict[str, tuple[str, ...]] = {}
    for module in _migration_modules():
        keys.update(getattr(module, "PRIMARY_KEYS", {}))
        if postgres:
            keys.update(getattr(module, "POSTGRES_PRIMARY_KEYS", {}))
    return keys


def expected_indexes(*, postgres: bool) -> dict[str, Index]:
    indexes: dict[str, Index] = {}
    for module in _migration_modules():
        dropped = [
            *getattr(module, "DROPPED_INDEXES", []),
            *(getattr(module, "POSTGRES_DROPPED_INDEXES", []) if postgres else []),
        ]
        for index in dropped:
            indexes.pop(index, None)
        indexes.update({index.name: index for index in module.INDEXES})
        if postgres:
            indexes.update({index.name: index for index in getattr(module, "POSTGRES_INDEXES", [])})
    return indexes


def _is_postgres() -> bool:
    return db.is_postgres(db.current())


async def _columns(table: str) -> dict[str, tuple[str, bool, bool]]:
    """name -> (type, nullable, primary key) as the database has them."""
    if _is_postgres():
        rows = await db.fetch(
            """SELECT c.column_name, c.data_type, c.is_nullable,
                      EXISTS (SELECT 1 FROM information_schema.table_constraints t
                              JOIN information_schema.key_column_usage k
                                ON k.constraint_name = t.constraint_name AND k.table_name = t.table_name
                              WHERE t.table_name = c.table_name AND t.constraint_type = 'PRIMARY KEY'
                                AND k.column_name = c.column_name) AS pk
               FROM information_schema.columns c WHERE c.table_name = {} AND c.table_schema = 'public'""",
            table,
        )
        return {r["column_name"]: (r["data_type"], r["is_nullable"] == "YES", bool(r["pk"])) for r in rows}
    rows = await db.fetch(f"SELECT * FROM pragma_table_info('{table}')")
    return {
        r["name"]: (str(r["type"]).split("(")[0].upper(), not r["notnull"] and not r["pk"], bool(r["pk"])) for r in rows
    }


async def _indexes() -> dict[str, Index]:
    """Every index of the database but primary keys' own, as the database has them."""
    found: dict[str, Index] = {}
    if _is_postgres():
        rows = await db.fetch(
            """SELECT i.relname AS name, t.relname AS table, ix.indisunique AS unique,
                      ix.indpred IS NOT NULL AS partial, ix.indnkeyatts AS keys,
                      array_to_string(ARRAY(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY k(n, o)
                                            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n
                                            ORDER BY k.o), ',') AS columns
               FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
               JOIN pg_namespace n ON n.oid = t.relnamespace
               WHERE n.nspname = 'public' AND NOT ix.indisprimary"""
        )
        for r in rows:
            # The key columns, then those the index only carries (INCLUDE).
            named = tuple(r["columns"].split(","))
            keys = int(r["keys"])
            found[r["name"]] = Index(
                r["name"], r["table"], named[:keys], r["unique"], r["partial"], included=named[keys:]
            )
        return found
    tables = await db.fetch("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    for table in (str(t["name"]) for t in tables):
        for r in await db.fetch(f"SELECT * FROM pragma_index_list('{table}')"):
            if r["origin"] != "c":  # primary keys and UNIQUE constraints have their own, automatic, indexes
                continue
            columns = await db.fetch(f"SELECT name FROM pragma_index_info('{r['name']}') ORDER BY seqno")
            found[r["name"]] = Index(
                r["name"], table, tuple(str(c["name"]) for c in columns), bool(r["unique"]), bool(r["partial"])
            )
    return found


@pytest.mark.parametrize("table", _product_tables(), ids=lambda t: t._meta.tablename)
async def test_every_column_of_the_table_is_in_the_migrated_schema_as_declared(
    migrated: None, table: type[Table]
) -> None:
    actual = await _columns(table._meta.tablename)
    column: Column
    declared: dict[str, tuple[str, bool, bool]] = {}
    composite = expected_primary_keys(postgres=_is_postgres()).get(table._meta.tablename)
    for column in table._meta.columns:
        postgres_type, sqlite_type = _TYPES[type(column).__name__]
        name = column._meta.db_column_name
        is_pk = name in composite if composite else bool(column._meta.primary_key)
        nullable = bool(column._meta.null) and not is_pk
        declared[column._meta.db_column_name] = (postgres_type if _is_postgres() else sqlite_type, nullable, is_pk)
    assert actual == declared


async def test_the_database_has_exactly_the_indexes_the_migrations_list(migrated: None) -> None:
    expected = {name: index for name, index in expected_indexes(postgres=_is_postgres()).items()}
    actual = {name: index for name, index in (await _indexes()).items() if not name.startswith("piccolo")}
    migration_table = {name for name, index in actual.items() if index.table == "migration"}
    assert {k: v for k, v in actual.items() if k not in migration_table} == expected


@pytest.mark.parametrize("postgres", [False, True], ids=["sqlite", "postgresql"])
def test_every_table_with_health_data_has_an_index_starting_with_space_id(postgres: bool) -> None:
    """ENGINEERING.md, Scale: every query on a space's data is served by an index starting with it."""
    starts: dict[str, set[str]] = {}
    for index in expected_indexes(postgres=postgres).values():
        starts.setdefault(index.table, set()).add(index.columns[0])
    missing: list[Any] = []
    composite = expected_primary_keys(postgres=postgres)
    for table in _product_tables():
        if composite.get(table._meta.tablename, ("",))[0] == "space_id":
            continue  # PRIMARY KEY (space_id, id): its own index starts with space_id
        names = {c._meta.db_column_name for c in table._meta.columns}
        primary = next(c._meta.db_column_name for c in table._meta.columns if c._meta.primary_key)
        if "space_id" in names and primary != "space_id" and "space_id" not in starts.get(table._meta.tablename, set()):
            missing.append(table._meta.tablename)
    assert missing == []


def test_every_table_the_product_declares_is_registered_with_piccolo() -> None:
    """A table missing from its piccolo app would escape migrations checks and the erase."""
    import ens.app  # noqa: F401  (imports every capability's tables)

    declared: set[str] = set()
    stack: list[type[Table]] = [Table]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith("ens."):
                declared.add(sub._meta.tablename)
    assert declared == {t._meta.tablename for t in _product_tables()}


def test_every_migration_has_an_id_of_its_own() -> None:
    """Migrations are applied in the order of their ids, across apps, and one already recorded is
    skipped: two migrations with one id (two branches merged) would leave one of them unapplied."""
    ids = [module.ID for module in _migration_modules()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_every_migration_file_has_a_name_of_its_own() -> None:
    """piccolo imports each app's migration files by their bare name: two apps with a file of one
    name would both run the first one loaded."""
    stems = [module.__name__.rsplit(".", 1)[-1] for module in _migration_modules()]
    assert len(stems) == len(set(stems)), sorted(s for s in stems if stems.count(s) > 1)


# Health tables that are not partitioned, with why: their unique key cannot start with space_id.
NOT_PARTITIONED = {
    # A code is entered by someone who does not know its space: it is found by its hash, unique
    # across spaces. Small (codes live days) and never on a read path of health data.
    "space_codes": "found by the hash of a code entered by someone who does not know its space",
}


async def test_on_postgresql_every_key_of_a_health_table_starts_with_space_id(migrated: None) -> None:
    """docs/scale.md: a table can be hash-partitioned by space_id only if its primary key and every
    unique index include it — first, so that a space's rows sit together in each."""
    if not _is_postgres():
        pytest.skip("partitioning is PostgreSQL's (SQLite tables keep their first key)")
    rows = await db.fetch(
        """SELECT t.relname AS table, i.relname AS index, ix.indisprimary AS primary,
                  (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attnum = ix.indkey[0]) AS first
           FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
           JOIN pg_namespace n ON n.oid = t.relnamespace
           WHERE n.nspname = 'public' AND (ix.indisunique OR ix.indisprimary)
             AND EXISTS (SELECT 1 FROM information_schema.columns c WHERE c.table_name = t.relname
                         AND c.column_name = 'space_id' AND c.is_nullable = 'NO')"""
    )
    wrong = [
        f"{row['table']}.{row['index']} starts with {row['first']}"
        for row in rows
        if row["first"] != "space_id" and row["table"] not in NOT_PARTITIONED
    ]
    assert wrong == []
