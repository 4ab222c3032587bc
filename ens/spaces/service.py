"""The rules of spaces: accounts, own spaces, closing and erasing, grants (sessions and apps)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from piccolo.table import Table

from ens.core import clock
from ens.core.clock import as_date, aware_or_none
from ens.core.db import as_uuid, bound_tables, fetch, fetch_one, write_transaction
from ens.core.errors import Conflict, Gone, NotFound
from ens.spaces.door import SpaceAccess, security_log
from ens.spaces.schemas import AccountRead, HolderRead, MeRead, SessionRead, SpaceListItem
from ens.spaces.tables import Account, Grant, Space, SpaceErasure

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
            await Space.insert(
                Space(
                    id=space_id,
                    holder_account_id=account_id,
                    given_name=identity.given_name,
                    family_name=identity.family_name,
                    birthdate=identity.birthdate,
                    sex=_sex_from_gender(identity.gender),
                    timezone=DEFAULT_TIMEZONE,
                    status="open",
                    created_at=now,
                    updated_at=now,
                )
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
            Account.email: identity.email,
            Account.updated_at: now,
        }
    ).where(Account.id == account_id)


async def apply_identity_claims(account_id: UUID, identity: Identity) -> str | None:
    """Refresh the account's claims from the provider; the previous e-mail address if it changed."""
    row = await fetch_one("SELECT email FROM accounts WHERE id = {}", account_id)
    previous = row["email"] if row else None
    await _update_claims(account_id, identity, now=clock.now())
    return previous if previous and previous != identity.email else None


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
    """The account and every space it may open today: its own, and those it represents."""
    account = await get_account(account_id)
    now = clock.now()
    rows = await fetch(
        """
        SELECT s.id, s.given_name, s.family_name, s.birthdate, s.sex, s.status, s.timezone,
               'holder' AS role, NULL AS kind, NULL AS until
        FROM spaces s WHERE s.holder_account_id = {}
        UNION ALL
        SELECT s.id, s.given_name, s.family_name, s.birthdate, s.sex, s.status, s.timezone,
               'representative' AS role, r.kind AS kind, r.until AS until
        FROM representatives r JOIN spaces s ON s.id = r.space_id
        WHERE r.account_id = {} AND r.revoked_at IS NULL AND r.since <= {}
          AND (r.until IS NULL OR r.until > {})
        """,
        account_id,
        account_id,
        now,
        now,
    )
    spaces = [
        SpaceListItem(
            id=as_uuid(row["id"]),
            holder=HolderRead(
                given_name=row["given_name"],
                family_name=row["family_name"],
                birthdate=as_date(row["birthdate"]),
                sex=row["sex"],
            ),
            role=row["role"],
            status=row["status"],
            timezone=row["timezone"],
            representative_kind=row["kind"],
            representative_until=aware_or_none(row["until"]),
        )
        for row in rows
    ]
    return MeRead(account=account, spaces=spaces)


async def close_or_erase_space(access: SpaceAccess, *, erase: bool) -> None:
    """Close the space (archived, reopenable), or with ``erase`` delete everything it holds now.

    An erase is accepted on a closed space too (an express deletion request after closing).
    """
    if erase:
        await erase_space(access.space_id, by=access)
        return
    if access.space.status == "closed":
        raise Gone("This space is closed already.")
    await close_space(access.space_id)


async def space_status(space_id: UUID) -> str | None:
    """``open`` or ``closed``; ``None`` when there is no such space."""
    row = await fetch_one("SELECT status FROM spaces WHERE id = {}", space_id)
    return str(row["status"]) if row else None


async def close_space(space_id: UUID) -> None:
    """Archive the space: every route but ``reopen`` answers 410 until it is reopened."""
    now = clock.now()
    async with write_transaction():
        await Space.update({Space.status: "closed", Space.closed_at: now, Space.updated_at: now}).where(
            Space.id == space_id
        )


async def reopen_space(space_id: UUID) -> None:
    """Restore a closed space with everything it held."""
    async with write_transaction():
        row = await fetch_one("SELECT status FROM spaces WHERE id = {}", space_id)
        if row is None:
            raise NotFound("No such space.")
        if row["status"] != "closed":
            raise Conflict("This space is open already.")
        await Space.update({Space.status: "open", Space.closed_at: None, Space.updated_at: clock.now()}).where(
            Space.id == space_id
        )


async def erase_space(space_id: UUID, *, by: SpaceAccess) -> None:
    """Delete every row of the space, in every table that has a ``space_id``, in one transaction,
    and leave the operators' record of the erasure (:class:`SpaceErasure`) in the same one.

    Grants go after the rows that reference them (refresh tokens, codes), the space row last.
    """
    referenced_last: tuple[type[Table], ...] = (Grant, Space)
    tables = [t for t in bound_tables() if t not in referenced_last and _has_space_id(t)]
    ordered: list[type[Table]] = [*tables, Grant]
    now = clock.now()
    async with write_transaction():
        for table in ordered:
            await fetch(f"DELETE FROM {table._meta.tablename} WHERE space_id = {{}}", space_id)
        await fetch("DELETE FROM spaces WHERE id = {}", space_id)
        await SpaceErasure.insert(
            SpaceErasure(
                id=uuid.uuid4(),
                erased_space_id=space_id,
                erased_by_account_id=by.caller.account_id,
                erased_by_client_id=by.caller.client_id,
                acting_as=by.role,
                request_id=by.request_id,
                erased_at=now,
            )
        )
    security_log.warning(
        "space erased",
        extra={
            "event": "space_erased",
            "space_id": str(space_id),
            "account_id": str(by.caller.account_id),
            "request_id": by.request_id,
        },
    )


