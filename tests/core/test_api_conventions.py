"""API-wide conventions: problem+json for every error, ETags, If-Match, Idempotency-Key, gzip, OpenAPI."""

from __future__ import annotations

import asyncio
import gzip
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from ens.core import db
from tests.helpers.routes_for_tests import CREATED

JSON = {"content-type": "application/json"}


def assert_problem(response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == f"urn:ens:problem:{kind}"
    assert body["status"] == status
    assert body["title"] and "detail" in body
    return dict(body)


async def test_unknown_route_and_method(client, person):
    assert_problem(await client.get("/v1/nowhere", headers=person.headers), 404, "not-found")
    assert_problem(await client.put("/v1/me", headers=person.headers), 405, "method-not-allowed")


@pytest.mark.parametrize(
    ("body", "status", "pointer"),
    [
        (b"{not json", 400, None),
        (b"", 400, ""),
        (b"[]", 422, ""),
        (b'{"text": 5}', 422, "/text"),
        (b'{"text": ""}', 422, "/text"),
        (b'{"text": "a", "rating": 11}', 422, "/rating"),
        (b'{"text": "a", "rating": "high"}', 422, "/rating"),
        (b'{"text": "a", "surprise": true}', 422, "/surprise"),
        (b'{"text": "a", "sur`prise": true}', 422, "/sur`prise"),  # a backtick in an unknown field's name
        (b'{"text": "a", "tags": ["ok", "far-too-long-tag"]}', 422, "/tags/1"),
    ],
)
async def test_malformed_bodies_are_problems_with_pointers(client, person, body, status, pointer):
    response = await client.post("/v1/spaces/me/test-notes", content=body, headers={**person.headers, **JSON})
    problem = assert_problem(response, status, "validation")
    if pointer is not None:
        assert problem["errors"][0]["pointer"] == pointer


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"text": "a', "truncated"),
        (b'{"text": "\\ud83d"}', "half of a UTF-16 surrogate pair"),  # an emoji's first half alone
        (b'{"text": "\\ud83dx"}', "half of a UTF-16 surrogate pair"),
        (b'{"text": "\\ude00"}', "surrogate"),  # its second half alone
    ],
)
async def test_a_malformed_body_says_what_is_wrong_with_it(client, person, body, reason):
    response = await client.post("/v1/spaces/me/test-notes", content=body, headers={**person.headers, **JSON})
    assert reason in assert_problem(response, 400, "validation")["detail"]


async def test_bad_query_parameters_are_400(client, person):
    for query in ("limit=0", "limit=501", "limit=abc", "cursor=" + "x" * 3000):
        response = await client.get(f"/v1/spaces/me/access-history?{query}", headers=person.headers)
        problem = assert_problem(response, 400, "validation")
        assert problem["errors"][0]["pointer"] in ("/limit", "/cursor")


async def test_oversize_body_is_413(client, person, settings):
    body = b'{"text": "' + b"a" * (settings.max_body_bytes + 10) + b'"}'
    response = await client.post("/v1/spaces/me/test-notes", content=body, headers={**person.headers, **JSON})
    problem = assert_problem(response, 413, "payload-too-large")
    keyed = await client.post(
        "/v1/spaces/me/test-notes", content=body, headers={**person.headers, **JSON, "Idempotency-Key": "big"}
    )
    # Both say how large a body may be, with a key or without (without one it said only "Request
    # Entity Too Large", litestar's words: an outside audit of the contract).
    limit = f"The body must not exceed {settings.max_body_bytes} bytes."
    assert problem["detail"] == assert_problem(keyed, 413, "payload-too-large")["detail"] == limit


