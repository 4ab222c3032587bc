"""Fixtures of the spaces' tests that more than one file uses."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest
from litestar import Litestar

from ens.app import create_app
from ens.core.settings import Settings
from tests.helpers.asgi import asgi_client
from tests.helpers.server import free_port


@pytest.fixture(scope="module")
def mail_down_app(settings: Settings, migrated: None) -> Litestar:
    """The app, its mail server down (nothing listens on that port) when the notices become owed."""
    return create_app(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}"))


@pytest.fixture
async def mail_down(mail_down_app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(mail_down_app, "http://testserver.local") as test_client:
        yield test_client
