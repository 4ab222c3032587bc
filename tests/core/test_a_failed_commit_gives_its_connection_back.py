"""A write transaction that fails at its very end (a COMMIT the server refuses, a connection the
server dropped under it, a BEGIN or a ROLLBACK that fails) still gives its connection back and
leaves no transaction behind in the request's context.

piccolo's transactions gave their connection back and left the context only after a BEGIN, then a
COMMIT or ROLLBACK, that succeeded. On PostgreSQL, a refused COMMIT or a failed BEGIN kept one
connection out of the pool for good (a pool of ten: ten of them, and from then on every request
waited for a connection forever); a dropped connection asyncpg's pool takes back by itself, but the
dead transaction stayed current: the request's next statements (the history row of its error
answer) went to it and failed in turn. On both, a ROLLBACK that failed replaced the error the
request had met (on PostgreSQL, a 500 where the lost connection was a 503), and on SQLite left its
connection open until the garbage collector came by.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteTransaction

from ens.core import db
from ens.core.db import write_transaction
from ens.core.pool import QuickPool
from ens.core.settings import Settings

POSTGRES = os.environ.get("ENS_DATABASE_URL", "").startswith("postgres")
postgres_only = pytest.mark.skipif(not POSTGRES, reason="asyncpg's pool is PostgreSQL's")


@pytest.fixture
async def scratch(client: Any) -> AsyncIterator[str]:
    """A table whose uniqueness is checked at COMMIT (no product table defers a constraint)."""
    name = f"scratch_deferred_{os.getpid()}"
    await db.fetch(f"CREATE TABLE {name} (x int UNIQUE DEFERRABLE INITIALLY DEFERRED)")
    try:
        yield name
    finally:
        await db.fetch(f"DROP TABLE {name}")


def _pool() -> QuickPool:
    engine = db.current()
    assert isinstance(engine, PostgresEngine) and isinstance(engine.pool, QuickPool)
    return engine.pool


async def _every_connection_can_be_taken() -> None:
    """All of the pool's connections at once, each answering: none is held by a dead transaction."""
    pool = _pool()
    taken = []
    try:
        for _ in range(pool.get_max_size()):
            connection = await asyncio.wait_for(pool.acquire(), timeout=5)
            taken.append(connection)
            assert await connection.fetchval("SELECT 1") == 1
    finally:
        for connection in taken:
            await pool.release(connection)


async def _refused_commit(scratch: str) -> None:
    with pytest.raises(asyncpg.UniqueViolationError):
        async with write_transaction():
            await db.fetch(f"INSERT INTO {scratch} VALUES (1), (1)")
    assert db.current().current_transaction.get() is None  # this task's statements run outside it


@postgres_only
async def test_a_commit_the_server_refuses_gives_the_connection_back(scratch: str) -> None:
    for _ in range(_pool().get_max_size() + 2):  # more than the pool holds
        await asyncio.wait_for(_refused_commit(scratch), timeout=5)  # not waiting for a connection
    await _every_connection_can_be_taken()
    assert await db.fetch(f"SELECT x FROM {scratch}") == []  # nothing of the refused ones was kept
    async with write_transaction():
        await db.fetch(f"INSERT INTO {scratch} VALUES (1)")
    assert [row["x"] for row in await db.fetch(f"SELECT x FROM {scratch}")] == [1]


async def _dropped(killer: asyncpg.Connection) -> None:
    with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError)):
        async with write_transaction():
            victim = (await db.fetch("SELECT pg_backend_pid() AS pid"))[0]["pid"]
            assert await killer.fetchval("SELECT pg_terminate_backend($1)", victim)
            await asyncio.sleep(0.05)
            await db.fetch("SELECT 1")  # on the dropped connection
    assert db.current().current_transaction.get() is None
    assert [dict(row) for row in await db.fetch("SELECT 2 AS two")] == [
        {"two": 2}
    ]  # the next statement has a connection


@postgres_only
async def test_a_connection_dropped_inside_a_transaction_is_given_back(client: Any, settings: Settings) -> None:
    killer = await asyncpg.connect(settings.database_url)
    try:
        for _ in range(_pool().get_max_size() + 2):
            await asyncio.wait_for(_dropped(killer), timeout=5)
    finally:
        await killer.close()
    await _every_connection_can_be_taken()


def _transaction_class() -> type[Any]:
    return PostgresTransaction if POSTGRES else SQLiteTransaction


def _lost() -> Exception:
    """What a BEGIN or a ROLLBACK meets on a connection gone wrong, on each engine."""
    lost: Exception = sqlite3.OperationalError("database is locked")
    if POSTGRES:
        lost = asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")
    return lost


def _how_many_times() -> int:
    return _pool().get_max_size() + 2 if POSTGRES else 12  # more than the pool holds


async def _nothing_was_kept(threads_before: int) -> None:
    """PostgreSQL: every connection of the pool can be taken at once. SQLite: no connection was
    left open (each has a thread of its own)."""
    if POSTGRES:
        await _every_connection_can_be_taken()
    else:
        for _ in range(100):  # a closed connection's thread ends a moment after the close
            if threading.active_count() <= threads_before:
                break
            await asyncio.sleep(0.02)
        assert threading.active_count() <= threads_before, [thread.name for thread in threading.enumerate()]


async def _each_time_refused(
    monkeypatch: pytest.MonkeyPatch, step: str, attempt: Callable[[], Awaitable[None]]
) -> None:
    """``step`` of the transaction (``begin``, ``rollback``) fails as on a lost connection, for more
    attempts than the pool holds; then nothing of them is kept."""

    async def refused(self: Any) -> None:
        raise _lost()

    threads = threading.active_count()
    monkeypatch.setattr(_transaction_class(), step, refused)
    for _ in range(_how_many_times()):
        await asyncio.wait_for(attempt(), timeout=5)
    monkeypatch.undo()
    await _nothing_was_kept(threads)


async def _never_begun() -> None:
    with pytest.raises(type(_lost())):
        async with write_transaction():
            pytest.fail("the transaction never began")
    assert db.current().current_transaction.get() is None


async def test_a_begin_that_fails_gives_the_connection_back(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL: a connection can die between the pool's look at it and the BEGIN; asyncpg's pool
    then replaces it, if it gets it back. SQLite: BEGIN IMMEDIATE fails once it has waited its whole
    busy timeout for the write lock (a burst of writers)."""
    await _each_time_refused(monkeypatch, "begin", _never_begun)


class _TheRequestsError(Exception):
    pass


async def _rollback_fails_too() -> None:
    with pytest.raises(_TheRequestsError):
        async with write_transaction():
            await db.fetch("SELECT 1 AS one")
            raise _TheRequestsError
    assert db.current().current_transaction.get() is None


async def test_a_rollback_that_fails_does_not_hide_the_error_that_caused_it(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request's own error is the one answered (a lost connection is a 503), not the error of
    the rollback that followed it on the same connection (seen on PostgreSQL: "another operation is
    in progress", a 500)."""
    await _each_time_refused(monkeypatch, "rollback", _rollback_fails_too)
    async with write_transaction():  # and the next one works
        assert [dict(row) for row in await db.fetch("SELECT 1 AS one")] == [{"one": 1}]
