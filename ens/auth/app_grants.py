"""Apps connected to a space (``/v1/spaces/{space}/grants``) and new recovery codes for the account.

The grants table belongs to ``ens.spaces``; the listing below reads it directly because
``ens.spaces.service`` has no listing of app grants yet (to move there when it gets one).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ens.api import ReadStruct
from ens.auth import otp
from ens.auth.login import RECOVERY_CODES_RENEWED, LoginContext, notify
from ens.auth.scopes import describe
from ens.db import fetch, fetch_one
from ens.errors import NotFound
from ens.spaces import service as spaces


class AppGrantRead(ReadStruct):
    id: UUID
    client_id: str
    client_name: str
    scopes: list[str]
    permissions: list[str]
    granted_by: UUID
    created_at: datetime
    last_used_at: datetime | None


class RecoveryCodesRead(ReadStruct):
    recovery_codes: list[str]


async def list_app_grants(space_id: UUID) -> list[AppGrantRead]:
    """The live app grants of a space, newest first."""
    rows = await fetch(
        """SELECT id, client_id, client_name, scopes, account_id, created_at, last_used_at FROM grants
           WHERE space_id = {} AND kind = 'app' AND revoked_at IS NULL ORDER BY created_at DESC""",
        space_id,
    )
    return [
        AppGrantRead(
            id=row["id"],
            client_id=row["client_id"],
            client_name=row["client_name"],
            scopes=str(row["scopes"]).split(),
            permissions=[describe(s) for s in str(row["scopes"]).split()],
            granted_by=row["account_id"],
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
    await spaces.revoke_grant(grant_id)


async def renew_recovery_codes(ctx: LoginContext, account_id: UUID) -> RecoveryCodesRead:
    """Ten new recovery codes for the signed-in person; the previous ones die, and an e-mail says so."""
    codes = await otp.issue_recovery_codes(ctx.settings, account_id)
    await notify(ctx, account_id, "Nouveaux codes de secours", RECOVERY_CODES_RENEWED)
    return RecoveryCodesRead(recovery_codes=codes)
