"""The rules of spaces: accounts, own spaces, closing and erasing, grants (sessions and apps)."""

from __future__ import annotations

import logging
import smtplib
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from piccolo.table import Table

from ens.core import clock
from ens.core.clock import aware_or_none
from ens.core.db import as_uuid, bound_tables, fetch, fetch_one, write_transaction
from ens.core.errors import Conflict, Gone, NotFound
from ens.core.mail import Mailer
from ens.spaces.caller import PROFESSIONAL_SCOPE
from ens.spaces.door import SpaceAccess, SpaceRef, adulthood, representation_kind, security_log, space_ref
from ens.spaces.rights import RIGHTS, Action, ActorKind
from ens.spaces.schemas import AccountRead, HolderRead, MeRead, SessionRead, SpaceListItem
from ens.spaces.tables import Account, Grant, Space, SpaceErasure

log = logging.getLogger("ens.spaces")

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
            Account.email: identity.email,
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
            kind: ActorKind | None = "minor_holder" if space.birthdate and now < adulthood(space) else "holder"
        else:
            kind = representation_kind(
                kind=row["kind"],
                relates_to=row["relates_to"],
                since=row["since"],
                until=row["until"],
                consent_until=row["consent_until"],
                space=space,
                now=now,
            )
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


ERASED_BY_A_PARENT = (
    "Bonjour,\n\nL'espace santé de {given_name} a été supprimé définitivement le {day} par {actor}, "
    "qui exerce aussi l'autorité parentale. Vous n'y avez plus accès ; rien ne peut en être restauré.\n\n"
    "Si vous n'étiez pas au courant, contactez l'assistance depuis l'application.\n\n"
    "Cet e-mail ne contient aucune donnée de santé."
)


async def close_or_erase_space(access: SpaceAccess, *, erase: bool, mailer: Mailer) -> None:
    """Close the space (archived, reopenable), or with ``erase`` delete everything it holds now.

    An erase is accepted on a closed space too (an express deletion request after closing). Who may
    erase is narrower than who may close (``ens.spaces.rights``); when a parent erases a minor's
    space, the other representatives are told by e-mail, after the erasure (no health data in it).
    """
    if erase:
        access.require(Action.ERASE)
        others = await fetch(
            """SELECT a.email FROM representatives r JOIN accounts a ON a.id = r.account_id
               WHERE r.space_id = {} AND r.revoked_at IS NULL AND r.account_id <> {} AND a.email IS NOT NULL""",
            access.space_id,
            access.caller.account_id,
        )
        await erase_space(
            access.space_id,
            account_id=access.caller.account_id,
            client_id=access.caller.client_id,
            acting_as=access.kind,
            request_id=access.request_id,
        )
        if access.kind == "parent":
            text = ERASED_BY_A_PARENT.format(
                given_name=access.space.given_name,
                day=clock.now().astimezone(ZoneInfo(access.space.timezone)).strftime("%d/%m/%Y"),
                actor=access.actor_name or "l'autre parent",
            )
            for other in others:
                await tell(mailer, other["email"], "Un espace santé a été supprimé", text)
        return
    if access.space.status == "closed":
        raise Gone("This space is closed already.")
    await close_space(access.space_id)


async def tell(mailer: Mailer, to: str, subject: str, text: str) -> None:
    """A notice sent after the fact: the change is committed; a mail server that fails is logged
    for the operators and does not turn the person's request into an error."""
    try:
        await mailer.send(to, subject, text=text)
    except (OSError, smtplib.SMTPException):
        log.exception("notice not sent", extra={"event": "notice_not_sent"})


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


async def erase_space(space_id: UUID, *, account_id: UUID, client_id: str, acting_as: str, request_id: str) -> None:
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
                erased_by_account_id=account_id,
                erased_by_client_id=client_id,
                acting_as=acting_as,
                request_id=request_id,
                erased_at=now,
            )
        )
    security_log.warning(
        "space erased",
        extra={
            "event": "space_erased",
            "space_id": str(space_id),
            "account_id": str(account_id),
            "request_id": request_id,
        },
    )


# The capabilities' own tables: what a person put in a space (vitals, records, vaccinations, documents).
_BOOKKEEPING_APPS = ("ens.spaces.", "ens.auth.", "ens.core.")


async def holds_data(space_id: UUID) -> bool:
    """Whether anything was put in the space (a row in any capability's table)."""
    for table in bound_tables():
        if table.__module__.startswith(_BOOKKEEPING_APPS) or not _has_space_id(table):
            continue
        if await fetch(f"SELECT 1 AS x FROM {table._meta.tablename} WHERE space_id = {{}} LIMIT 1", space_id):
            return True
    return False


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


async def create_professional_grant(professional_id: UUID, client_id: str, *, client_name: str) -> UUID:
    """A professional signed in to their software: every token of that login belongs to this grant
    (kind ``professional``; the space door then decides each space from the holder's decisions)."""
    grant_id = uuid.uuid4()
    await Grant.insert(
        Grant(
            id=grant_id,
            kind="professional",
            account_id=professional_id,
            client_id=client_id,
            client_name=client_name,
            space_id=None,
            scopes=PROFESSIONAL_SCOPE,
            label=None,
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
