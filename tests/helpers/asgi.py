"""The app over HTTP, in the test's own event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import httpx
from litestar import Litestar


def asgi_transport(app: Litestar) -> httpx.ASGITransport:
    """httpx's transport into an ASGI app (litestar's precise ASGI types are wider than httpx's)."""
    return httpx.ASGITransport(app=cast(Any, app))


@asynccontextmanager
async def asgi_client(app: Litestar, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app, with the app's lifespan run in the test's own event loop.

    (litestar's AsyncTestClient runs the app in a portal thread with its own loop; the asyncpg
    pool would then belong to a loop the tests' own database calls cannot use.)
    """
    started, stopping = asyncio.Event(), asyncio.Event()

    async def hold_lifespan() -> None:
        # Entered and exited in this one task: session fixtures are torn down in another task.
        async with app.lifespan():
            started.set()
            await stopping.wait()

    holder = asyncio.create_task(hold_lifespan())
    await asyncio.wait([holder, asyncio.create_task(started.wait())], return_when=asyncio.FIRST_COMPLETED)
    if holder.done():
        holder.result()  # startup failed: raise its error
    try:
        async with httpx.AsyncClient(transport=asgi_transport(app), base_url=base_url) as http:
            yield http
    finally:
        stopping.set()
        await holder
