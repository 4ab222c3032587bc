"""Health professionals as the tests build them: signed in as their provider would assert them
(the real ``sign_in_professional``), with a grant and a token of their software; authorised by a
holder over HTTP; time passing is dates moved in the database."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx

from ens.auth.tokens import AccessTokens
from ens.core import clock, db
from ens.core.settings import Settings
from ens.spaces.caller import PROFESSIONAL_SCOPE, Caller
from ens.spaces.door import SpaceRef
from ens.spaces.professionals import (
    Exercise,
    ProfessionalIdentity,
    authorisation_end,
    luhn_valid,
    sign_in_professional,
)
from ens.spaces.service import create_professional_grant
from tests.helpers.carers import PARIS
from tests.helpers.people import Person

PRO_ISSUER = "https://pro-idp.test.example"
PRO_SOFTWARE = "pro-software-test"

GP, PHARMACIST, DENTIST, MIDWIFE, NURSE, PHYSIO, PODIATRIST = "10", "21", "40", "50", "60", "70", "80"
PROFESSIONS = (GP, PHARMACIST, DENTIST, MIDWIFE, NURSE, PHYSIO, PODIATRIST)


def new_rpps_id() -> str:
    """A fresh national identifier: 8, then an RPPS number whose last digit is its Luhn check."""
    base = "1" + "".join(secrets.choice("0123456789") for _ in range(9))
    digit = next(d for d in "0123456789" if luhn_valid(base + d))
    return "8" + base + digit


@dataclass
class Pro:
    """A professional signed in to their software: their id, grant and token."""

    professional_id: uuid.UUID
    grant_id: uuid.UUID
    token: str
    national_id: str
    profession: str
    given_name: str
    family_name: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"


async def sign_in_pro(
    settings: Settings, profession: str = GP, *, given_name: str = "Claire", family_name: str | None = None
) -> Pro:
    family = family_name or f"Pro{uuid.uuid4().hex[:6]}"
    national_id = new_rpps_id()
    professional_id = await sign_in_professional(
        ProfessionalIdentity(
            issuer=PRO_ISSUER,
            sub=uuid.uuid4().hex,
            national_id=national_id,
            given_name=given_name,
            family_name=family,
            exercises=(Exercise(profession_code=profession, places=["Cabinet de test"]),),
        )
    )
    grant_id = await create_professional_grant(professional_id, PRO_SOFTWARE, client_name="Logiciel de test")
    token = AccessTokens(settings).issue(
        Caller(
            kind="professional",
            account_id=professional_id,
            client_id=PRO_SOFTWARE,
            grant_id=grant_id,
            scopes=frozenset({PROFESSIONAL_SCOPE}),
        )
    )
    return Pro(professional_id, grant_id, token, national_id, profession, given_name, family)


async def authorise(
    client: httpx.AsyncClient, by: Person, pro: Pro, *, space: uuid.UUID | None = None
) -> dict[str, Any]:
    """``POST .../professionals`` by ``by`` (the holder, or a representative) on ``space``."""
    answer = await client.post(
        f"/v1/spaces/{space or by.space_id}/professionals", json={"nationalId": pro.national_id}, headers=by.headers
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def authorise_directly(holder: Person, pro: Pro) -> None:
    """The holder's authorisation, as ``POST .../professionals`` leaves it, without an HTTP client."""
    now = clock.now()
    space = SpaceRef(
        id=holder.space_id,
        status="open",
        timezone="Europe/Paris",
        birthdate=None,
        sex=None,
        given_name="",
        family_name="",
        holder_account_id=holder.account_id,
    )
    await db.fetch(
        "INSERT INTO space_professionals (space_id, id, professional_id, status, since, until, decided_by, "
        "created_at, updated_at) VALUES ({}, {}, {}, 'authorised', {}, {}, {}, {}, {})",
        holder.space_id,
        uuid.uuid4(),
        pro.professional_id,
        now,
        authorisation_end(space, now=now),
        holder.account_id,
        now,
        now,
    )


async def authorised_on(space_id: uuid.UUID, pro: Pro, day: date) -> None:
    """Time passes: the authorisation was given on ``day`` (Paris), at noon."""
    given = datetime.combine(day, time(12), PARIS).astimezone(UTC)
    space = SpaceRef(
        id=space_id,
        status="open",
        timezone="Europe/Paris",
        birthdate=None,
        sex=None,
        given_name="",
        family_name="",
        holder_account_id=None,
    )
    await db.fetch(
        "UPDATE space_professionals SET since = {}, until = {} WHERE space_id = {} AND professional_id = {}",
        given,
        authorisation_end(space, now=given),
        space_id,
        pro.professional_id,
    )


async def open_emergency(
    client: httpx.AsyncClient, pro: Pro, space_id: uuid.UUID, reason: str = "Patient inconscient aux urgences"
) -> httpx.Response:
    return await client.post(
        "/v1/pro/emergency-access", json={"space": str(space_id), "reason": reason}, headers=pro.headers
    )


async def emergency_hours_ago(space_id: uuid.UUID, pro: Pro, hours: float) -> None:
    """Time passes: the professional's emergency accesses on the space started ``hours`` ago."""
    rows = await db.fetch(
        "SELECT id, started_at FROM emergency_accesses WHERE space_id = {} AND professional_id = {}",
        space_id,
        pro.professional_id,
    )
    for row in rows:
        started = clock.now() - timedelta(hours=hours)
        await db.fetch(
            "UPDATE emergency_accesses SET started_at = {}, ends_at = {} WHERE space_id = {} AND id = {}",
            started,
            started + timedelta(hours=24),
            space_id,
            row["id"],
        )
