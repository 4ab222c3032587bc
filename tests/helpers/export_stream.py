"""An answer read as a slow client reads it, with something done while it streams (a right ended,
a consent withdrawn, a document hidden during an embedded export's first file or a download): the
app called over ASGI directly, so that the test acts between two pieces of the body."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID


@dataclass
class ReadExport:
    status: list[int] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    acted: bool = False
    error: BaseException | None = None


async def export_acting_during_first_file(
    app: Any, headers: dict[str, str], space_id: UUID, first_id: str, act: Callable[[], Coroutine[Any, Any, None]]
) -> ReadExport:
    """``GET /v1/spaces/{space_id}/export?documents=embedded`` with ``headers``; ``act`` runs once,
    when the file of the document ``first_id`` begins."""

    def first_file_begins(body: bytearray) -> bool:
        return body.endswith(b'"data":"') and first_id.encode() in body[-4000:]

    path = f"/v1/spaces/{space_id}/export"
    return await read_acting_once(app, headers, path, b"documents=embedded", when=first_file_begins, act=act)


async def read_acting_once(
    app: Any,
    headers: dict[str, str],
    path: str,
    query: bytes,
    *,
    when: Callable[[bytearray], bool],
    act: Callable[[], Coroutine[Any, Any, None]],
) -> ReadExport:
    """``GET path?query`` with ``headers``; ``act`` runs once, when the body received so far makes
    ``when`` true. What the server raised, if anything (an answer cut short ends as a download
    ends: the server gives up the stream), is kept."""
    read = ReadExport()
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not read.status:
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            read.status.append(message["status"])
            return
        read.body.extend(message.get("body", b""))
        if not read.acted and when(read.body):
            # In a context of its own, as another request's or an operator's command: in the
            # export's, its write transaction would be the request's first, and run its readmit.
            await asyncio.get_running_loop().create_task(act(), context=contextvars.Context())
            read.acted = True
        if not message.get("more_body", False):
            done.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"testserver.local")] + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver.local", 80),
        "state": {},
    }
    try:
        await asyncio.wait_for(app(scope, receive, send), timeout=60)
    except Exception as exc:  # kept for the test to look at
        read.error = exc
    return read
