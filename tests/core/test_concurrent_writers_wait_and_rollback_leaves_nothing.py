"""The database layer: concurrent writers wait instead of failing; migrations built the indexes."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from ens.core import db


async def test_concurrent_write_transactions_all_commit(person):
    """Read-then-write transactions from many tasks: on SQLite each takes the write lock at BEGIN
    (IMMEDIATE) and waits on the busy timeout, so none fails with 'database is locked'."""

    async def writer(n: int) -> None:
        async with db.write_transaction():
            await db.fetch("SELECT count(*) AS n FROM access_history WHERE space_id = {}", person.space_id)
            await db.fetch(
                """INSERT INTO access_history (space_id, at, acting_as, action, outcome, request_id)
                   VALUES ({}, CURRENT_TIMESTAMP, 'holder', 'concurrency test', 200, {})""",
                person.space_id,
                f"concurrent-{n}",
            )

    await asyncio.gather(*(writer(n) for n in range(25)))
    rows = await db.fetch(
        "SELECT request_id FROM access_history WHERE space_id = {} AND action = 'concurrency test'", person.space_id
    )
    assert sorted(r["request_id"] for r in rows) == sorted(f"concurrent-{n}" for n in range(25))


async def test_a_write_outside_a_transaction_waits_while_other_reads_share_its_connection(client, person):
    """On SQLite, statements outside a transaction share one connection. One that writes waits for
    the write lock on the busy timeout, even while other tasks read on that connection: a read used
    to stay open there between its first row and the rest, so the write began inside its read
    transaction, where SQLite cannot wait, and failed at once with 'database is locked' (one of 60
    concurrent second-factor guesses failed so, at its e-mail code check)."""
    statement = """INSERT INTO access_history (space_id, at, acting_as, action, outcome, request_id)
                   VALUES ({}, CURRENT_TIMESTAMP, 'holder', 'shared connection test', 200, {})"""
    before, inside, outside = (uuid.uuid4().hex for _ in range(3))
    await db.fetch(statement, person.space_id, before)  # the reads below find rows
    go = asyncio.Event()

    async def read() -> int:
        await go.wait()
        return len(await db.fetch("SELECT request_id FROM access_history WHERE space_id = {}", person.space_id))

    async def write() -> None:
        await go.wait()
        await db.fetch(statement, person.space_id, outside)

    # Created before the transaction opens, so their statements are not part of it; the reads
    # reach the database first, then the write.
    tasks = [asyncio.create_task(read()) for _ in range(4)] + [asyncio.create_task(write())]
    async with db.write_transaction():
        await db.fetch(statement, person.space_id, inside)  # SQLite's write lock, held until commit
        go.set()
        await asyncio.sleep(0.3)  # the statements outside run (and the write waits) meanwhile
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
    rows = await db.fetch(
        "SELECT request_id FROM access_history WHERE space_id = {} AND action = 'shared connection test'",
        person.space_id,
    )
    assert sorted(r["request_id"] for r in rows) == sorted([before, inside, outside])


async def test_concurrent_requests_are_all_recorded(client, person, history):
    before = len(await history(person.space_id))
    responses = await asyncio.gather(
        *(
            client.post(
                "/v1/spaces/me/test-notes",
                json={"text": f"n{n}"},
                headers={**person.headers, "Idempotency-Key": uuid.uuid4().hex},
            )
            for n in range(20)
        )
    )
    assert [r.status_code for r in responses] == [201] * 20
    assert len(await history(person.space_id)) == before + 20


async def test_a_failed_transaction_leaves_nothing(person):
    marker = uuid.uuid4().hex
    try:
        async with db.write_transaction():
            await db.fetch(
                """INSERT INTO access_history (space_id, at, acting_as, action, outcome, request_id)
                   VALUES ({}, CURRENT_TIMESTAMP, 'holder', 'rollback test', 200, {})""",
                person.space_id,
                marker,
            )
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    assert (
        await db.fetch("SELECT id FROM access_history WHERE space_id = {} AND request_id = {}", person.space_id, marker)
        == []
    )


async def test_space_scoped_indexes_exist(migrated):
    engine = db.current()
    if db.is_postgres(engine):
        rows = await db.fetch("SELECT indexname AS name, indexdef AS definition FROM pg_indexes")
    else:
        rows = await db.fetch(
            "SELECT name, sql AS definition FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
    definitions = {row["name"]: row["definition"] for row in rows}
    # The history is read by (space_id, id): its primary key on PostgreSQL, an index on SQLite.
    history = definitions["access_history_pkey" if db.is_postgres(engine) else "access_history_space"]
    assert "(space_id, id)" in history
    assert "(caller, key)" in definitions["idempotency_keys_caller_key"]
    assert "UNIQUE" in definitions["accounts_issuer_sub"].upper()


async def test_a_migration_walks_rows_across_spaces_a_batch_per_transaction(client, make_person):
    """``in_key_order`` (the data migrations' walk): every row once, in key order across spaces, a
    batch per transaction; a failure while a batch is handled undoes that batch only."""
    from tests.helpers.vitals import weight

    people = [await make_person(f"P{n}") for n in range(3)]
    for person in people:
        answer = await client.post(
            "/v1/spaces/me/vitals",
            json={"measurements": [weight(70 + i, minutes_ago=i + 1) for i in range(3)]},
            headers=person.headers,
        )
        assert answer.status_code in (200, 201), answer.text
    spaces = [p.space_id for p in people]
    query = "SELECT space_id, id, note FROM vital_measurements WHERE space_id IN ({}, {}, {})"
    batches: list[list[tuple[str, str]]] = []

    def noting(note: str, *, fail_at: int = 0):
        async def handle(rows: list[db.Row]) -> int:
            batches.append([(str(r["space_id"]), str(r["id"])) for r in rows])
            for row in rows:
                await db.fetch(
                    "UPDATE vital_measurements SET note = {} WHERE space_id = {} AND id = {}",
                    note,
                    row["space_id"],
                    row["id"],
                )
            if len(batches) == fail_at:
                raise RuntimeError("a failure in this batch")
            return len(rows)

        return handle

    assert await db.in_key_order(query, *spaces, handle=noting("walked"), batch=2) == 9
    assert [len(b) for b in batches] == [2, 2, 2, 2, 1]
    walked = [key for batch in batches for key in batch]
    assert walked == sorted(walked) and len(set(walked)) == 9
    batches.clear()
    with pytest.raises(RuntimeError):
        await db.in_key_order(query, *spaces, handle=noting("again", fail_at=2), batch=4)
    notes = [r["note"] for r in await db.fetch(query + " ORDER BY space_id, id", *spaces)]
    assert notes == ["again"] * 4 + ["walked"] * 5
