"""A space's measures and history go in batches when it is erased, each a transaction of its own,
before the one that deletes what is left with the space's row: in one transaction, a space of 1.5
million measures and 2 million history rows took 11.5 s on PostgreSQL, holding every space's change
feed back for as long (an outside audit at the country's scale)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from ens.core import clock, db
from ens.core.mail import Mailer
from ens.core.settings import Settings
from ens.documents.storage import BlobStore
from ens.overview.service import finish_erasures
from tests.helpers.people import Person
from tests.helpers.vitals import weight

BATCH = 100


async def test_an_erased_spaces_measures_go_in_batches_each_committed(
    client: httpx.AsyncClient, person: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    for batch in range(3):
        sent = [weight(70 + i / 100, minutes_ago=10 + batch * 1000 + i) for i in range(250)]
        written = await client.post("/v1/spaces/me/vitals", json={"measurements": sent}, headers=person.headers)
        assert written.status_code == 201, written.text
    monkeypatch.setattr(db, "PURGE_BATCH", BATCH)
    # Each DELETE of the measures, with the transaction open around it (a fresh object when none
    # was: the statement then commits on its own).
    deletes: list[object] = []
    execute = db.execute

    async def noted(sql: str, *args: Any) -> int:
        if sql.startswith("DELETE FROM vital_measurements "):
            deletes.append(db.current().current_transaction.get() or object())
        return await execute(sql, *args)

    monkeypatch.setattr(db, "execute", noted)

    erased = await client.delete("/v1/spaces/me?erase=true", headers=person.headers)

    assert erased.status_code == 204, erased.text
    assert await db.fetch("SELECT id FROM vital_measurements WHERE space_id = {}", person.space_id) == []
    assert await db.fetch("SELECT id FROM access_history WHERE space_id = {}", person.space_id) == []
    assert len(deletes) > 750 // BATCH
    assert len({id(transaction) for transaction in deletes}) == len(deletes), "batches shared a transaction"


async def test_an_erasure_stopped_between_its_batches_stays_closed_and_ens_purge_finishes_it(
    client: httpx.AsyncClient, person: Person, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    """The database lost after some batches committed, the space half emptied: nobody reads or
    writes what is left (410), nobody reopens it (409), its record stays unfinished, and ``ens
    purge`` finishes the erasure, every row of it (a review of the batched erasure)."""
    sent = [weight(70 + i / 100, minutes_ago=10 + i) for i in range(250)]
    written = await client.post("/v1/spaces/me/vitals", json={"measurements": sent}, headers=person.headers)
    assert written.status_code == 201, written.text
    monkeypatch.setattr(db, "PURGE_BATCH", BATCH)
    execute = db.execute
    batches: list[str] = []

    async def lost_after_two(sql: str, *args: Any) -> int:
        if sql.startswith("DELETE FROM vital_measurements "):
            batches.append(sql)
            if len(batches) > 2:
                raise ConnectionError("the database went away")
        return await execute(sql, *args)

    with monkeypatch.context() as patched:
        patched.setattr(db, "execute", lost_after_two)
        failed = await client.delete("/v1/spaces/me?erase=true", headers=person.headers)
    assert failed.status_code == 503, failed.text
    left = await db.fetch("SELECT id FROM vital_measurements WHERE space_id = {}", person.space_id)
    assert 0 < len(left) < 250  # half emptied
    assert (await client.get("/v1/spaces/me/vitals", headers=person.headers)).status_code == 410
    assert (
        await client.post("/v1/spaces/me/vitals", json={"measurements": [weight(71)]}, headers=person.headers)
    ).status_code == 410
    assert (await client.post("/v1/spaces/me/reopen", headers=person.headers)).status_code == 409
    unfinished = "SELECT id FROM space_erasures WHERE erased_space_id = {} AND finished_at IS NULL"
    assert len(await db.fetch(unfinished, person.space_id)) == 1

    await finish_erasures(
        BlobStore.from_settings(settings), Mailer(settings), begun_before=clock.now() + timedelta(seconds=1)
    )
    assert await db.fetch("SELECT id FROM vital_measurements WHERE space_id = {}", person.space_id) == []
    assert await db.fetch("SELECT id FROM spaces WHERE id = {}", person.space_id) == []
    assert await db.fetch(unfinished, person.space_id) == []
    finished = "SELECT id FROM space_erasures WHERE erased_space_id = {} AND finished_at IS NOT NULL"
    assert len(await db.fetch(finished, person.space_id)) == 1
