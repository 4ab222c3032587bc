"""The space import receives its whole Bundle before it opens its transaction, and that transaction
has an end: a client that sends its body slowly (a byte now and then, each in time for
ENS_BODY_IDLE_SECONDS) held a write open for as long as it liked — on SQLite every write of the
service waited, on PostgreSQL every space's change feed (a review)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from msgspec import structs

from ens.app import create_app
from ens.core import db
from ens.core.settings import Settings
from tests.helpers.asgi import asgi_client
from tests.helpers.fhir import FHIR, paper_tetanus_dose
from tests.helpers.people import MakePerson
from tests.helpers.vitals import VITALS, weight

IMPORT = "/v1/spaces/me/import"
EXPORT = "/v1/spaces/me/export"
IMMUNIZATION = paper_tetanus_dose("urn:uuid:8d7c4a52-3f0e-4a55-9d1a-0c4c1b0d6e01")
BASIC = {"fullUrl": "urn:uuid:8d7c4a52-3f0e-4a55-9d1a-0c4c1b0d6e02", "resource": {"resourceType": "Basic"}}


async def test_a_stalled_import_holds_up_no_one_elses_writes_nor_their_feed(client, make_person: MakePerson) -> None:
    importer, other = await make_person("Léa"), await make_person("Hugo")
    asked_for_more, release = asyncio.Event(), asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield b'{"resourceType": "Bundle", "type": "collection", "entry": [' + json.dumps(IMMUNIZATION).encode() + b","
        asked_for_more.set()  # the server has the first entry whole, and waits for the rest
        await release.wait()
        yield json.dumps(BASIC).encode() + b"]}"

    importing = asyncio.create_task(
        client.post(IMPORT, content=body(), headers={**importer.headers, "Content-Type": FHIR})
    )
    try:
        await asyncio.wait_for(asked_for_more.wait(), 10)
        # Each of these waited for the import's end before (SQLite: the write; PostgreSQL: the feed).
        written = await asyncio.wait_for(
            client.post(VITALS, json={"measurements": [weight()]}, headers=other.headers), 10
        )
        assert written.status_code == 201, written.text
        feed = await asyncio.wait_for(client.get(f"{VITALS}/changes", headers=other.headers), 10)
        assert feed.status_code == 200, feed.text
        assert [change["measurement"]["id"] for change in feed.json()["changes"]] == [written.json()["items"][0]["id"]]
    finally:
        release.set()
    answer = await importing
    assert answer.status_code == 201, answer.text
    assert answer.json()["imported"] == {"Immunization": 1}


async def test_an_import_past_its_time_is_413_and_keeps_nothing(
    settings: Settings, migrated: None, make_person: MakePerson
) -> None:
    """ENS_IMPORT_MAX_SECONDS, here far below what any import takes, on an app of its own."""
    hasty = create_app(structs.replace(settings, import_max_seconds=1e-6))
    newcomer = await make_person("Léon")
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [IMMUNIZATION]}
    async with asgi_client(hasty, "http://testserver.local") as client:
        answer = await client.post(IMPORT, json=bundle, headers=newcomer.headers)
        assert answer.status_code == 413, answer.text
        assert "ENS_IMPORT_MAX_SECONDS" in answer.json()["detail"]
        after = (await client.get(EXPORT, headers=newcomer.headers)).json()
        assert [e["resource"]["resourceType"] for e in after["entry"]] == ["Patient"]  # nothing was kept


async def test_an_import_waiting_for_a_lock_is_ended_by_postgresql_at_its_time(
    settings: Settings, migrated: None, make_person: MakePerson
) -> None:
    """A statement of the import that waits (here for the lock of another import of the same space,
    held by the test) is cancelled by PostgreSQL once the import's time is up, not only between two
    statements: the transaction cannot wait for ever on anything."""
    if not settings.is_postgres:
        pytest.skip("PostgreSQL's statement_timeout (SQLite's waits end at its busy timeout)")
    patient = create_app(structs.replace(settings, import_max_seconds=1))
    newcomer = await make_person("Iris")
    held, release = asyncio.Event(), asyncio.Event()

    async def other_import() -> None:
        async with db.write_transaction():
            await db.serialise(f"import:{newcomer.space_id}")
            held.set()
            await release.wait()

    holder = asyncio.create_task(other_import())
    try:
        await asyncio.wait_for(held.wait(), 10)
        async with asgi_client(patient, "http://testserver.local") as client:
            bundle = {"resourceType": "Bundle", "type": "collection", "entry": [IMMUNIZATION]}
            answer = await asyncio.wait_for(client.post(IMPORT, json=bundle, headers=newcomer.headers), 20)
            assert answer.status_code == 413, answer.text
            assert "ENS_IMPORT_MAX_SECONDS" in answer.json()["detail"]
    finally:
        release.set()
        await holder
