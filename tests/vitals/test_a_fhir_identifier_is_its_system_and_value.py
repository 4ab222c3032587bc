"""FHIR identifies by system and value: two systems numbering their measures alike are two measures.

ENS took ``identifier[0].value`` alone as the app's ``clientRecordId``, so a measure sent under
``urn:b|v`` after one under ``urn:a|v`` answered the first, and was dropped; a conditional create
``identifier=urn:b|v`` found the other system's measure (an outside audit). The key is now FHIR's
token ``system|value``, or the value alone where the identifier has no system or the app's own
(``urn:ens:client:<client id>``, the one ENS's export gives), so an exported Observation sent back
finds its measure.
"""

from __future__ import annotations

import httpx

from ens.core import db
from tests.helpers.people import MakeAppToken, Person
from tests.helpers.vitals import VITALS
from tests.vitals.test_a_fhir_retry_never_duplicates import conditional, location, outcome, stored
from tests.vitals.test_fhir_intake import body_weight, transaction


async def keys(person: Person) -> list[str]:
    """The keys the space's measures are stored under (the app's clientRecordId)."""
    rows = await db.fetch(
        "SELECT client_record_id FROM vital_measurements WHERE space_id = {} ORDER BY client_record_id",
        person.space_id,
    )
    return [str(row["client_record_id"]) for row in rows]


def measure_id(answer: httpx.Response) -> str:
    return location(answer).rsplit("Observation/", 1)[1]


async def test_two_systems_with_one_value_are_two_measures(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"])
    first = await client.post(
        "/fhir", json=transaction(body_weight(70, identifier=[{"system": "urn:a", "value": "1"}])), headers=app.headers
    )
    second = await client.post(
        "/fhir", json=transaction(body_weight(72, identifier=[{"system": "urn:b", "value": "1"}])), headers=app.headers
    )
    assert location(first).startswith("201 Created") and location(second).startswith("201 Created")
    assert measure_id(first) != measure_id(second)
    assert await stored(person.space_id) == 2
    for answer, value in ((first, 70), (second, 72)):
        measure = (await client.get(f"{VITALS}/{measure_id(answer)}", headers=person.headers)).json()
        assert measure["value"] == value
    assert await keys(person) == ["urn:a|1", "urn:b|1"]
    # Each re-sent finds its own.
    again = await client.post(
        "/fhir", json=transaction(body_weight(72, identifier=[{"system": "urn:b", "value": "1"}])), headers=app.headers
    )
    assert location(again) == location(second).replace("201 Created", "200 OK")
    assert await stored(person.space_id) == 2


async def test_a_conditional_create_never_answers_another_systems_measure(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:write"])
    other = await client.post(
        "/fhir", json=transaction(body_weight(70, identifier=[{"system": "urn:y", "value": "v"}])), headers=app.headers
    )
    bundle = conditional(
        transaction(body_weight(75, identifier=[{"system": "urn:x", "value": "v"}])), "identifier=urn:x|v"
    )
    created = await client.post("/fhir", json=bundle, headers=app.headers)
    assert location(created).startswith("201 Created") and measure_id(created) != measure_id(other)
    assert location(await client.post("/fhir", json=bundle, headers=app.headers)) == location(created).replace(
        "201 Created", "200 OK"
    )
    assert await stored(person.space_id) == 2


async def test_no_system_or_the_apps_own_is_the_value_alone_as_on_v1(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"])
    typed = await client.post(
        VITALS,
        json={
            "measurements": [
                {
                    "type": "body_weight",
                    "value": 70,
                    "unit": "kg",
                    "effectiveAt": body_weight()["effectiveDateTime"],
                    "clientRecordId": "w-7",
                    "clientRecordVersion": 1,
                }
            ]
        },
        headers=app.headers,
    )
    assert typed.status_code == 201, typed.text
    stored_id = typed.json()["items"][0]["id"]
    # The identifier ENS's export gives the app's measure (its own system), a higher version: the
    # same measure, replaced.
    own = body_weight(69, identifier=[{"system": f"urn:ens:client:{app.client_id}", "value": "w-7"}])
    own["meta"]["versionId"] = "2"
    replaced = await client.post("/fhir", json=transaction(own), headers=app.headers)
    assert location(replaced) == f"200 OK Observation/{stored_id}"
    no_system = body_weight(68, identifier=[{"value": "w-7"}])
    no_system["meta"]["versionId"] = "3"
    again = await client.post("/fhir", json=transaction(no_system), headers=app.headers)
    assert location(again) == f"200 OK Observation/{stored_id}"
    measure = (await client.get(f"{VITALS}/{stored_id}", headers=person.headers)).json()
    assert measure["value"] == 68
    assert await keys(person) == ["w-7"]
    assert await stored(person.space_id) == 1


async def test_a_system_and_value_too_long_to_keep_are_422_at_the_identifier(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:write"])
    long = body_weight(identifier=[{"system": "urn:oid:" + "1." * 50 + "1", "value": "v" * 30}])
    body = outcome(await client.post("/fhir", json=transaction(long), headers=app.headers), 422)
    issue = body["issue"][0]
    assert issue["expression"] == ["Bundle.entry[1].resource.identifier[0]"]
    assert "at most 128" in issue["diagnostics"]
    assert await stored(person.space_id) == 0
