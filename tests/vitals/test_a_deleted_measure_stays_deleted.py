"""A measure someone deleted does not come back when its app sends it again as it was: a device
app's routine re-sync re-sends its records (same clientRecordId, same version), and that undid the
holder's deletion (an outside audit). The same or a lower version is ``unchanged`` and stores
nothing; a higher version is the app's new reading, a new measure."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import uuid
from collections.abc import Awaitable, Callable
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from ens.core import db
from tests.helpers.concurrency import open_transaction, second_while_first_is_open
from tests.helpers.server import ROOT, ens_command
from tests.helpers.vitals import VITALS, at, weight


async def test_a_resend_of_a_deleted_record_is_unchanged_and_a_higher_version_is_new(
    client, person, make_app_token, post_vitals
):
    scale = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"])
    first = await post_vitals(scale, [weight(70, clientRecordId="w-1", clientRecordVersion=3)])
    assert first.status_code == 201, first.text
    deleted_id = first.json()["items"][0]["id"]
    assert (await client.delete(f"{VITALS}/{deleted_id}", headers=person.headers)).status_code == 204

    for version in (3, 2):
        again = await post_vitals(scale, [weight(70, clientRecordId="w-1", clientRecordVersion=version)])
        assert again.status_code == 201, again.text
        assert again.json()["items"] == [{"id": deleted_id, "result": "unchanged"}]
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []

    newer = await post_vitals(scale, [weight(69.4, clientRecordId="w-1", clientRecordVersion=4)])
    [item] = newer.json()["items"]
    assert item["result"] == "created" and item["id"] != deleted_id
    listed = (await client.get(VITALS, headers=person.headers)).json()["items"]
    assert [(m["id"], m["value"]) for m in listed] == [(item["id"], 69.4)]

    # Deleted again, by the app itself this time: version 4 is the one not to bring back.
    assert (await client.delete(f"{VITALS}/{item['id']}", headers=scale.headers)).status_code == 204
    again = await post_vitals(scale, [weight(69.4, clientRecordId="w-1", clientRecordVersion=4)])
    assert again.json()["items"] == [{"id": item["id"], "result": "unchanged"}]
    rows = await db.fetch(
        "SELECT client_record_version FROM vital_deleted_records WHERE space_id = {}", person.space_id
    )
    assert [row["client_record_version"] for row in rows] == [4]


async def test_another_apps_record_of_the_same_id_and_a_measure_typed_by_hand_are_untouched(
    client, person, make_app_token, post_vitals
):
    scale = await make_app_token(person, ["vitals.body_weight:write"])
    other = await make_app_token(person, ["vitals.body_weight:write"])
    sent = await post_vitals(scale, [weight(70, clientRecordId="w-1")])
    assert (await client.delete(f"{VITALS}/{sent.json()['items'][0]['id']}", headers=person.headers)).status_code == 204
    theirs = await post_vitals(other, [weight(71, clientRecordId="w-1")])
    assert theirs.json()["items"][0]["result"] == "created"
    typed = await post_vitals(person, [weight(72)])
    assert (
        await client.delete(f"{VITALS}/{typed.json()['items'][0]['id']}", headers=person.headers)
    ).status_code == 204
    assert (await post_vitals(person, [weight(72)])).json()["items"][0]["result"] == "created"
    values = sorted(m["value"] for m in (await client.get(VITALS, headers=person.headers)).json()["items"])
    assert values == [71, 72]


async def test_the_deleted_records_go_with_an_erased_space(client, person, make_app_token, post_vitals):
    scale = await make_app_token(person, ["vitals.body_weight:write"])
    sent = await post_vitals(scale, [weight(70, clientRecordId="w-1")])
    assert (await client.delete(f"{VITALS}/{sent.json()['items'][0]['id']}", headers=person.headers)).status_code == 204
    kept = "SELECT id FROM vital_deleted_records WHERE space_id = {}"
    assert len(await db.fetch(kept, person.space_id)) == 1
    erased = await client.delete("/v1/spaces/me", params={"erase": "true"}, headers=person.headers)
    assert erased.status_code == 204, erased.text
    assert await db.fetch(kept, person.space_id) == []


async def test_a_day_count_typed_by_hand_and_deleted_may_be_typed_again(client, person, post_vitals):
    """A step count typed without a clientRecordId is kept under its day's key: that key is the
    person's own, no app's re-sync, so typing the day again after deleting it is a new measure."""
    steps = {"type": "steps_per_day", "value": 8000, "unit": "/d", "effectiveAt": at(60)}
    typed = await post_vitals(person, [steps])
    assert typed.json()["items"][0]["result"] == "created", typed.text
    assert (
        await client.delete(f"{VITALS}/{typed.json()['items'][0]['id']}", headers=person.headers)
    ).status_code == 204
    again = await post_vitals(person, [{**steps, "value": 6500}])
    assert again.json()["items"][0]["result"] == "created", again.text
    assert [m["value"] for m in (await client.get(VITALS, headers=person.headers)).json()["items"]] == [6500]


@pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="SQLite serialises its writers"
)
async def test_a_resync_waiting_on_the_deletion_of_its_record_does_not_bring_it_back(
    client, person, make_app_token, post_vitals, settings
):
    """PostgreSQL: the re-sync waits on the lock of the measure being deleted; once the deletion
    commits, the batch finds the deleted record, not a free key."""
    scale = await make_app_token(person, ["vitals.body_weight:write"])
    sent = await post_vitals(scale, [weight(70, clientRecordId="w-1")])
    measure = uuid.UUID(sent.json()["items"][0]["id"])
    async with open_transaction(settings) as deleting:
        row = await deleting.fetchrow(
            "SELECT writer, client_record_version FROM vital_measurements WHERE space_id = $1 AND id = $2 FOR UPDATE",
            person.space_id,
            measure,
        )
        await deleting.execute(
            "DELETE FROM vital_measurements WHERE space_id = $1 AND id = $2", person.space_id, measure
        )
        await deleting.execute(
            "INSERT INTO vital_deleted_records (id, space_id, writer, client_record_id, client_record_version, "
            "deleted_at) VALUES ($1, $2, $3, 'w-1', $4, now())",
            measure,
            person.space_id,
            row["writer"],
            row["client_record_version"],
        )
        resync, waiting = await second_while_first_is_open(post_vitals(scale, [weight(70, clientRecordId="w-1")]))
        assert waiting
    answer = await resync
    assert answer.json()["items"] == [{"id": str(measure), "result": "unchanged"}], answer.text
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []


@pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="SQLite serialises its writers"
)
async def test_a_record_stored_and_deleted_while_a_batch_makes_its_rows_does_not_come_back(
    client, person, make_app_token, post_vitals, settings, monkeypatch
):
    """Two batches send one new record; the first stores it, and someone deletes that measure while
    the second, which looked the records up before the first committed, makes its rows. The second's
    COPY then meets no live row: it must not store the deleted record again (a review). Here, in a
    space that had a deletion, the record is stored and deleted by another connection in that gap;
    the batch runs again and answers the deleted record unchanged."""

    scale = await make_app_token(person, ["vitals.body_weight:write"])
    await post_vitals(scale, [weight(69, clientRecordId="w-0", minutes_ago=30)])
    writer = await db.fetch_one("SELECT writer FROM vital_measurements WHERE space_id = {}", person.space_id)
    assert writer is not None
    await db.fetch("DELETE FROM vital_deletion_free_spaces WHERE space_id = {}", person.space_id)
    gone = uuid.uuid4()

    async def stored_and_deleted_meanwhile() -> None:  # between this batch's lookups and its COPY
        async with open_transaction(settings) as other:
            await other.execute(
                "INSERT INTO vital_deleted_records (id, space_id, writer, client_record_id, "
                "client_record_version, deleted_at) VALUES ($1, $2, $3, 'w-1', 0, now())",
                gone,
                person.space_id,
                writer["writer"],
            )

    attempts = _between_the_lookups_and_the_copy(monkeypatch, stored_and_deleted_meanwhile)
    answer = await post_vitals(scale, [weight(70, clientRecordId="w-1")])
    assert answer.json()["items"] == [{"id": str(gone), "result": "unchanged"}], answer.text
    assert len(attempts) == 2  # it ran again
    listed = (await client.get(VITALS, headers=person.headers)).json()["items"]
    assert [item["value"] for item in listed] == [69]


def _between_the_lookups_and_the_copy(monkeypatch, action: Callable[[], Awaitable[None]]) -> list[None]:
    """``action`` runs once, in the first attempt of the next batch, after its lookups and just
    before its COPY; the list returned gets an item an attempt (each makes one COPY)."""
    from ens.vitals import ingest

    copy_rows = db.copy_rows  # what ingest calls
    attempts: list[None] = []

    async def meanwhile(*args: Any, **kwargs: Any) -> Any:
        attempts.append(None)
        if len(attempts) == 1:
            await action()
        return await copy_rows(*args, **kwargs)

    monkeypatch.setattr(ingest, "copy_rows", meanwhile)
    return attempts


_POSTGRES_ONLY = pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="SQLite serialises its writers"
)


async def _waiting_for_the_deletions_lock(settings) -> None:
    """Until a deletion's trigger waits for the space's deletions lock (a batch holds it). Each look
    in a transaction of its own: within one, pg_stat_activity keeps what it first read."""
    watching = await asyncpg.connect(settings.database_url)
    try:
        for _ in range(200):
            waiting = await watching.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' "
                "AND query LIKE 'INSERT INTO vital_deleted_records%'"
            )
            if waiting:
                return
            await asyncio.sleep(0.05)
    finally:
        await watching.close()
    raise AssertionError("no deletion waited for the deletions lock")


async def _stored_by_another(settings, space_id: uuid.UUID, model: uuid.UUID, record: str) -> uuid.UUID:
    """Another batch's measure under ``record``, committed now: a copy of ``model``'s row."""
    from ens.vitals import ingest

    stored = uuid.uuid4()
    columns = ", ".join(ingest.INSERT_COLUMNS)
    copied = columns.replace("client_record_id", "$3").replace("feed_xid", "pg_current_xact_id()::text::bigint")
    copied = copied.replace("seq", "nextval('vital_feed_seq')").replace("id,", "$1::uuid,", 1)
    async with open_transaction(settings) as other:
        await other.execute(
            f"INSERT INTO vital_measurements ({columns}) SELECT {copied} FROM vital_measurements "
            "WHERE space_id = $4 AND id = $2",
            stored,
            model,
            record,
            space_id,
        )
    return stored


@_POSTGRES_ONLY
async def test_in_a_space_without_a_deletion_the_first_deletion_waits_for_the_batch_that_then_runs_again(
    client, person, make_app_token, post_vitals, settings, monkeypatch
):
    """The race above, in a space that never had a deletion, the deletion through its route: the
    batch holds the space's deletions lock (shared), so the first deletion's trigger waits for it;
    the deletion writes the deleted record before it deletes the measure, so the batch's COPY meets
    the live measure and runs again, and the two never wait for each other. The deletion is a 204,
    the batch answers the record unchanged, nothing comes back. (The deletion had deleted first:
    the two then deadlocked, and after a second PostgreSQL ended the deletion, a 503; a review.)"""
    import contextvars

    outside = contextvars.copy_context()  # not the batch's request's (its transaction is a context variable)
    scale = await make_app_token(person, ["vitals.body_weight:write"])
    first = await post_vitals(scale, [weight(69, clientRecordId="w-0", minutes_ago=30)])
    model = uuid.UUID(first.json()["items"][0]["id"])
    assert not await _records_deleted(person.space_id)
    stored: uuid.UUID | None = None
    deletion: asyncio.Task[httpx.Response] | None = None

    async def stored_and_being_deleted_meanwhile() -> None:  # between this batch's lookups and its COPY
        nonlocal deletion, stored
        stored = await _stored_by_another(settings, person.space_id, model, "w-1")
        deletion = asyncio.get_running_loop().create_task(
            client.delete(f"{VITALS}/{stored}", headers={**person.headers, "If-Match": "*"}), context=outside
        )
        await _waiting_for_the_deletions_lock(settings)  # its trigger waits for this batch

    attempts = _between_the_lookups_and_the_copy(monkeypatch, stored_and_being_deleted_meanwhile)
    answer = await post_vitals(scale, [weight(70, clientRecordId="w-1")])
    assert deletion is not None
    deleted = await deletion
    assert deleted.status_code == 204, deleted.text  # not ended by a deadlock (503)
    assert answer.json()["items"] == [{"id": str(stored), "result": "unchanged"}], answer.text
    assert len(attempts) == 2
    listed = (await client.get(VITALS, headers=person.headers)).json()["items"]
    assert [item["value"] for item in listed] == [69]


@_POSTGRES_ONLY
@pytest.mark.parametrize("deleted_before", [False, True])
async def test_a_deletion_under_way_while_the_batch_copies_its_record_is_seen_once_it_commits(
    client, person, make_app_token, post_vitals, settings, monkeypatch, deleted_before
):
    """The race above in a space that had a deletion, the deletion under way when the batch's COPY
    runs (the measure deleted, its deleted record written, not committed): the COPY waits for it,
    then the statement after it sees the deleted record, and the batch runs again. With a record
    of that key deleted before at a lower version, the deletion's upsert raises it, and the batch's
    version is no longer above it: unchanged too (a review's cases)."""

    scale = await make_app_token(person, ["vitals.body_weight:write"])
    first = await post_vitals(scale, [weight(69, clientRecordId="w-0", minutes_ago=30)])
    model = uuid.UUID(first.json()["items"][0]["id"])
    await db.fetch(
        "UPDATE vital_measurements SET client_record_version = 1 WHERE space_id = {} AND id = {}",
        person.space_id,
        model,
    )
    writer = await db.fetch_one(
        "SELECT writer FROM vital_measurements WHERE space_id = {} AND id = {}", person.space_id, model
    )
    assert writer is not None
    await _made_before_the_rows(person.space_id)
    if deleted_before:
        await db.fetch(
            "INSERT INTO vital_deleted_records (id, space_id, writer, client_record_id, client_record_version, "
            "deleted_at) VALUES ({}, {}, {}, 'w-1', 0, now())",
            uuid.uuid4(),
            person.space_id,
            writer["writer"],
        )
    stored: uuid.UUID | None = None
    committed: asyncio.Future[None] | None = None

    async def being_deleted_meanwhile() -> None:  # between this batch's lookups and its COPY
        nonlocal committed, stored
        stored = await _stored_by_another(settings, person.space_id, model, "w-1")
        deleting = await asyncpg.connect(settings.database_url)
        opened.append(deleting)
        await deleting.execute("BEGIN")
        await deleting.execute(
            "DELETE FROM vital_measurements WHERE space_id = $1 AND id = $2", person.space_id, stored
        )
        await deleting.execute(
            "INSERT INTO vital_deleted_records (id, space_id, writer, client_record_id, client_record_version, "
            "deleted_at) VALUES ($1, $2, $3, 'w-1', 1, now()) ON CONFLICT (space_id, writer, client_record_id) "
            "DO UPDATE SET id = excluded.id, client_record_version = excluded.client_record_version",
            stored,
            person.space_id,
            writer["writer"],
        )

        async def commit_later() -> None:
            await asyncio.sleep(0.5)
            await deleting.execute("COMMIT")

        committed = asyncio.ensure_future(commit_later())

    attempts = _between_the_lookups_and_the_copy(monkeypatch, being_deleted_meanwhile)
    opened: list[asyncpg.Connection] = []
    try:
        answer = await post_vitals(scale, [weight(70, clientRecordId="w-1", clientRecordVersion=1)])
        assert committed is not None
        await committed
    finally:
        for connection in opened:
            await connection.close()
    assert answer.json()["items"] == [{"id": str(stored), "result": "unchanged"}], answer.text
    assert len(attempts) == 2
    listed = (await client.get(VITALS, headers=person.headers)).json()["items"]
    assert [item["value"] for item in listed] == [69]


@pytest.mark.skipif(not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's plan")
async def test_a_batch_looks_up_its_own_keys_among_the_deleted_records_not_all_of_them(
    person, make_app_token, post_vitals, monkeypatch
):
    """Written ``client_record_id = ANY($n)``, the generic plan PostgreSQL settles on after five
    batches read every deleted record of the writer in the space (50,000: 57 ms a batch; a scale
    audit). One index probe per key now, whatever the plan."""

    scale = await make_app_token(person, ["vitals.body_weight:write"])
    await _rows_a_batch_looks_at(scale, deleted_in=person.space_id, post_vitals=post_vitals, monkeypatch=monkeypatch)


async def _rows_a_batch_looks_at(scale, *, deleted_in, post_vitals, monkeypatch) -> None:
    """The app's 3,000 deleted records in ``deleted_in``, then a batch of 20 new measures: the
    deleted records' lookup looks at no more rows than the batch has keys, custom or generic plan."""
    from ens.vitals import ingest
    from tests.helpers.plans import Statements

    await db.fetch(
        "INSERT INTO vital_deleted_records (id, space_id, writer, client_record_id, client_record_version, "
        "deleted_at) SELECT gen_random_uuid(), {}, {}, 'gone-' || i, 1, now() FROM generate_series(1, 3000) AS i",
        deleted_in,
        f"app:{scale.client_id}",
    )
    await db.fetch("ANALYZE vital_deleted_records")
    statements = Statements(monkeypatch, ingest)
    batch = [weight(70 + i / 10, clientRecordId=f"new-{i}", minutes_ago=i + 1) for i in range(20)]
    assert (await post_vitals(scale, batch)).status_code == 201
    for generic in (False, True):
        assert await statements.most_rows_looked_at("FROM vital_deleted_records", generic=generic) <= 20


@pytest.mark.skipif(not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's plan")
async def test_a_writer_whose_deletions_are_in_other_spaces_costs_a_probe_a_key_not_a_read_of_the_table(
    make_person, make_app_token, post_vitals, monkeypatch
):
    """A batch of a writer nothing of which was deleted in the space, whose deletions are in another
    space: a probe of the index a key, custom or generic plan, not a scan of the table, which is
    never purged (a review: a one-time EXISTS tried first, to spare those probes, read every row of
    vital_deleted_records under its generic plan to find none). The space is one made before its
    row of ``vital_deletion_free_spaces`` (none, as the migration left them): its batches look."""
    person, other = await make_person(), await make_person()
    await _made_before_the_rows(person.space_id)
    scale = await make_app_token(person, ["vitals.body_weight:write"])
    # The same writer's deletions, all in another space (a busy one): none in the batch's space.
    await _rows_a_batch_looks_at(scale, deleted_in=other.space_id, post_vitals=post_vitals, monkeypatch=monkeypatch)


async def _records_deleted(space_id: uuid.UUID) -> bool:
    """Whether the space counts as having had an app's record deleted: no row of its own in
    ``vital_deletion_free_spaces``."""
    row = await db.fetch_one("SELECT space_id FROM vital_deletion_free_spaces WHERE space_id = {}", space_id)
    return row is None


async def _made_before_the_rows(space_id: uuid.UUID) -> None:
    """The space as one made before migration m2026_12_31_0900 is: without a row."""
    await db.fetch("DELETE FROM vital_deletion_free_spaces WHERE space_id = {}", space_id)


async def test_a_space_says_once_an_apps_record_was_deleted_there_and_until_then_is_not_looked_up(
    client, person, make_app_token, post_vitals, monkeypatch
):
    """``vital_deletion_free_spaces``: a new space has its row, and its batches do not look up the
    deleted records (one round trip and a probe a measure saved); a measure typed by hand and
    deleted leaves it (nothing is kept of it); an app's record deleted deletes it (the trigger), and
    the next batches look there: its re-sync stays deleted."""
    from ens.vitals import ingest
    from tests.helpers.plans import Statements

    scale = await make_app_token(person, ["vitals.body_weight:write"])
    assert not await _records_deleted(person.space_id)
    statements = Statements(monkeypatch, ingest)
    sent = await post_vitals(scale, [weight(70, clientRecordId="w-1"), weight(71, clientRecordId="w-2", minutes_ago=9)])
    assert sent.status_code == 201, sent.text
    assert not [sql for sql, _ in statements.made if "vital_deleted_records" in sql]

    typed = await post_vitals(person, [weight(68, minutes_ago=30)])
    typed_id = typed.json()["items"][0]["id"]
    assert (await client.delete(f"{VITALS}/{typed_id}", headers=person.headers)).status_code == 204
    assert not await _records_deleted(person.space_id)

    first = sent.json()["items"][0]["id"]
    assert (await client.delete(f"{VITALS}/{first}", headers=person.headers)).status_code == 204
    assert await _records_deleted(person.space_id)
    again = await post_vitals(scale, [weight(70, clientRecordId="w-1")])
    assert again.json()["items"] == [{"id": first, "result": "unchanged"}], again.text
    assert [sql for sql, _ in statements.made if "FROM vital_deleted_records" in sql]


async def test_a_space_is_made_with_its_row_whoever_inserts_it(client, person):
    """The row comes with the space from a trigger on ``spaces``, whoever inserts there (here a
    statement of its own, not the service's ``insert_space``), and goes with an erased space."""
    made = uuid.uuid4()
    await db.fetch(
        "INSERT INTO spaces (id, given_name, family_name, timezone, status, created_at, updated_at) "
        "VALUES ({}, 'Ancien', 'Espace', 'Europe/Paris', 'open', {}, {})",
        made,
        datetime.now(UTC),
        datetime.now(UTC),
    )
    assert not await _records_deleted(made)
    assert not await _records_deleted(person.space_id)
    erased = await client.delete("/v1/spaces/me", params={"erase": "true"}, headers=person.headers)
    assert erased.status_code == 204, erased.text
    assert not await db.fetch("SELECT 1 AS one FROM vital_deletion_free_spaces WHERE space_id = {}", person.space_id)


@pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="SQLite serialises its writers"
)
async def test_no_change_of_the_space_waits_for_its_batches_and_only_a_first_deletion_does(
    client, person, make_app_token, post_vitals, settings
):
    """The row of ``vital_deletion_free_spaces`` is read under FOR KEY SHARE by an app's batch with
    clientRecordIds into a space that has one: a change of the space's own row (here the emergency
    switch's UPDATE, not committed) makes no batch wait (an outside review: the lock had been on
    ``spaces``' row, whose every UPDATE then waited for the app's batches in flight, and could be
    starved by them); the first deletion of an app's record, whose trigger deletes the row, does
    (here under way, not committed), and so does no other batch: a person's, an app's without
    clientRecordIds, or one into a space without the row."""
    scale = await make_app_token(person, ["vitals.body_weight:write"])

    async def while_the_space_changes(caller, items) -> bool:
        async with open_transaction(settings) as changing:
            await changing.execute("UPDATE spaces SET updated_at = now() WHERE id = $1", person.space_id)
            sent, waiting = await second_while_first_is_open(post_vitals(caller, items))
        assert (await sent).status_code == 201
        return waiting

    async def while_a_deletion_is_under_way(caller, items) -> bool:
        async with open_transaction(settings) as deleting:
            await deleting.execute("DELETE FROM vital_deletion_free_spaces WHERE space_id = $1", person.space_id)
            sent, waiting = await second_while_first_is_open(post_vitals(caller, items))
        assert (await sent).status_code == 201
        await db.fetch("INSERT INTO vital_deletion_free_spaces (space_id) VALUES ({})", person.space_id)
        return waiting

    assert not await while_the_space_changes(scale, [weight(70, clientRecordId="a-1")])
    assert await while_a_deletion_is_under_way(scale, [weight(71, clientRecordId="a-2", minutes_ago=10)])
    assert not await while_a_deletion_is_under_way(person, [weight(72, minutes_ago=20)])
    assert not await while_a_deletion_is_under_way(scale, [weight(73, minutes_ago=30)])
    await _made_before_the_rows(person.space_id)
    assert not await while_the_space_changes(scale, [weight(74, clientRecordId="a-3", minutes_ago=40)])


@pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="SQLite serialises its writers"
)
async def test_overlapping_batches_do_not_hold_a_first_deletion_past_those_in_flight(person, settings):
    """A first deletion waits for the batches already holding the space's row of
    ``vital_deletion_free_spaces``, not for those that come while it waits: each of them tries the
    space's deletions lock shared, fails while the deletion's trigger waits for it whole, reads no
    row (it then looks the deleted records up) and so takes no lock the deletion would wait for (a
    review: PostgreSQL grants a row's KEY SHARE past a waiting DELETE, and six overlapping batches
    held one 2.2 s)."""
    from ens.vitals import ingest

    space = person.space_id
    free_row = (
        "SELECT space_id FROM vital_deletion_free_spaces WHERE space_id = $1 "
        "AND pg_try_advisory_xact_lock_shared(hashtextextended($2, 0)) FOR KEY SHARE"
    )
    assert free_row.replace("$1", "{}").replace("$2", "{}") in " ".join(ingest._FLAG_PART.split())
    key = ingest.deletions_lock(space)

    async def deleting(connection) -> None:
        await connection.execute(
            "INSERT INTO vital_deleted_records (id, space_id, writer, client_record_id, client_record_version, "
            "deleted_at) VALUES ($1, $2, 'app:balance', 'gone', 1, now())",
            uuid.uuid4(),
            space,
        )

    in_flight = await asyncpg.connect(settings.database_url)
    try:
        async with open_transaction(settings) as deletion:
            await in_flight.execute("BEGIN")
            assert len(await in_flight.fetch(free_row, space, key)) == 1
            deleted, waiting = await second_while_first_is_open(deleting(deletion))
            assert waiting  # for the batch in flight
            async with open_transaction(settings) as next_batch:
                assert await next_batch.fetch(free_row, space, key) == []  # it looks the deleted records up
                await in_flight.execute("COMMIT")
                await asyncio.wait_for(deleted, 5)  # while the next batch is still open
    finally:
        await in_flight.close()
    assert not await db.fetch("SELECT 1 AS one FROM vital_deletion_free_spaces WHERE space_id = {}", space)


async def test_the_recheck_says_which_older_spaces_never_had_a_deletion_and_keeps_the_others(
    client, make_person, make_app_token, post_vitals, monkeypatch
):
    """``ens vitals recheck-deletions``: spaces made before migration m2026_12_31_0900 have no row
    of ``vital_deletion_free_spaces``; a space without an app's deleted record is given one, and its
    batches stop looking; one with a record is left without, and its app's re-sync still leaves the
    deleted measure deleted. A second run gives none."""
    from ens.vitals import ingest
    from ens.vitals.deletion_flags import recheck_deletions
    from tests.helpers.plans import Statements

    clean, deleted_in = await make_person("Sans"), await make_person("Avec")
    apps = {p.space_id: await make_app_token(p, ["vitals.body_weight:write"]) for p in (clean, deleted_in)}
    sent = {
        p.space_id: (await post_vitals(apps[p.space_id], [weight(70, clientRecordId="r-1")])).json()["items"][0]["id"]
        for p in (clean, deleted_in)
    }
    typed = await post_vitals(clean, [weight(69, minutes_ago=50)])
    await client.delete(f"{VITALS}/{typed.json()['items'][0]['id']}", headers=clean.headers)
    await client.delete(f"{VITALS}/{sent[deleted_in.space_id]}", headers=deleted_in.headers)
    for person in (clean, deleted_in):
        await _made_before_the_rows(person.space_id)

    found = await recheck_deletions(batch=2)
    assert found.cleared >= 1 and found.kept >= 1 and found.busy == 0
    assert not await _records_deleted(clean.space_id) and await _records_deleted(deleted_in.space_id)

    statements = Statements(monkeypatch, ingest)
    assert (
        await post_vitals(apps[clean.space_id], [weight(71, clientRecordId="r-2", minutes_ago=5)])
    ).status_code == 201
    assert not [sql for sql, _ in statements.made if "FROM vital_deleted_records" in sql]
    again = await post_vitals(apps[deleted_in.space_id], [weight(70, clientRecordId="r-1")])
    assert again.json()["items"] == [{"id": sent[deleted_in.space_id], "result": "unchanged"}]
    assert (await recheck_deletions()).cleared == 0


@pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="SQLite serialises its writers"
)
async def test_the_recheck_passes_over_a_space_being_written_to_and_never_misses_its_deletion(
    person, make_app_token, post_vitals, settings
):
    """A write under way holds the space's row (KEY SHARE, the door's): the recheck leaves that space
    without a row and says so (it could otherwise read "no deleted record" while the write inserts
    one, whose trigger finds no row to delete, and the row made would stay wrong). Run again once
    the write committed, it reads the record the write left."""
    from ens.vitals.deletion_flags import recheck_deletions

    await _made_before_the_rows(person.space_id)
    async with open_transaction(settings) as writing:
        await writing.execute("SELECT id FROM spaces WHERE id = $1 FOR KEY SHARE", person.space_id)
        await writing.execute(
            "INSERT INTO vital_deleted_records (id, space_id, writer, client_record_id, client_record_version, "
            "deleted_at) VALUES ($1, $2, 'app:balance', 'gone', 1, now())",
            uuid.uuid4(),
            person.space_id,
        )
        found = await recheck_deletions()
        assert found.busy >= 1 and await _records_deleted(person.space_id)
    found = await recheck_deletions()
    assert found.busy == 0 and await _records_deleted(person.space_id)


