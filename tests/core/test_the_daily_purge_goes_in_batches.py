"""``ens purge`` deletes what expired across every space a batch at a time, each batch committed on
its own, and counts what it deleted without reading it back (an outside audit at the country's
scale: a day's expired refresh tokens and rate windows are tens of millions of rows; one DELETE of
them held one transaction, and with it every space's change feed, for as long as it ran, and the
refresh tokens' ids were all read back into the process to be counted)."""

from __future__ import annotations

import time
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ens.auth.maintenance import purge_expired_login_state
from ens.core import db
from ens.core.idempotency import purge_expired
from ens.core.limits import purge_old_windows
from ens.core.settings import Settings
from ens.vitals.feed import purge_tombstones
from tests.helpers.people import MakePerson, Person

BATCH = 1000


@pytest.fixture
def deletes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, object]]]:
    """Each DELETE the purge sends, with the transaction open around it (a fresh object when none
    was: the statement then commits on its own). One held across the batches would keep them all,
    and every space's change feed, waiting for its end."""
    monkeypatch.setattr(db, "PURGE_BATCH", BATCH)
    made: list[tuple[str, object]] = []
    execute, fetch = db.execute, db.fetch

    def noted(sql: str) -> None:
        if sql.lstrip().upper().startswith("DELETE"):
            made.append((sql, db.current().current_transaction.get() or object()))

    async def noted_execute(sql: str, *args: Any) -> int:
        noted(sql)
        return await execute(sql, *args)

    async def noted_fetch(sql: str, *args: Any) -> Any:
        noted(sql)
        return await fetch(sql, *args)

    # Where the batches are sent (ens.core.db), and the jobs' own statements.
    monkeypatch.setattr(db, "execute", noted_execute)
    for module in ("ens.auth.maintenance", "ens.core.idempotency", "ens.core.limits", "ens.vitals.feed"):
        for name, spy in (("execute", noted_execute), ("fetch", noted_fetch)):
            monkeypatch.setattr(f"{module}.{name}", spy, raising=False)
    yield made


def _batches(made: list[tuple[str, object]], table: str) -> list[str]:
    """The DELETEs of ``table``, each checked to be in a transaction no other one was in."""
    mine = [(sql, transaction) for sql, transaction in made if f"FROM {table} " in sql]
    assert len({id(transaction) for _, transaction in mine}) == len(mine), f"{table}: batches shared a transaction"
    return [sql for sql, _ in mine]


async def test_expired_refresh_tokens_go_in_committed_batches_none_read_back(
    settings: Settings, person: Person, deletes: list[tuple[str, object]]
) -> None:
    from ens.spaces.service import create_session_grant

    grant_id = await create_session_grant(person.account_id, "ens-mobile", client_name="ENS", label="purge test")
    now = datetime.now(UTC)
    old = now - timedelta(seconds=settings.refresh_token_max_age) - timedelta(hours=1)
    columns = (
        "id",
        "token_hash",
        "grant_id",
        "account_id",
        "client_id",
        "kind",
        "scopes",
        "chain_started_at",
        "created_at",
    )
    rows = [
        (uuid.uuid4(), uuid.uuid4().hex, grant_id, person.account_id, "ens-mobile", "session", "space", at, at)
        for at in [old - timedelta(seconds=i) for i in range(30_000)] + [now]
    ]
    await db.insert_rows("refresh_tokens", columns, rows=rows)
    tracemalloc.start()
    try:
        removed = await purge_expired_login_state(settings, now)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert removed["refresh tokens"] >= 30_000
    left = await db.fetch("SELECT id FROM refresh_tokens WHERE grant_id = {}", grant_id)
    assert [row["id"] for row in left] == [rows[-1][0]]
    # Counted, not read back: the 30,000 ids read back held 8.6 MiB (SQLite), before.
    assert peak < 1024 * 1024, f"{peak / 1024:.0f} KiB"
    assert len(_batches(deletes, "refresh_tokens")) > 30_000 // BATCH


async def test_expired_idempotency_keys_and_old_rate_windows_go_in_committed_batches(
    deletes: list[tuple[str, object]],
) -> None:
    now = datetime.now(UTC)
    caller = f"test:{uuid.uuid4()}"
    columns = ("id", "caller", "key", "request_hash", "state", "created_at", "expires_at")
    keys = [(uuid.uuid4(), caller, f"k{i}", "h", "done", now, now - timedelta(seconds=i + 1)) for i in range(2_500)]
    await db.insert_rows(
        "idempotency_keys",
        columns,
        rows=[*keys, (uuid.uuid4(), caller, "live", "h", "done", now, now + timedelta(days=1))],
    )
    # Windows of many minutes, several rows to a window: a batch ends at a window, whole.
    old = (int(time.time()) - 7200) // 60 * 60
    counters = [(f"account:{uuid.uuid4()}", old - 60 * (i % 40), 1) for i in range(2_500)]
    await db.insert_rows("rate_counters", ("key", "window_start", "hits"), rows=counters)
    await db.insert_rows("rate_counters", ("key", "window_start", "hits"), rows=[(counters[0][0], int(time.time()), 1)])

    assert await purge_expired() >= 2_500
    assert await purge_old_windows() >= 2_500

    assert [row["key"] for row in await db.fetch("SELECT key FROM idempotency_keys WHERE caller = {}", caller)] == [
        "live"
    ]
    assert await db.fetch("SELECT key FROM rate_counters WHERE window_start <= {}", old) == []
    assert len(await db.fetch("SELECT key FROM rate_counters WHERE key = {}", counters[0][0])) == 1
    for table in ("idempotency_keys", "rate_counters"):
        assert len(_batches(deletes, table)) > 2, table


async def test_old_tombstones_go_in_committed_batches_each_with_its_spaces_purged_place(
    make_person: MakePerson, deletes: list[tuple[str, object]]
) -> None:
    people = [await make_person() for _ in range(3)]
    old = datetime.now(UTC) - timedelta(days=200)
    columns = ("id", "space_id", "type", "seq", "deleted_at", "feed_xid")
    tombstones = [
        (uuid.uuid4(), people[i % 3].space_id, "body_weight", 10_000_000 + i, old + timedelta(seconds=i // 7), 0)
        for i in range(2_500)
    ]
    await db.insert_rows("vital_tombstones", columns, rows=tombstones)
    hides = [(uuid.uuid4(), people[0].space_id, "body_weight", 9_000_000 + i, old, 0) for i in range(3)]
    await db.insert_rows("vital_hides", columns, rows=hides)

    assert await purge_tombstones(90) >= 2_500

    spaces = [person.space_id for person in people]
    for table in ("vital_tombstones", "vital_hides"):
        for space_id in spaces:
            assert await db.fetch(f"SELECT id FROM {table} WHERE space_id = {{}}", space_id) == [], table
    for n, space_id in enumerate(spaces):
        newest = max(seq for _, space, _, seq, _, _ in tombstones if space == space_id)
        counter = await db.fetch("SELECT purged_seq FROM vital_feed_counters WHERE space_id = {}", space_id)
        assert [row["purged_seq"] for row in counter] == [newest], n
    assert len(_batches(deletes, "vital_tombstones")) > 2
