"""The import takes what the export makes — a FHIR ``Bundle`` of type ``collection`` — and refuses
anything else before writing: a list, another resource, an export wrapped in another object, a
Bundle of another type, an ``entry`` that is no list (an outside review, 2026-12-02: each answered
201, some having imported nothing, one having imported the entries of a Patient). An entry sent
twice under one ``fullUrl`` is refused rather than stored twice."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers.people import MakePerson

IMPORT = "/v1/spaces/me/import"
EXPORT = "/v1/spaces/me/export"
CONDITION = {
    "fullUrl": "urn:uuid:7f0c3f7e-8d7c-4a55-9d36-1f7d6c0b8b11",
    "resource": {
        "resourceType": "Condition",
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J45", "display": "Asthme"}]},
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
        },
    },
}


async def _export_of_a_condition(client: httpx.AsyncClient, make_person: MakePerson) -> dict[str, Any]:
    source = await make_person("Source")
    added = await client.post(
        "/v1/spaces/me/profile/conditions", json={"code": "J45", "label": "Asthme"}, headers=source.headers
    )
    assert added.status_code == 201, added.text
    export: dict[str, Any] = (await client.get(EXPORT, headers=source.headers)).json()
    return export


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ([], "/resourceType"),
        ({"resourceType": "Patient"}, "/resourceType"),
        ({"resourceType": "Patient", "entry": [CONDITION]}, "/resourceType"),
        ({"entry": [CONDITION]}, "/resourceType"),
        ({"resourceType": "Bundle", "type": "transaction", "entry": [CONDITION]}, "/type"),
        ({"resourceType": "Bundle", "type": "searchset", "entry": [CONDITION]}, "/type"),
        ({"resourceType": "Bundle", "entry": [CONDITION]}, "/type"),
        ({"resourceType": "Bundle", "type": "collection", "entry": {}}, "/entry"),
        ({"resourceType": "Bundle", "type": "collection", "entry": "x"}, "/entry"),
    ],
)
async def test_what_is_no_export_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, make_person: MakePerson, body: Any, pointer: str
) -> None:
    newcomer = await make_person("Camille")
    answer = await client.post(IMPORT, json=body, headers=newcomer.headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert [error["pointer"] for error in answer.json()["errors"]] == [pointer]
    after = (await client.get(EXPORT, headers=newcomer.headers)).json()
    assert [entry["resource"]["resourceType"] for entry in after["entry"]] == ["Patient"]


async def test_an_export_wrapped_in_another_object_is_refused(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    export = await _export_of_a_condition(client, make_person)
    newcomer = await make_person("Camille")
    wrapped = await client.post(IMPORT, json={"bundle": export}, headers=newcomer.headers)
    assert wrapped.status_code == 422 and wrapped.json()["errors"][0]["pointer"] == "/resourceType"
    # The export itself imports; an empty collection imports nothing, and says so.
    assert (await client.post(IMPORT, json=export, headers=newcomer.headers)).status_code == 201
    other = await make_person("Dominique")
    empty = await client.post(IMPORT, json={"resourceType": "Bundle", "type": "collection"}, headers=other.headers)
    assert empty.status_code == 201 and empty.json() == {"imported": {}, "notImported": []}


async def test_an_entry_twice_under_one_full_url_is_refused(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    export = await _export_of_a_condition(client, make_person)
    [condition] = [entry for entry in export["entry"] if entry["resource"]["resourceType"] == "Condition"]
    twice = {**export, "entry": [*export["entry"], condition]}
    newcomer = await make_person("Camille")
    answer = await client.post(IMPORT, json=twice, headers=newcomer.headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["pointer"] == f"/entry/{len(export['entry'])}/fullUrl"
    conditions = await client.get("/v1/spaces/me/profile/conditions", headers=newcomer.headers)
    assert conditions.json()["items"] == []
