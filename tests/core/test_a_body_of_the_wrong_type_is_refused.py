"""A JSON body's wrong type is refused (422 at its pointer), never converted: litestar's lax
conversion made ``"priority": "2"`` the number 2 and ``"hiddenFromRepresentatives": "true"`` true (an
outside review, 2026-12-02); API.md asks a wrong type to be a 4xx that says what is wrong. Nothing is
stored by a refused request."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.helpers.people import MakeAppToken, MakePerson
from tests.vitals.test_fhir_intake import body_weight, transaction

CONTACT = {"givenName": "Paul", "familyName": "Martin", "relationship": "frère", "phones": ["+33612345678"]}


@pytest.mark.parametrize(
    ("path", "body", "pointer"),
    [
        ("/v1/spaces/me/emergency-contacts", {**CONTACT, "priority": "2"}, "/priority"),
        (
            "/v1/spaces/me/emergency-contacts",
            {**CONTACT, "hiddenFromRepresentatives": "true"},
            "/hiddenFromRepresentatives",
        ),
        (
            "/v1/spaces/me/profile/allergies",
            {"substance": "Pollen", "hiddenFromRepresentatives": "false"},
            "/hiddenFromRepresentatives",
        ),
        ("/v1/spaces/me/profile/allergies", {"substance": 12}, "/substance"),
    ],
)
async def test_a_string_for_a_number_or_a_boolean_is_refused(
    client: httpx.AsyncClient, make_person: MakePerson, path: str, body: dict[str, object], pointer: str
) -> None:
    person = await make_person()
    answer = await client.post(path, json=body, headers=person.headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert [error["pointer"] for error in answer.json()["errors"]] == [pointer]
    assert (await client.get(path, headers=person.headers)).json()["items"] == []


async def test_the_right_types_still_pass_and_the_emergency_switch_takes_only_a_boolean(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    person = await make_person()
    added = await client.post(
        "/v1/spaces/me/emergency-contacts", json={**CONTACT, "priority": 1}, headers=person.headers
    )
    assert added.status_code == 201, added.text
    assert added.json()["priority"] == 1
    switch = "/v1/spaces/me/emergency-access"
    for wrong in ("false", 0, None):
        refused = await client.put(switch, json={"allowed": wrong}, headers=person.headers)
        assert refused.status_code == 422 and refused.json()["errors"][0]["pointer"] == "/allowed", refused.text
    assert (await client.get(switch, headers=person.headers)).json() == {"allowed": True}


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_a_json_route_takes_only_json(
    client: httpx.AsyncClient, make_person: MakePerson, content_type: str | None
) -> None:
    """An outside review: a batch of measures sent as text/plain was stored."""
    person = await make_person()
    body = b'{"measurements":[{"type":"body_weight","value":70,"unit":"kg","effectiveAt":"2026-11-07T08:00:00+01:00"}]}'
    headers = {**person.headers, **({"Content-Type": content_type} if content_type else {})}
    answer = await client.post("/v1/spaces/me/vitals", content=body, headers=headers)
    assert answer.status_code == 415, answer.text
    assert answer.json()["type"] == "urn:ens:problem:unsupported-media-type"
    assert (await client.get("/v1/spaces/me/vitals", headers=person.headers)).json()["items"] == []
    typed = await client.post(
        "/v1/spaces/me/vitals", content=body, headers={**person.headers, "Content-Type": "application/json"}
    )
    assert typed.status_code == 201, typed.text


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded", None])
async def test_the_routes_that_read_their_own_body_take_only_json_too(
    client: httpx.AsyncClient, make_person: MakePerson, make_app_token: MakeAppToken, content_type: str | None
) -> None:
    """The FHIR door and the import read their body themselves: they stored a Bundle sent as
    text/plain, XML or a form, or with no Content-Type (an outside audit)."""
    person = await make_person()
    app = await make_app_token(person, ["vitals.body_weight:write"])
    headers = {**({"Content-Type": content_type} if content_type else {})}
    fhir = await client.post(
        "/fhir", content=json.dumps(transaction(body_weight(70))).encode(), headers={**app.headers, **headers}
    )
    assert fhir.status_code == 415, fhir.text
    assert fhir.json()["resourceType"] == "OperationOutcome"
    newcomer = await make_person()
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": []}
    imported = await client.post(
        "/v1/spaces/me/import", content=json.dumps(bundle).encode(), headers={**newcomer.headers, **headers}
    )
    assert imported.status_code == 415, imported.text
    assert imported.json()["type"] == "urn:ens:problem:unsupported-media-type"
    assert (await client.get("/v1/spaces/me/vitals", headers=person.headers)).json()["items"] == []
    for kind in ("application/fhir+json", "application/json; charset=utf-8"):
        typed = await client.post(
            "/fhir",
            content=json.dumps(transaction(body_weight(70))).encode(),
            headers={**app.headers, "Content-Type": kind},
        )
        assert typed.status_code == 200, typed.text
