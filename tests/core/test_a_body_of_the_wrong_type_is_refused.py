"""A JSON body's wrong type is refused (422 at its pointer), never converted: litestar's lax
conversion made ``"priority": "2"`` the number 2 and ``"hiddenFromRepresentatives": "true"`` true (an
outside review, 2026-12-02); API.md asks a wrong type to be a 4xx that says what is wrong. Nothing is
stored by a refused request."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers.people import MakePerson

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
