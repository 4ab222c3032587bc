"""A parent an operator removed for a court decision (``ens representatives end``) cannot come back
through the other parent's invitation, on purpose; when a court gives their authority back (an
appeal, a new judgement), an operator records it with ``ens representatives restore-parent``: the
account is the child's parent again, with the decision's reference. Only for that: a minor's space
nobody claimed, an adult other than the child who is not a parent now, fewer than two parents, and a
last right an operator ended; anything else is one line saying why, exit status 2, nothing written."""

from __future__ import annotations

import logging
import os
import subprocess
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from ens.core import clock, db
from ens.core.errors import Conflict
from ens.core.settings import Settings
from ens.spaces.codes import space_of
from ens.spaces.door import adulthood
from ens.spaces.representatives import end_court_measure, restore_parent
from tests.helpers.carers import (
    create_child_space,
    invite,
    join_as_second_parent,
    live_parents,
    live_representation_id,
    set_birthdate,
    today_in_paris,
    years_before,
)
from tests.helpers.concurrency import first_decision, second_while_first_is_open
from tests.helpers.people import MakePerson, Person
from tests.helpers.server import run_ens

APPEAL = "CA Lyon, 2e ch., 14 octobre 2026, RG 26/07781: autorité parentale rétablie"

on_postgres = pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's concurrency"
)


