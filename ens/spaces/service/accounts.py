"""Accounts and their own spaces: the sign-in of an identity, its claims, and the spaces ``GET /v1/me``
lists."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from ens.core import clock
from ens.core.clock import aware_or_none
from ens.core.db import fetch, fetch_one, write_transaction
from ens.core.errors import NotFound
from ens.spaces.door import SpaceRef, adulthood, minors_space, representation_kind_of, space_ref
from ens.spaces.rights import RIGHTS, ActorKind
from ens.spaces.schemas import AccountRead, HolderRead, MeRead, SpaceListItem
from ens.spaces.tables import Account, Space

DEFAULT_TIMEZONE = "Europe/Paris"


@dataclass(frozen=True)
class Identity:
    """A person as the identity provider describes them."""

    issuer: str
    sub: str
    given_name: str
    family_name: str
    birthdate: date | None = None
    gender: str | None = None
    birthplace: str | None = None
    email: str | None = None
    # INSEE's code of the country of birth (99100 France): FranceConnect gives it with birthplace.
    birthcountry: str | None = None
    # The provider's e-mail claim was not one address (ens.auth.login.provider): the account keeps
    # the address it had, where an absent claim empties it.
    email_left_out: bool = False


@dataclass(frozen=True)
class SignedIn:
    account_id: UUID
    space_id: UUID
    space_status: str
    account_created: bool


def _sex_from_gender(gender: str | None) -> str | None:
    return {"male": "male", "female": "female"}.get(gender or "", None)


async def sign_in_identity(identity: Identity, update_claims: bool = True) -> SignedIn:
    """Find or create the account for ``identity`` (issuer + sub) and its own space.

    Later sign-ins refresh the claims that changed, unless ``update_claims`` is false: the login
    flow applies them only once the second factor has passed (:func:`apply_identity_claims`), so
    that an address changed at the provider never receives this login's codes. A closed space is
    kept as it is (the person is offered to reopen it), never duplicated.
    """
    now = clock.now()
    async with write_transaction():
        row = await fetch_one("SELECT id FROM accounts WHERE issuer = {} AND sub = {}", identity.issuer, identity.sub)
        created = row is None
        if row is None:
            account_id = uuid.uuid4()
            await Account.insert(
                Account(
                    id=account_id,
                    issuer=identity.issuer,
                    sub=identity.sub,
                    given_name=identity.given_name,
                    family_name=identity.family_name,
                    birthdate=identity.birthdate,
                    gender=identity.gender,
                    birthplace=identity.birthplace,
                    birthcountry=identity.birthcountry,
                    email=identity.email,
                    created_at=now,
                    updated_at=now,
                )
            )
        else:
            account_id = row["id"]
        if not created and update_claims:
            await _update_claims(account_id, identity, now=now)
        space = await fetch_one("SELECT id, status FROM spaces WHERE holder_account_id = {}", account_id)
        if space is None:
            space_id = uuid.uuid4()
            await insert_space(
                SpaceRef(
                    id=space_id,
                    status="open",
                    timezone=DEFAULT_TIMEZONE,
                    birthdate=identity.birthdate,
                    sex=_sex_from_gender(identity.gender),
                    given_name=identity.given_name,
                    family_name=identity.family_name,
                    holder_account_id=account_id,
                ),
                now=now,
            )
            status = "open"
        else:
            space_id, status = space["id"], space["status"]
    return SignedIn(account_id=account_id, space_id=space_id, space_status=status, account_created=created)


async def _update_claims(account_id: UUID, identity: Identity, *, now: datetime) -> None:
    await Account.update(
        {
            Account.given_name: identity.given_name,
            Account.family_name: identity.family_name,
            Account.birthdate: identity.birthdate,
            Account.gender: identity.gender,
            Account.birthplace: identity.birthplace,
            Account.birthcountry: identity.birthcountry,
            **({} if identity.email_left_out else {Account.email: identity.email}),
            Account.updated_at: now,
        }
    ).where(Account.id == account_id)


async def insert_space(space: SpaceRef, *, now: datetime) -> None:
    """A new space, as ``space`` describes it (a person's own at first sign-in; a child's)."""
    await Space.insert(
        Space(
            id=space.id,
            holder_account_id=space.holder_account_id,
            given_name=space.given_name,
            family_name=space.family_name,
            birthdate=space.birthdate,
            sex=space.sex,
            timezone=space.timezone,
            status=space.status,
            created_at=now,
            updated_at=now,
        )
    )


async def apply_identity_claims(account_id: UUID, identity: Identity) -> str | None:
    """Refresh the account's claims from the provider; the previous e-mail address if it changed."""
    row = await fetch_one("SELECT email FROM accounts WHERE id = {}", account_id)
    previous = row["email"] if row else None
    await _update_claims(account_id, identity, now=clock.now())
    return previous if previous and not identity.email_left_out and previous != identity.email else None


