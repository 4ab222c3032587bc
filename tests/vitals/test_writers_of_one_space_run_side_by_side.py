"""Writers of one space do not wait for each other (PostgreSQL), yet the feed never shows a change
before an older one that is still being written, and a record re-sent twice at once is stored once."""

from __future__ import annotations

import asyncio
import itertools
import os
from uuid import UUID, uuid4

import pytest

from ens.core import db
from ens.vitals.feed import take_feed_numbers
from ens.vitals.ingest import INSERT_COLUMNS
from tests.helpers.vitals import VITALS, weight

FEED = f"{VITALS}/changes"

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"),
        reason="SQLite has one writer at a time: there is nothing to run side by side",
    ),
]


async def feed_ids(client, who) -> list[str]:
    response = await client.get(f"{FEED}?limit=500", headers=who.headers)
    assert response.status_code == 200, response.text
    return [change["measurement"]["id"] for change in response.json()["changes"] if change["op"] == "upsert"]


async def feed_becomes(client, who, expected: list[str], *, never: str | None = None) -> None:
    """The feed shows ``expected`` once every older transaction of the cluster has ended, and
    ``never`` meanwhile. Its horizon is the cluster's oldest running transaction, so a statement of
    anything else using the server (the session's apps flushing their rate counters in the
    background, autovacuum) may hold it back for a moment; past five seconds, what holds it is named."""
    seen: list[str] = []
    for _ in range(100):
        seen = await feed_ids(client, who)
        assert never not in seen, f"{never} in the feed while a transaction older than it is open"
        if seen == expected:
            return
        await asyncio.sleep(0.05)
    running = await db.fetch(
        "SELECT pid, backend_type, state, backend_xid::text AS xid, now() - xact_start AS open_for, query"
        " FROM pg_stat_activity WHERE backend_xid IS NOT NULL"
    )
    raise AssertionError(f"the feed shows {seen}, not {expected}; transactions holding an id: {running}")


async def test_a_write_left_open_in_a_space_holds_back_no_writer_and_the_feed_waits_for_it(
    client, person, make_app_token, post_vitals
):
    scale = await make_app_token(person, ["vitals.body_weight:write"])
    first = (await post_vitals(scale, [weight(70, minutes_ago=10)])).json()["items"][0]["id"]
    taken = asyncio.Event()
    release = asyncio.Event()

    async def slow_writer() -> None:
        # A transaction of the same space that has taken its place in the feed and not yet committed.
        async with db.write_transaction():
            await take_feed_numbers(person.space_id, 1)
            taken.set()
            await release.wait()

    holder = asyncio.create_task(slow_writer())
    await taken.wait()
    try:
        # Before: this batch would have waited for the space's counter row until the other committed.
        response = await asyncio.wait_for(post_vitals(scale, [weight(71, minutes_ago=5)]), timeout=10)
        assert response.status_code == 201, response.text
        second = response.json()["items"][0]["id"]
        # Committed, listed, but not in the feed yet: an older transaction of the database is
        # still running and could still add a change before it.
        listed = (await client.get(f"{VITALS}?limit=10", headers=person.headers)).json()["items"]
        assert second in [item["id"] for item in listed]
        await feed_becomes(client, person, [first], never=second)
    finally:
        release.set()
        await holder
    await feed_becomes(client, person, [first, second])


async def test_one_record_sent_twice_at_once_is_stored_once(client, person, make_app_token, post_vitals, get_all):
    scale = await make_app_token(person, ["vitals.body_weight:write"])
    for round_ in range(5):
        items = [weight(70 + i, minutes_ago=i + 1, clientRecordId=f"r{round_}-{i}") for i in range(20)]
        responses = await asyncio.gather(post_vitals(scale, items), post_vitals(scale, items))
        assert [r.status_code for r in responses] == [201, 201]
        results = [r.json()["items"] for r in responses]
        for a, b in zip(*results, strict=True):
            # The same measure in both answers: one created it, the other found it stored.
            assert a["id"] == b["id"]
            assert sorted([a["result"], b["result"]]) == ["created", "unchanged"]
    stored = await get_all(person)
    assert len(stored) == 100
    assert len({item["id"] for item in stored}) == 100


