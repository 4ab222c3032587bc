"""When PostgreSQL cannot be reached (a restart, a failover, a cut network), a request gets 503 with
``Retry-After``, problem+json, never a 500, and nothing of the space; once the database is back,
the same server answers again without a restart.

The real server runs in a subprocess and reaches PostgreSQL through a relay in this process,
which the test cuts (every connection dropped, nothing listening) and restores."""

from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from ens.core.settings import Settings
from tests.helpers.people import Person
from tests.helpers.server import ServerProcess, free_port

pytestmark = pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="a database reached over the network"
)


class Relay:
    """A TCP relay from a local port to PostgreSQL, which can be cut and restored."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)  # before connecting on: a cut meanwhile drops it too
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers.add(up_writer)
        if writer.transport.is_closing():
            up_writer.transport.abort()

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers -= {writer, up_writer}


async def test_the_database_cut_is_a_503_then_the_same_server_answers_again(settings: Settings, person: Person) -> None:
    url = urlsplit(settings.database_url)
    relay = Relay(free_port(), (url.hostname or "127.0.0.1", url.port or 5432))
    await relay.start()
    credentials = url.netloc.rsplit("@", 1)[0] + "@" if "@" in url.netloc else ""
    through_relay = urlunsplit(url._replace(netloc=f"{credentials}127.0.0.1:{relay.port}"))
    env = {
        **os.environ,
        "ENS_ENV": "dev",
        "ENS_DATABASE_URL": through_relay,
        "ENS_PUBLIC_URL": settings.public_url,  # the issuer of the suite's tokens
        "PYTHONUNBUFFERED": "1",
    }
    server = ServerProcess(env, free_port(), "lost-database-server.log")
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            page = "/v1/spaces/me/vitals?limit=5"
            assert (await client.get(page, headers=person.headers)).status_code == 200

            await relay.cut()
            for _ in range(3):  # the pool's connections are gone, and no new one can be made
                lost = await client.get(page, headers=person.headers)
                assert lost.status_code == 503, lost.text
                assert lost.headers["content-type"].startswith("application/problem+json")
                assert int(lost.headers["retry-after"]) > 0
                assert lost.json()["status"] == 503 and "items" not in lost.json()
                assert "database" in lost.json()["detail"]
            written = await client.post(
                "/v1/spaces/me/vitals",
                json={"measurements": [{"type": "body_weight", "value": 70, "unit": "kg"}]},
                headers=person.headers,
            )
            assert written.status_code == 503

            await relay.start()
            back = await client.get(page, headers=person.headers)
            assert back.status_code == 200, back.text
            assert back.json()["items"] == []  # the refused write left nothing behind
    finally:
        await asyncio.to_thread(server.stop)
        await relay.cut()
