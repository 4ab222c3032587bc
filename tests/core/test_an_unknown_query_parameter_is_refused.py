"""Under /v1 a query parameter the route does not read is refused (400 problem+json naming it, and
what the route reads), as an unknown field of a body is: ``?types=body_weight`` for ``?type=``
answered every type, and the client believed it had filtered. The one name taken unread is a
browser's cache-buster, ``_``. FHIR's routes and OAuth's ignore what they do not know, as their
standards ask."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from ens.core.api import READS_KEY
from tests.helpers.people import HistoryRows, MakePerson
from tests.helpers.vitals import weight

VITALS = "/v1/spaces/me/vitals"


async def test_a_misspelt_filter_is_refused_not_answered_as_no_filter(
    client: httpx.AsyncClient, make_person: MakePerson, history: HistoryRows
) -> None:
    person = await make_person()
    written = await client.post(VITALS, json={"measurements": [weight(70.0)]}, headers=person.headers)
    assert written.status_code in (200, 201), written.text

    refused = await client.get(f"{VITALS}?types=body_weight&limit=5", headers=person.headers)
    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["errors"] == [{"pointer": "/types", "detail": "unknown query parameter"}]
    assert "type" in problem["detail"] and "limit" in problem["detail"]
    # Recorded like any answer about the space.
    row = (await history(person.space_id))[-1]
    assert (row["action"], row["outcome"]) == ("GET /v1/spaces/{space}/vitals", 400)

    # Spelt right, it filters; the cache-buster is taken unread.
    assert (await client.get(f"{VITALS}?type=body_weight&_=1733300000", headers=person.headers)).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/v1/me?limit=1",  # reads no query parameter at all
        "/v1/me/sessions?cursor_=x",
        "/v1/spaces/me?erase=true",  # GET reads none; DELETE reads erase
        "/v1/spaces/me/emergency-contacts?kind=doctor",
    ],
)
async def test_each_door_refuses_what_its_route_does_not_read(
    client: httpx.AsyncClient, make_person: MakePerson, path: str
) -> None:
    person = await make_person()
    refused = await client.get(path, headers=person.headers)
    assert refused.status_code == 400, (path, refused.text)
    assert refused.json()["errors"][0]["detail"] == "unknown query parameter"


async def test_the_public_listings_refuse_it_too(client: httpx.AsyncClient) -> None:
    refused = await client.get("/v1/vaccines?query=grippe")
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"] == [{"pointer": "/query", "detail": "unknown query parameter"}]
    assert (await client.get("/v1/vaccines?q=grippe")).status_code == 200


async def test_fhir_and_the_provider_metadata_ignore_what_they_do_not_know(client: httpx.AsyncClient) -> None:
    assert (await client.get("/fhir/metadata?_format=json&_pretty=true")).status_code == 200
    assert (await client.get("/.well-known/oauth-authorization-server?x=1")).status_code == 200


async def test_a_preflight_carries_the_query_of_the_request_it_asks_about(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    person = await make_person()
    asked = await client.options(f"{VITALS}?type=body_weight&since=2026-01-01", headers=person.headers)
    assert asked.status_code == 204, asked.text


def test_every_route_under_v1_knows_what_it_reads(app: Litestar) -> None:
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path.startswith("/v1/"):
            for method, (handler, _) in route.route_handler_map.items():
                if method != "OPTIONS":
                    assert isinstance(handler.opt.get(READS_KEY), frozenset), (route.path, method)
