"""asyncpg's pool with a quick way back for clean connections.

Measured (2 cores, 16 tasks each taking a connection, running ``SELECT 1`` and giving it back):
asyncpg's ``Pool.acquire`` and ``Pool.release`` cost 50 us of the client's CPU together, as much
as the statement itself (52 us); a list of idle connections, 6 us. asyncpg's release runs in a task
of its own under ``asyncio.shield``, under a timeout, resets the connection and rearms a timer;
its acquire cancels that timer, under a timeout too. Every request behind the space door takes a
connection once and gives it back once, and the access history's writer once per group.

:class:`QuickPool` stands in front of asyncpg's pool (``engine.pool``, which piccolo's
transactions use too). A connection given back *clean* (open, no transaction, no cancellation
under way, no listener: what asyncpg's reset would have found nothing to undo on, since ENS sets no
session state, see ``db._keep_session``) waits on a free list, and the next ``acquire`` takes it
from there. Anything else goes back through asyncpg's release, which rolls back, waits for a
cancellation or replaces a broken connection, exactly as before; so does every connection while a
task waits in asyncpg's acquire (all connections out), so that it is served as before rather than
starved by a free list it does not look at. Connections are created, replaced and closed by asyncpg
alone; ``close`` hands the idle ones back to it first.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from asyncpg import Connection
from asyncpg.pool import Pool


def _open(connection: Connection[Any]) -> bool:
    """Still the pool's and open: a connection asyncpg saw lost (a restart, a cut network) has
    gone back to its pool by itself, detached from the handle held here (``_con`` is then None)."""
    return connection._con is not None and not connection.is_closed()


def _clean(connection: Connection[Any]) -> bool:
    """What asyncpg's release would leave as it is (``Connection._reset`` and the pool holder's
    checks, asyncpg 0.30 to 0.32): open, no cancellation pending, no transaction, no listener."""
    if not _open(connection):
        return False
    protocol = connection._protocol  # asyncpg offers no public "idle and clean" test
    return (
        not protocol._is_cancelling()
        and not connection.is_in_transaction()
        and connection._top_xact is None
        and not connection._listeners
        and not connection._log_listeners
    )


class QuickPool:
    """``acquire`` (awaited, or ``async with``), ``release`` and ``close`` of asyncpg's pool; any
    other attribute is asyncpg's."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._idle: list[Connection[Any]] = []
        self._waiting = 0  # tasks inside asyncpg's acquire

    def acquire(self) -> _Acquisition:
        return _Acquisition(self)

    async def take(self) -> Connection[Any]:
        idle = self._idle
        while idle:
            connection = idle.pop()
            if _open(connection):
                return connection
            await self._pool.release(connection)  # asyncpg replaces it on a later acquire
        # No await between the look at the idle list and this count: a connection given back from
        # now on goes to asyncpg, which hands it to this waiter.
        self._waiting += 1
        try:
            taken: Connection[Any] = await self._pool.acquire()
        finally:
            self._waiting -= 1
        return taken

    async def release(self, connection: Connection[Any], *, failed: bool = False) -> None:
        if not failed and self._waiting == 0 and _clean(connection):
            self._idle.append(connection)
            return
        await self._pool.release(connection)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await self._pool.release(connection)
        await self._pool.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


class _Acquisition:
    """``await pool.acquire()`` or ``async with pool.acquire() as connection``, as asyncpg's."""

    __slots__ = ("_connection", "_pool")

    def __init__(self, pool: QuickPool) -> None:
        self._pool = pool
        self._connection: Connection[Any] | None = None

    def __await__(self) -> Generator[Any, None, Connection[Any]]:
        return self._pool.take().__await__()

    async def __aenter__(self) -> Connection[Any]:
        self._connection = await self._pool.take()
        return self._connection

    async def __aexit__(self, exc_type: object, *exc: object) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await self._pool.release(connection, failed=exc_type is not None)
