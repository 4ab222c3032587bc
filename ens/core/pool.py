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
alone; ``close`` hands the idle ones back to it first, and from then on every connection given back.

What asyncpg's release does besides its reset stays true on the quick way back: the handle the
former holder had is dead (a statement on it, or on a statement it prepared, raises
``InterfaceError``; giving it back again does nothing; each taker gets a handle of its own); a
connection past ``max_queries`` or of a former generation (``expire_connections``) goes to
asyncpg, which closes it; one idle on the list longer than ``max_inactive_connection_lifetime``
goes back to asyncpg, whose own timer then closes it unless it is the pool's floor (so within
twice that lifetime). A connection asyncpg's reset fails on is closed by asyncpg, which then raises:
here that error is logged, not raised, so that it does not replace the one the caller met.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Generator
from typing import Any

from asyncpg.pool import Pool, PoolConnectionProxy

log = logging.getLogger("ens.db")


def _reusable(connection: PoolConnectionProxy) -> bool:
    """Still the pool's, open, and of its current generation: a connection asyncpg saw lost (a
    restart, a cut network) has gone back to its pool by itself, detached from this handle (its
    ``_con`` is then None); one of a former generation (``Pool.expire_connections``) asyncpg closes."""
    con = connection._con
    if con is None or con.is_closed():
        return False
    holder = connection._holder
    return bool(holder._generation == holder._pool._generation)


def _clean(connection: PoolConnectionProxy) -> bool:
    """What asyncpg's release would leave as it is (``PoolConnectionHolder.release`` and
    ``Connection._reset``, asyncpg 0.30 to 0.32): reusable, under ``max_queries``, no cancellation
    pending, no transaction, no listener."""
    if not _reusable(connection):
        return False
    con = connection._con
    protocol = con._protocol  # asyncpg offers no public "idle and clean" test
    return bool(
        protocol.queries_count < connection._holder._max_queries
        and not protocol._is_cancelling()
        and not protocol.is_in_transaction()
        and con._top_xact is None
        and not con._listeners
        and not con._log_listeners
    )


class QuickPool:
    """``acquire`` (awaited, or ``async with``), ``release`` and ``close`` of asyncpg's pool, and its
    ``fetch``, ``execute`` and the like on a connection taken here; any other attribute is asyncpg's."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        # (handle, when it came back), the latest last: taken from the end, expired from the start.
        self._idle: list[tuple[PoolConnectionProxy, float]] = []
        self._waiting = 0  # tasks inside asyncpg's acquire
        self._closing = False
        self._lifetime: float = pool._max_inactive_connection_lifetime
        self._timer: asyncio.TimerHandle | None = None
        self._returning: set[asyncio.Task[None]] = set()

    def acquire(self) -> _Acquisition:
        return _Acquisition(self)

    async def take(self) -> PoolConnectionProxy:
        idle = self._idle
        while idle and not self._closing:
            connection = idle.pop()[0]
            if _reusable(connection):
                return connection
            await self._pool.release(connection)  # asyncpg closes or replaces it
        # No await between the look at the idle list and this count: a connection given back from
        # now on goes to asyncpg, which hands it to this waiter.
        self._waiting += 1
        try:
            taken: PoolConnectionProxy = await self._pool.acquire()
        finally:
            self._waiting -= 1
        return taken

    async def release(self, connection: PoolConnectionProxy, *, failed: bool = False) -> None:
        if (
            not failed
            and not self._closing
            and self._waiting == 0
            and type(connection) is PoolConnectionProxy
            and connection._holder._pool is self._pool
            and _clean(connection)
        ):
            # As asyncpg's release does: the former holder's handle goes dead, the next taker gets
            # a handle of its own (a late statement or a second release on the old one cannot
            # reach the connection once someone else holds it).
            holder = connection._holder
            con = connection._detach()
            con._pool_release_ctr += 1  # and its statements, cursors and transactions (``Connection._on_release``)
            holder._proxy = fresh = PoolConnectionProxy(holder, con)
            now = self._pool._loop.time()
            self._idle.append((fresh, now))
            if self._timer is None and self._lifetime:
                self._timer = self._pool._loop.call_at(now + self._lifetime, self._expire_idle)
            return
        try:
            await self._pool.release(connection)
        except Exception as failed:
            con = connection._con
            if con is not None and not con.is_closed():
                raise
            # asyncpg's reset failed (a connection the server ended, whose protocol still waits
            # for the end of an error: "another operation is in progress"), and asyncpg closed it
            # before raising: the pool is whole. The error that made the caller give the
            # connection back is the one to answer with, not this one.
            log.warning("a connection given back could not be reset; closed", extra={"error": type(failed).__name__})

    def _expire_idle(self) -> None:
        """Connections idle on the list for the pool's inactive lifetime go back to asyncpg, whose
        own timer then closes those above the pool's floor."""
        self._timer = None
        idle = self._idle
        now = self._pool._loop.time()
        while idle and idle[0][1] + self._lifetime <= now:
            self._give_back(idle.pop(0)[0])
        if idle:
            self._timer = self._pool._loop.call_at(idle[0][1] + self._lifetime, self._expire_idle)

    def _give_back(self, connection: PoolConnectionProxy) -> None:
        task = asyncio.ensure_future(self._pool.release(connection))
        self._returning.add(task)
        task.add_done_callback(self._returning.discard)

    async def close(self) -> None:
        self._closing = True  # from now on every connection given back goes to asyncpg, which closes it
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        idle, self._idle = self._idle, []
        for connection, _ in idle:
            await self._pool.release(connection)
        await self._pool.close()

    async def _on_a_connection(self, name: str, *args: Any, **kwargs: Any) -> Any:
        async with self.acquire() as connection:
            return await getattr(connection, name)(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name in _ON_A_CONNECTION:
            # asyncpg's own would wait in its acquire, blind to the idle list (a pool of one: forever).
            return functools.partial(self._on_a_connection, name)
        return getattr(self._pool, name)


# asyncpg's Pool methods that take a connection, run one of its methods and give it back.
_ON_A_CONNECTION = frozenset(
    {
        "execute",
        "executemany",
        "fetch",
        "fetchval",
        "fetchrow",
        "fetchmany",
        "copy_from_table",
        "copy_from_query",
        "copy_to_table",
        "copy_records_to_table",
    }
)


class _Acquisition:
    """``await pool.acquire()`` or ``async with pool.acquire() as connection``, as asyncpg's."""

    __slots__ = ("_connection", "_pool")

    def __init__(self, pool: QuickPool) -> None:
        self._pool = pool
        self._connection: PoolConnectionProxy | None = None

    def __await__(self) -> Generator[Any, None, PoolConnectionProxy]:
        return self._pool.take().__await__()

    async def __aenter__(self) -> PoolConnectionProxy:
        self._connection = await self._pool.take()
        return self._connection

    async def __aexit__(self, exc_type: object, *exc: object) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await self._pool.release(connection, failed=exc_type is not None)
