"""Helpers for the vitals tests: measures as a phone or a device app would send them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

VITALS = "/v1/spaces/me/vitals"


def at(minutes_ago: float = 0, base: datetime | None = None) -> str:
    """An RFC 3339 instant ``minutes_ago`` before ``base`` (now by default)."""
    moment = (base or datetime.now(UTC)) - timedelta(minutes=minutes_ago)
    return moment.isoformat().replace("+00:00", "Z")


def weight(value: float = 72.5, unit: str = "kg", minutes_ago: float = 10, **extra: Any) -> dict[str, Any]:
    return {"type": "body_weight", "value": value, "unit": unit, "effectiveAt": at(minutes_ago), **extra}


def pressure(systolic: float = 120, diastolic: float = 80, minutes_ago: float = 10, **extra: Any) -> dict[str, Any]:
    return {
        "type": "blood_pressure",
        "components": {"systolic": systolic, "diastolic": diastolic},
        "unit": "mm[Hg]",
        "effectiveAt": at(minutes_ago),
        **extra,
    }


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
