"""Codes sent by e-mail for one login attempt: short-lived, single use, stored hashed, a few per hour."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from uuid import UUID

from ens.auth.errors import CodeRefused
from ens.auth.otp.lock import _hold_guard, _now
from ens.auth.tables import EmailCode
from ens.core import keyring
from ens.core.db import fetch, fetch_one, one_of, write_transaction
from ens.core.settings import Settings

EMAIL_CODE_TTL = timedelta(minutes=10)


def _email_hash(settings: Settings, attempt_id: UUID, *, code: str) -> str:
    return keyring.token_hash(settings.secret_key, _hashed(attempt_id, code))


def _hashed(attempt_id: UUID, code: str) -> str:
    return f"email:{attempt_id}:{code}"


async def new_email_code(
    settings: Settings,
    attempt_id: UUID,
    *,
    account_id: UUID,
    browser: str | None = None,
    now: datetime | None = None,
) -> str:
    """Six random digits for this login attempt, valid 10 minutes; earlier ones of the attempt die.

    Sending is rate-limited per person (``ENS_EMAIL_CODES_PER_HOUR`` over the last hour), counted
    apart for each known ``browser`` (its key) and for strangers' browsers together: strangers
    holding the provider password can spend their own count, not the person's own browser's. The
    count and the new code's row are one transaction under the person's guard row, so parallel
    requests, from any process, are counted one after the other and at most that many codes are
    created. Raises :class:`CodeRefused` beyond the limit.
    """
    at = _now(now)
    code = f"{secrets.randbelow(1_000_000):06d}"
    async with write_transaction():
        # Not a COUNT inside a conditional statement: on PostgreSQL a waiting statement re-checks
        # its row but not its subquery, which would still count from before the wait.
        await _hold_guard(account_id)
        whose, args = ("browser_key = {}", (browser,)) if browser is not None else ("browser_key IS NULL", ())
        count = await fetch_one(
            f"SELECT COUNT(*) AS n FROM email_codes WHERE account_id = {{}} AND created_at > {{}} AND {whose}",
            account_id,
            at - timedelta(hours=1),
            *args,
        )
        if count is not None and int(count["n"]) >= settings.email_codes_per_hour:
            raise CodeRefused(
                "Trop de codes envoyés par e-mail. Réessayez dans une heure ou utilisez votre application."
            )
        await fetch("UPDATE email_codes SET used_at = {} WHERE attempt_id = {} AND used_at IS NULL", at, attempt_id)
        await EmailCode.insert(
            EmailCode(
                id=uuid.uuid4(),
                attempt_id=attempt_id,
                account_id=account_id,
                code_hash=_email_hash(settings, attempt_id, code=code),
                created_at=at,
                expires_at=at + EMAIL_CODE_TTL,
                browser_key=browser,
            )
        )
    return code


async def _use_email_code(settings: Settings, attempt_id: UUID, *, code: str, now: datetime) -> str:
    # Under the current key, or one it replaced: a login in flight when ENS_SECRET_KEY changed goes on
    # (its seals are read under the old key), and so does the code it was sent (a review of the rotation).
    hashes = keyring.token_hashes(settings.secret_key, _hashed(attempt_id, code))
    found = one_of("code_hash", hashes)
    used = await fetch(
        f"UPDATE email_codes SET used_at = {{}} WHERE attempt_id = {{}} AND {found} AND used_at IS NULL "
        "AND expires_at > {} RETURNING id",
        now,
        attempt_id,
        *hashes,
        now,
    )
    if used:
        return "ok"
    known = await fetch_one(f"SELECT id FROM email_codes WHERE attempt_id = {{}} AND {found}", attempt_id, *hashes)
    return "expired" if known else "no"
