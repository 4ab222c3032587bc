"""An answer that carries a secret (``Cache-Control: no-store``: an invitation's code, recovery codes)
is never kept for a replay, so a retry with its Idempotency-Key runs again; but the key still
names that one request: the same key with another request is 422, as for every key (an outside
review, 2026-12-02: two different bodies under one key were both done)."""

from __future__ import annotations

import httpx

from ens.core import db
from tests.helpers.carers import create_child_space
from tests.helpers.people import MakePerson


async def test_the_same_key_for_another_request_is_422_and_the_same_one_runs_again(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    parent = await make_person()
    first_child = await create_child_space(client, parent)
    second_child = await create_child_space(client, parent, given_name="Hugo")
    keyed = {**parent.headers, "Idempotency-Key": "invite-1"}
    first = await client.post(f"/v1/spaces/{first_child}/representatives/invitations", headers=keyed)
    assert first.status_code == 201 and first.headers["cache-control"] == "no-store"

    other = await client.post(f"/v1/spaces/{second_child}/representatives/invitations", headers=keyed)
    assert other.status_code == 422, other.text
    assert other.json()["type"] == "urn:ens:problem:validation"
    assert await db.fetch("SELECT id FROM space_codes WHERE space_id = {}", second_child) == []

    retry = await client.post(f"/v1/spaces/{first_child}/representatives/invitations", headers=keyed)
    assert retry.status_code == 201 and retry.json()["code"] != first.json()["code"]
    assert "idempotent-replayed" not in retry.headers


async def test_the_key_of_an_answer_not_kept_is_erased_with_its_space(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    parent = await make_person()
    child = await create_child_space(client, parent)
    keyed = {**parent.headers, "Idempotency-Key": "invite-then-erase"}
    assert (await client.post(f"/v1/spaces/{child}/representatives/invitations", headers=keyed)).status_code == 201
    rows = await db.fetch("SELECT state, space_id FROM idempotency_keys WHERE key = {}", "invite-then-erase")
    assert [(row["state"], str(row["space_id"])) for row in rows] == [("unkept", str(child))]
    erased = await client.delete(f"/v1/spaces/{child}?erase=true", headers={**parent.headers, "If-Match": "*"})
    assert erased.status_code == 204, erased.text
    assert await db.fetch("SELECT id FROM idempotency_keys WHERE key = {}", "invite-then-erase") == []
