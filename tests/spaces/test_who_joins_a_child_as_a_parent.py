"""Who an invitation makes a parent of a child: an adult other than the child, invited by someone
who still is a parent, while the child has fewer than two, and not a parent an operator removed for
a court decision (found by a review: each of these let a stranger, a child or a third and fourth
"parent" in)."""

from __future__ import annotations

import os
import uuid

import httpx
import pytest

from ens.core import clock, db
from ens.core.settings import Settings
from ens.spaces.representatives import end_court_measure
from tests.helpers.carers import (
    create_child_space,
    invite,
    join_as_second_parent,
    live_parents,
    live_representation_id,
    today_in_paris,
    years_before,
)
from tests.helpers.concurrency import first_decision, second_while_first_is_open
from tests.helpers.people import MakePerson, Person

on_postgres = pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's concurrency"
)


async def _withdraw(client: httpx.AsyncClient, space_id: uuid.UUID, parent: Person) -> None:
    """``DELETE .../representatives/{id}`` of the parent's own right, by them."""
    mine = await live_representation_id(space_id, parent)
    left = await client.delete(f"/v1/spaces/{space_id}/representatives/{mine}", headers=parent.headers)
    assert left.status_code == 204, left.text


async def _accept(client: httpx.AsyncClient, code: str, person: Person) -> httpx.Response:
    return await client.post(f"/v1/invitations/{code}/accept", headers=person.headers)


def _problem(answer: httpx.Response, status: int, kind: str) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["type"] == f"urn:ens:problem:{kind}"
    return str(body["detail"])


@pytest.mark.parametrize("ended_by", ["withdrawal", "operator"])
async def test_an_invitation_dies_with_its_parents_right(
    client: httpx.AsyncClient, make_person: MakePerson, ended_by: str
) -> None:
    """The parent withdraws, or an operator ends their right for a court decision: the codes they
    made die with it."""
    parent, other, stranger = await make_person(), await make_person(), await make_person()
    child = await create_child_space(client, parent)
    code = await invite(client, parent, child)  # made while the child has one parent
    assert (await join_as_second_parent(client, parent, other, child)).status_code == 200
    if ended_by == "withdrawal":
        await _withdraw(client, child, parent)
    else:
        await end_court_measure(child, await live_representation_id(child, parent), reason="TJ Lyon, RG 26/04567")
    _problem(await _accept(client, code, stranger), 404, "not-found")
    assert (await client.get(f"/v1/spaces/{child}", headers=stranger.headers)).status_code == 404
    assert await live_parents(child) == {other.account_id}