def _has_space_id(table: type[Table]) -> bool:
    return "space_id" in {column._meta.name for column in table._meta.columns}


# ---------------------------------------------------------------------------------------------
# Grants: every token belongs to one. A session is the phone app signed in on a device; an app
# grant is a person's consent for one labelled app on one space.


async def create_session_grant(account_id: UUID, client_id: str, *, client_name: str, label: str | None) -> UUID:
    grant_id = uuid.uuid4()
    await Grant.insert(
        Grant(
            id=grant_id,
            kind="session",
            account_id=account_id,
            client_id=client_id,
            client_name=client_name,
            space_id=None,
            scopes="space",
            label=label,
            created_at=clock.now(),
        )
    )
    return grant_id


async def create_app_grant(
    account_id: UUID, space_id: UUID, *, client_id: str, client_name: str, scopes: list[str]
) -> UUID:
    """A person's consent for an app on a space; a new consent replaces the app's previous one there."""
    grant_id = uuid.uuid4()
    now = clock.now()
    async with write_transaction():
        await Grant.update({Grant.revoked_at: now}).where(
            (Grant.space_id == space_id) & (Grant.client_id == client_id) & (Grant.revoked_at.is_null())
        )
        await Grant.insert(
            Grant(
                id=grant_id,
                kind="app",
                account_id=account_id,
                client_id=client_id,
                client_name=client_name,
                space_id=space_id,
                scopes=" ".join(sorted(set(scopes))),
                label=None,
                created_at=now,
            )
        )
    return grant_id


async def grant_is_live(grant_id: UUID, account_id: UUID) -> bool:
    row = await fetch_one(
        "SELECT 1 AS live FROM grants WHERE id = {} AND account_id = {} AND revoked_at IS NULL", grant_id, account_id
    )
    return row is not None


async def revoke_grant(grant_id: UUID) -> None:
    async with write_transaction():
        await Grant.update({Grant.revoked_at: clock.now()}).where((Grant.id == grant_id) & (Grant.revoked_at.is_null()))


async def list_sessions(account_id: UUID, current_grant: UUID) -> list[SessionRead]:
    rows = await fetch(
        """SELECT id, client_id, client_name, label, created_at, last_used_at FROM grants
           WHERE account_id = {} AND kind = 'session' AND revoked_at IS NULL ORDER BY created_at DESC""",
        account_id,
    )
    return [SessionRead(**row, current=as_uuid(row["id"]) == current_grant) for row in rows]


async def revoke_session(account_id: UUID, session_id: UUID) -> None:
    """Sign a device out: its grant dies, so its tokens stop working on the next request."""
    row = await fetch_one(
        "SELECT id FROM grants WHERE id = {} AND account_id = {} AND kind = 'session' AND revoked_at IS NULL",
        session_id,
        account_id,
    )
    if row is None:
        raise NotFound("No such session.")
    await revoke_grant(session_id)


@dataclass(frozen=True)
class AppGrant:
    id: UUID
    client_id: str
    client_name: str
    scopes: list[str]
    account_id: UUID
    created_at: datetime
    last_used_at: datetime | None


async def list_app_grants(space_id: UUID) -> list[AppGrant]:
    """The live app grants of a space, newest first (index ``grants_space``)."""
    rows = await fetch(
        """SELECT id, client_id, client_name, scopes, account_id, created_at, last_used_at FROM grants
           WHERE space_id = {} AND kind = 'app' AND revoked_at IS NULL ORDER BY created_at DESC""",
        space_id,
    )
    return [
        AppGrant(
            id=as_uuid(row["id"]),
            client_id=row["client_id"],
            client_name=row["client_name"],
            scopes=str(row["scopes"]).split(),
            account_id=as_uuid(row["account_id"]),
            created_at=row["created_at"],
            last_used_at=row["last_used_at"],
        )
        for row in rows
    ]


async def revoke_app_grant(space_id: UUID, grant_id: UUID) -> None:
    """Disconnect an app from the space: its tokens stop working on their next request."""
    row = await fetch_one(
        "SELECT id FROM grants WHERE id = {} AND space_id = {} AND kind = 'app' AND revoked_at IS NULL",
        grant_id,
        space_id,
    )
    if row is None:
        raise NotFound("No such app grant on this space.")
    await revoke_grant(grant_id)


async def touch_grant(grant_id: UUID, when: datetime) -> None:
    """Remember when a session or app last obtained tokens (shown in sessions and grants lists)."""
    await Grant.update({Grant.last_used_at: when}).where(Grant.id == grant_id)
