"""The signed-in person's own login settings: new recovery codes."""

from __future__ import annotations

import uuid
from uuid import UUID

from ens.auth import otp
from ens.auth.errors import CodeRefused
from ens.auth.login import RECOVERY_CODES_RENEWED, LoginContext, notify
from ens.auth.schemas import RecoveryCodesRead
from ens.core.errors import Forbidden


async def renew_recovery_codes(ctx: LoginContext, account_id: UUID, *, code: str) -> RecoveryCodesRead:
    """Ten new recovery codes for the signed-in person; the previous ones die, and an e-mail says so.

    The person proves possession of the second factor again: a stolen access token must not be
    enough to mint codes that outlive it. Every try counts toward the second factor's lock.
    """
    try:
        # A fresh attempt id: an e-mail code sent for some login never matches here.
        await otp.verify_second_factor(ctx.settings, account_id, attempt_id=uuid.uuid4(), raw=code)
    except CodeRefused as exc:
        raise Forbidden(exc.detail) from exc
    codes = await otp.issue_recovery_codes(ctx.settings, account_id)
    await notify(ctx, account_id, subject="Nouveaux codes de secours", text=RECOVERY_CODES_RENEWED)
    return RecoveryCodesRead(recovery_codes=codes)
