"""Every request's first write takes the space's row (SpaceAccess.readmit) before anything else:
KEY SHARE, or FOR UPDATE for a change to the whole space (close, erase, reopen); the emergency
switch then takes it FOR NO KEY UPDATE. An outside review (2026-12-06) found the first version
taking KEY SHARE and then FOR UPDATE, which deadlocked two such changes, or one with a decision
waiting on the advisory lock it held (a 500 each)."""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest

from ens.core.settings import Settings
from tests.helpers.concurrency import allergy_being_written, open_transaction
from tests.helpers.people import Person
from tests.helpers.professionals import authorise, sign_in_pro

pytestmark = pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's concurrency"
)


async def test_a_close_and_an_emergency_setting_beside_a_write_do_not_deadlock(
    client: httpx.AsyncClient, person: Person, settings: Settings
) -> None:
    """A write under way holds the space's row FOR KEY SHARE (its foreign key). A close comes: its
    readmit takes KEY SHARE, its _as_it_is FOR UPDATE waits on the write. The holder's other device
    changes the emergency setting: KEY SHARE (granted), then FOR UPDATE. Once the write commits,
    each FOR UPDATE waits on the other's KEY SHARE: PostgreSQL ends one (a 500)."""
    async with open_transaction(settings) as connection:
        await allergy_being_written(connection, person.space_id)
        close = asyncio.ensure_future(client.delete("/v1/spaces/me", headers=person.headers))
        await asyncio.sleep(0.3)
        setting = asyncio.ensure_future(
            client.put("/v1/spaces/me/emergency-access", json={"allowed": False}, headers=person.headers)
        )
        await asyncio.sleep(0.3)
    closed, set_ = await asyncio.gather(close, setting)
    assert closed.status_code < 500 and set_.status_code < 500, (closed.status_code, set_.status_code, set_.text)


async def test_two_closes_beside_a_write_do_not_deadlock(
    client: httpx.AsyncClient, person: Person, settings: Settings
) -> None:
    """Two parents (or two devices) close the space at once, beside a write under way."""
    async with open_transaction(settings) as connection:
        await allergy_being_written(connection, person.space_id)
        first = asyncio.ensure_future(client.delete("/v1/spaces/me", headers=person.headers))
        await asyncio.sleep(0.3)
        second = asyncio.ensure_future(client.delete("/v1/spaces/me", headers=person.headers))
        await asyncio.sleep(0.3)
    answers = await asyncio.gather(first, second)
    assert sorted(a.status_code for a in answers) == [204, 410], [(a.status_code, a.text) for a in answers]


async def test_an_emergency_setting_and_a_block_at_once_do_not_deadlock(
    client: httpx.AsyncClient, person: Person, settings: Settings
) -> None:
    """set_emergency_access: KEY SHARE (readmit), the decisions' advisory lock, then the space's row
    FOR UPDATE. A block: KEY SHARE (readmit), then the advisory lock. The setting holds the advisory
    lock and waits on the block's KEY SHARE; the block waits on the advisory lock: a deadlock (500).
    An outside transaction holds the advisory lock first so that both are in place when it ends."""
    doctor = await sign_in_pro(settings)
    entry = await authorise(client, person, doctor)
    async with open_transaction(settings) as connection:
        await connection.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"professionals:{person.space_id}"
        )
        setting = asyncio.ensure_future(
            client.put("/v1/spaces/me/emergency-access", json={"allowed": False}, headers=person.headers)
        )
        await asyncio.sleep(0.3)
        block = asyncio.ensure_future(
            client.post(f"/v1/spaces/me/professionals/{entry['id']}/block", headers=person.headers)
        )
        await asyncio.sleep(0.3)
    set_, blocked = await asyncio.gather(setting, block)
    assert (set_.status_code, blocked.status_code) == (200, 200), (set_.text, blocked.text)
