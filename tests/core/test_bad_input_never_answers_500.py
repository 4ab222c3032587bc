"""Inputs that once answered 500 (hardening review, item 4): each is a 4xx problem+json, and
nothing is stored. Run on both databases (a NUL character only broke PostgreSQL)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ens.core import db
from tests.helpers.people import HistoryRows, Person
from tests.helpers.vitals import VITALS, at, weight


async def _rows(person: Person) -> int:
    found = await db.fetch("SELECT COUNT(*) AS n FROM vital_measurements WHERE space_id = {}", person.space_id)
    return int(found[0]["n"])


def _is_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"].startswith("urn:ens:problem:")
    return body


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("vitals?since=0001-01-01", "/since"),
        ("vitals?until=0001-01-01T00:00:00%2B14:00", "/until"),
        ("vitals?since=9999-12-31T23:59:59-14:00", "/since"),
        ("vitals/summary?type=body_weight&until=9999-12-31", "/until"),
        ("vitals/summary?type=body_weight&since=0001-01-01", "/since"),
    ],
)
async def test_instants_at_the_edge_of_the_calendar_are_400(
    client: httpx.AsyncClient, person: Person, query: str, pointer: str
) -> None:
    body = _is_problem(await client.get(f"/v1/spaces/me/{query}", headers=person.headers), 400)
    assert body["errors"][0]["pointer"] == pointer


@pytest.mark.parametrize(
    ("item", "pointer"),
    [
        ({"effectiveAt": "0001-01-01T00:00:00+14:00"}, "/measurements/1/effectiveAt"),
        ({"effectiveAt": "9999-12-31T23:59:59-14:00"}, "/measurements/1/effectiveAt"),
        ({"value": 1e308}, "/measurements/1/value"),
        ({"value": 1e308, "unit": "[lb_av]"}, "/measurements/1/value"),
        ({"value": -1e308}, "/measurements/1/value"),
        ({"value": 12345678901234567890123456789}, "/measurements/1/value"),
        ({"note": "before\x00after"}, "/measurements/1/note"),
        ({"clientRecordId": "id\x00"}, "/measurements/1/clientRecordId"),
        ({"device": {"manufacturer": "\x00"}}, "/measurements/1/device/manufacturer"),
        # Nor another control character but tab, line feed and carriage return (an outside audit).
        ({"note": "bip\x07"}, "/measurements/1/note"),
        ({"note": "\x1b[2J"}, "/measurements/1/note"),
        ({"device": {"model": "M\x85"}}, "/measurements/1/device/model"),
    ],
)
async def test_a_bad_item_is_422_at_its_pointer_and_nothing_is_stored(
    client: httpx.AsyncClient, person: Person, item: dict[str, Any], pointer: str
) -> None:
    batch = {"measurements": [weight(), {**weight(), **item}]}
    body = _is_problem(await client.post(VITALS, json=batch, headers=person.headers), 422)
    assert [e["pointer"] for e in body["errors"]] == [pointer]
    assert await _rows(person) == 0


@pytest.mark.parametrize(
    "raw",
    [b"[" * 100_000, b'{"measurements": [' * 50_000, b'{"measurements": ["\xff"]}', b"\xff\xfe", b"\x00"],
    ids=["deep-arrays", "deep-objects", "latin1-in-string", "not-utf8", "nul-byte"],
)
async def test_an_unreadable_body_is_400(client: httpx.AsyncClient, person: Person, raw: bytes) -> None:
    headers = {**person.headers, "content-type": "application/json"}
    _is_problem(await client.post(VITALS, content=raw, headers=headers), 400)
    assert await _rows(person) == 0


async def test_a_correction_beyond_any_magnitude_is_422_and_changes_nothing(
    client: httpx.AsyncClient, person: Person
) -> None:
    created = await client.post(VITALS, json={"measurements": [weight(71.0)]}, headers=person.headers)
    measure_id = created.json()["items"][0]["id"]
    for value in (1e300, -1e300):
        body = _is_problem(
            await client.patch(f"{VITALS}/{measure_id}", json={"value": value}, headers=person.headers), 422
        )
        assert body["errors"][0]["pointer"] == "/value"
    assert (await client.get(f"{VITALS}/{measure_id}", headers=person.headers)).json()["value"] == 71.0
    _is_problem(await client.patch(f"{VITALS}/{measure_id}", json={"note": "a\x00b"}, headers=person.headers), 422)
    correction = {"effectiveAt": "0001-01-01T00:00:00+14:00"}
    _is_problem(await client.patch(f"{VITALS}/{measure_id}", json=correction, headers=person.headers), 422)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/spaces/me/vitals?type=%00", None),
        ("GET", "/v1/spaces/me/vitals?cursor=a%00b", None),
        # In a path no route matches (an id that is no id, an unknown address): litestar answers
        # those before any middleware runs; it said 404 (an outside audit).
        ("GET", "/v1/spaces/me/vitals/%00", None),
        ("GET", "/nowhere%00", None),
        ("POST", "/v1/spaces/me/vitals/%00", b"{}"),
    ],
)
async def test_a_nul_in_the_address_is_400_even_without_a_token(
    client: httpx.AsyncClient, method: str, path: str, body: bytes | None
) -> None:
    _is_problem(await client.request(method, path, content=body), 400)


async def test_a_nul_in_a_path_no_route_matches_is_400_in_the_spaces_history_too(
    client: httpx.AsyncClient, person: Person, history: HistoryRows
) -> None:
    for path in ("/v1/spaces/me/vitals/%00", "/v1/spaces/me/nothing%00here"):
        answer = await client.get(path, headers=person.headers)
        _is_problem(answer, 400)
        assert answer.json()["detail"] == "The address contains a NUL character."
    assert [row["outcome"] for row in await history(person.space_id)][-2:] == [400, 400]


async def test_a_nul_in_the_address_is_told_in_the_language_of_the_address(client: httpx.AsyncClient) -> None:
    """The token and revocation endpoints answer RFC 6749 JSON for every refusal, the FHIR door an
    OperationOutcome (an outside audit found problem+json at the token endpoint)."""
    form = {"content-type": "application/x-www-form-urlencoded"}
    for endpoint in ("/oauth/token?x=%00", "/oauth/revoke?x=%00"):
        answer = await client.post(endpoint, content=b"client_id=ens-mobile", headers=form)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"] == "invalid_request" and answer.headers["cache-control"] == "no-store"
    fhir = await client.get("/fhir/metadata?x=%00")
    assert fhir.status_code == 400 and fhir.json()["resourceType"] == "OperationOutcome"
    for browser in ("/oauth/authorize?client_id=%00&response_type=code", "/oauth/callback?state=%00&code=x"):
        page = await client.get(browser)  # a login page, as every refusal a browser meets there
        assert page.status_code == 400 and page.headers["content-type"].startswith("text/html"), page.text


async def test_a_nul_in_a_token_request_is_refused_without_touching_the_database(client: httpx.AsyncClient) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    response = await client.post("/oauth/token", content=b"grant_type=refresh_token&client_id=%00", headers=form)
    assert 400 <= response.status_code < 500, response.text


async def test_a_measure_near_the_calendar_edge_in_its_own_zone_is_accepted_when_plausible(
    client: httpx.AsyncClient, person: Person
) -> None:
    """The bounds refuse the absurd, not the real: a reading from last year at +14:00 is stored."""
    batch = {"measurements": [weight(effectiveAt=at(60 * 24 * 200).replace("Z", "+14:00"))]}
    assert (await client.post(VITALS, json=batch, headers=person.headers)).status_code == 201


async def test_a_control_character_is_422_at_its_field_in_any_body(client: httpx.AsyncClient, person: Person) -> None:
    """An escape sequence in a contact's name, a U+0001 in an e-mail address: stored, and dropped by
    the PDF, which then printed other words than stored (an outside audit). A tab, a line feed and a
    carriage return stay (a note's lines)."""
    contact = {"givenName": "Pa\x1b[2Jul", "familyName": "Martin", "phones": ["0612345678"]}
    answer = await client.post("/v1/spaces/me/emergency-contacts", json=contact, headers=person.headers)
    assert [e["pointer"] for e in _is_problem(answer, 422)["errors"]] == ["/givenName"]
    assert "U+001B" in answer.text
    doctor = {"givenName": "Claire", "familyName": "Bernard\x01"}
    answer = await client.put("/v1/spaces/me/doctor", json=doctor, headers=person.headers)
    assert [e["pointer"] for e in _is_problem(answer, 422)["errors"]] == ["/familyName"]
    kept = await client.post(VITALS, json={"measurements": [weight(note="matin\r\n\tà jeun")]}, headers=person.headers)
    assert kept.status_code == 201, kept.text
