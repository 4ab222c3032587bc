"""An erasure and a write to the same space at the same moment (PostgreSQL, read committed): a
write under way is waited for and erased with the rest; a write that comes during the erasure
waits, then answers 410 (the erasure's point of no return closed the space). Before, the first made
the erasure answer 500 (the write's row, unseen by its DELETE, still named the space), and the
second wrote past the erasure's DELETE of its table."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from ens.core import clock, db
from ens.core.settings import Settings
from ens.documents.keys import lock_space_documents
from tests.helpers.concurrency import allergy_being_written, open_transaction, second_while_first_is_open
from tests.helpers.documents import pdf, uploaded
from tests.helpers.people import Person

pytestmark = pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's concurrency"
)


async def _rows_of(space_id: object) -> list[str]:
    rows = await db.fetch("SELECT substance FROM profile_allergies WHERE space_id = {}", space_id)
    return [row["substance"] for row in rows]


def _erase(client: httpx.AsyncClient, person: Person) -> asyncio.Future[httpx.Response]:
    return asyncio.ensure_future(client.delete("/v1/spaces/me", params={"erase": "true"}, headers=person.headers))


@asynccontextmanager
async def erasure_held_midway(client: httpx.AsyncClient, person: Person, settings: Settings) -> AsyncIterator[None]:
    """The space has an allergy whose row another transaction holds: an erasure started in here
    waits on it at its DELETE of the allergies, mid-way through, until the block ends."""
    added = await client.post("/v1/spaces/me/profile/allergies", json={"substance": "Latex"}, headers=person.headers)
    assert added.status_code == 201, added.text
    async with open_transaction(settings) as connection:
        await connection.execute("SELECT id FROM profile_allergies WHERE space_id = $1 FOR UPDATE", person.space_id)
        yield


async def test_a_write_under_way_is_waited_for_and_erased_with_the_space(
    client: httpx.AsyncClient, person: Person, settings: Settings
) -> None:
    async with open_transaction(settings) as connection:
        await allergy_being_written(connection, person.space_id)
        erasure, waited = await second_while_first_is_open(_erase(client, person))
    answer = await erasure
    assert waited
    assert answer.status_code == 204, answer.text
    assert await _rows_of(person.space_id) == []
    assert await db.fetch("SELECT id FROM spaces WHERE id = {}", person.space_id) == []
    assert await db.fetch("SELECT id FROM space_erasures WHERE erased_space_id = {}", person.space_id)


async def test_a_write_that_comes_during_the_erasure_answers_410_and_leaves_nothing(
    client: httpx.AsyncClient, person: Person, settings: Settings
) -> None:
    """Past the erasure's point of no return (its data key destroyed) the space is closed: a write
    that comes while its rows are being deleted is refused at the door, saying why."""
    async with erasure_held_midway(client, person, settings):
        erasure, erasure_waited = await second_while_first_is_open(_erase(client, person))
        write, write_waited = await second_while_first_is_open(
            client.post("/v1/spaces/me/profile/allergies", json={"substance": "Arachide"}, headers=person.headers)
        )
    erased, written = await asyncio.gather(erasure, write)
    assert erasure_waited and write_waited
    assert erased.status_code == 204, erased.text
    assert written.status_code == 410, written.text
    assert written.headers["content-type"].startswith("application/problem+json")
    assert written.json()["detail"] == "This space is being erased."
    assert await _rows_of(person.space_id) == []
    assert await db.fetch("SELECT id FROM spaces WHERE id = {}", person.space_id) == []


async def test_two_erasures_at_once_leave_one_record_and_the_second_is_a_404(
    client: httpx.AsyncClient, person: Person, settings: Settings
) -> None:
    async with erasure_held_midway(client, person, settings):
        first, _ = await second_while_first_is_open(_erase(client, person))
        second, waited = await second_while_first_is_open(_erase(client, person))
    answers = sorted([(await first).status_code, (await second).status_code])
    assert waited
    assert answers == [204, 404]
    records = await db.fetch("SELECT id FROM space_erasures WHERE erased_space_id = {}", person.space_id)
    assert len(records) == 1


async def test_a_documents_writer_and_an_erasure_wait_for_each_other_without_a_deadlock(
    client: httpx.AsyncClient, person: Person, settings: Settings
) -> None:
    """A writer of the space's documents (an upload, an import with files) holds their lock, then
    writes a row naming the space; an erasure holds the space's row, then deletes the documents'
    key. Each waited on the other and PostgreSQL ended one after a second (a 500). The writer now
    takes the space's row first: the erasure waits for its commit, and erases what it wrote."""
    await uploaded(client, person.headers, pdf())
    locked, proceed = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with db.write_transaction():
            await lock_space_documents(person.space_id)
            locked.set()
            await proceed.wait()
            await db.fetch(
                "INSERT INTO profile_allergies (space_id, id, substance, created_at, updated_at) "
                "VALUES ({}, {}, 'Pollen', {}, {})",
                person.space_id,
                uuid.uuid4(),
                clock.now(),
                clock.now(),
            )

    written = asyncio.ensure_future(writer())
    await locked.wait()
    erasure, waited = await second_while_first_is_open(_erase(client, person))
    proceed.set()
    await written  # no DeadlockDetectedError
    answer = await erasure
    assert waited
    assert answer.status_code == 204, answer.text
    assert await _rows_of(person.space_id) == []
    assert await db.fetch("SELECT space_id FROM document_keys WHERE space_id = {}", person.space_id) == []


