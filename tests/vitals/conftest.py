"""Fixtures of the vitals tests: posting batches, walking every page."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest

from tests.helpers.pages import every_item
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
        params = {"limit": limit, **dict(parse_qsl(query, keep_blank_values=True))}
        return await every_item(client, VITALS, headers=who.headers, params=params)

    return walk
