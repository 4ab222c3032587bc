"""What the process does when it starts and stops: the database pool, the collector, the rate limiter,
the watch on the change feed's horizon."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from litestar import Litestar
from piccolo.engine.base import Engine

from ens.core import db
from ens.core.limits import RateLimiter
from ens.vitals.feed_watch import FeedWatch


def process_lifespan(
    engine: Engine[Any], *, pool_size: int, limiter: RateLimiter, feed_watch: FeedWatch
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """The app's lifespan, for the engine and the limiter ``create_app`` built."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await db.start(engine, pool_size)
        # Everything loaded so far (routes, schemas, catalogues) lives as long as the process:
        # keep it out of the collector's scans, and collect the young generation less often, so
        # that a request does not pay for a full collection (measured: it set the p99 latency).
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
        await limiter.start()
        await feed_watch.start()
        try:
            yield
        finally:
            await feed_watch.stop()
            await limiter.stop()
            await db.stop(engine)

    return lifespan
