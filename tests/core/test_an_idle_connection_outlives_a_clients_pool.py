"""``ens serve`` keeps a client's idle connection open longer than the client's pool reuses it.

uvicorn closes an idle HTTP/1.1 connection after 5 s by default, the very time after which httpx's
pool stops reusing one: a request sent on a connection the server was closing at that moment got no
answer ("Server disconnected without sending a response": most likely the one request a `make load`
run lost). A proxy that keeps upstream connections (an AWS ALB: 60 s) meets the same race. The server now
keeps them ``ENS_KEEP_ALIVE_SECONDS`` (75 by default), so the client's side lets go first."""

from __future__ import annotations

import asyncio

from ens.core.settings import Settings
from tests.helpers.server import ServerProcess, free_port, served_env

# Past uvicorn's old 5 s and httpx's pool expiry, with room for a slow machine's timers.
IDLE_S = 6.5


async def _one_answer(reader: asyncio.StreamReader) -> bytes:
    """One answer's head and body (``/health`` says how long its body is)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    return head + await asyncio.wait_for(reader.readexactly(length), timeout=10)


async def test_a_connection_idle_past_a_clients_pool_expiry_still_answers(settings: Settings, migrated: None) -> None:
    server = ServerProcess(served_env(settings), free_port(), "keep-alive-server.log")
    server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        try:
            writer.write(request)
            assert (await _one_answer(reader)).startswith(b"HTTP/1.1 200 ")
            await asyncio.sleep(IDLE_S)
            # Before: the server had closed it at 5 s; this read met the end of the stream.
            writer.write(request)
            assert (await _one_answer(reader)).startswith(b"HTTP/1.1 200 ")
        finally:
            writer.close()
    finally:
        server.stop()
