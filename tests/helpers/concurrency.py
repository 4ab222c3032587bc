"""Two transactions at the same moment (PostgreSQL, read committed): the test holds the first one
open on a connection of its own, starts the second through the service, then commits the first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import TypeVar

import asyncpg

from ens.core.settings import Settings

T = TypeVar("T")


@asynccontextmanager
async def first_decision(settings: Settings, key: str) -> AsyncIterator[asyncpg.Connection]:
    """A transaction on a connection of its own that has taken the decision's lock (as the service's
    own first request would, ``ens.core.db.serialise``); it commits on the way out."""
    connection = await asyncpg.connect(settings.database_url)
    try:
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)
            yield connection
    finally:
        await connection.close()


async def second_while_first_is_open(call: Awaitable[T]) -> tuple[asyncio.Future[T], bool]:
    """Start the second decision; whether it was still waiting after a moment."""
    task = asyncio.ensure_future(call)
    await asyncio.sleep(0.3)
    return task, not task.done()