def _ens(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return run_ens(settings, "representatives", *args)


def _restore(
    settings: Settings, space: uuid.UUID, account: uuid.UUID, *, reference: str = APPEAL
) -> subprocess.CompletedProcess[str]:
    return _ens(
        settings, "restore-parent", "--space", str(space), "--account", str(account), "--court-reference", reference
    )


async def _rows(space_id: uuid.UUID) -> list[dict[str, Any]]:
    """Everything the space's representatives table says, to see a refusal wrote nothing."""
    rows = await db.fetch("SELECT * FROM representatives WHERE space_id = {} ORDER BY created_at, id", space_id)
    return [dict(row) for row in rows]


async def _removed_by_an_operator(
    client: httpx.AsyncClient, make_person: MakePerson
) -> tuple[Person, Person, uuid.UUID]:
    """A child's space whose second parent an operator removed: the parent, the one removed, the space."""
    parent, removed = await make_person(given_name="Paul"), await make_person(given_name="Marie")
    child = await create_child_space(client, parent)
    assert (await join_as_second_parent(client, parent, removed, child)).status_code == 200
    await end_court_measure(
        child, await live_representation_id(child, removed), reason="TJ Lyon, 2 mars 2026: retrait de l'autorité"
    )
    return parent, removed, child


def _refused(done: subprocess.CompletedProcess[str], *words: str) -> None:
    """One line on stderr saying why, exit status 2, nothing on stdout (no id, no log line)."""
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr and done.stdout == "", done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ens: "), done.stderr
    for word in words:
        assert word in lines[0], done.stderr


async def test_a_parent_a_court_restores_is_the_childs_parent_again(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    parent, removed = await make_person(given_name="Paul"), await make_person(given_name="Marie")
    child = await create_child_space(client, parent)
    assert (await join_as_second_parent(client, parent, removed, child)).status_code == 200
    ended = _ens(
        settings,
        "end",
        str(await live_representation_id(child, removed)),
        "--space",
        str(child),
        "--reason",
        "TJ Lyon, 2 mars 2026: retrait de l'autorité parentale",
    )
    assert ended.returncode == 0, ended.stderr
    assert (await client.get(f"/v1/spaces/{child}", headers=removed.headers)).status_code == 404
    # The other parent's invitation does not bring them back (on purpose)...
    code = await invite(client, parent, child)
    assert (await client.post(f"/v1/invitations/{code}/accept", headers=removed.headers)).status_code == 403
    # ...the court's new decision does, recorded by an operator.
    restored = _restore(settings, child, removed.account_id)
    assert restored.returncode == 0, restored.stderr
    assert "parent's right restored by an operator" in restored.stderr  # the operators' security log
    representative_id = restored.stdout.strip().removeprefix("representative_id: ")
    uuid.UUID(representative_id)
    # Over HTTP they are a parent again: they read, write, see the space in /v1/me until the 18th birthday.
    assert (await client.get(f"/v1/spaces/{child}", headers=removed.headers)).status_code == 200
    written = await client.post(
        f"/v1/spaces/{child}/vitals",
        json={
            "measurements": [{"type": "body_weight", "value": 31, "unit": "kg", "effectiveAt": "2026-02-01T08:00:00Z"}]
        },
        headers=removed.headers,
    )
    assert written.status_code == 201, written.text
    mine = {s["id"]: s for s in (await client.get("/v1/me", headers=removed.headers)).json()["spaces"]}[str(child)]
    assert (mine["role"], mine["representativeKind"]) == ("representative", "parent")
    assert datetime.fromisoformat(mine["representativeUntil"]) == adulthood(await space_of(child))
    listed = (await client.get(f"/v1/spaces/{child}/representatives", headers=parent.headers)).json()["items"]
    theirs = [item for item in listed if item["accountId"] == str(removed.account_id)]
    assert [(item["id"], item["kind"], item["courtReference"]) for item in theirs] == [
        (representative_id, "parent", APPEAL)
    ]
    # The operator's list shows the decision; the ended right stays as it was, with its reason.
    listing = _ens(settings, "list", "--space", str(child))
    assert representative_id in listing.stdout and "RG 26/07781" in listing.stdout
    rows = [row for row in await _rows(child) if uuid.UUID(str(row["account_id"])) == removed.account_id]
    assert [(row["revoked_at"] is None, row["ended_reason"], bool(row["ended_by_operator"])) for row in rows] == [
        (False, "TJ Lyon, 2 mars 2026: retrait de l'autorité parentale", True),
        (True, None, False),
    ]
    assert await live_parents(child) == {parent.account_id, removed.account_id}
    # Once is enough.
    _refused(_restore(settings, child, removed.account_id), "already represents")


async def test_the_restored_right_ends_on_the_18th_birthday_and_is_logged(
    client: httpx.AsyncClient, make_person: MakePerson, caplog: pytest.LogCaptureFixture
) -> None:
    _parent, removed, child = await _removed_by_an_operator(client, make_person)
    with caplog.at_level(logging.WARNING, logger="ens.security"):
        representative_id = await restore_parent(child, removed.account_id, court_reference=f"  {APPEAL} ")
    logged = [r for r in caplog.records if getattr(r, "event", None) == "parent_restored"]
    assert len(logged) == 1
    assert getattr(logged[0], "space_id", None) == str(child)
    assert getattr(logged[0], "representative_id", None) == str(representative_id)
    row = await db.fetch_one(
        "SELECT kind, until, court_reference FROM representatives WHERE space_id = {} AND id = {}",
        child,
        representative_id,
    )
    assert row is not None and (row["kind"], row["court_reference"]) == ("parent", APPEAL)
    assert clock.aware(row["until"]) == adulthood(await space_of(child))


async def test_the_invitation_still_refuses_a_removed_parent_no_court_restored(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    parent, restored, child = await _removed_by_an_operator(client, make_person)
    other = await make_person(given_name="Karim")
    assert (await join_as_second_parent(client, parent, other, child)).status_code == 200
    await end_court_measure(child, await live_representation_id(child, other), reason="TJ Lyon, RG 26/09999")
    code = await invite(client, parent, child)  # made while the child has one parent
    assert _restore(settings, child, restored.account_id).returncode == 0
    refused = await client.post(f"/v1/invitations/{code}/accept", headers=other.headers)
    assert refused.status_code == 403 and "operator" in refused.json()["detail"]
    assert (await client.get(f"/v1/spaces/{child}", headers=other.headers)).status_code == 404
    assert await live_parents(child) == {parent.account_id, restored.account_id}


async def test_only_a_minors_space_nobody_claimed(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    _parent, removed, child = await _removed_by_an_operator(client, make_person)
    before = await _rows(child)
    # An adult's own space has no parents.
    adult = await make_person()
    _refused(_restore(settings, adult.space_id, removed.account_id), "has its holder", "minor's space")
    # No such space.
    _refused(_restore(settings, uuid.uuid4(), removed.account_id), "No such space")
    # 18 today in the space's time zone (Kiritimati, UTC+14: the first to get there), not yet claimed.
    await db.fetch("UPDATE spaces SET timezone = 'Pacific/Kiritimati' WHERE id = {}", child)
    local_today = clock.now().astimezone(ZoneInfo("Pacific/Kiritimati")).date()
    await set_birthdate(child, years_before(local_today, 18))
    _refused(_restore(settings, child, removed.account_id), "come of age")
    assert await _rows(child) == before
    # Still 17 there until tomorrow (Pago Pago, UTC-11: the last to get there): restored.
    await db.fetch("UPDATE spaces SET timezone = 'Pacific/Pago_Pago' WHERE id = {}", child)
    pago_pago_today = clock.now().astimezone(ZoneInfo("Pacific/Pago_Pago")).date()
    await set_birthdate(child, years_before(pago_pago_today + timedelta(days=1), 18))
    assert _restore(settings, child, removed.account_id).returncode == 0


async def test_not_once_the_young_adult_claimed_the_space(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    parent, removed, child = await _removed_by_an_operator(client, make_person)
    await set_birthdate(child, years_before(today_in_paris(), 17))
    code = (await client.post(f"/v1/spaces/{child}/claim-codes", headers=parent.headers)).json()["code"]
    born = years_before(today_in_paris(), 18)
    await set_birthdate(child, born)
    young = await make_person(given_name="Léa", family_name=parent.family_name, birthdate=born)
    assert (await client.post(f"/v1/claims/{code}/accept", headers=young.headers)).status_code == 200
    before = await _rows(child)
    _refused(_restore(settings, child, removed.account_id), "has its holder", "claimed")
    assert await _rows(child) == before


async def test_only_an_existing_adult_other_than_the_child(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    parent = await make_person()
    born = years_before(today_in_paris(), 12)
    child = await create_child_space(client, parent, given_name="Inès", birthdate=born)
    before = await _rows(child)
    schoolmate = await make_person(given_name="Kid", birthdate=years_before(today_in_paris(), 12))
    the_child = await make_person(given_name="INÈS", family_name=parent.family_name, birthdate=born)
    unknown_age = await make_person(birthdate=None)
    _refused(_restore(settings, child, uuid.uuid4()), "No such account", "signs in once")
    _refused(_restore(settings, child, schoolmate.account_id), "minor", "only an adult")
    _refused(_restore(settings, child, the_child.account_id), "child's own", "their own parent")
    _refused(_restore(settings, child, unknown_age.account_id), "No birthdate", "only an adult")
    assert await _rows(child) == before


async def test_only_a_parent_an_operator_ended_and_not_a_live_one(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    parent, other = await make_person(), await make_person()
    child = await create_child_space(client, parent)
    assert (await join_as_second_parent(client, parent, other, child)).status_code == 200
    stranger = await make_person()
    before = await _rows(child)
    _refused(_restore(settings, child, parent.account_id), "already represents")
    _refused(_restore(settings, child, stranger.account_id), "never this child's parent", "invitation")
    # A parent who withdrew comes back with the other parent's invitation.
    mine = await live_representation_id(child, other)
    assert (await client.delete(f"/v1/spaces/{child}/representatives/{mine}", headers=other.headers)).status_code == 204
    before = await _rows(child)
    _refused(_restore(settings, child, other.account_id), "not ended by an operator", "withdrew", "invitation")
    assert await _rows(child) == before
    # The reference of the decision is required.
    _parent, removed, space = await _removed_by_an_operator(client, make_person)
    before = await _rows(space)
    _refused(_restore(settings, space, removed.account_id, reference="   "), "court decision", "required")
    _refused(_restore(settings, space, removed.account_id, reference="x" * 256), "255 characters")
    assert await _rows(space) == before


async def test_two_parents_at_most(client: httpx.AsyncClient, make_person: MakePerson, settings: Settings) -> None:
    parent, removed, child = await _removed_by_an_operator(client, make_person)
    newcomer = await make_person()
    assert (await join_as_second_parent(client, parent, newcomer, child)).status_code == 200
    before = await _rows(child)
    _refused(_restore(settings, child, removed.account_id), "2 parents", "ens representatives end")
    assert await _rows(child) == before
    assert (await client.get(f"/v1/spaces/{child}", headers=removed.headers)).status_code == 404


@on_postgres
async def test_a_restoration_waits_for_an_acceptance_under_way(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """The lock an acceptance takes: the restoration reads the parents once it has committed."""
    parent, removed, child = await _removed_by_an_operator(client, make_person)
    newcomer = await make_person()
    async with first_decision(settings, f"representatives:{child}") as first:
        await first.execute(
            "INSERT INTO representatives (id, space_id, account_id, kind, since, until, created_at) "
            "VALUES (gen_random_uuid(), $1, $2, 'parent', now(), now() + interval '1 year', now())",
            child,
            newcomer.account_id,
        )
        second, waited = await second_while_first_is_open(
            restore_parent(child, removed.account_id, court_reference=APPEAL)
        )
    assert waited
    with pytest.raises(Conflict, match="2 parents"):
        await second
    assert await live_parents(child) == {parent.account_id, newcomer.account_id}