async def test_an_invitation_is_void_once_its_parent_no_longer_is_one_whatever_ended_the_right(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """A right that ended without its codes (a code made before they died with it): the acceptance
    itself checks the inviter."""
    parent, stranger = await make_person(), await make_person()
    child = await create_child_space(client, parent)
    code = await invite(client, parent, child)
    await db.fetch(
        "UPDATE representatives SET revoked_at = {}, ended_reason = 'withdrew' WHERE space_id = {} AND account_id = {}",
        clock.now(),
        child,
        parent.account_id,
    )
    detail = _problem(await _accept(client, code, stranger), 409, "conflict")
    assert "no longer represents" in detail
    assert await live_parents(child) == set()
    used = await db.fetch("SELECT id FROM space_codes WHERE space_id = {} AND used_at IS NOT NULL", child)
    assert used == []


async def test_a_parent_an_operator_removed_is_not_brought_back_by_the_other_parent(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    parent, other = await make_person(given_name="Paul"), await make_person(given_name="Marie")
    child = await create_child_space(client, parent)
    assert (await join_as_second_parent(client, parent, other, child)).status_code == 200
    await end_court_measure(
        child, await live_representation_id(child, other), reason="TJ Lyon: retrait de l'autorité parentale"
    )
    code = await invite(client, parent, child)
    detail = _problem(await _accept(client, code, other), 403, "forbidden")
    assert "operator" in detail
    assert (await client.get(f"/v1/spaces/{child}", headers=other.headers)).status_code == 404
    assert await live_parents(child) == {parent.account_id}
    # The code is not spent: the person it is for may still come.
    assert (await _accept(client, code, await make_person())).status_code == 200


async def test_a_parent_who_withdrew_may_be_invited_back(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    parent, other = await make_person(), await make_person()
    child = await create_child_space(client, parent)
    assert (await join_as_second_parent(client, parent, other, child)).status_code == 200
    await _withdraw(client, child, other)
    assert (await join_as_second_parent(client, parent, other, child)).status_code == 200
    assert await live_parents(child) == {parent.account_id, other.account_id}


async def test_a_child_has_two_parents_at_most(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    parent, other, third = await make_person(), await make_person(), await make_person()
    child = await create_child_space(client, parent)
    first, second = await invite(client, parent, child), await invite(client, parent, child)
    assert (await _accept(client, first, other)).status_code == 200
    detail = _problem(await _accept(client, second, third), 409, "conflict")
    assert "2 parents" in detail
    assert (await client.get(f"/v1/spaces/{child}", headers=third.headers)).status_code == 404
    assert await live_parents(child) == {parent.account_id, other.account_id}
    # Once a parent withdraws, the same code lets another come.
    await _withdraw(client, child, other)
    assert (await _accept(client, second, third)).status_code == 200


@on_postgres
async def test_two_acceptances_at_once_make_one_second_parent(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    parent, other, third = await make_person(), await make_person(), await make_person()
    child = await create_child_space(client, parent)
    code = await invite(client, parent, child)
    # The first acceptance holds the space's decision and has written its parent, not committed yet.
    async with first_decision(settings, f"representatives:{child}") as first:
        await first.execute(
            "INSERT INTO representatives (id, space_id, account_id, kind, since, until, created_at) "
            "VALUES (gen_random_uuid(), $1, $2, 'parent', now(), now() + interval '1 year', now())",
            child,
            other.account_id,
        )
        second, waited = await second_while_first_is_open(_accept(client, code, third))
    answer = await second
    assert waited
    _problem(answer, 409, "conflict")
    assert await live_parents(child) == {parent.account_id, other.account_id}


async def test_only_an_adult_other_than_the_child_joins_as_a_parent(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    parent = await make_person()
    born = years_before(today_in_paris(), 12)
    child = await create_child_space(client, parent, given_name="Inès", birthdate=born)
    code = await invite(client, parent, child)
    schoolmate = await make_person(given_name="Kid", birthdate=years_before(today_in_paris(), 12))
    the_child = await make_person(given_name="INÈS", family_name=parent.family_name, birthdate=born)
    unknown_age = await make_person(birthdate=None)
    assert "adult" in _problem(await _accept(client, code, schoolmate), 403, "forbidden")
    assert "own space" in _problem(await _accept(client, code, the_child), 403, "forbidden")
    assert "birthdate" in _problem(await _accept(client, code, unknown_age), 403, "forbidden")
    for refused in (schoolmate, the_child, unknown_age):
        assert (await client.get(f"/v1/spaces/{child}", headers=refused.headers)).status_code == 404
    assert await live_parents(child) == {parent.account_id}
    # Nothing was spent: an adult (18 today) still joins with it.
    eighteen_today = await make_person(birthdate=years_before(today_in_paris(), 18))
    assert (await _accept(client, code, eighteen_today)).status_code == 200


async def test_an_account_of_unknown_age_creates_no_childs_space(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """Joining refused an account without a birthdate; creating took it for an adult (a helper's note)."""
    unknown_age = await make_person(birthdate=None)
    body = {
        "givenName": "Noé",
        "familyName": "Martin",
        "birthdate": years_before(today_in_paris(), 7).isoformat(),
        "sex": "male",
        "relationship": "parent",
    }
    refused = await client.post("/v1/spaces", json=body, headers=unknown_age.headers)
    assert "birthdate" in _problem(refused, 403, "forbidden")
    me = (await client.get("/v1/me", headers=unknown_age.headers)).json()
    assert [space for space in me["spaces"] if space["role"] == "representative"] == []