async def hold_a_record_written(
    person, model: str, key: str, written: asyncio.Event, release: asyncio.Event, *, writer: str | None = None
) -> UUID:
    """Another batch that has written the record ``key`` (a copy of the measure ``model``, by the
    same writer unless ``writer`` says another) and not yet committed, until ``release``; its id."""
    columns = ", ".join(INSERT_COLUMNS)
    copied = columns.replace("client_record_id", "{}").replace("feed_xid", "0").replace("seq", "-1")
    copied = copied.replace("id, space_id", "{}, space_id", 1).replace(", writer,", ", {},", 1)
    raced = uuid4()
    async with db.write_transaction():
        model_row = await db.fetch_one(
            "SELECT writer FROM vital_measurements WHERE space_id = {} AND id = {}", person.space_id, UUID(model)
        )
        assert model_row is not None
        await db.fetch(
            f"INSERT INTO vital_measurements ({columns}) SELECT {copied} FROM vital_measurements "
            "WHERE space_id = {} AND id = {}",
            raced,
            writer or model_row["writer"],
            key,
            person.space_id,
            UUID(model),
        )
        written.set()
        await release.wait()
    return raced


async def test_a_batch_meeting_a_record_another_is_still_writing_waits_then_finds_it_stored(
    client, person, make_app_token, post_vitals
):
    scale = await make_app_token(person, ["vitals.body_weight:write"])
    model = (await post_vitals(scale, [weight(70, minutes_ago=30, clientRecordId="model")])).json()["items"][0]["id"]
    written, release = asyncio.Event(), asyncio.Event()
    other = asyncio.create_task(hold_a_record_written(person, model, "raced", written, release))
    await written.wait()
    batch = [weight(71, minutes_ago=20, clientRecordId="raced"), weight(72, minutes_ago=10, clientRecordId="new")]
    sent = asyncio.create_task(post_vitals(scale, batch))
    await asyncio.sleep(0.5)
    # Its lookup found nothing committed; its insert now waits on the unique index for the other.
    assert not sent.done()
    release.set()
    raced = await other
    response = await asyncio.wait_for(sent, timeout=10)
    assert response.status_code == 201, response.text
    # Run again from the start: the record is the other's, the batch's new one is stored once.
    raced_item, new_item = response.json()["items"]
    assert raced_item == {"id": str(raced), "result": "unchanged"}
    assert new_item["result"] == "created"


async def test_two_batches_naming_the_same_new_records_in_opposite_orders_at_once_store_each_once(
    person, make_app_token, post_vitals, get_all
):
    scale = await make_app_token(person, ["vitals.body_weight:write"])
    for round_ in range(5):
        items = [weight(70 + i, minutes_ago=i + 1, clientRecordId=f"o{round_}-{i}") for i in range(30)]
        responses = await asyncio.gather(post_vitals(scale, items), post_vitals(scale, items[::-1]))
        assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
        forward, backward = (r.json()["items"] for r in responses)
        for a, b in zip(forward, backward[::-1], strict=True):
            assert a["id"] == b["id"]
            assert sorted([a["result"], b["result"]]) == ["created", "unchanged"]
    assert len({item["id"] for item in await get_all(person)}) == 150


async def test_two_corrections_with_the_same_if_match_at_once_one_wins_the_other_is_412(client, person, post_vitals):
    for round_ in range(5):
        typed = (await post_vitals(person, [weight(70, minutes_ago=round_ + 1)])).json()["items"][0]["id"]
        path = f"{VITALS}/{typed}"
        etag = (await client.get(path, headers=person.headers)).headers["etag"]
        headers = {**person.headers, "If-Match": etag}
        first, second = await asyncio.gather(
            client.patch(path, json={"value": 71}, headers=headers),
            client.patch(path, json={"value": 72}, headers=headers),
        )
        # The second waits for the first's row lock, then finds the measure changed under it.
        assert sorted([first.status_code, second.status_code]) == [200, 412], (first.text, second.text)
        winner = first if first.status_code == 200 else second
        assert (await client.get(path, headers=person.headers)).json()["value"] == winner.json()["value"]


