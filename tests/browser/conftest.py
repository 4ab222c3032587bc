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
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from ens.core.settings import Settings

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
# The flags that keep Chromium quiet on a machine with a closed network (no background fetches,
# no component updates, no sync, no QUIC). Playwright itself gives every launch a fresh, empty
# temporary profile (the equivalent of a new --user-data-dir, which launch() does not accept).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE_VIEWPORT = {"width": 360, "height": 740}
SERVER_START_TIMEOUT_S = 60.0


def chromium_missing_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (Debian package 'chromium'; `make test` installs it)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the Python package 'playwright' is not installed (.venv/bin/pip install -e '.[dev]')"
    return None


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ens_command() -> list[str]:
    """The ``ens`` console script of the interpreter running the tests (``.venv/bin/ens``)."""
    script = Path(sys.executable).parent / "ens"
    if script.exists():
        return [str(script)]
    return [str(ROOT / ".venv" / "bin" / "ens")]


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
    port = live_server_port
    base_url = server_environment["ENS_PUBLIC_URL"]
    env = server_environment
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / "live-server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603 (our own console script, fixed arguments)
            [*ens_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_healthy(process, base_url, log_path)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_until_healthy(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`ens serve` exited with {process.returncode} before answering:\n{_tail(log_path)}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"`ens serve` did not answer /health within {SERVER_START_TIMEOUT_S:.0f} s:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


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


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


# Every visible piece of text, both ends of each of its lines: is that point on screen, and is the
# element drawn there the text's own (not a neighbour laid over it, as when columns collide)?
_TEXT_PROBLEMS_JS = """
() => {
  const problems = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const owner = node.parentElement;
    if (!text || !owner || owner.closest("svg, style, script, noscript")) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const rect of range.getClientRects()) {
      if (rect.width < 4 || rect.height < 4) continue;
      for (const x of [rect.left + 2, rect.right - 2]) {
        const hit = document.elementFromPoint(x, rect.top + rect.height / 2);
        if (!hit) {
          problems.push(`"${text.slice(0, 40)}" runs off the screen (x=${Math.round(x)})`);
        } else if (!owner.contains(hit) && !hit.contains(owner)) {
          const cover = `<${hit.tagName.toLowerCase()}> "${hit.textContent.trim().slice(0, 20)}"`;
          problems.push(`"${text.slice(0, 40)}" is covered by ${cover}`);
        }
      }
    }
  }
  return problems;
}
"""


async def text_problems(page: Page) -> list[str]:
    """Text that a person could not read whole on this page: cut off by the screen edge or covered.

    The viewport is stretched to the page's full height for the check (``elementFromPoint`` only
    sees what is on screen), then restored.
    """
    viewport = page.viewport_size
    assert viewport is not None
    height = await page.evaluate("document.documentElement.scrollHeight")
    await page.set_viewport_size({"width": viewport["width"], "height": max(height, viewport["height"])})
    try:
        problems: list[str] = await page.evaluate(_TEXT_PROBLEMS_JS)
    finally:
        await page.set_viewport_size(viewport)
    return problems
