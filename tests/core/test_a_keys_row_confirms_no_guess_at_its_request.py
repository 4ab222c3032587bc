"""What an Idempotency-Key's row keeps of its request tells a retry from another request, and says
nothing to a copy of the table: it was a plain SHA-256 of the path and the body, so a guess at what
was sent (a deleted allergy's text) could be confirmed offline (an outside security audit). It is
keyed now."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

from ens.core import db
from ens.core.idempotency import _RequestDigest
from tests.helpers.people import Person


async def test_the_stored_request_hash_is_keyed_and_a_retry_still_replays(
    client: httpx.AsyncClient, person: Person
) -> None:
    body = msgspec.json.encode(
        {
            "measurements": [
                {"type": "body_weight", "value": 73.123, "unit": "kg", "effectiveAt": "2026-12-01T07:00:00Z"}
            ]
        }
    )
    headers = {**person.headers, "Idempotency-Key": "guess-me-1", "Content-Type": "application/json"}
    first = await client.post("/v1/spaces/me/vitals", content=body, headers=headers)
    assert first.status_code == 201, first.text
    (row,) = await db.fetch("SELECT request_hash FROM idempotency_keys WHERE key = {}", "guess-me-1")
    # The guess, computed as the service digests a request: it does not match what the row keeps.
    scope: Any = {
        "type": "http",
        "path": "/v1/spaces/me/vitals",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
    }
    guess = _RequestDigest(scope)
    guess.update(body)
    assert row["request_hash"] != guess.hexdigest()
    retry = await client.post("/v1/spaces/me/vitals", content=body, headers=headers)
    assert retry.status_code == 201 and retry.json() == first.json()
    other = await client.post("/v1/spaces/me/vitals", content=body.replace(b"73.123", b"73.124"), headers=headers)
    assert other.status_code == 422, other.text
