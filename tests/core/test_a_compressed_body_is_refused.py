"""A body sent compressed (``Content-Encoding: gzip``) is 415, saying how to send it (RFC 9110
§15.5.16: ``Accept-Encoding: identity``), before anything reads it. No route decodes one: read as
it came, a gzip body was "The JSON body is malformed" (an outside audit)."""

from __future__ import annotations

import gzip
import json

import httpx

from tests.helpers.people import Person

VITALS = "/v1/spaces/me/vitals"
BATCH = {"measurements": [{"type": "body_weight", "value": 70.5, "unit": "kg", "effectiveAt": "2026-11-03T08:00:00Z"}]}


async def _count(client: httpx.AsyncClient, person: Person) -> int:
    return len((await client.get(VITALS, headers=person.headers)).json()["items"])


async def test_a_gzip_body_is_415_and_nothing_is_stored(client: httpx.AsyncClient, person: Person) -> None:
    compressed = gzip.compress(json.dumps(BATCH).encode())
    for coding in ("gzip", "br", "GZIP, identity"):
        headers = {**person.headers, "Content-Type": "application/json", "Content-Encoding": coding}
        refused = await client.post(VITALS, content=compressed, headers=headers)
        assert refused.status_code == 415, (coding, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.headers["accept-encoding"] == "identity"
        assert "uncompressed" in refused.json()["detail"]
    assert await _count(client, person) == 0
    # Said to be what it is, the same body as JSON is taken.
    plain = {**person.headers, "Content-Encoding": "identity"}
    assert (await client.post(VITALS, json=BATCH, headers=plain)).status_code == 201
    assert await _count(client, person) == 1


async def test_a_compressed_upload_is_415(client: httpx.AsyncClient, person: Person) -> None:
    answer = await client.post(
        "/v1/spaces/me/documents",
        files={"file": ("a.pdf", gzip.compress(b"%PDF-1.4\n"), "application/pdf")},
        data={"metadata": json.dumps({"typeCode": "11502-2", "title": "Biopsie", "date": "2026-11-02"})},
        headers={**person.headers, "Content-Encoding": "gzip"},
    )
    assert answer.status_code == 415, answer.text
    listed = await client.get("/v1/spaces/me/documents", headers=person.headers)
    assert listed.json()["items"] == []


async def test_a_request_without_a_body_is_not_refused_for_a_coding(client: httpx.AsyncClient, person: Person) -> None:
    """A GET that names a coding sends no body: nothing to refuse (a review)."""
    answer = await client.get(VITALS, headers={**person.headers, "Content-Encoding": "gzip"})
    assert answer.status_code == 200, answer.text
