"""The database engine: chosen from ENS_DATABASE_URL, started and stopped by the app's lifespan.

SQLite is the zero-install default; PostgreSQL is production. One code path serves both:
tables are declared once (piccolo), migrations are written in a SQL subset both accept, and
writes go through :func:`write_transaction`, which on SQLite takes the write lock up front
(``BEGIN IMMEDIATE``) so that concurrent writers wait on the busy timeout instead of failing
with "database is locked" when a read transaction tries to upgrade.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from string import Formatter
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit
from uuid import UUID

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType
from piccolo.table import Table

from ens.core.pool import QuickPool
from ens.core.settings import Settings

log = logging.getLogger("ens.db")

SQLITE_BUSY_TIMEOUT_S = 30.0

# SQLite keeps at most 32766 bound variables per statement (999 before 3.32); batch inserts stay under.
SQLITE_MAX_VARIABLES = 32766


def sqlite_path(url: str) -> str:
    """``sqlite:///relative/path`` or ``sqlite:////absolute/path`` to a file path."""
    rest = url.removeprefix("sqlite://")
    rest = rest[1:] if rest.startswith("/") else rest
    return unquote(rest) or "./var/ens.sqlite"


@cache
def engine_for_url(url: str) -> Engine[Any]:
    """One engine per URL for the life of the process."""
    if url.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(url)
        # libpq's spelling for a Unix socket: postgresql://user@/ens?host=/var/run/postgresql
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        config: dict[str, Any] = {
            "host": query.get("host") or parts.hostname or "localhost",
            "port": int(query.get("port") or parts.port or 5432),
            "user": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
            "database": parts.path.lstrip("/") or "ens",
        }
        config = {k: v for k, v in config.items() if v is not None}
        # How its connections show in pg_stat_activity (an operator's first question in an outage,
        # and what ens.vitals.feed_watch reports of a transaction holding the feed back).
        config["server_settings"] = {"application_name": query.get("application_name") or "ens"}
        # A batch's multi-row statement is ~20 KiB for 100 rows: keep it prepared (insert_rows).
        config["max_cacheable_statement_size"] = 1024 * 1024
        return PostgresEngine(config=config)
    path = sqlite_path(url)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    prepare_sqlite_file(path)
    return SQLiteEngine(path=path, timeout=SQLITE_BUSY_TIMEOUT_S)


def prepare_sqlite_file(path: str) -> None:
    """Switch the file to WAL (persistent in the file): readers never block the writer. SQLite
    answers some waits here SQLITE_BUSY at once, without its busy handler (another connection
    opening the same new file, or recovering its WAL): tried again until SQLITE_BUSY_TIMEOUT_S.
    Two ``ens migrate`` started together on an empty file had one fail so, now and then (a full
    run of the suite)."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            with sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S) as connection:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
            return
        except sqlite3.OperationalError as exc:
            busy = str(getattr(exc, "sqlite_errorname", "")).startswith("SQLITE_BUSY")
            if not busy or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def is_postgres(engine: Engine[Any]) -> bool:
    return engine.engine_type == "postgres"


_current: list[Engine[Any]] = []
_tables: list[type[Table]] = []


def bind(engine: Engine[Any], tables: Sequence[type[Table]]) -> None:
    """Make ``engine`` the process's database and point every table at it (done by ``create_app``)."""
    for table in tables:
        table._meta.db = engine
    _current[:] = [engine]
    _tables[:] = list(tables)


def bound_tables() -> list[type[Table]]:
    return list(_tables)


def all_tables() -> list[type[Table]]:
    """Every table of every app piccolo_conf registers, and piccolo's own record of applied migrations."""
    from piccolo.apps.migrations.tables import Migration
    from piccolo.conf.apps import Finder

    return [*Finder().get_table_classes(), Migration]


@asynccontextmanager
async def connected(settings: Settings, pool_size: int = 2) -> AsyncIterator[Engine[Any]]:
    """The database of ``settings``, bound and started for a command, stopped on the way out."""
    engine = engine_for_url(settings.database_url)
    bind(engine, all_tables())
    await start(engine, pool_size)
    try:
        yield engine
    finally:
        await stop(engine)


