"""A consent that replaces an app's connection locked the old grant, then the space (the new grant's
key), while an erasure holds the space, then deletes its grants: PostgreSQL ended one of the two with
a deadlock, a 500 (a review). The consent takes the space's row first, as every write does."""

from __future__ import annotations

import asyncio
import os

import pytest

from ens.core.errors import NotFound
from ens.core.settings import Settings
from ens.spaces import service as spaces
from tests.helpers.concurrency import open_transaction
from tests.helpers.people import Person, grant_app

pytestmark = pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's locks"
)
SCOPES = ["vitals.body_weight:read"]


async def _consent_while(person: Person, settings: Settings, *, erase_the_space: bool) -> object:
    await grant_app(settings, person, SCOPES, client_id="app-consent-erase", name="Balance")
    async with open_transaction(settings) as erasing:
        await erasing.execute("SELECT id FROM spaces WHERE id = $1 FOR UPDATE", person.space_id)
        consenting = asyncio.ensure_future(
            spaces.create_app_grant(
                person.account_id, person.space_id, client_id="app-consent-erase", client_name="Balance", scopes=SCOPES
            )
        )
        await asyncio.sleep(0.4)
        await erasing.execute("DELETE FROM refresh_tokens WHERE space_id = $1", person.space_id)
        await erasing.execute("DELETE FROM grants WHERE space_id = $1", person.space_id)
        if erase_the_space:
            tables = await erasing.fetch(
                "SELECT table_name FROM information_schema.columns WHERE column_name = 'space_id' "
                "AND table_schema = 'public' AND table_name NOT IN ('grants', 'space_erasures', 'refresh_tokens')"
            )
            for row in tables:
                await erasing.execute(f"DELETE FROM {row['table_name']} WHERE space_id = $1", person.space_id)
            await erasing.execute("DELETE FROM spaces WHERE id = $1", person.space_id)
    (result,) = await asyncio.wait_for(asyncio.gather(consenting, return_exceptions=True), 10)
    return result


async def test_a_consent_waits_for_the_space_then_replaces_the_connection(person: Person, settings: Settings) -> None:
    result = await _consent_while(person, settings, erase_the_space=False)
    assert not isinstance(result, BaseException), repr(result)


async def test_a_consent_on_a_space_erased_meanwhile_finds_no_space(person: Person, settings: Settings) -> None:
    result = await _consent_while(person, settings, erase_the_space=True)
    assert isinstance(result, NotFound), repr(result)
