"""An account's identity as its provider gave it, for what must name its author (advance
directives are identified by family name, first names, date and place of birth)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from ens.core.clock import as_date
from ens.core.db import fetch_one
from ens.core.errors import NotFound


@dataclass(frozen=True)
class AccountIdentity:
    """``birthplace`` is the provider's INSEE code (empty or ``None`` when born abroad),
    ``birthcountry`` the country's (99100 France)."""

    given_name: str
    family_name: str
    birthdate: date | None
    birthplace: str | None
    birthcountry: str | None = None


async def account_identity(account_id: UUID) -> AccountIdentity:
    """The identity claims kept on the account (refreshed at every sign-in)."""
    row = await fetch_one(
        "SELECT given_name, family_name, birthdate, birthplace, birthcountry FROM accounts WHERE id = {}", account_id
    )
    if row is None:
        raise NotFound("No such account.")
    return AccountIdentity(
        given_name=row["given_name"],
        family_name=row["family_name"],
        birthdate=as_date(row["birthdate"]),
        birthplace=row["birthplace"] or None,
        birthcountry=row["birthcountry"] or None,
    )