async def get_account(account_id: UUID) -> AccountRead:
    """The account as the identity provider described it (one row, by primary key)."""
    account = await fetch_one(
        "SELECT id, given_name, family_name, birthdate, gender, email, issuer FROM accounts WHERE id = {}",
        account_id,
    )
    if account is None:
        raise NotFound("No such account.")
    return AccountRead(**account)


async def get_me(account_id: UUID) -> MeRead:
    """The account and every space it may open today: its own, and those it represents — decided
    for each by the door's own rule (:func:`ens.spaces.door.representation_kind`): a measure that
    relates only to property, or has ended, or a parent's right after the child's 18th birthday,
    lists nothing."""
    account = await get_account(account_id)
    now = clock.now()
    rows = await fetch(
        """
        SELECT s.id, s.given_name, s.family_name, s.birthdate, s.sex, s.status, s.timezone, s.holder_account_id,
               NULL AS kind, NULL AS relates_to, NULL AS since, NULL AS until, NULL AS consent_until
        FROM spaces s WHERE s.holder_account_id = {}
        UNION ALL
        SELECT s.id, s.given_name, s.family_name, s.birthdate, s.sex, s.status, s.timezone, s.holder_account_id,
               r.kind, r.relates_to, r.since, r.until, r.consent_until
        FROM representatives r JOIN spaces s ON s.id = r.space_id
        WHERE r.account_id = {} AND r.revoked_at IS NULL
        """,
        account_id,
        account_id,
    )
    spaces: list[SpaceListItem] = []
    for row in rows:
        space = space_ref(row)
        if row["kind"] is None:
            kind: ActorKind | None = "minor_holder" if minors_space(space, at=now) else "holder"
        else:
            kind = representation_kind_of(row, space=space, now=now)
        if kind is not None:
            spaces.append(space_list_item(space, kind, until=row["until"]))
    return MeRead(account=account, spaces=spaces)


def space_list_item(space: SpaceRef, kind: ActorKind, *, until: Any = None) -> SpaceListItem:
    """A space as ``GET /v1/me`` lists it for a caller of ``kind``: the representative's kind, when
    their right ends (a parent's: the 18th birthday), and what they may do there (the table of rights)."""
    holder = kind in ("holder", "minor_holder")
    if kind == "parent" and space.birthdate is not None:
        ends: datetime | None = adulthood(space)
    else:
        ends = aware_or_none(until)
    return SpaceListItem(
        id=space.id,
        holder=HolderRead(
            given_name=space.given_name, family_name=space.family_name, birthdate=space.birthdate, sex=space.sex
        ),
        role="holder" if holder else "representative",
        status=space.status,
        timezone=space.timezone,
        representative_kind=None if holder else public_kind(kind),
        representative_until=None if holder else ends,
        rights=sorted(RIGHTS[kind]),
    )


def public_kind(kind: ActorKind) -> str:
    """The kind as the API names it (a curator is a curator, consent or not)."""
    return "curatelle" if kind == "curatelle_without_consent" else kind
