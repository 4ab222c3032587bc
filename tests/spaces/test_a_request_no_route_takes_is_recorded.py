"""A request naming a space the caller sees gets its history row even when no route takes it
(audit, 2026-12-01): an address no route has, a method the address does not take, an id that is no
id. litestar answers those before any route's door (``ens.app.stray``)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from ens.app import stray
from ens.auth.clients import MOBILE_CLIENT_ID
from tests.helpers.people import HistoryRows, MakeAppToken, MakePerson, Person


async def _new_rows(history: HistoryRows, person: Person, before: int) -> list[dict[str, Any]]:
    return (await history(person.space_id))[before:]


@pytest.mark.parametrize(
    ("method", "path", "status", "action", "resource"),
    [
        ("GET", "/v1/spaces/me/nothing", 404, "GET /v1/spaces/{space}/…", "space"),
        ("PUT", "/v1/spaces/me/vitals", 405, "PUT /v1/spaces/{space}/vitals", "vitals"),
        ("GET", "/v1/spaces/me/vitals/not-a-uuid", 404, "GET /v1/spaces/{space}/vitals/…", "vitals"),
        ("DELETE", "/v1/spaces/me/documents/x/y/z", 404, "DELETE /v1/spaces/{space}/documents/…", "documents"),
    ],
)
async def test_a_holders_request_no_route_takes_is_in_their_history(
    client: httpx.AsyncClient,
    person: Person,
    history: HistoryRows,
    method: str,
    path: str,
    status: int,
    action: str,
    resource: str,
) -> None:
    before = len(await history(person.space_id))
    answer = await client.request(method, path, headers={**person.headers, "X-Request-Id": "r" * 32})
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["status"] == status
    if status == 405:
        assert "GET" in answer.headers["allow"]  # litestar's own answer, untouched
    rows = await _new_rows(history, person, before)
    assert [(r["action"], r["outcome"], r["resource_type"], r["acting_as"]) for r in rows] == [
        (action, status, resource, "holder")
    ]
    assert rows[0]["request_id"] == "r" * 32 == answer.headers["x-request-id"]
    assert rows[0]["actor_account_id"] == person.account_id
    # The holder reads it as any other row, in plain words.
    listed = await client.get("/v1/spaces/me/access-history", params={"limit": 2}, headers=person.headers)
    described = next(item for item in listed.json()["items"] if item["outcome"] == status)
    assert described["description"].endswith(f"({'méthode non acceptée' if status == 405 else 'introuvable'}).")


async def test_the_space_by_its_id_and_an_apps_request_are_recorded_too(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken, history: HistoryRows
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:read"])
    before = len(await history(person.space_id))
    by_id = await client.get(f"/v1/spaces/{person.space_id}/nothing", headers=person.headers)
    by_app = await client.patch("/v1/spaces/me/vitals", headers=app.headers)
    assert (by_id.status_code, by_app.status_code) == (404, 405)
    rows = await _new_rows(history, person, before)
    assert [(r["acting_as"], r["client_id"], r["outcome"]) for r in rows] == [
        ("holder", MOBILE_CLIENT_ID, 404),
        ("app", app.client_id, 405),
    ]


async def test_an_address_is_kept_as_its_template_never_as_written(
    client: httpx.AsyncClient, person: Person, history: HistoryRows
) -> None:
    """Written as sent, an item's id reached representatives it is hidden from, and any text could
    be written into the history (an outside audit): the row keeps the method and the resource."""
    before = len(await history(person.space_id))
    item = uuid.uuid4()
    for path in (
        "/v1/spaces/me/Tension%20170%20HIV%2B",
        "/v1/spaces/me/no%0Athing",
        "/v1/spaces/me/" + "x" * 400,
        f"/v1/spaces/me/profile/conditions/{item}/history",
    ):
        assert (await client.get(path, headers=person.headers)).status_code == 404
    assert (await client.put(f"/v1/spaces/me/profile/conditions/{item}", headers=person.headers)).status_code == 405
    rows = await _new_rows(history, person, before)
    assert [r["action"] for r in rows] == [
        "GET /v1/spaces/{space}/…",
        "GET /v1/spaces/{space}/…",
        "GET /v1/spaces/{space}/…",
        "GET /v1/spaces/{space}/profile/…",
        "PUT /v1/spaces/{space}/profile/…",
    ]


async def test_on_a_space_the_caller_cannot_see_nothing_is_recorded_and_the_operators_are_told(
    client: httpx.AsyncClient,
    person: Person,
    make_person: MakePerson,
    history: HistoryRows,
    caplog: pytest.LogCaptureFixture,
) -> None:
    other = await make_person()
    theirs = len(await history(other.space_id))
    mine = len(await history(person.space_id))
    with caplog.at_level(logging.WARNING, logger="ens.security"):
        on_theirs = await client.get(f"/v1/spaces/{other.space_id}/nothing", headers=person.headers)
        on_none = await client.put(f"/v1/spaces/{uuid.uuid4()}/vitals", headers=person.headers)
    # The same answers as for a space that does not exist: nothing told about the other's.
    assert (on_theirs.status_code, on_none.status_code) == (404, 405)
    assert len(await history(other.space_id)) == theirs and len(await history(person.space_id)) == mine
    refused = [r for r in caplog.records if getattr(r, "event", None) == "space_not_visible"]
    assert len(refused) == 2
    assert all(getattr(r, "request_id", "") for r in refused)
    assert person.token not in caplog.text


async def test_without_a_valid_token_no_one_is_recorded(
    client: httpx.AsyncClient, person: Person, history: HistoryRows
) -> None:
    before = len(await history(person.space_id))
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": f"Basic {person.token}"}):
        assert (await client.get("/v1/spaces/me/nothing", headers=headers)).status_code == 404
    assert len(await history(person.space_id)) == before


async def test_when_the_row_cannot_be_written_the_answer_is_the_503_not_the_404(
    client: httpx.AsyncClient, person: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def lost(*args: Any, **kwargs: Any) -> None:
        raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")

    monkeypatch.setattr(stray, "record_stray_request", lost)
    answer = await client.get("/v1/spaces/me/nothing", headers={**person.headers, "X-Request-Id": "b" * 32})
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert int(answer.headers["retry-after"]) > 0
    assert int(answer.headers["content-length"]) == len(answer.content)
    assert answer.json()["status"] == 503 and "database" in answer.json()["detail"]
    assert answer.headers["x-content-type-options"] == "nosniff"  # the app's headers, as on every answer
