"""A glucose summary of one moment of measurement: a fasting glucose and one two hours after a meal
are read against different thresholds (DOMAIN.md: the moment is required for that reason), so a
day's mean of both is no figure a doctor reads. ``glucoseMoment`` keeps one moment; without it the
summary is of every measure, as before."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ens.core import db
from tests.helpers.people import MakeAppToken, Person
from tests.helpers.vitals import VITALS, at


def _glucose(value: int, moment: str, day: str, hour: int) -> dict[str, object]:
    return {
        "type": "blood_glucose",
        "value": value,
        "unit": "mg/dL",
        "glucoseMoment": moment,
        "effectiveAt": f"{day}T{hour:02d}:00:00+01:00",
    }


SPAN = {"since": "2026-11-30T00:00:00+01:00", "until": "2026-12-02T00:00:00+01:00"}


async def test_a_summary_of_one_moment(client: httpx.AsyncClient, person: Person) -> None:
    sent = await client.post(
        VITALS,
        json={
            "measurements": [
                _glucose(95, "fasting", "2026-11-30", 7),
                _glucose(160, "after_meal", "2026-11-30", 14),
                _glucose(101, "fasting", "2026-12-01", 7),
                _glucose(180, "after_meal", "2026-12-01", 21),
                _glucose(120, "random", "2026-12-01", 16),
            ]
        },
        headers=person.headers,
    )
    assert sent.status_code == 201, sent.text
    fasting = await client.get(
        f"{VITALS}/summary",
        params={"type": "blood_glucose", "bucket": "week", "glucoseMoment": "fasting", **SPAN},
        headers=person.headers,
    )
    assert fasting.status_code == 200, fasting.text
    assert fasting.json()["glucoseMoment"] == "fasting"
    assert [(i["count"], i["min"], i["max"], i["mean"]) for i in fasting.json()["items"]] == [(2, 95, 101, 98)]
    by_day = await client.get(
        f"{VITALS}/summary",
        params={"type": "blood_glucose", "bucket": "day", "glucoseMoment": "after_meal", **SPAN},
        headers=person.headers,
    )
    assert [(i["start"], i["count"], i["mean"]) for i in by_day.json()["items"]] == [
        ("2026-11-30", 1, 160),
        ("2026-12-01", 1, 180),
    ]
    # Without a moment: every measure, and no glucoseMoment in the answer.
    every = await client.get(
        f"{VITALS}/summary", params={"type": "blood_glucose", "bucket": "week", **SPAN}, headers=person.headers
    )
    assert "glucoseMoment" not in every.json()
    assert [(i["count"], i["min"], i["max"]) for i in every.json()["items"]] == [(5, 95, 180)]
    # A moment with no measure: no bucket.
    bedtime = await client.get(
        f"{VITALS}/summary",
        params={"type": "blood_glucose", "glucoseMoment": "bedtime", **SPAN},
        headers=person.headers,
    )
    assert bedtime.status_code == 200 and bedtime.json()["items"] == []


@pytest.mark.parametrize(
    "query",
    ["type=body_weight&glucoseMoment=fasting", "type=blood_glucose&glucoseMoment=breakfast"],
)
async def test_a_moment_is_of_glucose_and_one_of_its_five(
    client: httpx.AsyncClient, person: Person, query: str
) -> None:
    response = await client.get(f"{VITALS}/summary?{query}", headers=person.headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "/glucoseMoment" in [e["pointer"] for e in response.json()["errors"]], response.text


async def test_a_bad_parameter_is_named_as_the_client_sends_it(client: httpx.AsyncClient, person: Person) -> None:
    """A parameter whose handler argument has another name (``type_``) was pointed at under that
    name, which no client sends."""
    response = await client.get(f"{VITALS}?type=" + "x" * 65, headers=person.headers)
    assert response.status_code == 400, response.text
    assert [e["pointer"] for e in response.json()["errors"]] == ["/type"]


async def test_a_moment_is_read_from_its_own_rows_not_a_sensors_every_reading(
    client: httpx.AsyncClient,
    person: Person,
    make_app_token: MakeAppToken,
    post_vitals: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A glucose sensor sends 288 readings a day (``random``), beside a fasting glucose a day and a
    watch's heart rates: the fasting summary reads the fasting rows, from the index of the measures
    that have a moment, whatever the plan. Read among the type's rows, it visited each reading
    (105,120 for 365 over a year), and under the generic plan every type's row of the span (255,120:
    a scale audit)."""
    sensor = await make_app_token(person, ["vitals.blood_glucose:write", "vitals.heart_rate:write"])
    for batch in range(2):
        readings = [
            {
                "type": "blood_glucose",
                "value": 100 + i % 40,
                "unit": "mg/dL",
                "glucoseMoment": "random",
                "effectiveAt": at(batch * 5000 + i * 5 + 2),
            }
            for i in range(1000)
        ]
        assert (await post_vitals(sensor, readings)).status_code == 201
        beats = [
            {"type": "heart_rate", "value": 60 + i % 30, "unit": "/min", "effectiveAt": at(batch * 5000 + i * 5 + 1)}
            for i in range(1000)
        ]
        assert (await post_vitals(sensor, beats)).status_code == 201
    fasting = [
        {
            "type": "blood_glucose",
            "value": 90 + day,
            "unit": "mg/dL",
            "glucoseMoment": "fasting",
            "effectiveAt": at(day * 1440 + 3),
        }
        for day in range(7)
    ]
    assert (await post_vitals(person, fasting)).status_code == 201
    now = datetime.now(UTC)
    span = {"since": (now - timedelta(days=8)).isoformat(), "until": (now + timedelta(minutes=1)).isoformat()}
    query = {"type": "blood_glucose", "bucket": "day", "glucoseMoment": "fasting", **span}
    if not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"):
        summary = await client.get(f"{VITALS}/summary", params=query, headers=person.headers)
        assert summary.status_code == 200, summary.text
        assert sum(item["count"] for item in summary.json()["items"]) == 7
        return
    from ens.vitals import summary as summaries
    from tests.helpers.plans import Statements

    await db.fetch("ANALYZE vital_measurements")
    statements = Statements(monkeypatch, summaries)
    summary = await client.get(f"{VITALS}/summary", params=query, headers=person.headers)
    assert summary.status_code == 200, summary.text
    assert sum(item["count"] for item in summary.json()["items"]) == 7
    for generic in (False, True):
        read = "FROM vital_measurements"
        assert await statements.indexes_read(read, generic=generic) == {"vital_measurements_glucose_moments"}
        # The seven fasting glucoses (and the nine days' starts the buckets are made of).
        assert await statements.most_rows_looked_at(read, generic=generic) <= 10
