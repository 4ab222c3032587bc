"""A route that answers JSON or another representation by ``Accept`` says so (``Vary: Accept``, RFC
9110 §12.5.5): a cache must not hand the directives' PDF to a client that asked for JSON (review,
2026-12-01). The four such routes, each both ways; with gzip, both headers it varies by."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers.people import Person
from tests.helpers.records import DIRECTIVES, structured
from tests.helpers.vaccination import vaccine_id
from tests.helpers.vitals import VITALS, weight


@pytest.fixture
async def filled(client: httpx.AsyncClient, person: Person) -> dict[str, str]:
    """A space with directives, a measure and a vaccination: the address of each negotiated read."""
    assert (await client.put(DIRECTIVES, json=structured(), headers=person.headers)).status_code == 201
    assert (await client.post(VITALS, json={"measurements": [weight()]}, headers=person.headers)).status_code == 201
    body = {"vaccineId": await vaccine_id(client, "prevenar 13", "PREVENAR 13"), "date": "2024-05-06"}
    entry = await client.post("/v1/spaces/me/vaccinations", json=body, headers=person.headers)
    assert entry.status_code == 201
    return {
        "directives": DIRECTIVES,
        "vitals": VITALS,
        "booklet": "/v1/spaces/me/vaccinations",
        "entry": f"/v1/spaces/me/vaccinations/{entry.json()['id']}",
    }


@pytest.mark.parametrize(
    ("read", "other"),
    [
        ("directives", "application/pdf"),
        ("vitals", "text/csv"),
        ("vitals", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("booklet", "application/pdf"),
        ("entry", "application/fhir+json"),
    ],
)
async def test_each_representation_varies_by_accept(
    client: httpx.AsyncClient, person: Person, filled: dict[str, str], read: str, other: str
) -> None:
    as_json = await client.get(filled[read], headers={**person.headers, "Accept": "application/json"})
    as_other = await client.get(filled[read], headers={**person.headers, "Accept": other})
    assert (as_json.status_code, as_other.status_code) == (200, 200)
    assert as_json.headers["content-type"].startswith("application/json")
    assert as_other.headers["content-type"].startswith(other)
    for answer in (as_json, as_other):
        # (Accept-Encoding too when it came compressed: httpx asks for gzip)
        assert "Accept" in [v.strip() for v in answer.headers["vary"].split(",")]


async def test_a_compressed_answer_varies_by_both(client: httpx.AsyncClient, person: Person) -> None:
    for _ in range(30):  # enough measures for a page past gzip's 1 KiB
        await client.post(VITALS, json={"measurements": [weight()]}, headers=person.headers)
    answer = await client.get(VITALS, headers={**person.headers, "Accept-Encoding": "gzip"})
    assert answer.headers["content-encoding"] == "gzip"
    assert [v.strip() for v in answer.headers["vary"].split(",")] == ["Accept", "Accept-Encoding"]
