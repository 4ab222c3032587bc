"""``ens.core.pool.QuickPool``: a connection given back clean is handed out again as it is; one left in
a transaction, in a cancelled statement, after an error, or killed by the server, never is (asyncpg's
own release deals with it, as before); a task waiting while every connection is out is served; closing
hands the idle ones back."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from ens.core.db import _keep_session
from ens.core.pool import QuickPool
from ens.core.settings import Settings

pytestmark = pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="asyncpg's pool is PostgreSQL's"
)


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[QuickPool]:
    # As ens.core.db.start makes it: asyncpg's pool, its reset ENS's, and the quick way back in front.
    quick = QuickPool(await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2, reset=_keep_session))
    try:
        yield quick
    finally:
        await asyncio.wait_for(quick.close(), timeout=10)


async def _pid(connection: Any) -> int:
    return int(await connection.fetchval("SELECT pg_backend_pid()"))


async def test_a_clean_connection_comes_back_as_it_is(pool: QuickPool) -> None:
    async with pool.acquire() as connection:
        first = await _pid(connection)
    async with pool.acquire() as connection:
        assert await _pid(connection) == first
    connection = await pool.acquire()  # piccolo's way: awaited, then given back by hand
    assert await _pid(connection) == first
    await pool.release(connection)


async def test_a_transaction_left_open_is_rolled_back_before_the_next_user(pool: QuickPool) -> None:
    connection = await pool.acquire()
    await connection.execute("BEGIN")
    await connection.execute("CREATE TEMPORARY TABLE left_behind (x int)")
    await pool.release(connection)
    async with pool.acquire() as again:
        assert not again.is_in_transaction()
        assert await again.fetchval("SELECT to_regclass('pg_temp.left_behind')") is None


async def test_a_cancelled_statement_leaves_no_operation_in_progress(pool: QuickPool) -> None:
    async def sleeper() -> None:
        async with pool.acquire() as connection:
            await connection.execute("SELECT pg_sleep(30)")

    task = asyncio.ensure_future(sleeper())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(4):  # both connections, whichever comes first
        async with pool.acquire() as connection:
            assert await asyncio.wait_for(connection.fetchval("SELECT 41 + 1"), timeout=5) == 42


async def test_a_connection_given_back_after_an_error_still_serves(pool: QuickPool) -> None:
    with pytest.raises(asyncpg.DivisionByZeroError):
        async with pool.acquire() as connection:
            await connection.execute("SELECT 1 / 0")
    async with pool.acquire() as connection:
        assert await connection.fetchval("SELECT 1") == 1


async def test_a_connection_the_server_killed_while_idle_is_replaced(pool: QuickPool, settings: Settings) -> None:
    async with pool.acquire() as connection:
        victim = await _pid(connection)
    killer = await asyncpg.connect(settings.database_url)
    try:
        assert await killer.fetchval("SELECT pg_terminate_backend($1)", victim)
    finally:
        await killer.close()
    await asyncio.sleep(0.3)  # asyncpg sees the connection lost
    async with pool.acquire() as connection:
        assert await _pid(connection) != victim
        assert await connection.fetchval("SELECT 1") == 1


async def test_a_task_waiting_while_every_connection_is_out_is_served(pool: QuickPool) -> None:
    first, second = await pool.acquire(), await pool.acquire()  # the pool's two
    waiting = asyncio.ensure_future(_take(pool))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await pool.release(first)  # clean: it goes to the waiting task, not to the idle list
    third = await asyncio.wait_for(waiting, timeout=5)
    assert await third.fetchval("SELECT 1") == 1
    await pool.release(third)
    await pool.release(second)


async def _take(pool: QuickPool) -> Any:
    return await pool.acquire()


async def test_closing_waits_for_a_connection_still_out_and_then_ends(pool: QuickPool) -> None:
    connection = await pool.acquire()
    closing = asyncio.ensure_future(pool.close())
    await asyncio.sleep(0.2)
    assert not closing.done()  # asyncpg's close waits for the connections out
    await pool.release(connection)  # clean, but the pool is closing: it goes back to asyncpg, which closes it
    await asyncio.wait_for(closing, timeout=5)


async def test_a_connection_given_back_is_its_former_holders_no_more(pool: QuickPool) -> None:
    first = await pool.acquire()
    prepared = await first.prepare("SELECT 1")
    await pool.release(first)
    second = await pool.acquire()  # the same backend, for a new holder
    with pytest.raises(asyncpg.InterfaceError):  # as asyncpg's release makes it: the old handle is dead
        await first.fetchval("SELECT 1")
    with pytest.raises(asyncpg.InterfaceError):  # and so is what it prepared
        await prepared.fetchval()
    await pool.release(first)  # given back twice: nothing happens, as with asyncpg's pool
    third = await pool.acquire()
    assert await _pid(third) != await _pid(second)  # never one connection for two holders
    await pool.release(third)
    await pool.release(second)


async def _pool(settings: Settings, **options: Any) -> QuickPool:
    return QuickPool(await asyncpg.create_pool(settings.database_url, reset=_keep_session, **options))


async def test_a_connection_past_its_queries_is_replaced_and_expired_ones_too(settings: Settings) -> None:
    pool = await _pool(settings, min_size=1, max_size=2, max_queries=3)
    try:
        async with pool.acquire() as connection:
            used = await _pid(connection)
            await connection.fetchval("SELECT 1")
            await connection.fetchval("SELECT 1")
        async with pool.acquire() as connection:  # asyncpg's max_queries: that one was closed
            fresh = await _pid(connection)
            assert fresh != used
        await pool.expire_connections()  # an idle one, of the former generation
        async with pool.acquire() as connection:
            renewed = await _pid(connection)
            assert renewed != fresh
            await pool.expire_connections()  # one out when the pool expires its connections
        async with pool.acquire() as connection:
            assert await _pid(connection) != renewed
    finally:
        await asyncio.wait_for(pool.close(), timeout=10)


async def test_connections_idle_past_their_lifetime_are_closed_down_to_the_floor(settings: Settings) -> None:
    pool = await _pool(settings, min_size=1, max_size=3, max_inactive_connection_lifetime=0.3)
    try:
        taken = [await pool.acquire() for _ in range(3)]
        for connection in taken:
            await connection.fetchval("SELECT 1")
            await pool.release(connection)
        assert pool.get_size() == 3
        for _ in range(50):  # asyncpg's rule: idle past the lifetime, closed unless at the floor
            await asyncio.sleep(0.1)
            if pool.get_size() == 1:
                break
        assert pool.get_size() == 1
        async with pool.acquire() as connection:
            assert await connection.fetchval("SELECT 1") == 1
    finally:
        await asyncio.wait_for(pool.close(), timeout=10)


async def test_the_pools_own_statements_take_their_connection_from_the_idle_list(settings: Settings) -> None:
    pool = await _pool(settings, min_size=1, max_size=1)
    try:
        async with pool.acquire() as connection:
            await connection.fetchval("SELECT 1")
        # The pool's one connection waits on the idle list: asyncpg's own Pool.fetchval would wait forever.
        assert await asyncio.wait_for(pool.fetchval("SELECT 41 + 1"), timeout=5) == 42
        assert await asyncio.wait_for(pool.execute("SELECT 1"), timeout=5) == "SELECT 1"
    finally:
        await asyncio.wait_for(pool.close(), timeout=10)


async def test_a_connection_whose_reset_fails_is_closed_without_raising(
    pool: QuickPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """asyncpg closes a connection its reset fails on, then raises; giving it back raises nothing
    (the caller's own error is the one to answer with), and the pool is whole."""
    connection = await pool.acquire()
    victim = await _pid(connection)
    await connection.execute("BEGIN")  # so that asyncpg's reset has work to do

    async def failing_reset(self: Any) -> None:
        raise asyncpg.InterfaceError("cannot perform operation: another operation is in progress")

    monkeypatch.setattr(asyncpg.Connection, "_reset", failing_reset)
    await pool.release(connection, failed=True)
    monkeypatch.undo()
    for _ in range(4):  # both connections, whichever comes first
        async with pool.acquire() as again:
            assert await _pid(again) != victim
            assert await asyncio.wait_for(again.fetchval("SELECT 1"), timeout=5) == 1
