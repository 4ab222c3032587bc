"""Tests run through the real ASGI app against a real database (SQLite file or PostgreSQL).

``make test`` sets ENS_DATABASE_URL; a bare ``pytest`` gets a fresh SQLite file in ./var.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from aiosmtpd.controller import Controller
from litestar import Litestar

from ens.app import create_app
from ens.core import db
from ens.core.settings import Settings
from ens.spaces import audit
from tests.helpers.asgi import asgi_client
from tests.helpers.login import Outbox
from tests.helpers.people import (
    AppToken,
    HistoryRows,
    MakeAppToken,
    MakePerson,
    Person,
    grant_app,
    sign_in_person,
)
from tests.helpers.server import free_port
from tests.helpers.temp_files import TempFiles

ROOT = Path(__file__).resolve().parent.parent
# Limits on, out of reach: the suite measures the service, not the limiter (its own test sets small ones).
SUITE_RATE_LIMITS = {
    "rate_limit_account_per_minute": 1_000_000,
    "rate_limit_grant_per_minute": 1_000_000,
    "rate_limit_address_per_minute": 1_000_000,
}


def _database_url() -> str:
    url = os.environ.get("ENS_DATABASE_URL")
    if url:
        return url
    path = ROOT / "var" / f"test-{os.getpid()}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _blob_url() -> str:
    """ENS_BLOB_URL when the run names a store (scripts/with-s3: a moto server), else a fresh folder."""
    url = os.environ.get("ENS_BLOB_URL")
    if url:
        return url
    folder = ROOT / "var" / f"test-blobs-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    return folder.as_uri()


@pytest.fixture(scope="session")
def settings() -> Iterator[Settings]:
    blob_url = _blob_url()
    yield Settings.from_env(
        env="dev",
        database_url=_database_url(),
        public_url="http://testserver.local",
        blob_url=blob_url,
        rate_limit_account_per_minute=SUITE_RATE_LIMITS["rate_limit_account_per_minute"],
        rate_limit_grant_per_minute=SUITE_RATE_LIMITS["rate_limit_grant_per_minute"],
        rate_limit_address_per_minute=SUITE_RATE_LIMITS["rate_limit_address_per_minute"],
    )
    if blob_url.startswith("file://") and "ENS_BLOB_URL" not in os.environ:
        shutil.rmtree(Path(blob_url.removeprefix("file://")), ignore_errors=True)


@pytest.fixture(scope="session")
def extra_space_routes() -> list[Any]:
    """Routes the tests mount behind the real space door (see tests/routes_for_tests.py)."""
    from tests.helpers.routes_for_tests import space_routes_for_tests

    return space_routes_for_tests()


@pytest.fixture(scope="session")
def extra_routes() -> list[Any]:
    from tests.helpers.routes_for_tests import routes_for_tests

    return routes_for_tests()


@pytest.fixture(scope="session")
async def migrated(settings: Settings) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    engine = db.engine_for_url(settings.database_url)
    db.bind(engine, db.all_tables())
    # As the app and the commands do: service code the tests call directly (an operator's command,
    # without a server in this process) seals the access-history rows it writes.
    audit.configure(settings.secret_key)
    result = await run_forwards(app_name="all")
    assert result.success, result.message


@pytest.fixture(scope="session")
def app(settings: Settings, migrated: None, extra_space_routes: list[Any], extra_routes: list[Any]) -> Litestar:
    return create_app(settings, extra_space_routes=extra_space_routes, extra_routes=extra_routes)


@pytest.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app, "http://testserver.local") as test_client:
        yield test_client


@pytest.fixture(scope="session")
def outbox() -> Iterator[tuple[Outbox, int]]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd), and the messages it received."""
    handler = Outbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture(scope="session")
def mail_app(settings: Settings, migrated: None, outbox: tuple[Outbox, int]) -> Litestar:
    """The app as ``app``, but sending its e-mails to the SMTP sink (``outbox``)."""
    # The same database and document store (a folder, or the S3 run's bucket), e-mails to the sink.
    mailing = msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{outbox[1]}")
    return create_app(mailing)


@pytest.fixture(scope="session")
async def mail_client(mail_app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(mail_app, "http://testserver.local") as test_client:
        yield test_client


@pytest.fixture
def make_person(client: httpx.AsyncClient, settings: Settings) -> MakePerson:
    """Sign a fresh person in (a new identity each call)."""

    async def make(
        given_name: str = "Alex", family_name: str | None = None, birthdate: date | None = date(1990, 5, 17)
    ) -> Person:
        return await sign_in_person(settings, given_name=given_name, family_name=family_name, birthdate=birthdate)

    return make


@pytest.fixture
async def person(make_person: MakePerson) -> Person:
    return await make_person()


_exit_status: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status[:] = [int(exitstatus)]


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End the process with pytest's own status once everything is reported. obstore's Rust runtime
    (its tokio threads) can abort the interpreter while it finalises — SIGABRT, no Python frame,
    about one run in four after the documents tests here — which would fail a suite that passed."""
    if _exit_status:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[0])


def history_rows_sql() -> str:
    return "SELECT * FROM access_history WHERE space_id = {} ORDER BY id"


@pytest.fixture
def history() -> HistoryRows:
    async def rows(space_id: uuid.UUID) -> list[dict[str, Any]]:
        return [dict(row) for row in await db.fetch(history_rows_sql(), space_id)]

    return rows


@pytest.fixture
def make_app_token(settings: Settings) -> MakeAppToken:
    """A grant for an app on ``person``'s space with ``scopes``, and a token bound to it."""

    async def make(person: Person, scopes: list[str], client_id: str | None = None, name: str = "Test app") -> AppToken:
        return await grant_app(settings, person, scopes, client_id=client_id, name=name)

    return make


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TempFiles:
    """Every temporary file the process opens during the test, named, in the test's folder."""
    return TempFiles(tmp_path, monkeypatch)
