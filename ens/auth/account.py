"""The signed-in person's own login settings: new recovery codes."""

from __future__ import annotations

import uuid
from datetime import timedelta
from uuid import UUID

from ens.auth import otp
from ens.auth.errors import CodeRefused, TriesSpent
from ens.auth.login import RECOVERY_CODES_RENEWED, LoginContext, notify
from ens.auth.login.notices import tell_of_a_lock
from ens.auth.schemas import RecoveryCodesRead
from ens.core.errors import Forbidden

# A session that spent its codes (``ENS_OTP_MAX_FAILURES``) may renew no more; a new login may.
RENEWAL_TRIES_SPENT = (
    "Trop de codes erronés depuis cette connexion : reconnectez-vous pour renouveler vos codes de secours."
)


async def renew_recovery_codes(
    ctx: LoginContext, account_id: UUID, *, session_id: UUID, code: str
) -> RecoveryCodesRead:
    """Ten new recovery codes for the signed-in person; the previous ones die, and an e-mail says so.

    The person proves possession of the second factor again: a stolen access token must not be
    enough to mint codes that outlive it. Every try counts toward the session's own budget (as long
    as the session may live), and on no lock: the session's login passed the second factor, a
    stolen token gets its five codes and no more, and neither strangers' lock nor a right code here
    touches the account's count (a review: a right code here started a stranger's count over).
    """
    budget = otp.TryBudget(session_id, keep=timedelta(seconds=ctx.settings.refresh_token_max_age), signed_in=True)
    try:
        # A fresh attempt id: an e-mail code sent for some login never matches here.
        await otp.verify_second_factor(ctx.settings, account_id, attempt_id=uuid.uuid4(), budget=budget, raw=code)
    except TriesSpent as exc:
        await tell_of_a_lock(ctx, account_id, exc)
        raise Forbidden(f"{exc.detail} {RENEWAL_TRIES_SPENT}".strip()) from exc
    except CodeRefused as exc:
        await tell_of_a_lock(ctx, account_id, exc)
        raise Forbidden(exc.detail) from exc
    codes = await otp.issue_recovery_codes(ctx.settings, account_id)
    await notify(ctx, account_id, subject="Nouveaux codes de secours", text=RECOVERY_CODES_RENEWED)
    return RecoveryCodesRead(recovery_codes=codes)
