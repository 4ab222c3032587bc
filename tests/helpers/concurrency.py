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
async def open_transaction(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A transaction on a connection of its own, as another request's; it commits on the way out."""
    connection = await asyncpg.connect(settings.database_url)
    try:
        async with connection.transaction():
            yield connection
    finally:
        await connection.close()


@asynccontextmanager
async def first_decision(settings: Settings, key: str) -> AsyncIterator[asyncpg.Connection]:
    """An open transaction that has taken the decision's lock (as the service's own first request
    would, ``ens.core.db.serialise``)."""
    async with open_transaction(settings) as connection:
        await connection.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)
        yield connection


async def allergy_being_written(connection: asyncpg.Connection, space_id: object) -> None:
    """In ``connection``'s open transaction, an allergy written into the space and not committed:
    its row shares the space's row (the foreign key), as any write under way does."""
    await connection.execute(
        "INSERT INTO profile_allergies (space_id, id, substance, created_at, updated_at) "
        "VALUES ($1, gen_random_uuid(), 'Pollen', now(), now())",
        space_id,
    )


async def second_while_first_is_open(call: Awaitable[T]) -> tuple[asyncio.Future[T], bool]:
    """Start the second decision; whether it was still waiting after a moment."""
    task = asyncio.ensure_future(call)
    await asyncio.sleep(0.3)
    return task, not task.done()
