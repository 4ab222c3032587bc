"""A request's reads share one pool connection (``ens.core.db.RequestContext``), given back before
it opens a write transaction and before it waits for its history row. So a request never holds two
connections: the real server with a pool of one still answers reads, writes, refusals and
failures, many at once, where holding two would leave every request waiting on the others."""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest

from ens.core.settings import Settings
from tests.helpers.people import MakeAppToken, Person
from tests.helpers.server import ServerProcess, free_port
from tests.helpers.vitals import weight

pytestmark = pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"),
    reason="a pool of connections is PostgreSQL's (SQLite shares one connection for reads already)",
)


async def test_one_connection_serves_reads_writes_and_refusals_at_once(
    settings: Settings, person: Person, make_app_token: MakeAppToken
) -> None:
    scale = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"])
    env = {
        **os.environ,
        "ENS_ENV": "dev",
        "ENS_DATABASE_URL": settings.database_url,
        "ENS_PUBLIC_URL": settings.public_url,  # the issuer of the suite's tokens
        "ENS_DB_POOL_SIZE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    server = ServerProcess(env, free_port(), "pool-of-one-server.log")
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:

            async def write(n: int) -> int:
                body = {"measurements": [weight(60 + n % 30, minutes_ago=n + 1, clientRecordId=f"pool-{n}")]}
                return (await client.post("/v1/spaces/me/vitals", json=body, headers=scale.headers)).status_code

            async def read() -> int:
                return (await client.get("/v1/spaces/me/vitals?limit=5", headers=person.headers)).status_code

            async def refused() -> int:  # a type the app may not write: refused after the door's read
                body = {"measurements": [{"type": "heart_rate", "value": 60, "unit": "/min"}]}
                return (await client.post("/v1/spaces/me/vitals", json=body, headers=scale.headers)).status_code

            async def invalid() -> int:  # a 422 from inside the write transaction, rolled back
                body = {"measurements": [weight(60), weight(60, clientRecordId="x"), {"type": "body_weight"}]}
                return (await client.post("/v1/spaces/me/vitals", json=body, headers=person.headers)).status_code

            calls = [write(n) for n in range(12)] + [read() for _ in range(12)] + [refused(), invalid()] * 3
            statuses = await asyncio.wait_for(asyncio.gather(*calls), timeout=60)
            assert statuses[:12] == [201] * 12
            assert statuses[12:24] == [200] * 12
            assert statuses[24:] == [403, 422] * 3
            page = await client.get("/v1/spaces/me/vitals?limit=100", headers=person.headers)
            assert page.status_code == 200
            assert len(page.json()["items"]) == 12
            history = await client.get("/v1/spaces/me/access-history?limit=100", headers=person.headers)
            assert history.status_code == 200, history.text
    finally:
        await asyncio.to_thread(server.stop)
