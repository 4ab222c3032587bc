"""The access-history row is written after the handler, as the answer starts: when that write fails
(the database lost between the handler and the row), the handler's answer does not leave. The
caller gets a problem+json instead, 503 with ``Retry-After`` when the database is out of reach, 500
otherwise, with the request's id, and nothing of the space.

The failure used to escape the app after the answer had started from litestar's view: the server
(uvicorn) then sent a bare text/plain 500 and logged "Exception in ASGI application". Seen in a
real ``ens serve`` under load while PostgreSQL's connections were killed.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from ens.spaces import history
from tests.helpers.people import MakeAppToken, Person
from tests.helpers.vitals import weight


def _failing_history(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    async def insert(group: Any) -> None:
        raise error

    monkeypatch.setattr(history.GroupCommit, "_insert", staticmethod(insert))


async def test_a_read_whose_row_cannot_be_written_is_a_503_without_the_data(
    client: httpx.AsyncClient, person: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = await client.post("/v1/spaces/me/vitals", json={"measurements": [weight(71.5)]}, headers=person.headers)
    assert written.status_code == 201
    lost = asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")
    _failing_history(monkeypatch, lost)
    answer = await client.get("/v1/spaces/me/vitals", headers={**person.headers, "X-Request-Id": "a" * 32})
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert int(answer.headers["retry-after"]) > 0
    assert answer.headers["x-request-id"] == "a" * 32
    assert answer.headers["cache-control"] == "no-store"  # the app's headers, as on every answer
    assert answer.headers["x-content-type-options"] == "nosniff"
    body = answer.json()
    assert body["status"] == 503 and "database" in body["detail"] and "a" * 32 in body["detail"]
    assert "71.5" not in answer.text and "items" not in body
    monkeypatch.undo()
    assert (await client.get("/v1/spaces/me/vitals", headers=person.headers)).json()["items"][0]["value"] == 71.5


async def test_any_other_failure_of_the_row_is_a_500_problem(
    client: httpx.AsyncClient, person: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    _failing_history(monkeypatch, KeyError("a column"))
    answer = await client.get("/v1/spaces/me", headers=person.headers)
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["status"] == 500 and person.given_name not in answer.text
    assert answer.headers["x-request-id"]


async def test_on_the_fhir_routes_the_failure_is_an_operation_outcome(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:read"])
    _failing_history(monkeypatch, asyncpg.AdminShutdownError("terminating connection due to administrator command"))
    answer = await client.get("/fhir/Observation", params={"code": "29463-7"}, headers=app.headers)
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/fhir+json")
    assert answer.json()["resourceType"] == "OperationOutcome"
