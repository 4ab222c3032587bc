"""Slow and huge requests against a real server (one process): a hundred clients that stall half-way
through their bodies do not hold up anyone else and are cut with a 408 after
``ENS_BODY_IDLE_SECONDS``; a body announcing 10 GB is refused at once (413), and one streamed
without a length is cut at the limit, with the process's memory unmoved."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from ens.core.settings import Settings
from tests.helpers.people import Person
from tests.helpers.server import ServerProcess, free_port, served_env

IDLE_S = 2
STALLED_CLIENTS = 100


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def _stall(port: int, path: str, token: str) -> bytes:
    """Headers and the start of a JSON body, then nothing: what the server answers before it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    writer.write(head.encode() + b'{"measurements": [')
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), timeout=IDLE_S * 5)  # to the close
    finally:
        writer.close()


async def test_stalled_bodies_hold_up_no_one_and_are_cut_with_a_408(
    settings: Settings, person: Person, migrated: None
) -> None:
    server = ServerProcess(
        served_env(settings, ENS_BODY_IDLE_SECONDS=str(IDLE_S)), free_port(), "slow-clients-server.log"
    )
    server.start()
    try:
        stalled = [
            asyncio.create_task(_stall(server.port, "/v1/spaces/me/vitals", person.token))
            for _ in range(STALLED_CLIENTS)
        ]
        await asyncio.sleep(0.5)  # every stalled client is connected and waiting
        async with httpx.AsyncClient(base_url=server.base_url, headers=person.headers, timeout=5) as client:
            for _ in range(10):
                started = time.monotonic()
                answer = await client.get("/v1/spaces/me/vitals", params={"limit": 10})
                assert answer.status_code == 200, answer.text
                assert time.monotonic() - started < 1.0
        answers = await asyncio.gather(*stalled)
        for raw in answers:
            assert raw.startswith(b"HTTP/1.1 408 "), raw[:200]
            assert b"application/problem+json" in raw and b"stopped arriving" in raw
    finally:
        server.stop()


async def test_a_huge_body_is_refused_without_being_read(settings: Settings, person: Person, migrated: None) -> None:
    server = ServerProcess(served_env(settings), free_port(), "huge-body-server.log")
    server.start()
    assert server.process is not None
    try:
        # A length far past the limit: refused on the headers alone.
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            f"POST /v1/spaces/me/vitals HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {person.token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n".encode()
        )
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(4096), timeout=10)
        writer.close()
        assert raw.startswith(b"HTTP/1.1 413 "), raw[:200]
        # No length, 64 MiB streamed: cut at the limit (2 MiB), the process's memory unmoved.
        before = _rss_kib(server.process.pid)

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(1024):
                yield b" " * 65536

        async with httpx.AsyncClient(base_url=server.base_url, headers=person.headers, timeout=30) as client:
            try:
                answer = await client.post(
                    "/v1/spaces/me/vitals", content=chunks(), headers={"content-type": "application/json"}
                )
                assert answer.status_code == 413, answer.text
            except (httpx.WriteError, httpx.RemoteProtocolError):
                pass  # the server answered 413 and closed while the client was still sending
            assert (await client.get("/health")).status_code == 200
        assert _rss_kib(server.process.pid) - before < 20 * 1024
    finally:
        server.stop()