def current() -> Engine[Any]:
    """The engine ``bind`` chose; piccolo's own lookup (``piccolo_conf``) until then."""
    if _current:
        return _current[0]
    from piccolo.engine import engine_finder

    engine = engine_finder()
    assert engine is not None, "no database engine configured"
    return engine


_pool_users: dict[int, int] = {}
# SQLite: the connection statements outside a transaction share (piccolo opens a new one, with a
# thread of its own, for every such statement: measured ten times the CPU of a PostgreSQL page
# read, which is why `make run` on SQLite served pages so much slower than production). Each
# statement runs there to its end at once (:func:`fetch`): none is left open while another starts.
_sqlite_shared: dict[int, Any] = {}


async def start(engine: Engine[Any], pool_size: int) -> None:
    """Open the PostgreSQL pool, or SQLite's shared connection; several apps of one process (tests)
    share them, counted."""
    users = _pool_users.get(id(engine), 0)
    if users == 0:
        if isinstance(engine, PostgresEngine):
            await engine.start_connection_pool(min_size=1, max_size=pool_size, reset=_keep_session)
            # piccolo's transactions and this module's statements take their connections from it.
            engine.pool = QuickPool(engine.pool)
        elif isinstance(engine, SQLiteEngine):
            _sqlite_shared[id(engine)] = await engine.get_connection()
    _pool_users[id(engine)] = users + 1


async def _keep_session(connection: Any) -> None:
    """What a connection goes through on its way back to the pool, besides asyncpg's own rollback.

    asyncpg's default runs ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``
    on every release: one more round trip for each query outside a transaction (three per request
    behind the space door). Nothing here leaves session state behind (no SET, LISTEN, advisory
    lock or cursor), and asyncpg still rolls back a transaction left open before calling this.
    """


async def stop(engine: Engine[Any]) -> None:
    users = _pool_users.get(id(engine), 0) - 1
    _pool_users[id(engine)] = max(users, 0)
    if users <= 0:
        if isinstance(engine, PostgresEngine):
            await engine.close_connection_pool()
        shared = _sqlite_shared.pop(id(engine), None)
        if shared is not None:
            await shared.close()


@dataclass
class _Joiner:
    write: Callable[[], Awaitable[None]]
    committed: Callable[[], None]
    begin: Callable[[], Awaitable[None]] | None = None


# What the current request wants written in its first write transaction (its access-history row).
_joiners: ContextVar[list[_Joiner] | None] = ContextVar("ens_commit_joiners", default=None)


