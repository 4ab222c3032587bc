"""The harness itself: the real server answers a real browser, and screenshots are 360 px wide."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.helpers.browser import PHONE_VIEWPORT, png_size

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_context_options() -> dict[str, Any]:
    # API answers are JSON, with no <meta name="viewport">: a narrow window (not phone emulation,
    # which would lay them out 980 px wide) shows them at the phone's 360 CSS px.
    return {"viewport": PHONE_VIEWPORT, "device_scale_factor": 1, "locale": "fr-FR"}


async def test_health_page_renders_at_phone_width(
    live_server: str, page: Page, screenshot: Callable[..., Awaitable[Path]]
) -> None:
    response = await page.goto(f"{live_server}/health")

    assert response is not None and response.status == 200
    await expect(page.locator("body")).to_contain_text('"status":"ok"')
    width, height = png_size(await screenshot("health"))
    assert (width, height) == (360, 740)


async def test_openapi_document_reaches_the_browser(
    live_server: str, page: Page, screenshot: Callable[..., Awaitable[Path]]
) -> None:
    response = await page.goto(f"{live_server}/schema/openapi.json")

    assert response is not None and response.status == 200
    await expect(page.locator("body")).to_contain_text('"title":"ENS API"')
    assert png_size(await screenshot("openapi-json", full_page=False)) == (360, 740)
