"""Two renewals of the recovery codes at the same moment (two tabs, each with a valid code) leave
ten live codes, the second renewal's: before, each deleted the codes it could see and inserted ten,
and the second could not see the first's uncommitted ten — twenty codes lived."""

from __future__ import annotations

import os

import pytest

from ens.auth import otp
from ens.core import db
from ens.core.settings import Settings
from tests.helpers.concurrency import first_decision, second_while_first_is_open
from tests.helpers.people import Person

pytestmark = pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's concurrency"
)


async def test_two_renewals_at_once_leave_ten_live_codes(person: Person, settings: Settings) -> None:
    async with first_decision(settings, f"recovery:{person.account_id}") as first:
        await first.execute("DELETE FROM recovery_codes WHERE account_id = $1", person.account_id)
        await first.execute(
            "INSERT INTO recovery_codes (id, account_id, code_hash, created_at) "
            "SELECT gen_random_uuid(), $1, 'first-' || n, now() FROM generate_series(1, 10) AS n",
            person.account_id,
        )
        second, waited = await second_while_first_is_open(otp.issue_recovery_codes(settings, person.account_id))
    shown = await second
    assert waited
    live = await db.fetch(
        "SELECT code_hash FROM recovery_codes WHERE account_id = {} AND used_at IS NULL", person.account_id
    )
    assert len(live) == 10 and len(shown) == 10
    # The live ten are the ones the second renewal showed, not the first's.
    assert not [row for row in live if row["code_hash"].startswith("first-")]
