"""Apps connected to a space (``/v1/spaces/{space}/grants``) and new recovery codes for the account."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from uuid import UUID

from msgspec import Meta

from ens.auth import otp
from ens.auth.errors import CodeRefused
from ens.auth.login import RECOVERY_CODES_RENEWED, LoginContext, notify
from ens.auth.scopes import describe
from ens.core.api import ReadStruct, Struct
from ens.core.errors import Forbidden
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


class RecoveryCodesRenewal(Struct):
    """A code from the authenticator app (or a recovery code): a token alone is not enough."""

    code: Annotated[str, Meta(min_length=1, max_length=64)]


async def renew_recovery_codes(ctx: LoginContext, account_id: UUID, code: str) -> RecoveryCodesRead:
    """Ten new recovery codes for the signed-in person; the previous ones die, and an e-mail says so.

    The person proves possession of the second factor again: a stolen access token must not be
    enough to mint codes that outlive it. Every try counts toward the second factor's lock.
    """
    try:
        # A fresh attempt id: an e-mail code sent for some login never matches here.
        await otp.verify_second_factor(ctx.settings, account_id, uuid.uuid4(), code)
    except CodeRefused as exc:
        raise Forbidden(exc.detail) from exc
    codes = await otp.issue_recovery_codes(ctx.settings, account_id)
    await notify(ctx, account_id, "Nouveaux codes de secours", RECOVERY_CODES_RENEWED)
    return RecoveryCodesRead(recovery_codes=codes)
