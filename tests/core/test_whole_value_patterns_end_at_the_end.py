"""A value checked whole by a pattern ends where the pattern ends: Python's ``$`` also matched before a
final newline, so "10003826475\\n" passed as an RPPS number (then a 500 in its check digit), "E11.9\\n"
was stored and exported as a CIM-10 code; and ``\\d`` took any script's digits, so a booklet date in
Arabic-Indic digits was stored and exported as a FHIR date (a review). Each is now a 422, and the same
values without the stray character still pass."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers.people import Person

CASES = [
    ("PUT", "/v1/spaces/me/doctor", {"givenName": "Anne", "familyName": "Morel", "rpps": "10003826475{}"}),
    ("POST", "/v1/spaces/me/profile/conditions", {"label": "Diabète", "code": "E11.9{}"}),
    (
        "POST",
        "/v1/spaces/me/emergency-contacts",
        {"givenName": "Paul", "familyName": "Morel", "phones": ["0612345678"], "email": "paul@example.fr{}"},
    ),
    ("POST", "/v1/spaces/me/vaccinations", {"vaccineName": "Revaxis", "diseases": ["tetanus"], "date": "2020-03-12{}"}),
    ("POST", "/v1/spaces/me/vaccinations", {"vaccineName": "Revaxis", "diseases": ["tetanus{}"], "date": "2021-03-12"}),
]


def _with(body: dict[str, object], tail: str) -> dict[str, object]:
    def fill(value: object) -> object:
        if isinstance(value, str):
            return value.replace("{}", tail)
        if isinstance(value, list):
            return [fill(item) for item in value]
        return value

    return {key: fill(value) for key, value in body.items()}


@pytest.mark.parametrize(("method", "path", "body"), CASES, ids=lambda case: str(case)[:40])
async def test_a_trailing_newline_is_refused_and_the_value_without_it_is_taken(
    client: httpx.AsyncClient, person: Person, method: str, path: str, body: dict[str, object]
) -> None:
    refused = await client.request(method, path, json=_with(body, "\n"), headers=person.headers)
    assert refused.status_code in (400, 422), refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    taken = await client.request(method, path, json=_with(body, ""), headers=person.headers)
    assert taken.status_code in (200, 201), taken.text


async def test_a_booklet_date_in_other_digits_is_refused(client: httpx.AsyncClient, person: Person) -> None:
    body = {"vaccineName": "Revaxis", "diseases": ["tetanus"], "date": "٢٠٢٠-٠٣-١٢"}
    refused = await client.post("/v1/spaces/me/vaccinations", json=body, headers=person.headers)
    assert refused.status_code in (400, 422), refused.text
    booklet = await client.get("/v1/spaces/me/vaccinations", headers=person.headers)
    assert booklet.json()["items"] == []
