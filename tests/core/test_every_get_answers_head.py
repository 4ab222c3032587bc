"""RFC 9110 §9.1: every general-purpose server supports GET and HEAD. Each GET of the API answers
HEAD with the GET's status and headers and no body, behind the same door, with its own row in the
space's access history (a read). They answered 405 (the last notes' "left out"). The export is the
exception: it is written as it is read, and a HEAD would build it whole to send none of it."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Litestar

from ens.core.api import get_and_head
from ens.vitals.scopes import scope_name
from tests.helpers.people import HistoryRows, MakeAppToken, MakePerson, Person

VITALS = "/v1/spaces/me/vitals"
EXPORT = "/v1/spaces/{space:str}/export"
# GET routes outside the API: the login's pages and the OAuth endpoints that start or end a login
# (a HEAD there would open or close one), and the embedded development provider.
NOT_THE_API = ("/oauth/", "/login/", "/dev-idp/", "/dev-pro-idp/", "/schema")


def _methods(app: Litestar) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            found.setdefault(route.path, set()).update(handler.http_methods)
    return found


def test_every_get_of_the_api_takes_head_but_the_export(app: Litestar) -> None:
    without = [
        path
        for path, methods in _methods(app).items()
        if "GET" in methods and "HEAD" not in methods and path != EXPORT and not path.startswith(NOT_THE_API)
    ]
    assert without == []
    assert "HEAD" not in _methods(app)[EXPORT]
    assert len([p for p, m in _methods(app).items() if p.startswith("/v1/") and "HEAD" in m]) >= 40


async def _vitals(client: httpx.AsyncClient, person: Person) -> None:
    batch = {
        "measurements": [
            {"type": "body_weight", "value": 70 + n / 10, "unit": "kg", "effectiveAt": f"2026-11-0{n + 1}T08:00:00Z"}
            for n in range(3)
        ]
    }
    assert (await client.post(VITALS, json=batch, headers=person.headers)).status_code == 201


async def test_a_head_answers_the_gets_status_and_headers_without_its_body(
    client: httpx.AsyncClient, person: Person
) -> None:
    await _vitals(client, person)
    for path in (VITALS + "?limit=2", "/v1/spaces/me", "/v1/spaces/me/vaccinations", "/v1/me", "/v1/vital-types"):
        got = await client.get(path, headers=person.headers)
        headed = await client.head(path, headers=person.headers)
        assert (headed.status_code, got.status_code) == (200, 200), (path, headed.text)
        assert headed.content == b""
        for name in ("content-type", "content-length", "etag", "cache-control", "vary"):
            assert headed.headers.get(name) == got.headers.get(name), (path, name)
    # Compressed as the GET is (the same length and encoding, above); uncompressed, its body's length.
    plain = {**person.headers, "Accept-Encoding": "identity"}
    got = await client.get("/v1/vital-types", headers=plain)
    headed = await client.head("/v1/vital-types", headers=plain)
    assert "content-encoding" not in headed.headers and got.headers.get("content-encoding") is None
    assert int(headed.headers["content-length"]) == len(got.content) > 1024
    # A CSV asked with Accept: the CSV's headers.
    csv = {**person.headers, "Accept": "text/csv"}
    assert (await client.head(VITALS, headers=csv)).headers["content-type"].startswith("text/csv")


async def test_a_current_etag_makes_a_head_304(client: httpx.AsyncClient, person: Person) -> None:
    await _vitals(client, person)
    etag = (await client.get(VITALS, headers=person.headers)).headers["etag"]
    same = await client.head(VITALS, headers={**person.headers, "If-None-Match": etag})
    assert same.status_code == 304 and same.content == b""
    changed = await client.head(VITALS, headers={**person.headers, "If-None-Match": '"other"'})
    assert changed.status_code == 200 and changed.headers["etag"] == etag


async def test_a_head_is_a_read_in_the_spaces_history(
    client: httpx.AsyncClient, person: Person, history: HistoryRows
) -> None:
    before = len(await history(person.space_id))
    assert (await client.head(VITALS, headers=person.headers)).status_code == 200
    rows = (await history(person.space_id))[before:]
    assert [(r["action"], r["outcome"], r["acting_as"]) for r in rows] == [
        ("HEAD /v1/spaces/{space}/vitals", 200, "holder")
    ]
    reads = await client.get(
        "/v1/spaces/me/access-history", params={"action": "read", "limit": 5}, headers=person.headers
    )
    described: dict[str, Any] = next(i for i in reads.json()["items"] if i["action"].startswith("HEAD "))
    assert " a consulté " in described["description"], described


async def test_a_head_goes_through_the_same_door(
    client: httpx.AsyncClient, person: Person, make_person: MakePerson, make_app_token: MakeAppToken
) -> None:
    stranger = await make_person()
    # Another person's space is not found; no token is 401; an app reads only its scopes.
    assert (await client.head(f"/v1/spaces/{person.space_id}/vitals", headers=stranger.headers)).status_code == 404
    assert (await client.head(VITALS)).status_code == 401
    scale = await make_app_token(person, [scope_name("body_weight", "write")])
    refused = await client.head(VITALS, headers=scale.headers)
    assert refused.status_code == 403 and refused.content == b""
    reader = await make_app_token(person, [scope_name("body_weight", "read")])
    assert (await client.head(VITALS + "?type=body_weight", headers=reader.headers)).status_code == 200


async def test_head_is_refused_where_get_is_not_taken(client: httpx.AsyncClient, person: Person) -> None:
    export = await client.head("/v1/spaces/me/export", headers=person.headers)
    assert export.status_code == 405 and "HEAD" not in export.headers["allow"]
    assert "HEAD" in (await client.options(VITALS, headers=person.headers)).headers["allow"]


async def test_the_document_leaves_the_heads_out(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    heads = {operations["head"]["operationId"] for operations in doc["paths"].values() if "head" in operations}
    # The one HEAD declared on its own (a document's content, which reads and verifies a block).
    assert heads == {"headDocumentContent"}
    assert "every GET but the export's also answers HEAD" in doc["info"]["description"]


def test_the_head_twin_has_its_own_operation_id() -> None:
    route = get_and_head("/x", operation_id="listThings")
    assert str(route.operation_id) == "listThings"
    assert callable(route.operation_id)
    assert route.operation_id(route, "HEAD", []) == "headListThings"
    assert route.operation_id(route, "GET", []) == "listThings"
