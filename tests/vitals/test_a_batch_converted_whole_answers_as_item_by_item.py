"""A batch whose items all convert is converted in one call (``MeasurementBatch.prepare_json``),
and a body whose JSON text holds no control character anywhere skips the search for one in each
text (``ens.core.api.holds_no_control_character``). Both are shortcuts: the same batches, posted
with them and with them turned off (each item converted and checked on its own, as before), get the
same answers, refusals and stored measures, byte for byte but for ids and instants of storage."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import httpx
import pytest

from ens.core import db, strict_json
from ens.vitals.schemas import MeasurementBatch
from tests.helpers.people import MakeAppToken, MakePerson, Person
from tests.helpers.vitals import VITALS, at, pressure, weight

WHEN = at(30)


def _body(items: list[dict[str, Any]]) -> bytes:
    return json.dumps({"measurements": items}, ensure_ascii=False).encode()


# Bodies as bytes: some are no JSON a dict can be written to (a member twice, a raw DEL or C1).
BATCHES: dict[str, bytes] = {
    "valid, every kind of field": _body(
        [
            weight(70.25, note="après le café", device={"manufacturer": "Withings", "model": "Body+"}),
            pressure(128, 79, bodyPosition="sitting", measurementLocation="left arm", clientRecordId="bp-1"),
            {"type": "heart_rate", "value": 64, "unit": "/min", "effectiveAt": WHEN, "recordingMethod": "active"},
            {"type": "blood_glucose", "value": 5.5, "unit": "mmol/L", "effectiveAt": WHEN, "glucoseMoment": "fasting"},
            {"type": "steps_per_day", "value": 8421, "unit": "/d", "effectiveAt": WHEN, "clientRecordVersion": 3},
            {"type": "body_temperature", "value": 98.6, "unit": "[degF]", "effectiveAt": WHEN, "note": "soir °"},
        ]
    ),
    "valid, an instant of 7 digits (cut, not rounded)": _body(
        [weight(71.0, effectiveAt=re.sub(r"\.\d+", "", WHEN).replace("Z", ".9999999Z"))]
    ),
    "valid, escapes (a quote, an accent written \\u00e9, a tab)": _body(
        [weight(72.0, note='dit "bonjour"\tcaf\u00e9')]
    ).replace("é".encode(), b"\\u00e9"),
    "valid, a version given explicitly as its default": _body([weight(73.0, clientRecordVersion=0, note=None)]),
    "one bad item among good ones": _body([weight(70.0), weight(700.0), pressure(80, 120)]),
    "wrong types, unknown member, missing unit": _body(
        [
            weight("70"),  # type: ignore[arg-type]
            {**weight(70.0), "colour": "blue"},
            {"type": "body_weight", "value": 70.0, "effectiveAt": WHEN},
        ]
    ),
    "a NUL, escaped": _body([weight(70.0, note="a\u0000b")]),
    "a C0 control, escaped": _body([weight(70.0, device={"model": "B\u00011"})]),
    "a raw DEL": _body([weight(70.0, note="a\x7fb")]),
    "a raw C1 control": _body([weight(70.0, measurementLocation="arm\u0085")]),
    "a member twice": _body([weight(70.0, note="x")]).replace(b'"note": "x"', b'"note": "x", "note": "y"'),
    "a member twice, in a device": _body([weight(70.0, device={"model": "a"})]).replace(
        b'"model": "a"', b'"model": "a", "model": "b"'
    ),
    "a number beyond a double": _body([weight(70.0)]).replace(b"70.0", b"1e400"),
    "a type that is no code, an item that is no object": _body([weight(70.0, type="weight"), 5]),  # type: ignore[list-item]
    "blank texts and an empty device": _body([weight(70.0, note="  ", device={})]),
    "the future": _body([weight(70.0, minutes_ago=-60)]),
}


def _steady(value: Any) -> Any:
    """An answer or a stored body without what differs between two callers and two moments."""
    if isinstance(value, dict):
        variable = ("id", "createdAt", "updatedAt", "instance", "source")
        return {k: _steady(v) for k, v in value.items() if k not in variable}
    if isinstance(value, list):
        return [_steady(v) for v in value]
    return value


async def _post_each(client: httpx.AsyncClient, person: Person) -> list[tuple[int, Any, list[Any]]]:
    seen = []
    for body in BATCHES.values():
        answer = await client.post(VITALS, content=body, headers={**person.headers, "Content-Type": "application/json"})
        stored = await db.fetch(
            "SELECT body FROM vital_measurements WHERE space_id = {} ORDER BY effective_at, type", person.space_id
        )
        seen.append((answer.status_code, _steady(answer.json()), [_steady(json.loads(r["body"])) for r in stored]))
    return seen


@pytest.mark.parametrize("by", ["person", "app"])
async def test_the_same_batches_get_the_same_answers_either_way(
    client: httpx.AsyncClient,
    make_person: MakePerson,
    make_app_token: MakeAppToken,
    monkeypatch: pytest.MonkeyPatch,
    by: str,
) -> None:
    async def caller() -> Person:
        person = await make_person()
        if by == "person":
            return person
        scopes = [f"vitals.{t}:write" for t in ("body_weight", "blood_pressure", "heart_rate", "blood_glucose")]
        scopes += ["vitals.steps_per_day:write", "vitals.body_temperature:write"]
        app = await make_app_token(person, scopes)
        return replace(person, token=app.token)

    whole = await _post_each(client, await caller())
    with monkeypatch.context() as off:
        off.setattr(MeasurementBatch, "prepare_json", staticmethod(lambda body: body))
        off.setattr(strict_json, "holds_no_control_character", lambda text: False)
        one_by_one = await _post_each(client, await caller())
    for name, a, b in zip(BATCHES, whole, one_by_one, strict=True):
        assert a == b, name
    statuses = dict(zip(BATCHES, (status for status, _, _ in whole), strict=True))
    assert [name for name, status in statuses.items() if status == 201] == [n for n in BATCHES if n.startswith("valid")]
    assert all(status in (400, 422) for name, status in statuses.items() if not name.startswith("valid"))