def join_next_write(
    write: Callable[[], Awaitable[None]],
    committed: Callable[[], None],
    *,
    begin: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Have ``write`` run inside the next outermost :func:`write_transaction` of this context (not
    one ``apart``), just before it commits, so the request's own writes and ``write`` commit
    together (one commit per request); ``committed`` is called once that commit has succeeded.
    Nothing runs if the request never writes, or if its transaction rolls back. ``begin`` runs first
    thing in that transaction (on SQLite once it holds the write lock: no other writer can then
    change what it checks)."""
    joiner = _Joiner(write, committed, begin)
    joiners = _joiners.get()
    if joiners is None:
        _joiners.set([joiner])
    else:
        joiners.append(joiner)


@dataclass
class _RequestConnection:
    """The pool connection a request's reads share (PostgreSQL), taken at its first statement."""

    owner: asyncio.Task[Any] | None
    pool: Any = None
    connection: Any = None
    failed: bool = False


_request_connection: ContextVar[_RequestConnection | None] = ContextVar("ens_request_connection", default=None)


class RequestContext:
    """What one request joins to its write stays with it (servers may run several in one task),
    and a connection it shares (:func:`share_request_connection`) goes back at the latest at its end.

    A class rather than ``@asynccontextmanager``: it runs around every request, and the generator's
    machinery cost more than what it does."""

    __slots__ = ("_held", "_joiners")

    async def __aenter__(self) -> None:
        self._joiners = _joiners.set(None)
        self._held = _request_connection.set(None)

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await release_request_connection()
        finally:
            _request_connection.reset(self._held)
            _joiners.reset(self._joiners)


def share_request_connection() -> None:
    """From now on, this request's statements outside a transaction share one pool connection
    (PostgreSQL), taken at the first of them, until :func:`release_request_connection`.

    Only for a request that waits on nothing but the database until it answers: the space door
    turns it on for requests without a body (a body can stall; a stalled client must not hold a
    connection). Measured on a 1-item page: taking a connection from asyncpg's pool and giving it
    back cost about as much as a statement's own client work, and such a request reads twice
    (the door, then the handler)."""
    _request_connection.set(_RequestConnection(owner=asyncio.current_task()))


async def release_request_connection() -> None:
    """Give the shared connection back, and share no more: when the answer starts (a body may then
    stream to a slow client), before the request waits for its history row, and before it opens a
    write transaction, so a request never holds two connections (a pool of N could otherwise wait
    on itself)."""
    held = _request_connection.get()
    if held is None:
        return
    _request_connection.set(None)
    if held.connection is not None:
        if isinstance(held.pool, QuickPool):
            await held.pool.release(held.connection, failed=held.failed)
        else:
            await held.pool.release(held.connection)


class _EndsWhateverHappens:
    """piccolo's transactions (PostgreSQL's and SQLite's), giving their connection back however
    they end.

    piccolo's give the connection back and leave the context only after a BEGIN, then a COMMIT or
    ROLLBACK, that succeeded. On PostgreSQL, a COMMIT the server refuses (a deferred constraint, a
    serialization failure) or a BEGIN on a dead connection kept the connection out of the pool for
    good; after a connection dropped under the transaction (a server restart fails every one in
    flight) the dead transaction stayed current, and the request's next statements (the history row
    of its error answer) failed on it. On both engines, a ROLLBACK that failed replaced the error
    the request had met. Here the connection always goes back, marked failed when the end did not
    go through (asyncpg's release then rolls back, or replaces a broken connection; SQLite's close
    rolls back), and the context is always left
    (tests/core/test_a_failed_commit_gives_its_connection_back.py).
    """

    __slots__ = ()

    async def __aenter__(self: Any) -> Any:
        if self._parent is not None:
            return self._parent
        self.connection = await self.get_connection()
        try:
            await self._begin()
        except BaseException:
            await self._give_back(failed=True)
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self: Any, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent is not None:
            return exception is None
        ended = False
        try:
            if exception is not None:
                if not self._rolled_back:
                    try:
                        await self.rollback()
                    except Exception as failed:
                        # The error the request met is the one to answer with (a lost connection
                        # is a 503), not the rollback's that followed it on the same connection
                        # ("another operation is in progress"). Nothing commits: the connection
                        # goes back failed (asyncpg's release rolls back or closes it; SQLite's
                        # close rolls back).
                        log.warning("rollback failed after an error", extra={"error": type(failed).__name__})
                        return False
            elif not self._committed and not self._rolled_back:
                await self.commit()
            ended = True
        finally:
            try:
                await self._give_back(failed=not ended)
            finally:
                self.engine.current_transaction.reset(self.context)
        return exception is None


class _PostgresTransaction(_EndsWhateverHappens, PostgresTransaction):
    __slots__ = ()

    async def _begin(self) -> None:
        self.transaction = self.connection.transaction()
        await self.begin()  # type: ignore[no-untyped-call]

    async def _give_back(self, *, failed: bool) -> None:
        pool = self.engine.pool
        if isinstance(pool, QuickPool):
            await pool.release(self.connection, failed=failed)
        elif pool is not None:
            await pool.release(self.connection)
        else:
            await self.connection.close()


class _SQLiteTransaction(_EndsWhateverHappens, SQLiteTransaction):
    __slots__ = ()

    async def _begin(self) -> None:
        await self.begin()  # type: ignore[no-untyped-call]

    async def _give_back(self, *, failed: bool) -> None:
        await self.connection.close()  # an open transaction is rolled back


@asynccontextmanager
async def write_transaction(engine: Engine[Any] | None = None, *, apart: bool = False) -> AsyncIterator[None]:
    """One atomic write. On SQLite the write lock is taken at BEGIN, so writers queue.

    The outermost one also writes what the request joined to it (:func:`join_next_write`), unless
    ``apart``: the request's own bookkeeping before its act (an upload's ledger of objects in
    flight, the space's document key), which leaves what is joined to the write that decides the
    answer. Joined to the ledger, an upload's history row said 201 while its file had yet to stream
    in, and stayed so (sealed meanwhile, a second row said the refusal) when it never came (an
    outside audit).
    """
    engine = engine or current()
    outermost = engine.current_transaction.get() is None
    joins = outermost and not apart
    if outermost:
        await release_request_connection()
    joined: list[_Joiner] = []
    if isinstance(engine, SQLiteEngine):
        transaction: Any = _SQLiteTransaction(engine, transaction_type=TransactionType.immediate)
    else:
        assert isinstance(engine, PostgresEngine)
        transaction = _PostgresTransaction(engine)
    held = _serialised.set({}) if outermost else None
    try:
        async with transaction:
            if joins:
                for joiner in _joiners.get() or []:
                    if joiner.begin is not None:
                        await joiner.begin()
            yield
            if joins:
                joined = _joiners.get() or []
                _joiners.set(None)
                for joiner in joined:
                    await joiner.write()
    finally:
        if held is not None:
            _serialised.reset(held)
    for joiner in joined:
        joiner.committed()


Row = Mapping[str, Any]


async def fetch(sql: str, *args: Any) -> list[Row]:
    """Run a raw statement with ``{}`` placeholders (no literal braces: piccolo's SQLite compiler
    mistakes even doubled ones); rows as read-only mappings (both engines).

    On PostgreSQL these are asyncpg's records themselves (``row["column"]``, ``.get``, ``**row``):
    copying every row into a dict cost more than any other step of reading a page.
    """
    engine = current()
    if isinstance(engine, PostgresEngine):
        rows = await _fetch_postgres(engine, sql, args=args)
        return list(rows) if rows else []
    shared = _sqlite_shared.get(id(engine))
    if shared is not None and engine.current_transaction.get() is None:
        query, query_args = _querystring(sql, args).compile_string(engine_type="sqlite")
        # Run to its end in one call on the connection's thread: no other task's statement may
        # start while this one is open. An open read holds the connection in a read transaction,
        # where a write cannot wait for the write lock (it failed at once, "database is locked")
        # and another read would see that read's older snapshot (not what its task just committed).
        return list(await shared.execute_fetchall(query, query_args))
    rows = await engine.run_querystring(_querystring(sql, args))
    return list(rows) if rows else []


async def _fetch_postgres(engine: PostgresEngine, sql: str, *, args: Sequence[Any]) -> Any:
    """What piccolo's ``run_querystring`` does for plain values, without rebuilding the statement
    on every call: in the current transaction's connection if there is one, else from the pool.

    Arguments are plain values (never piccolo's QueryString or Column): looking at each of a
    batch's 2,800 to check cost 24 µs a measure (measured), more than everything else it does."""
    query, placeholders = _numbered(sql)
    if placeholders != len(args) or engine.log_queries or engine.log_responses or not engine.pool:
        return await engine.run_querystring(_querystring(sql, args))
    transaction = engine.current_transaction.get()
    if transaction:
        return await transaction.connection.fetch(query, *args)
    held = _request_connection.get()
    # Only the request's own task: a task it started (the history's group writer) inherits the
    # context, not the right to use the connection concurrently.
    if held is not None and held.owner is asyncio.current_task():
        if held.connection is None:
            held.pool = engine.pool
            held.connection = await engine.pool.acquire()
        try:
            return await held.connection.fetch(query, *args)
        except BaseException:
            held.failed = True  # given back through asyncpg's release, which knows what to undo
            raise
    async with engine.pool.acquire() as connection:
        return await connection.fetch(query, *args)


def row_lock(mode: Literal["UPDATE", "NO KEY UPDATE", "SHARE", "KEY SHARE"]) -> str:
    """The clause that locks the rows a SELECT reads until the transaction ends (PostgreSQL, read
    committed); nothing on SQLite, whose write transactions are serialised already."""
    return f" FOR {mode}" if is_postgres(current()) else ""


# The keys the current outermost write transaction has serialised on (its locks last until it ends),
# each whole (``True``) or shared.
_serialised: ContextVar[dict[str, bool] | None] = ContextVar("ens_serialised", default=None)


async def serialise(key: str, *, shared: bool = False) -> None:
    """Make the transactions that name the same ``key`` run one after another from here until they
    end: for a check and the write that relies on it (a status read, then changed; a count, then
    one more). On PostgreSQL (read committed) two transactions would otherwise both pass the check;
    a transaction-scoped advisory lock makes the second wait, then read what the first committed.
    It touches no table and ends at commit or rollback; asked again in the same transaction, it
    costs nothing. SQLite's write transactions are serialised already (``BEGIN IMMEDIATE``). Outside
    a transaction the lock would end with its own statement, so it is refused there.

    ``shared``: at once with the other transactions that take it shared, one after another with
    those that take it whole: writes that a decision must wait for (and that wait for a decision
    running), but not for each other. Taken shared, it is never then taken whole in the same
    transaction: two transactions doing so would each wait for the other (PostgreSQL ends one), so
    that is refused at once (``RuntimeError``), on SQLite too, where tests see it."""
    engine = current()
    if engine.current_transaction.get() is None:
        raise RuntimeError(f"serialise({key!r}) outside a write transaction serialises nothing")
    taken = _serialised.get()
    if taken is not None and key in taken:
        if taken[key] or shared:
            return  # this transaction holds it already (a decision that makes another one)
        raise RuntimeError(f"serialise({key!r}) whole where this transaction holds it shared: two would deadlock")
    if is_postgres(engine):
        lock = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        await fetch("SELECT " + lock + "(hashtextextended({}, 0))", key)
    if taken is not None:
        taken[key] = not shared


async def limit_statements(seconds: float) -> None:
    """From here until the current write transaction ends, on PostgreSQL, no statement runs longer
    than ``seconds``, its waits for locks included: PostgreSQL cancels it (``asyncpg``'s
    ``QueryCanceledError``) and the transaction rolls back. SQLite's statements are local work,
    and wait for the write lock at most ``SQLITE_BUSY_TIMEOUT_S``."""
    engine = current()
    if engine.current_transaction.get() is None:
        raise RuntimeError("limit_statements() outside a write transaction would limit the next request's")
    if is_postgres(engine):
        await fetch("SELECT set_config('statement_timeout', {}, true)", f"{max(1, round(seconds * 1000))}ms")


@lru_cache(maxsize=4096)
def _numbered(sql: str) -> tuple[str, int]:
    """``{}`` placeholders to ``$1, $2...`` exactly as piccolo's QueryString compiles them."""
    parts: list[str] = []
    count = 0
    for literal, field, _, _ in Formatter().parse(sql):
        parts.append(literal)
        if field is not None:
            count += 1
            parts.append(f"${count}")
    return "".join(parts), count


# PostgreSQL takes at most 32767 parameters in a statement; SQLite at most SQLITE_MAX_VARIABLES.
POSTGRES_MAX_PARAMETERS = 32767


async def insert_rows(table: str, columns: Sequence[str], *, rows: Sequence[Sequence[Any]], suffix: str = "") -> None:
    """Insert ``rows`` (values in the order of ``columns``) in as few ``VALUES`` statements as the
    engine's parameter limit allows; ``suffix`` follows the rows (``ON CONFLICT ...``).

    On PostgreSQL a statement of N rows is prepared once per connection and kept (see
    ``engine_for_url``: statements up to 1 MiB are cached, where asyncpg's default of 15 KiB left
    every 100-row batch unprepared — measured: 19 % of a batch's server time). An array per column
    (``unnest``) would be one statement for any N, but asyncpg then checks every element against
    an abstract base class: twice the client CPU per row (9.5 against 5.0 µs, measured).
    """
    if not rows:
        return
    limit = POSTGRES_MAX_PARAMETERS if is_postgres(current()) else SQLITE_MAX_VARIABLES
    per_statement = min(limit // len(columns), 1000)
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        sql = values_insert_sql(table, tuple(columns), rows=len(chunk), suffix=suffix)
        await fetch(sql, *[value for row in chunk for value in row])


# Fewer rows go in by one prepared INSERT: a COPY takes two round trips (its start, then the rows)
# and a setup on the server that a few rows do not repay. PostgreSQL's time for a batch's new
# measures (pg_stat_statements, a device app's batches on a durable private server): 1 row 131 us
# by INSERT against 259 by COPY, 10 rows 486 against 648, 100 rows 4,856 against 3,886.
COPY_FROM_ROWS = 16


async def copy_rows(table: str, columns: Sequence[str], *, rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` that cannot conflict with stored ones by ``COPY`` inside the current write
    transaction (PostgreSQL, from ``COPY_FROM_ROWS`` rows: the table's fastest way in, no statement
    to plan, no ``ON CONFLICT`` check); :func:`insert_rows` otherwise. A conflict the caller did
    not rule out fails the transaction."""
    engine = current()
    transaction = engine.current_transaction.get() if isinstance(engine, PostgresEngine) else None
    if transaction is None or len(rows) < COPY_FROM_ROWS:
        await insert_rows(table, columns, rows=rows)
    elif rows:
        await transaction.connection.copy_records_to_table(table, records=rows, columns=list(columns))


def within(column: str, since: Any | None, until: Any | None) -> tuple[str, list[Any]]:
    """The condition keeping ``column`` in ``[since, until)`` (each bound only if given), to append
    to a WHERE, and its arguments."""
    sql, args = "", []
    if since is not None:
        sql += f" AND {column} >= {{}}"
        args.append(since)
    if until is not None:
        sql += f" AND {column} < {{}}"
        args.append(until)
    return sql, args


def one_of(column: str, values: Sequence[Any]) -> str:
    """``column = {}`` for one value, ``column IN ({}, ...)`` for several (a hash looked up under each
    key of the keyring, ``ens.core.keyring.token_hashes``): the statement of one stays as it was."""
    if len(values) == 1:
        return f"{column} = {{}}"
    return f"{column} IN ({', '.join(['{}'] * len(values))})"


@lru_cache(maxsize=256)
def values_insert_sql(table: str, columns: tuple[str, ...], *, rows: int, suffix: str = "") -> str:
    """``INSERT INTO table (columns) VALUES (...), ... suffix`` for ``rows`` rows, ``{}`` placeholders."""
    placeholders = "(" + ", ".join(["{}"] * len(columns)) + ")"
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES " + ", ".join([placeholders] * rows) + f" {suffix}"
    ).rstrip()


async def execute(sql: str, *args: Any) -> int:
    """Run a statement that changes rows (``{}`` placeholders, as :func:`fetch`) in a write
    transaction (the current one, if any) and answer how many rows it changed, without reading
    them back: a ``DELETE`` of half a million rows holds no list of them here. PostgreSQL says the
    count in the command's status (``DELETE 12``); SQLite's ``changes()`` gives it on the same
    connection, right after."""
    engine = current()
    async with write_transaction(engine):
        if isinstance(engine, PostgresEngine):
            transaction = engine.current_transaction.get()
            assert transaction is not None
            query, placeholders = _numbered(sql)
            if placeholders != len(args):
                raise ValueError(f"{placeholders} placeholders for {len(args)} arguments")
            status: str = await transaction.connection.execute(query, *args)
            return int(status.rsplit(" ", 1)[-1])
        await fetch(sql, *args)
        row = await fetch_one("SELECT changes() AS changed")
    assert row is not None
    return int(row["changed"])


async def fetch_one(sql: str, *args: Any) -> Row | None:
    rows = await fetch(sql, *args)
    return rows[0] if rows else None


@dataclass(frozen=True)
class Scalar:
    """One value a statement can select beside others: an SQL expression (a scalar subquery, an
    ``EXISTS``) with ``{}`` placeholders, and its arguments. The module that owns the table writes
    it; a screen that needs several gathers them with :func:`fetch_scalars`."""

    sql: str
    args: tuple[Any, ...] = ()


async def fetch_scalars(named: Mapping[str, Scalar]) -> Row:
    """Several values in one statement, one round trip: ``SELECT (a) AS name_a, (b) AS name_b...``
    (both engines: no FROM, no LATERAL)."""
    sql = "SELECT " + ", ".join(f"({scalar.sql}) AS {name}" for name, scalar in named.items())
    row = await fetch_one(sql, *(arg for scalar in named.values() for arg in scalar.args))
    assert row is not None  # a SELECT without FROM gives one row
    return row


def _querystring(sql: str, args: Sequence[Any]) -> Any:
    from piccolo.querystring import QueryString

    return QueryString(sql, *args)


# Migrations are written once for both engines. The few types that differ are spelt as
# placeholders; everything else is standard SQL both accept. Type names are the ones piccolo
# declares, so piccolo's SQLite converters (UUID, TIMESTAMPTZ, JSONB, BOOLEAN...) apply.
_DDL_TYPES = {
    "postgres": {"bigserial_pk": "BIGSERIAL PRIMARY KEY", "blob": "BYTEA"},
    "sqlite": {"bigserial_pk": "INTEGER PRIMARY KEY AUTOINCREMENT", "blob": "BLOB"},
}


class PostgresOnly(str):
    """A DDL statement PostgreSQL alone runs: a trigger's function, extended statistics, or re-keying
    a table by ``(space_id, id)`` so it can be hash-partitioned (docs/scale.md). SQLite, one file,
    is never partitioned, and cannot change a primary key in place; its tables keep their first
    key. A migration that re-keys states the result in ``POSTGRES_PRIMARY_KEYS`` and
    ``POSTGRES_DROPPED_INDEXES`` (the schema test reads them)."""


class SqliteOnly(str):
    """A DDL statement SQLite alone runs, where the two engines spell one thing differently (a
    trigger: SQLite's body is its statements, PostgreSQL's a function; its ``PostgresOnly`` twin
    stands beside it)."""


async def run_ddl(engine: Engine[Any], statements: Sequence[str]) -> None:
    """Apply DDL statements in one transaction (PostgreSQL and SQLite both have transactional DDL)."""
    postgres = is_postgres(engine)
    types = _DDL_TYPES["postgres" if postgres else "sqlite"]
    async with write_transaction(engine):
        for statement in statements:
            if isinstance(statement, PostgresOnly if not postgres else SqliteOnly):
                continue
            await engine.run_ddl(str(statement).format(**types))


@dataclass(frozen=True)
class Index:
    """An index a migration creates, listed beside its ``CREATE INDEX`` (piccolo's tables cannot
    declare composite ones): a test checks that the migrated database holds exactly these."""

    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool = False
    partial: bool = False
    # Columns the index carries without ordering by them (PostgreSQL's INCLUDE).
    included: tuple[str, ...] = ()


def ddl_migration(
    migration_id: str, app_name: str, *, description: str, statements: Sequence[str]
) -> Callable[[], Awaitable[Any]]:
    """A piccolo migration's ``forwards`` that applies ``statements`` with :func:`run_ddl`."""
    from piccolo.apps.migrations.auto.migration_manager import MigrationManager

    async def forwards() -> MigrationManager:
        manager = MigrationManager(migration_id=migration_id, app_name=app_name, description=description)

        async def create() -> None:
            await run_ddl(current(), statements)

        manager.add_raw(create)
        return manager

    return forwards


def data_migration(
    migration_id: str, app_name: str, *, description: str, run: Callable[[], Awaitable[Any]]
) -> Callable[[], Awaitable[Any]]:
    """A piccolo migration's ``forwards`` that runs ``run`` once (a change of stored rows). ``run``
    opens its own write transactions (:func:`in_key_order`: one a batch), and piccolo's one around
    the whole migration is turned off: otherwise it holds them all, and a walk across a large table
    is one transaction holding every row it changed until the end. Each ``run`` is written so that
    running it again after a failure half-way finishes the work."""
    from piccolo.apps.migrations.auto.migration_manager import MigrationManager

    async def forwards() -> MigrationManager:
        manager = MigrationManager(
            migration_id=migration_id, app_name=app_name, description=description, wrap_in_transaction=False
        )

        async def once(*_: Any) -> None:
            await run()

        manager.add_raw(once)
        return manager

    return forwards


async def in_key_order(query: str, *args: Any, handle: Callable[[list[Row]], Awaitable[int]], batch: int = 5000) -> int:
    """A data migration's walk across spaces: the rows ``query`` selects (``SELECT ... FROM t WHERE
    ...``, ``t`` keyed by ``(space_id, id)``), in key order, handed to ``handle`` a batch at a time,
    each batch read and handled in one write transaction (a failure undoes that batch only); the
    sum of what ``handle`` returned (how many rows it changed)."""
    changed = 0
    after: tuple[Any, ...] = ()
    while True:
        async with write_transaction():
            rows = await fetch(
                query + (" AND (space_id, id) > ({}, {})" if after else "") + " ORDER BY space_id, id LIMIT {}",
                *args,
                *after,
                batch,
            )
            changed += await handle(rows)
        if len(rows) < batch:
            return changed
        after = (rows[-1]["space_id"], rows[-1]["id"])


async def reseal_in_batches(
    table: str, key: str, column: str, reseal: Callable[[Row], bytes | None], *, batch: int = 1000
) -> int:
    """Every row of ``table`` (``key`` its one-column primary key) in key order, ``batch`` at a time,
    its ``column`` replaced by ``reseal(row)`` unless that is ``None``; each batch in one write
    transaction, each row changed only if ``column`` still holds what was read (a row a request
    replaced meanwhile keeps its new value). How many rows were changed."""
    changed = 0
    after: Any = None
    while True:
        async with write_transaction():
            rows = await fetch(
                f"SELECT {key}, {column} FROM {table}"
                + (f" WHERE {key} > {{}}" if after is not None else "")
                + f" ORDER BY {key} LIMIT {{}}",
                *(() if after is None else (after,)),
                batch,
            )
            for row in rows:
                resealed = reseal(row)
                if resealed is not None:
                    changed += len(
                        await fetch(
                            f"UPDATE {table} SET {column} = {{}} WHERE {key} = {{}} AND {column} = {{}} "
                            f"RETURNING {key}",
                            resealed,
                            row[key],
                            row[column],
                        )
                    )
        if len(rows) < batch:
            return changed
        after = rows[-1][key]


# Rows a daily job deletes in one statement and transaction (:func:`delete_in_batches`).
PURGE_BATCH = 10_000


async def delete_in_batches(
    table: str,
    column: str,
    before: Any,
    *,
    where: str = "",
    batch: int | None = None,
    with_each: Callable[[str, tuple[Any, ...]], Awaitable[object]] | None = None,
) -> int:
    """Delete the rows of ``table`` whose ``column`` is below ``before``, oldest first, about
    :data:`PURGE_BATCH` at a time (a batch ends at a value of ``column``: rows that share it go
    together), each batch a write transaction of its own, along an index on ``column``; how many,
    counted, not read back. ``where``: a further condition, written out (the predicate of a partial
    index on ``column``, so that a generic plan can read it). ``with_each(within, bounds)``: what
    else each batch does in its transaction, before its rows go (``within`` the batch's condition
    on ``column``, with ``{}`` for each of ``bounds``).

    For ``ens purge``'s work across every space: a day's expired refresh tokens or rate windows
    are tens of millions of rows at the country's scale. Deleted in one statement, they held their
    locks and one transaction for as long as it ran, and that transaction held every space's change
    feed back, whose horizon is the oldest one running (``ens.vitals.feed``); read back id by id, they
    were all in the process's memory at once (an outside audit). Each batch starts past the last
    one's values, not at the index's start: the entries of the rows deleted before stay in the index
    until the next vacuum, and a batch taken from the start walked them all again."""
    size = batch or PURGE_BATCH
    removed = 0
    after: tuple[Any, ...] = ()
    also = f" AND {where}" if where else ""
    while True:
        async with write_transaction():
            past = f" AND {column} > {{}}{also}" if after else also
            edge = await fetch(
                f"SELECT {column} AS edge FROM {table} WHERE {column} < {{}}{past} "
                f"ORDER BY {column} LIMIT 1 OFFSET {{}}",
                before,
                *after,
                size - 1,
            )
            within = f"{column} < {{}}{past}" + (f" AND {column} <= {{}}" if edge else "")
            bounds = (before, *after, *((edge[0]["edge"],) if edge else ()))
            if with_each is not None:
                await with_each(within, bounds)
            removed += await execute(f"DELETE FROM {table} WHERE {within}", *bounds)
        if not edge:
            return removed
        after = (edge[0]["edge"],)


def as_uuid(value: object) -> UUID:
    """A UUID from a raw row: SQLite gives text where a column's declared type is lost (UNION,
    sub-select), PostgreSQL its own UUID type."""
    return value if isinstance(value, UUID) else UUID(str(value))
