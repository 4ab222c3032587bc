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