async def test_a_change_holding_a_row_and_an_erasure_wait_for_each_other_without_a_deadlock(
    client: httpx.AsyncClient, person: Person, settings: Settings
) -> None:
    """A change locks the row it updates, and writes its history row (naming the space) last; an
    erasure holds the space's row, then deletes that table's rows. Each waited on the other and
    PostgreSQL ended one after a second (a 500). Every write transaction of a request about a space
    now takes the space's row first (``FOR KEY SHARE``), as the erasure does."""
    added = await client.post("/v1/spaces/me/profile/allergies", json={"substance": "Latex"}, headers=person.headers)
    assert added.status_code == 201, added.text
    await db.fetch(
        "CREATE FUNCTION slow_change() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(0.6); RETURN NEW; END $$ "
        "LANGUAGE plpgsql"
    )
    await db.fetch(
        "CREATE TRIGGER slow_change AFTER UPDATE ON profile_allergies FOR EACH ROW EXECUTE FUNCTION slow_change()"
    )
    try:
        change = asyncio.ensure_future(
            client.patch(
                f"/v1/spaces/me/profile/allergies/{added.json()['id']}",
                json={"reaction": "Urticaire"},
                headers=person.headers,
            )
        )
        await asyncio.sleep(0.3)  # the change holds the allergy's row, in its trigger
        changed, erased = await asyncio.gather(change, _erase(client, person))
    finally:
        await db.fetch("DROP TRIGGER slow_change ON profile_allergies")
        await db.fetch("DROP FUNCTION slow_change()")
    assert changed.status_code == 200, changed.text
    assert erased.status_code == 204, erased.text
    assert await _rows_of(person.space_id) == []


async def test_two_closes_and_two_reopens_at_once_pass_one_after_the_other(
    client: httpx.AsyncClient, person: Person
) -> None:
    """A change to the whole space holds its row FOR UPDATE from its first statement: taken KEY
    SHARE first (as every write's readmission takes it) and FOR UPDATE after, two at once each held
    what the other waited for, and PostgreSQL ended one (a 500)."""
    for _ in range(3):
        closes = await asyncio.gather(*(client.delete("/v1/spaces/me", headers=person.headers) for _ in range(2)))
        assert sorted(answer.status_code for answer in closes) == [204, 410], [a.text for a in closes]
        reopens = await asyncio.gather(*(client.post("/v1/spaces/me/reopen", headers=person.headers) for _ in range(2)))
        assert sorted(answer.status_code for answer in reopens) == [200, 409], [a.text for a in reopens]
