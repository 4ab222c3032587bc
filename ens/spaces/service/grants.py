"""Grants: every token belongs to one. A session is the phone app signed in on a device; an app
grant is a person's consent for one labelled app on one space."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ens.core import clock
from ens.core.api import require_unversioned
from ens.core.db import as_uuid, fetch, fetch_one, row_lock, write_transaction
from ens.core.errors import NotFound
from ens.spaces.caller import PROFESSIONAL_SCOPE
from ens.spaces.door import SpaceRef, app_stands
from ens.spaces.history import AppConnectionEnded
from ens.spaces.schemas import SessionRead
from ens.spaces.tables import Grant


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
    """A person's consent for an app on a space; a new consent replaces the one they gave that app
    there before, never another person's (the holder's connection of an app and a representative's
    of the same app live side by side, each on its own authority). The space's row first, the order
    every write follows: replacing a connection locked the old grant, then the space (the new one's
    key), while an erasure holds the space and deletes its grants; PostgreSQL ended one of the two
    (a review). A space erased meanwhile is :class:`NotFound`."""
    grant_id = uuid.uuid4()
    now = clock.now()
    async with write_transaction():
        if not await fetch("SELECT id FROM spaces WHERE id = {}" + row_lock("KEY SHARE"), space_id):
            raise NotFound("No such space.")
        await Grant.update({Grant.revoked_at: now}).where(
            (Grant.space_id == space_id)
            & (Grant.client_id == client_id)
            & (Grant.account_id == account_id)
            & (Grant.revoked_at.is_null())
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


async def revoke_grant(grant_id: UUID, *, noted: AppConnectionEnded | None = None) -> None:
    """End a grant (a session, an app's connection): its tokens stop at their next request. An app's
    connection ended by a token request (``noted``) leaves its row in the space's history, in the
    same transaction (once: a grant revoked already is left as it is)."""
    async with write_transaction():
        if noted is not None:
            grant = await fetch_one("SELECT space_id FROM grants WHERE id = {}", grant_id)
            if grant is not None and grant["space_id"] is not None:
                # The space's row first, the order every write follows (an erasure takes the space,
                # then its grants); the history row then names a space that stays.
                await fetch("SELECT id FROM spaces WHERE id = {}" + row_lock("KEY SHARE"), grant["space_id"])
        ended = await fetch(
            "UPDATE grants SET revoked_at = {} WHERE id = {} AND revoked_at IS NULL "
            "RETURNING id, kind, space_id, account_id, client_id, client_name",
            clock.now(),
            grant_id,
        )
        if noted is not None and ended and ended[0]["kind"] == "app" and ended[0]["space_id"] is not None:
            await noted.record(ended[0])


async def list_sessions(account_id: UUID, current_grant: UUID, *, begun_after: datetime) -> list[SessionRead]:
    """The account's signed-in devices: its sessions not revoked and begun after ``begun_after``
    (before it, a session's refresh chain has passed its lifetime and its last access token has
    expired: it can do nothing, and is no device signed in)."""
    rows = await fetch(
        """SELECT id, client_id, client_name, label, created_at, last_used_at FROM grants
           WHERE account_id = {} AND kind = 'session' AND revoked_at IS NULL AND created_at > {}
           ORDER BY created_at DESC""",
        account_id,
        begun_after,
    )
    return [SessionRead(**row, current=as_uuid(row["id"]) == current_grant) for row in rows]


async def revoke_session(account_id: UUID, session_id: UUID, *, if_match: str | None = None) -> None:
    """Sign a device out: its grant dies, so its tokens stop working on the next request."""
    row = await fetch_one(
        "SELECT id FROM grants WHERE id = {} AND account_id = {} AND kind = 'session' AND revoked_at IS NULL",
        session_id,
        account_id,
    )
    if row is None:
        raise NotFound("No such session.")
    require_unversioned(if_match)
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


async def list_app_grants(space: SpaceRef) -> list[AppGrant]:
    """The app grants that let their app in, newest first (index ``grants_space``): not revoked,
    and, for an app a representative connected, on a right that still holds (the door's rule,
    :func:`ens.spaces.door.app_stands`). One connected under a right that lapsed by itself (the 18th
    birthday, a measure's last day) is refused at the door and at its next refresh, and was listed
    as connected until then (an outside audit)."""
    now = clock.now()
    rows = await fetch(
        """SELECT g.id, g.client_id, g.client_name, g.scopes, g.account_id, g.created_at, g.last_used_at,
                  g.created_at AS grant_created_at, r.kind AS rep_kind, r.since AS rep_since, r.until AS rep_until,
                  r.relates_to AS rep_relates_to, r.consent_until AS rep_consent_until, r.created_at AS rep_created_at
           FROM grants g LEFT JOIN representatives r
             ON r.space_id = g.space_id AND r.account_id = g.account_id AND r.revoked_at IS NULL
           WHERE g.space_id = {} AND g.kind = 'app' AND g.revoked_at IS NULL ORDER BY g.created_at DESC""",
        space.id,
    )
    rows = [row for row in rows if app_stands(row, granter=as_uuid(row["account_id"]), space=space, now=now)]
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


async def revoke_app_grant(space_id: UUID, grant_id: UUID, *, if_match: str | None = None) -> None:
    """Disconnect an app from the space: its tokens stop working on their next request."""
    row = await fetch_one(
        "SELECT id FROM grants WHERE id = {} AND space_id = {} AND kind = 'app' AND revoked_at IS NULL",
        grant_id,
        space_id,
    )
    if row is None:
        raise NotFound("No such app grant on this space.")
    require_unversioned(if_match)
    await revoke_grant(grant_id)


async def touch_grant(grant_id: UUID, when: datetime) -> None:
    """Remember when a session or app last obtained tokens (shown in sessions and grants lists)."""
    await Grant.update({Grant.last_used_at: when}).where(Grant.id == grant_id)
