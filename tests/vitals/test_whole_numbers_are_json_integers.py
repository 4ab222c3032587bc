"""The types counted in whole units (heart rate, blood pressure, steps, pain) answer JSON integers
everywhere a value is shown: ``72``, not ``72.0``, which a phone app's decoder refuses for an
integer field. The others keep their number as it is; a measure stored before is written again by
its migration."""

from __future__ import annotations

import csv
import importlib
import io
import json
from typing import Any

import httpx
import msgspec

from ens.core import db
from tests.helpers.people import Person
from tests.helpers.vitals import VITALS, at, pressure, weight

MIGRATION = importlib.import_module("ens.vitals.piccolo_migrations.m2026_12_22_0001_whole_numbers")

BATCH = [
    {"type": "heart_rate", "value": 72.4, "unit": "/min", "effectiveAt": at(40)},
    pressure(131, 85, minutes_ago=30),
    {"type": "steps_per_day", "value": 8000, "unit": "/d", "effectiveAt": at(20)},
    {"type": "pain_severity", "value": 3.0, "unit": "{score}", "effectiveAt": at(15)},
    weight(70, minutes_ago=10),
]


def _numbers(measure: dict[str, Any]) -> dict[str, Any]:
    return {key: measure.get(key) for key in ("value", "components", "originalValue")}


def _kinds(numbers: Any) -> Any:
    """The JSON kind of each number: ``int`` for 72, ``float`` for 72.0 (``json`` keeps them apart)."""
    if isinstance(numbers, dict):
        return {key: _kinds(value) for key, value in numbers.items() if value is not None}
    return type(numbers).__name__


EXPECTED = {
    "heart_rate": ({"value": 72, "originalValue": 72.4}, {"value": "int", "originalValue": "float"}),
    "blood_pressure": (
        {"components": {"systolic": 131, "diastolic": 85}, "originalValue": {"systolic": 131, "diastolic": 85}},
        {
            "components": {"systolic": "int", "diastolic": "int"},
            "originalValue": {"systolic": "int", "diastolic": "int"},
        },
    ),
    "steps_per_day": ({"value": 8000, "originalValue": 8000}, {"value": "int", "originalValue": "int"}),
    "pain_severity": ({"value": 3, "originalValue": 3}, {"value": "int", "originalValue": "int"}),
    # A weight is a decimal measure: its number as it is.
    "body_weight": ({"value": 70.0, "originalValue": 70.0}, {"value": "float", "originalValue": "float"}),
}


def _check(measures: list[dict[str, Any]]) -> None:
    assert sorted(m["type"] for m in measures) == sorted(EXPECTED)
    for measure in measures:
        numbers = {key: value for key, value in _numbers(measure).items() if value is not None}
        assert (numbers, _kinds(numbers)) == EXPECTED[measure["type"]], measure


