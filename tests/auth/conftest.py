"""Login test bench: the real app wired to an identity provider over HTTP, a real SMTP server.

Two apps share the test database:

* ``dev_client`` — the app with the embedded dev provider under /dev-idp, which the relying party
  reaches over HTTP through ``httpx.ASGITransport`` of the same app;
* ``fake_client`` — the app pointed at :mod:`tests.helpers.fake_provider` (``ENS_OIDC_ISSUER`` set),
  whose answers the tests forge.

Both send e-mail to an ``aiosmtpd`` server on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar

from ens.app import create_app
from ens.core.settings import Settings
from tests.helpers import fake_provider
from tests.helpers.asgi import asgi_client, asgi_transport
from tests.helpers.fake_provider import FakeProvider
from tests.helpers.login import BASE, Browser, FakeLogin, MakeFakeLogin, Outbox
from tests.helpers.scope_probe import scope_probe_routes


def _auth_settings(settings: Settings, smtp_port: int, **overrides: Any) -> Settings:
    return Settings.from_env(
        {},
        env="dev",
        database_url=settings.database_url,
        public_url=BASE,
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        var_dir=str(settings.var_dir),
        **overrides,
    )


class _LateApp:
    """An ASGI app that forwards to one built later (the app reaches its own /dev-idp over HTTP)."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture(scope="session")
def dev_settings(settings: Settings, outbox: tuple[Outbox, int], migrated: None) -> Settings:
    return _auth_settings(settings, outbox[1])


@pytest.fixture(scope="session")
def dev_app(dev_settings: Settings) -> Litestar:
    late = _LateApp()
    app = create_app(
        dev_settings, extra_space_routes=scope_probe_routes(), upstream_transport=httpx.ASGITransport(app=late)
    )
    late.app = app
    return app


@pytest.fixture(scope="session")
async def dev_client(dev_app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(dev_app, BASE) as client:
        client.follow_redirects = False
        yield client


@pytest.fixture(scope="session")
def provider() -> FakeProvider:
    return FakeProvider()


@pytest.fixture(scope="session")
def fake_settings(settings: Settings, outbox: tuple[Outbox, int], migrated: None) -> Settings:
    return _auth_settings(
        settings,
        outbox[1],
        oidc_issuer=fake_provider.ISSUER,
        oidc_client_id=fake_provider.CLIENT_ID,
        oidc_client_secret=fake_provider.CLIENT_SECRET,
        # Discovery and JWKS are refetched for each login, so tests may change the provider's keys.
        oidc_cache_ttl=0,
    )


@pytest.fixture(scope="session")
def fake_app(fake_settings: Settings, provider: FakeProvider) -> Litestar:
    return create_app(
        fake_settings,
        extra_space_routes=scope_probe_routes(),
        upstream_transport=asgi_transport(provider.app()),
    )


@pytest.fixture(scope="session")
async def fake_app_client(fake_app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(fake_app, BASE) as client:
        client.follow_redirects = False
        yield client


@pytest.fixture
async def fake_client(fake_app_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """A fresh browser each test (no cookie from the previous one)."""
    fake_app_client.cookies.clear()
    return fake_app_client


@pytest.fixture
def fake_login(fake_client: httpx.AsyncClient, provider: FakeProvider, outbox: tuple[Outbox, int]) -> MakeFakeLogin:
    def make() -> FakeLogin:
        return FakeLogin(Browser(fake_client, outbox[0]), provider)

    return make


# ---------------------------------------------------------------------------------------------
# Professionals: a second, independent provider configured like Pro Santé Connect.

PRO_ISSUER = "http://fake-pro-idp.test"
PRO_CLIENT_ID = "ens-fake-pro-client"
PRO_CLIENT_SECRET = "fake-pro-client-secret-0123456789abcdef012345"


@pytest.fixture(scope="session")
def pro_provider() -> FakeProvider:
    return FakeProvider(issuer=PRO_ISSUER, client_id=PRO_CLIENT_ID, client_secret=PRO_CLIENT_SECRET)


@pytest.fixture(scope="session")
def pro_settings(fake_settings: Settings) -> Settings:
    return Settings.from_env(
        {},
        **{
            **{f.name: getattr(fake_settings, f.name) for f in msgspec.structs.fields(Settings)},
            "pro_oidc_issuer": PRO_ISSUER,
            "pro_oidc_client_id": PRO_CLIENT_ID,
            "pro_oidc_client_secret": PRO_CLIENT_SECRET,
        },
    )


@pytest.fixture(scope="session")
def pro_app(pro_settings: Settings, provider: FakeProvider, pro_provider: FakeProvider) -> Litestar:
    return create_app(
        pro_settings,
        upstream_transport=asgi_transport(provider.app()),
        pro_upstream_transport=asgi_transport(pro_provider.app()),
    )


@pytest.fixture(scope="session")
async def pro_app_client(pro_app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(pro_app, BASE) as client:
        client.follow_redirects = False
        yield client


@pytest.fixture
async def pro_client(pro_app_client: httpx.AsyncClient) -> httpx.AsyncClient:
    pro_app_client.cookies.clear()
    return pro_app_client
