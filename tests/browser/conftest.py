"""Browser tests: the real server in a subprocess, driven by Debian's Chromium through Playwright.

- ``live_server``: ``ens serve`` on a free loopback port (ENS_ENV=dev, the suite's database, already
  migrated, ENS_PUBLIC_URL = its own address), started once per session; yields the base URL.
- ``page``: a fresh browser context per test, as a phone: 360x740 CSS px, touch, French
  (``browser_context_options``, which a test module may override).
- ``ens_cli``: runs ``ens <command>`` against the same database (``ens apps register`` ...).
- ``screenshot``: saves the page as tests/artifacts/screenshots/<test>-<nn>-<step>.png (360 px wide).

Chromium is Debian's ``/usr/bin/chromium`` (``scripts/ensure-test-tools`` installs it for ``make test``);
Playwright never downloads a browser of its own (no ``playwright install``). Without that binary,
tests marked ``browser`` are skipped with the reason.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ens.core.settings import Settings
from tests.helpers.browser import CHROMIUM, CHROMIUM_FLAGS, PHONE_VIEWPORT, chromium_missing_reason
from tests.helpers.server import ARTIFACTS, ROOT, ServerProcess, ens_command, free_port

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

SCREENSHOTS = ARTIFACTS / "screenshots"


@pytest.fixture(autouse=True)
def _skip_without_chromium(request: pytest.FixtureRequest) -> None:
    """Skip tests marked ``browser`` when the browser cannot run here."""
    if request.node.get_closest_marker("browser") is None:
        return
    reason = chromium_missing_reason()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, or a skip. Session fixtures run before the autouse check above, so the
    server and the browser fixtures ask for this one first: nothing starts when it cannot run."""
    reason = chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
def live_server_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def server_environment(settings: Settings, live_server_port: int) -> dict[str, str]:
    """What ``ens`` commands see: dev mode, the suite's database, the live server as public URL."""
    env = dict(os.environ)
    env.update(
        {
            "ENS_ENV": "dev",
            "ENS_DATABASE_URL": settings.database_url,
            "ENS_PUBLIC_URL": f"http://127.0.0.1:{live_server_port}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@pytest.fixture(scope="session")
def ens_cli(server_environment: dict[str, str], migrated: None) -> Callable[..., str]:
    """Run ``ens <args>`` as an operator would, on the live server's database; returns its output."""

    def run(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 (our own console script)
            [*ens_command(), *args], cwd=ROOT, env=server_environment, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, f"ens {' '.join(args)} failed ({done.returncode}):\n{done.stderr}"
        return done.stdout

    return run


@pytest.fixture(scope="session")
def live_server(
    chromium: Path, server_environment: dict[str, str], live_server_port: int, migrated: None
) -> Iterator[str]:
    """The real server (uvicorn, one worker) on the suite's database; yields its base URL."""
    server = ServerProcess(server_environment, live_server_port, "live-server.log")
    server.start()
    try:
        yield server.base_url
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_FLAGS, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def browser_context_options() -> dict[str, Any]:
    """A phone: 360x740 CSS px, touch, French. A test module may override this fixture.

    ``is_mobile`` makes Chromium honour (or miss) ``<meta name="viewport">`` as a phone does: a page
    without it is laid out 980 px wide and shrunk, and its full-page screenshot is 980 px wide.
    """
    return {
        "viewport": PHONE_VIEWPORT,
        "device_scale_factor": 1,
        "is_mobile": True,
        "has_touch": True,
        "locale": "fr-FR",
    }


@pytest.fixture
async def page(browser: Browser, browser_context_options: dict[str, Any]) -> AsyncIterator[Page]:
    """A page in a browser context of its own (no cookies shared with other tests)."""
    context = await browser.new_context(**browser_context_options)
    try:
        new_page = await context.new_page()
        yield new_page
    finally:
        await context.close()


@pytest.fixture
def screenshot(page: Page, request: pytest.FixtureRequest) -> Callable[..., Awaitable[Path]]:
    """``await screenshot("step")`` saves the whole page (``full_page=False``: the visible part only),
    numbered in the order of the test's steps."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    taken: list[Path] = []

    async def take(step: str, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{test_name}-{len(taken) + 1:02d}-{step}.png"
        await page.screenshot(path=str(path), full_page=full_page)
        taken.append(path)
        return path

    return take
