"""Fixtures of the vitals tests: posting batches, walking every page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.vitals import VITALS


@pytest.fixture
def post_vitals(client: Any) -> Any:
    async def post(who: Any, measurements: list[Any], space: str = "me") -> Any:
        return await client.post(f"/v1/spaces/{space}/vitals", json={"measurements": measurements}, headers=who.headers)

    return post


@pytest.fixture
def get_all(client: Any) -> Any:
    """Every measure of the caller's space, walking every page."""

    async def walk(who: Any, query: str = "", limit: int = 500) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = f"limit={limit}" + (f"&cursor={cursor}" if cursor else "") + (f"&{query}" if query else "")
            response = await client.get(f"{VITALS}?{params}", headers=who.headers)
            assert response.status_code == 200, response.text
            body = response.json()
            items += body["items"]
            cursor = body["nextCursor"]
            if cursor is None:
                return items

    return walk