async def test_each_write_numbers_its_changes_from_a_block_of_its_own(person, make_app_token, post_vitals):
    scale = await make_app_token(person, ["vitals.body_weight:write"])
    for round_ in range(3):
        await post_vitals(scale, [weight(70 + i, minutes_ago=round_ * 10 + i + 1) for i in range(3)])
    rows = await db.fetch(
        "SELECT feed_xid, seq FROM vital_measurements WHERE space_id = {} ORDER BY feed_xid, seq", person.space_id
    )
    writes: dict[int, list[int]] = {}
    for row in rows:
        writes.setdefault(int(row["feed_xid"]), []).append(int(row["seq"]))
    blocks = list(writes.values())
    assert [len(block) for block in blocks] == [3, 3, 3]
    for block in blocks:
        assert block == list(range(block[0], block[0] + 3))  # consecutive, from the block's first
    # Later writes, later blocks of 1000: a write's numbers never reach into the next one's.
    assert all(later[0] - earlier[0] >= 1000 for earlier, later in itertools.pairwise(blocks))


async def test_a_write_left_open_past_the_limit_is_logged_once_as_holding_the_feed_back(person, caplog):
    from ens.vitals.feed_watch import FeedWatch

    opened, release = asyncio.Event(), asyncio.Event()
    pids: list[int] = []

    async def forgotten_write() -> None:
        async with db.write_transaction():
            await take_feed_numbers(person.space_id, 1)  # holds a transaction id from here on
            row = await db.fetch_one("SELECT pg_backend_pid() AS pid")
            pids.append(int(row["pid"]))  # type: ignore[index]
            opened.set()
            await release.wait()

    holder = asyncio.create_task(forgotten_write())
    await opened.wait()
    watch = FeedWatch(warn_seconds=1)
    try:
        assert await watch.check() is None  # open for less than the limit
        await asyncio.sleep(1.2)
        with caplog.at_level("WARNING", logger="ens.vitals"):
            held = await watch.check()
            again = await watch.check()
        assert held is not None and again is not None
        assert held.pid == pids[0] and held.open_seconds >= 1
        warned = [r for r in caplog.records if getattr(r, "event", None) == "feed_held_back"]
        assert len(warned) == 1 and warned[0].pid == pids[0]
    finally:
        release.set()
        await holder
    assert await watch.check() is None


async def test_inside_a_callers_transaction_a_lost_race_refuses_the_whole_write_with_409(
    person, make_app_token, post_vitals
):
    """The space import writes its batches inside its own transaction: a batch losing a race there
    has failed that transaction, so it is not run again in it; the import is refused as a whole."""
    from ens.core.errors import Conflict
    from ens.spaces.caller import Caller
    from ens.spaces.door import SpaceAccess, space_ref
    from ens.vitals.ingest import record_measurements

    scale = await make_app_token(person, ["vitals.body_weight:write"])
    model = (await post_vitals(scale, [weight(70, minutes_ago=30, clientRecordId="model")])).json()["items"][0]["id"]
    row = await db.fetch_one("SELECT * FROM spaces WHERE id = {}", person.space_id)
    assert row is not None
    space = space_ref(row)
    assert space.holder_account_id is not None
    caller = Caller(
        kind="person", account_id=space.holder_account_id, client_id="t", grant_id=uuid4(), scopes=frozenset()
    )
    holder = SpaceAccess(space=space, caller=caller, role="holder", kind="holder", actor_name="Holder")
    written, release = asyncio.Event(), asyncio.Event()
    # Another write of the holder's own record "late", not yet committed.
    other = asyncio.create_task(
        hold_a_record_written(person, model, "late", written, release, writer=f"person:{space.holder_account_id}")
    )
    await written.wait()
    try:

        async def write_inside_a_transaction() -> None:
            async with db.write_transaction():
                await record_measurements(holder, [weight(71, minutes_ago=5, clientRecordId="late")])

        inside = asyncio.create_task(write_inside_a_transaction())
        await asyncio.sleep(0.3)
    finally:
        release.set()
        await other
    with pytest.raises(Conflict):
        await asyncio.wait_for(inside, timeout=10)
