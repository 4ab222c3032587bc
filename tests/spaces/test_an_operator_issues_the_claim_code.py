"""A space no one can claim any more: a parent's right ends on the 18th birthday, so a parent who
made no claim code before it (or whose code expired, three months after) could never make one, and
the young adult was locked out of their own record (a review). An operator, once they checked the
person's identity, issues the code with ``ens claim-codes issue``; it works as a parent's does."""

from __future__ import annotations

import subprocess
import uuid
from datetime import timedelta

import httpx

from ens.core import db
from ens.core.db import as_uuid
from ens.core.settings import Settings
from ens.spaces.codes import BY_AN_OPERATOR
from tests.helpers.carers import create_child_space, set_birthdate, today_in_paris, years_before
from tests.helpers.people import MakePerson
from tests.helpers.server import run_ens

REASON = "Carte d'identité vue au guichet CPAM Lyon, ticket 2026-4411"


def _ens(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return run_ens(settings, "claim-codes", *args)


def _issue(settings: Settings, space: uuid.UUID, *, reason: str = REASON) -> subprocess.CompletedProcess[str]:
    return _ens(settings, "issue", "--space", str(space), "--operator", "Agnès Roux (support N2)", "--reason", reason)


async def test_a_space_past_18_with_no_code_is_claimed_with_the_operators(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    parent = await make_person()
    child = await create_child_space(client, parent, given_name="Inès")
    # Four months past the 18th birthday, and no parent made a code: the parent can no longer.
    adult = years_before(today_in_paris() - timedelta(days=122), 18)
    await set_birthdate(child, adult)
    assert (await client.post(f"/v1/spaces/{child}/claim-codes", headers=parent.headers)).status_code == 404
    issued = _issue(settings, child)
    assert issued.returncode == 0, issued.stderr
    lines = dict(line.split(": ", 1) for line in issued.stdout.splitlines() if ": " in line)
    code = lines["claim_code"]
    # Who issued it and why stay on the code's row (the code itself is stored hashed only).
    rows = await db.fetch(
        "SELECT created_by, operator_name, operator_reason, code_hash FROM space_codes WHERE space_id = {}", child
    )
    assert [(r["operator_name"], r["operator_reason"]) for r in rows] == [("Agnès Roux (support N2)", REASON)]
    assert as_uuid(rows[0]["created_by"]) == BY_AN_OPERATOR and code not in str(rows)
    # The young adult enters it as they would a parent's: the space is theirs.
    young = await make_person(given_name="Inès", birthdate=adult)
    claimed = await client.post(f"/v1/claims/{code}/accept", headers=young.headers)
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["id"] == str(child) and claimed.json()["role"] == "holder"
    assert (await client.get(f"/v1/spaces/{child}", headers=young.headers)).status_code == 200
    assert (await client.post(f"/v1/claims/{code}/accept", headers=young.headers)).status_code == 404
    # Claimed: no operator issues another code for it.
    again = _issue(settings, child)
    assert again.returncode == 2 and "already has its holder" in again.stderr, again


async def test_the_operators_code_still_checks_the_birthdate(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    parent = await make_person()
    child = await create_child_space(client, parent)
    await set_birthdate(child, years_before(today_in_paris(), 19))
    issued = _issue(settings, child)
    code = issued.stdout.splitlines()[0].removeprefix("claim_code: ")
    someone_else = await make_person(birthdate=years_before(today_in_paris(), 30))
    refused = await client.post(f"/v1/claims/{code}/accept", headers=someone_else.headers)
    assert refused.status_code == 403 and "birthdate" in refused.json()["detail"]


async def test_the_command_refuses_a_minors_space_a_claimed_one_and_no_reason(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    parent = await make_person()
    minor = await create_child_space(client, parent)  # 8 years old
    nearly = await create_child_space(client, parent, given_name="Jules")
    await set_birthdate(nearly, years_before(today_in_paris() + timedelta(days=1), 18))  # 18 tomorrow
    claimed = await make_person()  # an adult's own space: it has its holder
    cases = [
        (_issue(settings, minor), "minor"),
        (_issue(settings, nearly), "a parent makes the claim code"),
        (_issue(settings, claimed.space_id), "already has its holder"),
        (_issue(settings, uuid.uuid4()), "No such space"),
        (_issue(settings, minor, reason="   "), "/reason"),
    ]
    for done, words in cases:
        assert done.returncode == 2 and done.stdout == "", done
        assert words in done.stderr and "Traceback" not in done.stderr, done
    assert await db.fetch("SELECT id FROM space_codes WHERE space_id IN ({}, {})", minor, nearly) == []
