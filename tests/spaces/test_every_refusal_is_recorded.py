"""Every request naming a space the caller could see gets its history row, whatever the outcome
(hardening review, item 2): a revoked app's calls, and Idempotency-Key refusals, too."""

from __future__ import annotations

import logging
import uuid

import httpx
import pytest

from ens.core.idempotency import _claim, stored_request_hashes
from ens.core.settings import Settings
from tests.helpers.people import HistoryRows, MakeAppToken, Person

NOTES = "/v1/spaces/me/test-notes"


async def test_a_revoked_apps_calls_are_in_the_history_and_the_security_log(
    client: httpx.AsyncClient,
    person: Person,
    make_app_token: MakeAppToken,
    history: HistoryRows,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = await make_app_token(person, ["test-notes:read"])
    assert (await client.get(f"{NOTES}/x", headers=app.headers)).status_code == 404
    assert (await client.delete(f"/v1/spaces/me/grants/{app.grant_id}", headers=person.headers)).status_code == 204
    with caplog.at_level(logging.WARNING, logger="ens.security"):
        refused = await client.get(f"{NOTES}/x", headers=app.headers)
    assert refused.status_code == 401 and refused.json()["type"] == "urn:ens:problem:grant-revoked"
    rows = [r for r in await history(person.space_id) if r["client_id"] == app.client_id]
    assert [(r["acting_as"], r["outcome"]) for r in rows] == [("app", 404), ("app", 401)]
    logged = [r for r in caplog.records if getattr(r, "event", None) == "revoked_grant_used"]
    assert len(logged) == 1 and getattr(logged[0], "grant_id", None) == str(app.grant_id)
    # The record names the grant, never the token.
    assert app.token not in caplog.text


async def test_idempotency_refusals_pass_the_door_and_are_recorded(
    client: httpx.AsyncClient, person: Person, history: HistoryRows, settings: Settings
) -> None:
    key = f"k-{uuid.uuid4()}"
    headers = {**person.headers, "Idempotency-Key": key}
    assert (await client.post(NOTES, json={"text": "first"}, headers=headers)).status_code == 201
    other = await client.post(NOTES, json={"text": "second"}, headers=headers)
    bad_key = await client.post(NOTES, json={"text": "x"}, headers={**person.headers, "Idempotency-Key": "a b"})
    too_large = await client.post(
        NOTES, content=b"x" * (3 * 1024 * 1024), headers={**headers, "content-type": "application/json"}
    )
    running_key = f"k-{uuid.uuid4()}"
    import hashlib
    from datetime import timedelta

    body = b'{"text":"slow"}'
    digest = stored_request_hashes(settings.secret_key, hashlib.sha256(f"{NOTES}?\n".encode() + body).hexdigest())[0]
    await _claim(f"account:{person.account_id}", running_key, request_hash=digest, lease=timedelta(seconds=60))
    running = await client.post(
        NOTES,
        content=body,
        headers={**person.headers, "Idempotency-Key": running_key, "content-type": "application/json"},
    )
    assert [other.status_code, bad_key.status_code, too_large.status_code, running.status_code] == [422, 400, 413, 409]
    for response in (other, bad_key, too_large, running):
        assert response.headers["content-type"].startswith("application/problem+json")
    outcomes = [r["outcome"] for r in await history(person.space_id)]
    assert outcomes[-5:] == [201, 422, 400, 413, 409]


async def test_a_refusal_for_a_space_the_caller_cannot_see_is_a_plain_404(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken, history: HistoryRows
) -> None:
    """The door still runs first: a conflicting key on someone else's space reveals nothing."""
    stranger_space = uuid.uuid4()
    response = await client.post(
        f"/v1/spaces/{stranger_space}/test-notes",
        json={"text": "x"},
        headers={**person.headers, "Idempotency-Key": "a b"},
    )
    assert response.status_code == 404
