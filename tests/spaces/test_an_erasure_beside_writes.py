"""An erasure and a write to the same space at the same moment (PostgreSQL, read committed): a
write under way is waited for and erased with the rest; a write that comes during the erasure
waits, then answers 404. Before, the first made the erasure answer 500 (the write's row, unseen by
its DELETE, still named the space), and the second wrote past the erasure's DELETE of its table."""

from __future__ import annotations

import asyncio
import os

import asyncpg
import httpx
import pytest

from ens.core import db
from ens.core.settings import Settings
from tests.helpers.concurrency import second_while_first_is_open
from tests.helpers.people import Person

pytestmark = pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's concurrency"
)


async def _rows_of(space_id: object) -> list[str]:
    rows = await db.fetch("SELECT substance FROM profile_allergies WHERE space_id = {}", space_id)
    return [row["substance"] for row in rows]


async def test_a_write_under_way_is_waited_for_and_erased_with_the_space(
    client: httpx.AsyncClient, person: Person, settings: Settings
) -> None:
    connection = await asyncpg.connect(settings.database_url)
    try:
        async with connection.transaction():
            await connection.execute(
                "INSERT INTO profile_allergies (space_id, id, substance, created_at, updated_at) "
                "VALUES ($1, gen_random_uuid(), 'Pollen', now(), now())",
                person.space_id,
            )
            erasure, waited = await second_while_first_is_open(
                client.delete("/v1/spaces/me", params={"erase": "true"}, headers=person.headers)
            )
    finally:
        await connection.close()
    answer = await erasure
    assert waited
    assert answer.status_code == 204, answer.text
    assert await _rows_of(person.space_id) == []
    assert await db.fetch("SELECT id FROM spaces WHERE id = {}", person.space_id) == []
    assert await db.fetch("SELECT id FROM space_erasures WHERE erased_space_id = {}", person.space_id)


async def test_a_write_that_comes_during_the_erasure_answers_404_and_leaves_nothing(
    client: httpx.AsyncClient, person: Person, settings: Settings
) -> None:
    added = await client.post("/v1/spaces/me/profile/allergies", json={"substance": "Latex"}, headers=person.headers)
    assert added.status_code == 201, added.text
    # The erasure is held on this row (its DELETE of the allergies waits), mid-way through.
    connection = await asyncpg.connect(settings.database_url)
    try:
        async with connection.transaction():
            await connection.execute("SELECT id FROM profile_allergies WHERE space_id = $1 FOR UPDATE", person.space_id)
            erasure, erasure_waited = await second_while_first_is_open(
                client.delete("/v1/spaces/me", params={"erase": "true"}, headers=person.headers)
            )
            write, write_waited = await second_while_first_is_open(
                client.post("/v1/spaces/me/profile/allergies", json={"substance": "Arachide"}, headers=person.headers)
            )
    finally:
        await connection.close()
    erased, written = await asyncio.gather(erasure, write)
    assert erasure_waited and write_waited
    assert erased.status_code == 204, erased.text
    assert written.status_code == 404, written.text
    assert written.headers["content-type"].startswith("application/problem+json")
    assert "erased" in written.json()["detail"]
    assert await _rows_of(person.space_id) == []
    assert await db.fetch("SELECT id FROM spaces WHERE id = {}", person.space_id) == []


async def test_two_erasures_at_once_leave_one_record_and_the_second_is_a_404(
    client: httpx.AsyncClient, person: Person, settings: Settings
) -> None:
    await client.post("/v1/spaces/me/profile/allergies", json={"substance": "Latex"}, headers=person.headers)
    connection = await asyncpg.connect(settings.database_url)
    try:
        async with connection.transaction():
            await connection.execute("SELECT id FROM profile_allergies WHERE space_id = $1 FOR UPDATE", person.space_id)
            first, _ = await second_while_first_is_open(
                client.delete("/v1/spaces/me", params={"erase": "true"}, headers=person.headers)
            )
            second, waited = await second_while_first_is_open(
                client.delete("/v1/spaces/me", params={"erase": "true"}, headers=person.headers)
            )
    finally:
        await connection.close()
    answers = sorted([(await first).status_code, (await second).status_code])
    assert waited
    assert answers == [204, 404]
    records = await db.fetch("SELECT id FROM space_erasures WHERE erased_space_id = {}", person.space_id)
    assert len(records) == 1
