"""People and apps as the tests build them: signed in, with a session or an app grant and a token."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from ens.auth.tokens import AccessTokens, new_app_token, new_session_token
from ens.core.settings import Settings
from ens.spaces.service import Identity, sign_in_identity

TEST_ISSUER = "https://idp.test.example"


@dataclass
class Person:
    """A signed-in person: their account, own space, session grant and a bearer token."""

    account_id: uuid.UUID
    space_id: uuid.UUID
    grant_id: uuid.UUID
    token: str
    given_name: str
    family_name: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class AppToken:
    """A labelled app's token on one person's space, as the consent flow would leave it."""

    client_id: str
    grant_id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def sign_in_person(
    settings: Settings,
    *,
    given_name: str = "Alex",
    family_name: str | None = None,
    birthdate: date | None = date(1990, 5, 17),
) -> Person:
    """Sign a fresh person in (a new identity each call) with a session token for the phone app."""
    family = family_name or f"Test{uuid.uuid4().hex[:8]}"
    signed_in = await sign_in_identity(
        Identity(
            issuer=TEST_ISSUER,
            sub=uuid.uuid4().hex,
            given_name=given_name,
            family_name=family,
            birthdate=birthdate,
            gender="female",
            email=f"{family.lower()}@example.test",
        )
    )
    grant_id, token = await new_session_token(
        AccessTokens(settings), signed_in.account_id, client_id="ens-mobile", client_name="ENS", label="pytest"
    )
    return Person(signed_in.account_id, signed_in.space_id, grant_id, token, given_name, family)


async def grant_app(
    settings: Settings,
    person: Person,
    scopes: list[str],
    *,
    client_id: str | None = None,
    name: str = "Test app",
    by: Person | None = None,
) -> AppToken:
    """A grant for an app on ``person``'s space with ``scopes`` (as a consent leaves it), and its
    token; ``by`` is the account that consented when it is not the holder's (a representative)."""
    client = client_id or f"app-{uuid.uuid4().hex[:8]}"
    grant_id, token = await new_app_token(
        AccessTokens(settings),
        account_id=(by or person).account_id,
        space_id=person.space_id,
        client_id=client,
        client_name=name,
        scopes=scopes,
    )
    return AppToken(client, grant_id, token)


class MakePerson(Protocol):
    def __call__(
        self, given_name: str = ..., family_name: str | None = ..., birthdate: date | None = ...
    ) -> Awaitable[Person]: ...


class MakeAppToken(Protocol):
    def __call__(
        self, person: Person, scopes: list[str], client_id: str | None = ..., name: str = ...
    ) -> Awaitable[AppToken]: ...


HistoryRows = Callable[[uuid.UUID], Awaitable[list[dict[str, Any]]]]
