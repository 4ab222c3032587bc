"""Walking a listing page by page, as a client does (API.md, Lists)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx


async def every_item(
    client: httpx.AsyncClient,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    full_pages: int | None = None,
) -> list[Any]:
    """Every item of the listing at ``url``, following ``nextCursor`` to the last page;
    ``full_pages``: the page size every page but the last must fill."""
    items: list[Any] = []
    cursor = None
    while True:
        query = {**(params or {}), **({"cursor": cursor} if cursor else {})}
        answer = await client.get(url, params=query, headers=headers)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        items += page["items"]
        cursor = page["nextCursor"]
        if cursor is None:
            return items
        assert full_pages is None or len(page["items"]) == full_pages
