"""API.md, Lists: every listing takes ``?limit=`` (default 50, max 500) and ``?cursor=``, and its
cursors are tamper-proof — the short ones too (an account's devices, a space's representatives,
apps and professionals, the app catalogue), which were once answered whole whatever was asked."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from ens.auth.clients import register_app
from ens.auth.tokens import AccessTokens, new_session_token
from ens.core.settings import Settings
from tests.helpers.carers import court_measure
from tests.helpers.pages import every_item
from tests.helpers.people import Person
from tests.helpers.professionals import authorise, sign_in_pro


def _resolved(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


async def test_every_listing_in_the_openapi_document_takes_limit_and_cursor(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    listings, without = [], []
    for path, operations in doc["paths"].items():
        operation = operations.get("get")
        content = (operation or {}).get("responses", {}).get("200", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        if schema is None or not {"items", "nextCursor"} <= set(_resolved(doc, schema).get("properties", {})):
            continue
        listings.append(path)
        query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        if not {"limit", "cursor"} <= query:
            without.append(path)
    assert len(listings) >= 20, listings
    assert without == []


async def walk(client: httpx.AsyncClient, url: str, headers: dict[str, str], *, limit: int) -> list[Any]:
    """Every item of a listing, ``limit`` at a time; each page but the last is full."""
    return await every_item(client, url, headers=headers, params={"limit": limit}, full_pages=limit)


async def check_paging(client: httpx.AsyncClient, url: str, headers: dict[str, str], *, at_least: int) -> None:
    whole = await client.get(url, params={"limit": 500}, headers=headers)
    assert whole.status_code == 200, whole.text
    everything = whole.json()["items"]
    assert len(everything) >= at_least and whole.json()["nextCursor"] is None
    assert await walk(client, url, headers, limit=1) == everything
    assert await walk(client, url, headers, limit=2) == everything
    first = (await client.get(url, params={"limit": 1}, headers=headers)).json()
    # A cursor edited by the client, or issued by another listing, is refused.
    cursor = first["nextCursor"]
    for bad in (cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1], "not-a-cursor"):
        refused = await client.get(url, params={"cursor": bad}, headers=headers)
        assert refused.status_code == 400, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    for limit in ("0", "501", "-1", "many"):
        refused = await client.get(url, params={"limit": limit}, headers=headers)
        assert 400 <= refused.status_code < 500 and refused.headers["content-type"].startswith(
            "application/problem+json"
        ), (limit, refused.text)


async def test_an_accounts_devices_page(client: httpx.AsyncClient, person: Person, settings: Settings) -> None:
    for label in ("tablette", "ordinateur"):
        await new_session_token(
            AccessTokens(settings), person.account_id, client_id="ens-mobile", client_name="ENS", label=label
        )
    await check_paging(client, "/v1/me/sessions", person.headers, at_least=3)


async def test_the_app_catalogue_pages_by_name(client: httpx.AsyncClient, settings: Settings) -> None:
    for name in ("Balance Zeta", "balance alpha", "Tensiomètre Mu"):
        await register_app(
            settings.secret_key,
            name=f"{name} {uuid.uuid4().hex[:6]}",
            redirect_uris=["https://app.example/callback"],
            scopes=["vitals.body_weight:write"],
        )
    await check_paging(client, "/v1/apps", {}, at_least=3)
    names = [app["name"].casefold() for app in await walk(client, "/v1/apps", {}, limit=2)]
    assert names == sorted(names)


async def test_a_spaces_apps_page(client: httpx.AsyncClient, person: Person, make_app_token: Any) -> None:
    for _ in range(3):
        await make_app_token(person, ["vitals.body_weight:write"])
    await check_paging(client, "/v1/spaces/me/grants", person.headers, at_least=3)


async def test_a_spaces_representatives_page(client: httpx.AsyncClient, person: Person, make_person: Any) -> None:
    for kind in ("tutelle", "habilitation_familiale", "curatelle"):
        await court_measure(person, await make_person(), kind)
    await check_paging(client, "/v1/spaces/me/representatives", person.headers, at_least=3)


async def test_a_spaces_professionals_page(client: httpx.AsyncClient, person: Person, settings: Settings) -> None:
    for _ in range(3):
        await authorise(client, person, await sign_in_pro(settings))
    await check_paging(client, "/v1/spaces/me/professionals", person.headers, at_least=3)
    # Last changed first: a professional blocked after the others comes first.
    entries = await walk(client, "/v1/spaces/me/professionals", person.headers, limit=2)
    blocked = await client.post(f"/v1/spaces/me/professionals/{entries[-1]['id']}/block", headers=person.headers)
    assert blocked.status_code in (200, 204), blocked.text
    again = await walk(client, "/v1/spaces/me/professionals", person.headers, limit=2)
    assert [e["id"] for e in again] == [entries[-1]["id"], *(e["id"] for e in entries[:-1])]


@pytest.mark.parametrize("url", ["/v1/spaces/me/grants", "/v1/spaces/me/representatives"])
async def test_a_cursor_of_one_space_is_refused_on_another(
    client: httpx.AsyncClient, make_person: Any, make_app_token: Any, url: str
) -> None:
    owner, other = await make_person(), await make_person()
    for _ in range(2):
        await make_app_token(owner, ["vitals.body_weight:write"])
        await court_measure(owner, await make_person(), "tutelle")
    cursor = (await client.get(url, params={"limit": 1}, headers=owner.headers)).json()["nextCursor"]
    assert cursor
    refused = await client.get(url, params={"cursor": cursor}, headers=other.headers)
    assert refused.status_code == 400, refused.text
