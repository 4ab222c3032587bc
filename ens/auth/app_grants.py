"""Apps connected to a space (``/v1/spaces/{space}/grants``) and new recovery codes for the account."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ens.api import ReadStruct
from ens.auth import otp
from ens.auth.login import RECOVERY_CODES_RENEWED, LoginContext, notify
from ens.auth.scopes import describe
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
    """The live app grants of a space, each permission said in plain French."""
    return [
        AppGrantRead(
            id=grant.id,
            client_id=grant.client_id,
            client_name=grant.client_name,
            scopes=grant.scopes,
            permissions=[describe(scope) for scope in grant.scopes],
            granted_by=grant.account_id,
            created_at=grant.created_at,
            last_used_at=grant.last_used_at,
        )
        for grant in await spaces.list_app_grants(space_id)
    ]


async def revoke_app_grant(space_id: UUID, grant_id: UUID) -> None:
    """Disconnect an app from the space: its tokens stop working on their next request."""
    await spaces.revoke_app_grant(space_id, grant_id)


async def renew_recovery_codes(ctx: LoginContext, account_id: UUID) -> RecoveryCodesRead:
    """Ten new recovery codes for the signed-in person; the previous ones die, and an e-mail says so."""
    codes = await otp.issue_recovery_codes(ctx.settings, account_id)
    await notify(ctx, account_id, "Nouveaux codes de secours", RECOVERY_CODES_RENEWED)
    return RecoveryCodesRead(recovery_codes=codes)
