"""The routes that give more than one representation (the measures as JSON, CSV or a workbook; the
directives and the booklet as JSON or a PDF; a vaccination as JSON or FHIR) answered JSON to an
``Accept`` that admits none of them: a client asking the measures for ``application/pdf`` got JSON
it would take for the PDF it asked. It is 406, naming what the route gives (RFC 9110 §15.5.7),
before anything is read; an ``Accept`` that admits one, a wildcard, none at all, or a malformed one
(disregarded, §12.5.1) is answered as before."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers.fhir import BOOKLET
from tests.helpers.people import Person
from tests.helpers.records import DIRECTIVES, structured
from tests.helpers.vaccination import vaccine_id
from tests.helpers.vitals import VITALS, weight

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _routes(client: httpx.AsyncClient, person: Person) -> dict[str, tuple[str, ...]]:
    """Each negotiating route of ``person``'s space, with the media types it gives."""
    assert (await client.put(DIRECTIVES, json=structured(), headers=person.headers)).status_code == 201
    dose = {"vaccineId": await vaccine_id(client, "hexyon", "HEXYON"), "date": "2024-03-12"}
    added = await client.post(BOOKLET, json=dose, headers=person.headers)
    assert added.status_code == 201, added.text
    measured = await client.post(VITALS, json={"measurements": [weight()]}, headers=person.headers)
    assert measured.status_code in (200, 201), measured.text
    return {
        VITALS: ("application/json", "text/csv", XLSX),
        DIRECTIVES: ("application/json", "application/pdf"),
        BOOKLET: ("application/json", "application/pdf"),
        f"{BOOKLET}/{added.json()['id']}": ("application/json", "application/fhir+json"),
    }


@pytest.mark.parametrize("accept", ["application/xml", "image/png, text/html", "application/json;q=0, text/plain"])
async def test_an_accept_that_admits_none_is_406_naming_what_the_route_gives(client, person, accept):
    for path, offered in (await _routes(client, person)).items():
        for method in ("GET", "HEAD"):
            answer = await client.request(method, path, headers={**person.headers, "Accept": accept})
            assert answer.status_code == 406, (path, method, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
            if method == "GET":
                problem = answer.json()
                assert problem["type"] == "urn:ens:problem:not-acceptable"
                assert all(media in problem["detail"] for media in offered), problem


@pytest.mark.parametrize("accept", ["*/*", "application/*", "text/html, */*;q=0.8", "", "*/*;q=", "application/json"])
async def test_an_accept_that_admits_one_or_says_nothing_is_answered_as_before(client, person, accept):
    for path in await _routes(client, person):
        answer = await client.get(path, headers={**person.headers, "Accept": accept})
        assert answer.status_code == 200, (path, accept, answer.text)
        assert answer.headers["content-type"].startswith("application/json")


async def test_the_openapi_document_lists_the_406_of_each_negotiating_route(client):
    document = (await client.get("/schema/openapi.json")).json()
    for path in ("/v1/spaces/{space}/vitals", "/v1/spaces/{space}/directives", "/v1/spaces/{space}/vaccinations"):
        assert "406" in document["paths"][path]["get"]["responses"], path
    assert "406" not in document["paths"]["/v1/spaces/{space}/vitals"]["post"]["responses"]
