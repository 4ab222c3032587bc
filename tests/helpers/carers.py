"""Carers as the tests build them: a parent creates a child's space over HTTP, the other parent
joins with the invitation code, an operator records a court measure with the real command's
function. Time passing (a child coming of age) is a birthdate moved in the database."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import httpx

from ens.core import clock, db
from ens.spaces.representatives import CourtMeasure, add_court_measure
from tests.helpers.people import Person

PARIS = ZoneInfo("Europe/Paris")


def today_in_paris() -> date:
    return clock.now().astimezone(PARIS).date()


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return date(day.year - years, 2, 28)


def child_body(family_name: str, *, given_name: str = "Léa", birthdate: date | None = None) -> dict[str, Any]:
    """The body of ``POST /v1/spaces``: a child of 8 unless ``birthdate``."""
    born = birthdate or years_before(today_in_paris(), 8)
    return {
        "givenName": given_name,
        "familyName": family_name,
        "birthdate": born.isoformat(),
        "sex": "female",
        "relationship": "parent",
    }


async def create_child_space(
    client: httpx.AsyncClient, parent: Person, *, given_name: str = "Léa", birthdate: date | None = None
) -> uuid.UUID:
    """``POST /v1/spaces`` by ``parent``: the child's space id."""
    answer = await client.post(
        "/v1/spaces",
        json=child_body(parent.family_name, given_name=given_name, birthdate=birthdate),
        headers=parent.headers,
    )
    assert answer.status_code == 201, answer.text
    return uuid.UUID(answer.json()["id"])


async def invite(client: httpx.AsyncClient, parent: Person, space_id: uuid.UUID) -> str:
    answer = await client.post(f"/v1/spaces/{space_id}/representatives/invitations", headers=parent.headers)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["code"])


async def join_as_second_parent(
    client: httpx.AsyncClient, parent: Person, other: Person, space_id: uuid.UUID
) -> httpx.Response:
    code = await invite(client, parent, space_id)
    return await client.post(f"/v1/invitations/{code}/accept", headers=other.headers)


async def set_birthdate(space_id: uuid.UUID, born: date) -> None:
    """Time passes: the child was born on ``born``."""
    await db.fetch("UPDATE spaces SET birthdate = {} WHERE id = {}", born, space_id)


async def court_measure(
    holder: Person,
    representative: Person,
    kind: Literal["tutelle", "curatelle", "habilitation_familiale"],
    *,
    relates_to: Literal["person", "property"] = "person",
    since: date | None = None,
    until: date | None = None,
) -> uuid.UUID:
    """What ``ens representatives add`` records (the operator checked the decision)."""
    return await add_court_measure(
        CourtMeasure(
            space_id=holder.space_id,
            account_id=representative.account_id,
            kind=kind,
            court_reference=f"TJ Paris, RG 26/{uuid.uuid4().hex[:5]}",
            since=since or today_in_paris() - timedelta(days=30),
            until=until,
            relates_to=relates_to,
        )
    )


async def consent_until(holder: Person, representative_id: uuid.UUID, until: datetime | None) -> None:
    await db.fetch(
        "UPDATE representatives SET consent_until = {} WHERE space_id = {} AND id = {}",
        until,
        holder.space_id,
        representative_id,
    )


async def representation(space_id: uuid.UUID, account_id: uuid.UUID) -> dict[str, Any] | None:
    row = await db.fetch_one(
        "SELECT * FROM representatives WHERE space_id = {} AND account_id = {} ORDER BY created_at DESC",
        space_id,
        account_id,
    )
    return dict(row) if row else None


async def live_representation_id(space_id: uuid.UUID, person: Person) -> uuid.UUID:
    """The id of ``person``'s live representation of the space (it must have one)."""
    row = await db.fetch_one(
        "SELECT id FROM representatives WHERE space_id = {} AND account_id = {} AND revoked_at IS NULL",
        space_id,
        person.account_id,
    )
    assert row is not None
    return uuid.UUID(str(row["id"]))


async def live_parents(space_id: uuid.UUID) -> set[uuid.UUID]:
    """The accounts whose parent's right on the space is not ended."""
    rows = await db.fetch(
        "SELECT account_id FROM representatives WHERE space_id = {} AND kind = 'parent' AND revoked_at IS NULL",
        space_id,
    )
    return {uuid.UUID(str(row["account_id"])) for row in rows}
