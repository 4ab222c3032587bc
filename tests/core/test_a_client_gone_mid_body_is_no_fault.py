"""A client that goes away before its body ends (a phone losing its network mid-request) is the
request's end, not a fault of the service: no error logged with a traceback, and the space's history
does not say 500 (an outside review, 2026-12-02: both did)."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from litestar import Litestar

from tests.helpers.people import MakePerson


async def _cut_short(app: Litestar, method: str, path: str, token: str) -> list[dict[str, Any]]:
    """The request with 10 of its announced 100 bytes, then the client gone; what the app sent."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver.local"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", b"100"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver.local", 80),
        "state": {},
    }
    messages = iter([{"type": "http.request", "body": b'{"name": "', "more_body": True}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # type: ignore[arg-type]
    return sent


@pytest.mark.parametrize(("method", "path"), [("PUT", "/v1/spaces/me/doctor"), ("POST", "/v1/spaces/me/vitals")])
async def test_a_body_cut_short_is_a_400_in_the_history_and_no_error_in_the_log(
    app: Litestar,
    client: httpx.AsyncClient,
    make_person: MakePerson,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
) -> None:
    person = await make_person()
    with caplog.at_level(logging.INFO):
        sent = await _cut_short(app, method, path, person.headers["Authorization"].removeprefix("Bearer "))
    start = next(message for message in sent if message["type"] == "http.response.start")
    assert start["status"] == 400
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR], caplog.text
    rows = (await client.get("/v1/spaces/me/access-history?limit=5", headers=person.headers)).json()["items"]
    [row] = [row for row in rows if row["action"].startswith(method + " ") and row["action"].endswith(path[16:])]
    assert row["outcome"] == 400, row