def test_the_command_says_what_it_found(settings, migrated):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT), "ENS_ENV": "dev", "ENS_DATABASE_URL": settings.database_url}
    done = subprocess.run(  # noqa: S603 (our own console script)
        [*ens_command(), "vitals", "recheck-deletions"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"(1 space|\d+ spaces) never had an app's record deleted: no more looking one up", lines[0])
    assert re.fullmatch(r"(1 space has|\d+ spaces have) had one deleted: looked up as before", lines[1])


def test_migrate_says_to_recheck_once_it_ran_the_rows_migration_on_a_database_with_spaces(tmp_path):
    """The migration that brought ``vital_deletion_free_spaces`` leaves the spaces there before it
    without a row (every app batch into them looks the deleted records up) until the operator runs
    ``ens vitals recheck-deletions``; only the README said so (a review). ``ens migrate`` now says it
    when it has just run that migration on a database that holds spaces, even when a later one fails
    in the same run (a review), and not otherwise: not on an empty database, nor once it has run."""
    url = f"sqlite:///{tmp_path}/ens.sqlite"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(ROOT),
        "ENS_ENV": "dev",
        "ENS_DATABASE_URL": url,
        "ENS_VAR_DIR": str(tmp_path / "var"),
    }

    def ens(*args: str, fails: bool = False) -> str:
        done = subprocess.run(  # noqa: S603 (our own console script)
            [*ens_command(), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert (done.returncode != 0) == fails, done.stderr
        return done.stdout

    def as_before_the_migration(*more: str) -> None:
        with closing(sqlite3.connect(tmp_path / "ens.sqlite")) as database, database:
            database.executescript(
                "DROP TRIGGER vital_deletion_seen_in_space; DROP TRIGGER vital_space_deletion_free; "
                "DROP TABLE vital_deletion_free_spaces; "
                "ALTER TABLE spaces ADD COLUMN vital_records_deleted BOOLEAN NOT NULL DEFAULT 1; "
                "DELETE FROM migration WHERE name = '2026-12-31T09:00:00:000000'; " + " ".join(more)
            )

    def said(output: str) -> None:
        lines = [line for line in output.splitlines() if "recheck-deletions" in line]
        assert len(lines) == 1 and lines[0].startswith("ens migrate: migration m2026_12_31_0900 ran"), output

    assert "recheck-deletions" not in ens("migrate")  # nothing made before it
    ens("demo")
    assert "recheck-deletions" not in ens("migrate")  # nothing ran
    as_before_the_migration()
    said(ens("migrate"))
    assert "recheck-deletions" not in ens("migrate")  # it ran
    # A later migration fails in the same run (the documents' first, run again over its tables): the
    # run stops, this one recorded as run, and the next run would not say it.
    as_before_the_migration(
        "DELETE FROM migration WHERE app_name = 'documents' "
        "AND name = (SELECT min(name) FROM migration WHERE app_name = 'documents');"
    )
    said(ens("migrate", fails=True))
    assert "4 spaces never had an app's record deleted" in ens("vitals", "recheck-deletions")
