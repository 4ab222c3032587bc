"""Two decisions on the same thing at the same moment (PostgreSQL, read committed): the second
waits for the first, then decides on what the first committed. Each test holds the first decision
open on a connection of its own, starts the second through the API, then commits the first."""

from __future__ import annotations

import os
from datetime import date
from typing import Any

import asyncpg
import httpx
import pytest

from ens.core import db
from ens.core.settings import Settings
from tests.helpers.concurrency import (
    allergy_being_written,
    first_decision,
    open_transaction,
    second_while_first_is_open,
)
from tests.helpers.people import MakePerson
from tests.helpers.professionals import GP, NURSE, authorise, open_emergency, sign_in_pro

pytestmark = pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's concurrency"
)


async def test_a_renewal_beside_a_block_leaves_the_professional_blocked(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    holder = await make_person()
    doctor = await sign_in_pro(settings, GP)
    entry = await authorise(client, holder, doctor)
    url = f"/v1/spaces/me/professionals/{entry['id']}"
    tag = (await client.get(url, headers=holder.headers)).headers["etag"]
    async with first_decision(settings, f"professionals:{holder.space_id}") as first:
        await first.execute(
            "UPDATE space_professionals SET status = 'blocked' WHERE space_id = $1 AND id = $2",
            holder.space_id,
            entry["id"],
        )
        renewal, waited = await second_while_first_is_open(
            client.patch(url, json={"renew": True}, headers={**holder.headers, "If-Match": tag})
        )
    answer = await renewal
    assert waited
    # Before the lock, the renewal read "authorised", waited on the row, then wrote it back.
    assert answer.status_code in (409, 412), answer.text
    row = await db.fetch_one(
        "SELECT status FROM space_professionals WHERE space_id = {} AND id = {}", holder.space_id, entry["id"]
    )
    assert row is not None and row["status"] == "blocked"


async def _pending_request(client: httpx.AsyncClient, make_person: MakePerson, settings: Settings) -> tuple[Any, str]:
    holder = await make_person(given_name="Agathe", family_name="Simultanee", birthdate=date(1979, 3, 4))
    doctor = await sign_in_pro(settings, GP)
    traits = {"familyName": "Simultanee", "givenName": "Agathe", "birthdate": "1979-03-04"}
    assert (await client.post("/v1/pro/access-requests", json=traits, headers=doctor.headers)).status_code == 202
    [request] = (await client.get("/v1/spaces/me/access-requests", headers=holder.headers)).json()["items"]
    return holder, request["id"]


async def test_approving_while_a_refusal_commits_is_refused_and_authorises_nobody(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    holder, request_id = await _pending_request(client, make_person, settings)
    async with first_decision(settings, f"professionals:{holder.space_id}") as first:
        await first.execute(
            "UPDATE access_requests SET status = 'refused' WHERE space_id = $1 AND id = $2",
            holder.space_id,
            request_id,
        )
        approval, waited = await second_while_first_is_open(
            client.post(f"/v1/spaces/me/access-requests/{request_id}/approve", headers=holder.headers)
        )
    answer = await approval
    assert waited
    assert answer.status_code == 409 and "refused" in answer.json()["detail"]
    row = await db.fetch_one(
        "SELECT status FROM access_requests WHERE space_id = {} AND id = {}", holder.space_id, request_id
    )
    assert row is not None and row["status"] == "refused"
    authorised = await db.fetch("SELECT id FROM space_professionals WHERE space_id = {}", holder.space_id)
    assert authorised == []


async def test_two_identical_access_requests_at_once_answer_alike_and_make_one(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """The second does not see the first's uncommitted row; it met the pending index and answered
    500 before, which told the professional that the person has a space."""
    holder = await make_person(given_name="Basile", family_name="Doublon", birthdate=date(1966, 9, 12))
    doctor = await sign_in_pro(settings, GP)
    traits = {"familyName": "Doublon", "givenName": "Basile", "birthdate": "1966-09-12"}
    connection = await asyncpg.connect(settings.database_url)
    try:
        async with connection.transaction():
            await connection.execute(
                "INSERT INTO access_requests (space_id, id, professional_id, status, created_at) "
                "VALUES ($1, gen_random_uuid(), $2, 'pending', now())",
                holder.space_id,
                doctor.professional_id,
            )
            second, waited = await second_while_first_is_open(
                client.post("/v1/pro/access-requests", json=traits, headers=doctor.headers)
            )
    finally:
        await connection.close()
    answer = await second
    assert waited
    assert answer.status_code == 202, answer.text
    rows = await db.fetch("SELECT status FROM access_requests WHERE space_id = {}", holder.space_id)
    assert [row["status"] for row in rows] == ["pending"]


async def test_an_emergency_access_opened_while_the_holder_forbids_them_is_refused(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    holder = await make_person()
    nurse = await sign_in_pro(settings, NURSE)
    async with first_decision(settings, f"professionals:{holder.space_id}") as first:
        await first.execute("UPDATE spaces SET emergency_access = FALSE WHERE id = $1", holder.space_id)
        opening, waited = await second_while_first_is_open(open_emergency(client, nurse, holder.space_id))
    answer = await opening
    assert waited
    # Read before the forbidding committed, the switch said "allowed": the access ran, hidden.
    assert answer.status_code == 403, answer.text
    row = await db.fetch_one("SELECT count(*) AS n FROM emergency_accesses WHERE space_id = {}", holder.space_id)
    assert row is not None and row["n"] == 0


@pytest.mark.parametrize("erase", [True, False], ids=["erase", "close"])
async def test_a_close_or_an_erase_under_a_tag_a_write_under_way_makes_stale_is_412(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings, erase: bool
) -> None:
    """The If-Match of closing or erasing was compared before their transaction: a write committed
    in between (here an allergy) was erased, or closed, unseen under a tag that no longer matched.
    It is compared under the space's lock, which waits for the write under way."""
    holder = await make_person()
    tag = (await client.get("/v1/spaces/me", headers=holder.headers)).headers["etag"]
    async with open_transaction(settings) as first:
        await allergy_being_written(first, holder.space_id)
        decision, waited = await second_while_first_is_open(
            client.delete(
                "/v1/spaces/me", params={"erase": "true"} if erase else {}, headers={**holder.headers, "If-Match": tag}
            )
        )
    answer = await decision
    assert waited
    assert answer.status_code == 412, answer.text
    space = await db.fetch_one("SELECT status FROM spaces WHERE id = {}", holder.space_id)
    assert space is not None and space["status"] == "open"
    summary = await client.get("/v1/spaces/me", headers=holder.headers)
    assert summary.status_code == 200 and summary.headers["etag"] != tag
    # Under the tag as it is now, the decision goes through.
    fresh = {**holder.headers, "If-Match": summary.headers["etag"]}
    done = await client.delete("/v1/spaces/me", params={"erase": "true"} if erase else {}, headers=fresh)
    assert done.status_code == 204, done.text
