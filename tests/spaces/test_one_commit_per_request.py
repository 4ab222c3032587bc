"""One commit per request (ENGINEERING.md rule 15, performance issue): a request that writes
commits its history row with its data; other requests' rows are written in groups, each durable
before its answer leaves."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from ens.core import db
from tests.helpers.people import HistoryRows, Person
from tests.helpers.vitals import VITALS, weight


def _on_postgres() -> bool:
    return db.is_postgres(db.current())


async def test_a_write_and_its_history_row_are_one_transaction(client: httpx.AsyncClient, person: Person) -> None:
    if not _on_postgres():
        pytest.skip("the inserting transaction (xmin) is PostgreSQL's")
    created = await client.post(VITALS, json={"measurements": [weight()]}, headers=person.headers)
    assert created.status_code == 201
    measure = await db.fetch("SELECT xmin::text AS tx FROM vital_measurements WHERE space_id = {}", person.space_id)
    row = await db.fetch(
        "SELECT xmin::text AS tx, outcome FROM access_history WHERE space_id = {} AND action LIKE 'POST %'",
        person.space_id,
    )
    assert [r["outcome"] for r in row] == [201]
    assert row[0]["tx"] == measure[0]["tx"]


async def test_concurrent_reads_share_commits_and_each_row_is_there_when_its_answer_arrives(
    client: httpx.AsyncClient, person: Person, history: HistoryRows
) -> None:
    async def read() -> int:
        response = await client.get("/v1/spaces/me", headers=person.headers)
        assert response.status_code == 200
        request_id = response.headers["x-request-id"]
        found = await db.fetch(
            "SELECT 1 FROM access_history WHERE space_id = {} AND request_id = {}", person.space_id, request_id
        )
        return len(found)

    assert await asyncio.gather(*(read() for _ in range(30))) == [1] * 30
    rows = await history(person.space_id)
    assert len(rows) == 30 and {r["outcome"] for r in rows} == {200}
    if _on_postgres():
        transactions = await db.fetch(
            "SELECT COUNT(DISTINCT xmin::text) AS n FROM access_history WHERE space_id = {}", person.space_id
        )
        assert int(transactions[0]["n"]) < 30


async def test_a_request_that_fails_after_its_write_committed_is_recorded_with_its_real_status(
    client: httpx.AsyncClient, person: Person, history: HistoryRows
) -> None:
    response = await client.post("/v1/spaces/me/test-notes/write-then-fail", headers=person.headers)
    assert response.status_code == 409
    rows = [r for r in await history(person.space_id) if r["action"].endswith("write-then-fail")]
    assert [r["outcome"] for r in rows] == [409]


async def test_a_write_that_rolls_back_is_recorded_once_with_its_refusal(
    client: httpx.AsyncClient, person: Person, history: HistoryRows
) -> None:
    refused = await client.post(VITALS, json={"measurements": [weight(value=900)]}, headers=person.headers)
    assert refused.status_code == 422
    rows = [r for r in await history(person.space_id) if r["action"].startswith("POST")]
    assert [r["outcome"] for r in rows] == [422]
