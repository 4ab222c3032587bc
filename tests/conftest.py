"""Tests run through the real ASGI app against a real database (SQLite file or PostgreSQL).

``make test`` sets ENS_DATABASE_URL; a bare ``pytest`` gets a fresh SQLite file in ./var.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from ens.app import create_app
from ens.auth.tokens import AccessTokens, new_app_token, new_session_token
from ens.core import db
from ens.core.settings import Settings
from ens.spaces.service import Identity, sign_in_identity

ROOT = Path(__file__).resolve().parent.parent
TEST_ISSUER = "https://idp.test.example"


def _database_url() -> str:
    url = os.environ.get("ENS_DATABASE_URL")
    if url:
        return url
    path = ROOT / "var" / f"test-{os.getpid()}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env(env="dev", database_url=_database_url(), public_url="http://testserver.local")


@pytest.fixture(scope="session")
def extra_space_routes() -> list[Any]:
    """Routes the tests mount behind the real space door (see tests/routes_for_tests.py)."""
    from tests.routes_for_tests import space_routes_for_tests

    return space_routes_for_tests()


@pytest.fixture(scope="session")
def extra_routes() -> list[Any]:
    from tests.routes_for_tests import routes_for_tests

    return routes_for_tests()


@pytest.fixture(scope="session")
async def migrated(settings: Settings) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    engine = db.engine_for_url(settings.database_url)
    db.bind(engine, db.all_tables())
    result = await run_forwards(app_name="all")
    assert result.success, result.message


@pytest.fixture(scope="session")
def app(settings: Settings, migrated: None, extra_space_routes: list[Any], extra_routes: list[Any]) -> Litestar:
    return create_app(settings, extra_space_routes=extra_space_routes, extra_routes=extra_routes)


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
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as http:
            yield http
    finally:
        stopping.set()
        await holder


@pytest.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app, "http://testserver.local") as test_client:
        yield test_client


@dataclass
class Person:
    """A signed-in person: their account, own space, session grant and a bearer token."""

    account_id: uuid.UUID
    space_id: uuid.UUID
    grant_id: uuid.UUID
    token: str
    given_name: str
    family_name: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_person(client: httpx.AsyncClient, settings: Settings) -> Any:
    """Sign a fresh person in (a new identity each call)."""

    async def make(
        given_name: str = "Alex", family_name: str | None = None, birthdate: date | None = date(1990, 5, 17)
    ) -> Person:
        family = family_name or f"Test{uuid.uuid4().hex[:8]}"
        signed_in = await sign_in_identity(
            Identity(
                issuer=TEST_ISSUER,
                sub=uuid.uuid4().hex,
                given_name=given_name,
                family_name=family,
                birthdate=birthdate,
                gender="female",
                email=f"{family.lower()}@example.test",
            )
        )
        grant_id, token = await new_session_token(
            AccessTokens(settings), signed_in.account_id, client_id="ens-mobile", client_name="ENS", label="pytest"
        )
        return Person(signed_in.account_id, signed_in.space_id, grant_id, token, given_name, family)

    return make


@pytest.fixture
async def person(make_person: Any) -> Person:
    result: Person = await make_person()
    return result


def history_rows_sql() -> str:
    return "SELECT * FROM access_history WHERE space_id = {} ORDER BY id"


@pytest.fixture
def history() -> Any:
    async def rows(space_id: uuid.UUID) -> list[dict[str, Any]]:
        return await db.fetch(history_rows_sql(), space_id)

    return rows


@dataclass
class AppToken:
    """A labelled app's token on one person's space, as the consent flow would leave it."""

    client_id: str
    grant_id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_app_token(settings: Settings) -> Any:
    """A grant for an app on ``person``'s space with ``scopes``, and a token bound to it."""

    async def make(person: Person, scopes: list[str], client_id: str | None = None, name: str = "Test app") -> AppToken:
        client = client_id or f"app-{uuid.uuid4().hex[:8]}"
        grant_id, token = await new_app_token(
            AccessTokens(settings),
            person.account_id,
            space_id=person.space_id,
            client_id=client,
            client_name=name,
            scopes=scopes,
        )
        return AppToken(client, grant_id, token)

    return make
