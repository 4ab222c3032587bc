"""A value outside a field's list of choices is told the choices: "Invalid enum value 'mère'" left a
phone developer to find them in the OpenAPI document (found by an outside audit of the contract).
In a body (the record's schema), in a batch of measures (each item checked on its own) and in a
query parameter. In the order the choices are declared (msgspec's description of a type sorts them:
day, month, week was told for day, week, month)."""

from __future__ import annotations

import httpx

from tests.helpers.people import Person
from tests.helpers.vitals import VITALS, at


def _errors(answer: httpx.Response, status: int) -> dict[str, str]:
    assert answer.status_code == status, answer.text
    return {e["pointer"]: e["detail"] for e in answer.json()["errors"]}


async def test_a_body_field(client: httpx.AsyncClient, person: Person) -> None:
    answer = await client.post(
        "/v1/spaces/me/profile/allergies", json={"substance": "Pollen", "severity": "terrible"}, headers=person.headers
    )
    assert _errors(answer, 422)["/severity"] == "Invalid enum value 'terrible' (one of: mild, moderate, severe)"


async def test_an_item_of_a_batch(client: httpx.AsyncClient, person: Person) -> None:
    good = {"type": "body_weight", "value": 70, "unit": "kg", "effectiveAt": at(5)}
    bad = {
        "type": "blood_glucose",
        "value": 95,
        "unit": "mg/dL",
        "effectiveAt": at(10),
        "glucoseMoment": "breakfast",
    }
    answer = await client.post(VITALS, json={"measurements": [good, bad]}, headers=person.headers)
    assert _errors(answer, 422)["/measurements/1/glucoseMoment"] == (
        "Invalid enum value 'breakfast' (one of: fasting, before_meal, after_meal, bedtime, random)"
    )


async def test_a_query_parameter(client: httpx.AsyncClient, person: Person) -> None:
    answer = await client.get(
        f"{VITALS}/summary", params={"type": "body_weight", "bucket": "year"}, headers=person.headers
    )
    assert _errors(answer, 400)["/bucket"] == "Invalid enum value 'year' (one of: day, week, month)"
