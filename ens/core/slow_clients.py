"""A client that stops sending its body half-way does not hold a connection for ever: each part of a
request's body must arrive within ``ENS_BODY_IDLE_SECONDS`` of the previous one, else 408.

Only while the body is incomplete: once its last part has arrived, what the app awaits from the
client (a disconnect, during a long streamed answer such as the FHIR export) is not timed. Slow or
stalled clients cost no worker (each is one coroutine waiting); this bounds how long each holds a
socket and a database-free slot. Slow headers are the reverse proxy's to cut (README)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar.exceptions import HTTPException

STALLED = "The request's body stopped arriving: send it again."


class BodyIdleTimeoutMiddleware:
    def __init__(self, app: Any, *, idle_seconds: float) -> None:
        self.app = app
        self.idle_seconds = idle_seconds

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.idle_seconds <= 0 or not announces_body(scope):
            await self.app(scope, receive, send)
            return
        complete = False

        async def timed_receive() -> Any:
            nonlocal complete
            if complete:
                return await receive()
            try:
                async with asyncio.timeout(self.idle_seconds):
                    message = await receive()
            except TimeoutError:
                raise HTTPException(status_code=408, detail=STALLED, headers={"Connection": "close"}) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        await self.app(scope, timed_receive, send)


def announces_body(scope: Any) -> bool:
    """Whether the request announces a body (most reads do not: nothing to time)."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return True
    return False