async def test_etag_and_if_none_match(client, person):
    first = await client.get("/v1/spaces/me", headers=person.headers)
    etag = first.headers["etag"]
    assert etag.startswith('"')
    again = await client.get("/v1/spaces/me", headers={**person.headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = await client.get("/v1/spaces/me", headers={**person.headers, "If-None-Match": '"something-else"'})
    assert other.status_code == 200


async def test_if_match_guards_updates_and_deletes(client, person):
    created = (await client.post("/v1/spaces/me/test-notes", json={"text": "v1"}, headers=person.headers)).json()
    url = f"/v1/spaces/me/test-notes/{created['id']}"
    etag = (await client.get(url, headers=person.headers)).headers["etag"]
    stale = await client.put(url, json={"text": "v2"}, headers={**person.headers, "If-Match": '"stale"'})
    assert_problem(stale, 412, "precondition-failed")
    assert (await client.get(url, headers=person.headers)).json()["text"] == "v1"
    ok = await client.put(url, json={"text": "v2"}, headers={**person.headers, "If-Match": etag})
    assert ok.status_code == 200 and ok.json()["text"] == "v2"
    assert_problem(await client.delete(url, headers={**person.headers, "If-Match": etag}), 412, "precondition-failed")
    new_etag = (await client.get(url, headers=person.headers)).headers["etag"]
    assert (await client.delete(url, headers={**person.headers, "If-Match": new_etag})).status_code == 204


async def test_idempotency_key_replays_and_creates_nothing(client, person):
    headers = {**person.headers, "Idempotency-Key": f"k-{uuid.uuid4()}"}
    before = len(CREATED)
    first = await client.post("/v1/spaces/me/test-notes", json={"text": "once"}, headers=headers)
    second = await client.post("/v1/spaces/me/test-notes", json={"text": "once"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert len(CREATED) == before + 1
    other_body = await client.post("/v1/spaces/me/test-notes", json={"text": "twice"}, headers=headers)
    assert_problem(other_body, 422, "validation")
    assert len(CREATED) == before + 1


async def test_a_retry_whose_json_is_spaced_or_ordered_otherwise_is_the_same_request(client, person):
    """A client that serialises its object again for the retry may space it, order its keys,
    escape its characters or write its numbers otherwise (``131.0``, ``8.4e1``): the same JSON
    value is the same request; another value is not."""
    from tests.helpers.vitals import VITALS, pressure

    headers = {**person.headers, **JSON, "Idempotency-Key": f"k-{uuid.uuid4()}"}
    measure = pressure(131, 84)
    first = await client.post(
        VITALS, content=json.dumps({"measurements": [measure]}, separators=(",", ":")), headers=headers
    )
    assert first.status_code == 201, first.text
    reordered = dict(reversed(list(measure.items())), components={"diastolic": 84, "systolic": 131})
    retried = json.dumps({"measurements": [reordered]}, indent=2).replace('"mm[Hg]"', '"mm\\u005bHg]"')
    retried = retried.replace(": 131", ": 131.0").replace(": 84", ": 8.4e1")
    assert "131.0" in retried and "8.4e1" in retried
    again = await client.post(VITALS, content=retried, headers=headers)
    assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true", again.text
    assert again.json() == first.json()
    changed = {**measure, "components": {"systolic": 131, "diastolic": 85}}
    other = await client.post(VITALS, content=json.dumps({"measurements": [changed]}), headers=headers)
    assert_problem(other, 422, "validation")
    stored = (await client.get(f"{VITALS}?type=blood_pressure", headers=person.headers)).json()["items"]
    assert len(stored) == 1 and stored[0]["components"] == {"systolic": 131, "diastolic": 84}


async def test_idempotency_keys_are_scoped_to_the_caller(client, make_person):
    alice = await make_person()
    bob = await make_person()
    key = {"Idempotency-Key": "shared-key"}
    a = await client.post("/v1/spaces/me/test-notes", json={"text": "a"}, headers={**alice.headers, **key})
    b = await client.post("/v1/spaces/me/test-notes", json={"text": "a"}, headers={**bob.headers, **key})
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


async def test_idempotency_key_while_first_runs_is_409(client, person, settings):
    key = f"k-{uuid.uuid4()}"
    # Claim the key as a first request still running would.
    from ens.core.idempotency import _claim, stored_request_hashes

    digest_body = b'{"text":"slow"}'
    import hashlib

    digest = stored_request_hashes(
        settings.secret_key, hashlib.sha256(b"/v1/spaces/me/test-notes?\n" + digest_body).hexdigest()
    )[0]
    lease = timedelta(seconds=60)
    assert await _claim(f"account:{person.account_id}", key, request_hash=digest, lease=lease) is None
    response = await client.post(
        "/v1/spaces/me/test-notes", content=digest_body, headers={**person.headers, **JSON, "Idempotency-Key": key}
    )
    assert_problem(response, 409, "conflict")


async def test_a_claim_whose_lease_has_passed_is_taken_over_by_the_retry(client, person, settings):
    """A request whose process died leaves its key running: once the lease has passed, the retry runs."""
    import hashlib

    from ens.core.idempotency import _claim, stored_request_hashes

    key = f"k-{uuid.uuid4()}"
    body = b'{"text":"crashed"}'
    digest = stored_request_hashes(
        settings.secret_key, hashlib.sha256(b"/v1/spaces/me/test-notes?\n" + body).hexdigest()
    )[0]
    assert await _claim(f"account:{person.account_id}", key, request_hash=digest, lease=timedelta(0)) is None
    other = await client.post(
        "/v1/spaces/me/test-notes",
        content=b'{"text":"other"}',
        headers={**person.headers, **JSON, "Idempotency-Key": key},
    )
    assert_problem(other, 422, "validation")  # another body never takes a key over
    retry = await client.post(
        "/v1/spaces/me/test-notes", content=body, headers={**person.headers, **JSON, "Idempotency-Key": key}
    )
    assert retry.status_code == 201, retry.text
    replay = await client.post(
        "/v1/spaces/me/test-notes", content=body, headers={**person.headers, **JSON, "Idempotency-Key": key}
    )
    assert replay.status_code == 201 and replay.json() == retry.json()


async def test_concurrent_identical_posts_create_once(client, person):
    headers = {**person.headers, "Idempotency-Key": f"k-{uuid.uuid4()}"}
    before = len(CREATED)
    responses = await asyncio.gather(
        *(client.post("/v1/spaces/me/test-notes", json={"text": "race"}, headers=headers) for _ in range(4))
    )
    statuses = sorted(r.status_code for r in responses)
    assert len(CREATED) == before + 1
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}


async def test_responses_with_secrets_are_never_stored(client, person):
    headers = {**person.headers, "Idempotency-Key": "secret-key"}
    first = await client.post("/v1/test-secret", headers=headers)
    second = await client.post("/v1/test-secret", headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["secret"] != second.json()["secret"]
    rows = await db.fetch("SELECT state, body FROM idempotency_keys WHERE key = {}", "secret-key")
    assert [(row["state"], row["body"]) for row in rows] == [("unkept", None)]  # the key, not the answer


async def test_bad_idempotency_key_is_400(client, person):
    for key in ("x" * 256, "has spaces"):
        response = await client.post(
            "/v1/spaces/me/test-notes", json={"text": "x"}, headers={**person.headers, "Idempotency-Key": key}
        )
        assert_problem(response, 400, "validation")


async def raw_get(client, path: str, headers: dict[str, str]) -> tuple[Any, bytes]:
    """The answer and its bytes as sent (httpx would decode the gzip)."""
    async with client.stream("GET", path, headers=headers) as response:
        return response, b"".join([chunk async for chunk in response.aiter_raw()])


async def test_gzip_over_one_kib_only_the_same_bytes_and_validator(client, person):
    for _ in range(12):
        await client.get("/v1/spaces/me", headers=person.headers)
    path = "/v1/spaces/me/access-history"
    plain, plain_bytes = await raw_get(client, path, {**person.headers, "Accept-Encoding": "identity"})
    assert plain.headers.get("content-encoding") is None and len(plain_bytes) > 1024
    zipped, zipped_bytes = await raw_get(client, path, {**person.headers, "Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["vary"]
    assert int(zipped.headers["content-length"]) == len(zipped_bytes) < len(plain_bytes)
    # The same representation, only encoded: the history row of this very read differs, so the
    # listing is compared without its newest rows.
    listed = json.loads(gzip.decompress(zipped_bytes))["items"]
    assert len(listed) >= 12 and listed[1:] == json.loads(plain_bytes)["items"][: len(listed) - 1]
    small = await client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert small.headers.get("content-encoding") is None


async def test_gzip_follows_the_accept_encoding_qualities(client, person):
    for _ in range(12):
        await client.get("/v1/spaces/me", headers=person.headers)
    path = "/v1/spaces/me/access-history"
    for accepted, encoded in (
        ("gzip;q=0", None),
        ("deflate", None),
        ("br, gzip;q=0.5", "gzip"),
        ("*", "gzip"),
        ("identity;q=1, *;q=0", None),
        ("*, gzip;q=0", None),
        ("gzip;level=1;q=0", None),
        ("*;q=0, gzip", "gzip"),
        ("x-gzip", "gzip"),
    ):
        response, _ = await raw_get(client, path, {**person.headers, "Accept-Encoding": accepted})
        assert response.headers.get("content-encoding") == encoded, accepted


async def post_heart_rates(client, person, count: int) -> None:
    items = [
        {
            "type": "heart_rate",
            "value": 60 + i % 40,
            "unit": "/min",
            "effectiveAt": f"2026-11-{1 + i % 28:02d}T08:{i:02d}:00Z",
        }
        for i in range(count)
    ]
    posted = await client.post("/v1/spaces/me/vitals", json={"measurements": items}, headers=person.headers)
    assert posted.status_code == 201


async def test_a_page_of_measures_gzipped_keeps_its_etag_and_answers_304_to_it(client, person):
    await post_heart_rates(client, person, 20)
    path = "/v1/spaces/me/vitals?limit=20"
    plain, plain_bytes = await raw_get(client, path, {**person.headers, "Accept-Encoding": "identity"})
    zipped, zipped_bytes = await raw_get(client, path, {**person.headers, "Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert gzip.decompress(zipped_bytes) == plain_bytes
    assert zipped.headers["etag"] == plain.headers["etag"]
    again = await client.get(
        path, headers={**person.headers, "Accept-Encoding": "gzip", "If-None-Match": zipped.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""


async def test_a_streamed_export_gzipped_arrives_whole(client, person):
    await post_heart_rates(client, person, 25)
    export = "/v1/spaces/me/export"
    _, plain_bytes = await raw_get(client, export, {**person.headers, "Accept-Encoding": "identity"})
    zipped, zipped_bytes = await raw_get(client, export, {**person.headers, "Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip" and "content-length" not in zipped.headers
    bundle, plain_bundle = json.loads(gzip.decompress(zipped_bytes)), json.loads(plain_bytes)
    assert len(bundle["entry"]) == len(plain_bundle["entry"]) > 25


async def test_openapi_documents_problems_and_refuses_unknown_fields(client):
    schema = (await client.get("/schema/openapi.json")).json()
    assert schema["openapi"].startswith("3.1")
    history = schema["paths"]["/v1/spaces/{space}/access-history"]["get"]["responses"]
    for status in ("200", "400", "401", "403", "404", "410"):
        assert status in history
    assert "application/problem+json" in history["404"]["content"]
    post = schema["paths"]["/v1/spaces/{space}/test-notes"]["post"]["responses"]
    for status in ("409", "413", "422"):
        assert status in post
    components = schema["components"]["schemas"]
    note = next(v for k, v in components.items() if k.endswith("NoteCreate"))
    assert note["additionalProperties"] is False
    assert (await client.get("/schema")).status_code == 200


async def test_a_replay_still_passes_the_door_and_is_recorded(client, make_person, history):
    """A replayed answer is a request like any other: a revoked session gets nothing back, and an
    allowed replay adds its access-history row."""
    person = await make_person()
    headers = {**person.headers, "Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = await client.post("/v1/spaces/me/test-notes", json={"text": "once"}, headers=headers)
    assert first.status_code == 201
    before = len(await history(person.space_id))
    replay = await client.post("/v1/spaces/me/test-notes", json={"text": "once"}, headers=headers)
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
    rows = await history(person.space_id)
    assert len(rows) == before + 1 and rows[-1]["outcome"] == 201
    from ens.spaces.service import revoke_grant

    await revoke_grant(person.grant_id)
    refused = await client.post("/v1/spaces/me/test-notes", json={"text": "once"}, headers=headers)
    assert_problem(refused, 401, "grant-revoked")
    assert "idempotent-replayed" not in refused.headers


async def test_a_request_that_outlasts_its_lease_keeps_its_key(client, person, settings, extra_space_routes):
    """A running request renews its lease: a retry after the first lease has passed is 409, not a
    second run of the same creation (a large upload on a poor network outlasts any fixed lease)."""
    import msgspec

    from ens.app import create_app
    from tests.helpers.asgi import asgi_client

    short_lease = msgspec.structs.replace(settings, idempotency_lease_seconds=1)
    app = create_app(short_lease, extra_space_routes=extra_space_routes)
    headers = {**person.headers, "Idempotency-Key": f"k-{uuid.uuid4()}"}
    before = len(CREATED)
    async with asgi_client(app, "http://testserver.local") as short:
        first = asyncio.ensure_future(
            short.post("/v1/spaces/me/test-notes/slow", json={"seconds": 2.5}, headers=headers)
        )
        await asyncio.sleep(1.8)  # the first lease (1 s) has passed
        retry = await short.post("/v1/spaces/me/test-notes/slow", json={"seconds": 2.5}, headers=headers)
        assert_problem(retry, 409, "conflict")
        answered = await first
    assert answered.status_code == 201, answered.text
    assert len(CREATED) == before + 1
    replay = await client.post("/v1/spaces/me/test-notes/slow", json={"seconds": 2.5}, headers=headers)
    assert replay.status_code == 201 and replay.headers.get("idempotent-replayed") == "true"
    assert replay.json() == answered.json()


async def test_in_production_schema_serves_the_document_and_no_third_party_script(settings) -> None:
    """``/schema`` was, in production too, a page whose script came from a CDN: a third party's code
    running on the origin of the login pages and their cookies. In production it is the document
    alone; development keeps the page to try the API."""
    from bench.world import production_environment, settings_of
    from ens.app import create_app
    from tests.helpers.asgi import asgi_client

    production = settings_of(production_environment(settings.database_url, 8123))
    async with asgi_client(create_app(production), production.public_url) as client:
        for path in ("/schema", "/schema/openapi.json"):
            answer = await client.get(path)
            assert answer.status_code == 200, path
            assert answer.headers["content-type"].startswith("application/"), path
            assert "<script" not in answer.text and answer.json()["openapi"].startswith("3.1"), path
    async with asgi_client(create_app(settings), "http://testserver.local") as client:
        page = await client.get("/schema")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