async def test_every_view_answers_whole_numbers_as_integers(client: httpx.AsyncClient, person: Person) -> None:
    posted = await client.post(VITALS, json={"measurements": BATCH}, headers=person.headers)
    assert posted.status_code == 201, posted.text
    page = json.loads((await client.get(VITALS, headers=person.headers)).text)
    _check(page["items"])
    for item in page["items"]:
        one = await client.get(f"{VITALS}/{item['id']}", headers=person.headers)
        assert json.loads(one.text) == item
        # Hidden from the representatives, and shown again: the body is changed, not made anew
        # (it was read back into floats and written as 72.0); a change to nothing answers the same bytes.
        path = f"{VITALS}/{item['id']}"
        for hidden in (True, True, False):
            changed = await client.patch(path, json={"hiddenFromRepresentatives": hidden}, headers=person.headers)
            assert changed.status_code == 200, changed.text
            assert changed.content == (await client.get(path, headers=person.headers)).content
            assert _numbers(json.loads(changed.text)) == _numbers(item), changed.text
            assert _kinds(_numbers(json.loads(changed.text))) == _kinds(_numbers(item))
    page = json.loads((await client.get(VITALS, headers=person.headers)).text)
    _check(page["items"])
    feed = json.loads((await client.get(f"{VITALS}/changes", headers=person.headers)).text)
    _check([change["measurement"] for change in feed["changes"] if change["op"] == "upsert"])
    # The home screen's latest values.
    home = json.loads((await client.get("/v1/spaces/me", headers=person.headers)).text)
    latest = {vital["type"]: vital for vital in home["vitals"]}
    assert (latest["heart_rate"]["value"], latest["blood_pressure"]["components"]) == (
        72,
        {"systolic": 131, "diastolic": 85},
    )
    assert _kinds({"hr": latest["heart_rate"]["value"], **latest["blood_pressure"]["components"]}) == {
        "hr": "int",
        "systolic": "int",
        "diastolic": "int",
    }
    assert _kinds(latest["body_weight"]["value"]) == "float"
    # A summary's extremes are measures; its mean is a mean.
    summary = json.loads(
        (
            await client.get(
                f"{VITALS}/summary", params={"type": "heart_rate", "bucket": "day"}, headers=person.headers
            )
        ).text
    )
    (day,) = summary["items"]
    assert _kinds({"min": day["min"], "max": day["max"], "mean": day["mean"]}) == {
        "min": "int",
        "max": "int",
        "mean": "float",
    }
    # The spreadsheet writes what the JSON gives.
    as_csv = await client.get(VITALS, headers={**person.headers, "Accept": "text/csv"})
    rows = {row["type"]: row for row in csv.DictReader(io.StringIO(as_csv.text))}
    assert (rows["heart_rate"]["value"], rows["heart_rate"]["originalValue"]) == ("72", "72.4")
    assert (rows["blood_pressure"]["systolic"], rows["blood_pressure"]["originalValue"]) == ("131", "131/85")
    assert (rows["steps_per_day"]["value"], rows["body_weight"]["value"]) == ("8000", "70.0")


def _as_stored_before(body: str) -> str:
    """The body the code before wrote: every number of a measure as a float."""
    measure = msgspec.json.decode(body)

    def floats(value: Any) -> Any:
        return {k: float(v) for k, v in value.items()} if isinstance(value, dict) else float(value)

    for key in ("value", "components", "originalValue"):
        if key in measure:
            measure[key] = floats(measure[key])
    return msgspec.json.encode(measure).decode()


async def test_the_migration_rewrites_the_bodies_stored_before(client: httpx.AsyncClient, person: Person) -> None:
    # With a pain sent as -0.0 (read as 0), and a note that writes what a body's numbers look like.
    extra = [
        {"type": "pain_severity", "value": -0.0, "unit": "{score}", "effectiveAt": at(5)},
        {**weight(71, minutes_ago=3), "note": '{"value":72.0,"systolic":1.0}'},
    ]
    sent = await client.post(VITALS, json={"measurements": BATCH + extra}, headers=person.headers)
    assert sent.status_code == 201, sent.text
    served = (await client.get(VITALS, headers=person.headers)).content
    pains = [m for m in json.loads(served)["items"] if m["type"] == "pain_severity"]
    assert sorted((m["value"], m["originalValue"]) for m in pains) == [(0, 0), (3, 3)]
    assert all(_kinds(_numbers(m)) == {"value": "int", "originalValue": "int"} for m in pains), pains
    rows = await db.fetch("SELECT id, type, body FROM vital_measurements WHERE space_id = {}", person.space_id)
    for row in rows:
        await db.fetch(
            "UPDATE vital_measurements SET body = {} WHERE space_id = {} AND id = {}",
            _as_stored_before(row["body"]),
            person.space_id,
            row["id"],
        )
    before = (await client.get(VITALS, headers=person.headers)).text
    assert '"value":72.0' in before and '"value":8000.0' in before
    # The four whole-number measures, and not the weight (its body is what its columns make).
    rewritten = await MIGRATION.rewrite_whole_number_bodies()
    assert rewritten >= 5
    assert await MIGRATION.rewrite_whole_number_bodies() == 0
    assert (await client.get(VITALS, headers=person.headers)).content == served
    weight_row = await db.fetch_one(
        "SELECT body FROM vital_measurements WHERE space_id = {} AND type = 'body_weight' AND value = 70",
        person.space_id,
    )
    assert weight_row is not None and '"value":70.0' in weight_row["body"]
