"""Debian's Chromium as the browser tests drive it (Playwright, never a downloaded browser), and what
they check on a page: its size and text a person could not read whole."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.async_api import Page

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


def chromium_missing_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (Debian package 'chromium'; `make test` installs it)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the Python package 'playwright' is not installed (.venv/bin/pip install -e '.[dev]')"
    return None


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
