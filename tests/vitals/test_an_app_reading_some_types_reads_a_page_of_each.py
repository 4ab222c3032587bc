"""An app that reads some types of a space (a scale's: weights and blood pressures) lists them by a
page of each type, not by walking the space's every measure: written ``type IN (...)``, PostgreSQL
read a watch's 100,899 heart rates to serve a scale's page of 101 (36.5 ms; a scale audit)."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest

from ens.core import db
from tests.helpers.people import MakeAppToken, Person
from tests.helpers.vitals import VITALS, pressure, weight


def _heart_rate(minutes_ago: float) -> dict[str, Any]:
    from tests.helpers.vitals import at

    return {"type": "heart_rate", "value": 60 + minutes_ago % 30, "unit": "/min", "effectiveAt": at(minutes_ago)}


async def _all_pages(client: httpx.AsyncClient, headers: dict[str, str], *, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        page = await client.get(VITALS, params=params, headers=headers)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        if page.json().get("nextCursor") is None:
            return items
        params = {"limit": limit, "cursor": page.json()["nextCursor"]}


async def test_a_scale_app_lists_its_types_newest_first_across_pages(
    client: httpx.AsyncClient,
    person: Person,
    make_app_token: MakeAppToken,
    post_vitals: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    watch = await make_app_token(person, ["vitals.heart_rate:write"])
    scale = await make_app_token(
        person,
        [
            "vitals.body_weight:write",
            "vitals.body_weight:read",
            "vitals.blood_pressure:write",
            "vitals.blood_pressure:read",
        ],
    )
    for batch in range(3):
        beats = [_heart_rate(batch * 1000 + i + 0.5) for i in range(1000)]
        assert (await post_vitals(watch, beats)).status_code == 201
    mine = [weight(60 + i / 10, minutes_ago=i * 7 + 1) for i in range(200)]
    mine += [pressure(110 + i % 30, 70, minutes_ago=i * 7 + 4) for i in range(200)]
    assert (await post_vitals(scale, mine[:200])).status_code == 201
    assert (await post_vitals(scale, mine[200:])).status_code == 201
    everything = await _all_pages(client, person.headers, limit=100)
    expected = [m["id"] for m in everything if m["type"] in ("body_weight", "blood_pressure")]
    seen = [m["id"] for m in await _all_pages(client, scale.headers, limit=10)]
    assert seen == expected and len(seen) == 400

    if os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"):
        from ens.vitals import reads
        from tests.helpers.plans import Statements

        await db.fetch("ANALYZE vital_measurements")
        statements = Statements(monkeypatch, reads)
        assert (await client.get(VITALS, params={"limit": 10}, headers=scale.headers)).status_code == 200
        # A page of each of the two types (and its look-ahead row), whatever the plan.
        for generic in (False, True):
            assert await statements.most_rows_looked_at("FROM vital_measurements", generic=generic) <= 22
