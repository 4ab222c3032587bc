"""On SIGTERM ``ens serve`` stops accepting connections and lets the requests in flight finish, but
it waited for them without limit: a client sending its body slowly (or never finishing) held the
process up until systemd killed it (``TimeoutStopSec``, 90 s by default), with neither the last rate
counts added nor the pool closed (an outside audit). It waits ``ENS_SHUTDOWN_GRACE_SECONDS`` (30 by
default), then cancels what is left and stops cleanly. A request that ends within the grace still
gets its answer."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from datetime import UTC, datetime

import msgspec
import pytest

from ens.core.settings import Settings
from tests.helpers.people import Person
from tests.helpers.server import ServerProcess, free_port, served_env

GRACE_S = 3


def _measures() -> bytes:
    at = datetime.now(UTC).isoformat()
    return msgspec.json.encode(
        {"measurements": [{"type": "body_weight", "value": 70.5, "unit": "kg", "effectiveAt": at}]}
    )


async def _post_slowly(port: int, token: str, body: bytes, *, pause: float) -> bytes:
    """A measure posted a byte at a time, ``pause`` seconds apart: the answer, read to the close."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST /v1/spaces/me/vitals HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    )
    try:
        for byte in body:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(pause)
        return await asyncio.wait_for(reader.read(), timeout=30)
    except (ConnectionError, OSError):
        return b""  # the server went while the body was still on its way
    finally:
        writer.close()


async def test_sigterm_waits_for_requests_in_flight_the_grace_and_no_longer(
    settings: Settings, person: Person, migrated: None
) -> None:
    env = served_env(settings, ENS_SHUTDOWN_GRACE_SECONDS=str(GRACE_S))
    server = ServerProcess(env, free_port(), "graceful-stop-server.log")
    logged_before = server.log_path.stat().st_size if server.log_path.exists() else 0
    server.start()
    assert server.process is not None
    try:
        body = _measures()
        # One finishes within the grace (its body in 1.5 s); one would take minutes.
        quick = asyncio.create_task(_post_slowly(server.port, person.token, body, pause=1.5 / len(body)))
        endless = asyncio.create_task(_post_slowly(server.port, person.token, body, pause=2.0))
        await asyncio.sleep(0.5)  # both in flight
        server.process.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        try:
            await asyncio.to_thread(server.process.wait, GRACE_S + 20)
        except subprocess.TimeoutExpired:
            # Before: it waited for the endless one (an hour of body), until a SIGKILL.
            pytest.fail("ens serve still running after SIGTERM and its grace")
        took = time.monotonic() - stopped
        assert GRACE_S - 0.5 < took < GRACE_S + 10, took
        # A clean stop (uvicorn ends by its signal, re-raised once it has stopped).
        assert server.process.returncode == -signal.SIGTERM
        answered = await asyncio.wait_for(quick, 10)
        assert answered.startswith(b"HTTP/1.1 201 "), answered[:200]
        assert not (await asyncio.wait_for(endless, 30)).startswith(b"HTTP/1.1 2")
        lines = (await asyncio.to_thread(server.log_path.read_bytes))[logged_before:].decode(errors="replace")
        # The cancelled request in one line, not a CancelledError's traceback; then a clean end.
        assert "request cancelled: still running when the stop's grace ran out" in lines, lines
        assert "Traceback" not in lines, lines
        assert "Application shutdown complete." in lines, lines
    finally:
        server.stop()
