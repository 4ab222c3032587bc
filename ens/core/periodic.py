"""Work a server process repeats in the background (the rate counters' flush, the watch on the
change feed's horizon): one task each, started and stopped with the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable


class Every:
    """``action`` every ``seconds``; a failed run is logged (``failure``) and the next one tries
    again. Stopping waits for the task to end, so it never outlives what it uses (the pool)."""

    def __init__(
        self, seconds: float, action: Callable[[], Awaitable[object]], *, log: logging.Logger, failure: str
    ) -> None:
        self.seconds = seconds
        self.action = action
        self.log = log
        self.failure = failure
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.seconds)
            try:
                await self.action()
            except Exception:
                self.log.exception(self.failure)
