"""The second factor: TOTP (RFC 6238), single-use recovery codes, and codes sent by e-mail.

Rules that hold across processes live in the database: the last accepted TOTP time step (a code is
accepted once, and only if its step is strictly later, by one conditional UPDATE, so two concurrent
submissions cannot both pass), the wrong-code limits, recovery and e-mail codes (stored hashed,
single use) and the hourly limit of e-mail codes (counted under the person's guard row,
:func:`new_email_code`). TOTP seeds are encrypted with a key derived from ``ENS_SECRET_KEY``.

Every try is counted before its code is looked at (:func:`_reserve_try`), twice: in the budget of
its way in (a login attempt, or a session renewing its recovery codes: ``ENS_OTP_MAX_FAILURES``,
then that way in takes no more codes, :class:`TriesSpent`) and on the account, whose lock
(``ENS_OTP_ACCOUNT_MAX_FAILURES``) is the backstop against guessing over many attempts. Each is one
conditional UPDATE, so concurrent guesses cannot slip past either. The account's counter survives
its lock (only a right code resets it), so each further lock lasts twice as long as the previous
one, up to a day. One attempt alone cannot lock the account (its budget is below the account's
limit): whoever has only the person's password at the provider, or a stolen token, cannot keep the
person out with a handful of codes.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Literal
from uuid import UUID

from ens.auth.errors import CodeRefused
from ens.auth.otp.browsers import (
    BROWSER_KEPT,
    BROWSERS_PER_ACCOUNT,
    TOKENS_PER_BROWSER,
    KnownBrowser,
    forget_browsers,
    known_browser,
    remember_browser,
)
from ens.auth.otp.email_codes import EMAIL_CODE_TTL, _use_email_code, new_email_code
from ens.auth.otp.lock import (
    MAX_LOCK,
    TryBudget,
    _clear_failures,
    _now,
    _refuse,
    _reserve_try,
    ensure_not_locked,
)
from ens.auth.otp.recovery_codes import (
    RECOVERY_ALPHABET,
    RECOVERY_CODE_COUNT,
    RECOVERY_CODE_LENGTH,
    _use_recovery_code,
    issue_recovery_codes,
)
from ens.auth.otp.totp import (
    ISSUER_LABEL,
    VALID_WINDOW,
    Enrolment,
    _totp_accepts,
    activate_factor,
    active_factor,
    enrolment,
    start_enrolment,
)
from ens.core.settings import Settings

__all__ = [
    "BROWSERS_PER_ACCOUNT",
    "BROWSER_KEPT",
    "EMAIL_CODE_TTL",
    "ISSUER_LABEL",
    "MAX_LOCK",
    "RECOVERY_ALPHABET",
    "RECOVERY_CODE_COUNT",
    "RECOVERY_CODE_LENGTH",
    "TOKENS_PER_BROWSER",
    "VALID_WINDOW",
    "Enrolment",
    "KnownBrowser",
    "Method",
    "TryBudget",
    "activate_factor",
    "active_factor",
    "enrolment",
    "ensure_not_locked",
    "forget_browsers",
    "issue_recovery_codes",
    "known_browser",
    "new_email_code",
    "normalize_code",
    "remember_browser",
    "start_enrolment",
    "verify_email_code",
    "verify_enrolment_code",
    "verify_second_factor",
]


Method = Literal["totp", "recovery", "email"]


# The shapes a code can have. A code of none of them cannot be right: it is answered with what a
# code looks like and spends no try (a slip, not a guess).
_SIX_DIGITS = re.compile(r"[0-9]{6}")
_RECOVERY_SHAPE = re.compile(f"[{RECOVERY_ALPHABET}]{{{RECOVERY_CODE_LENGTH}}}")
SIX_DIGITS_WANTED = "Le code doit comporter 6 chiffres."


def normalize_code(raw: str) -> str:
    """What the person typed, as we compare it: NFKC (full-width digits become ASCII), no spaces or dashes.

    A full-width spelling of a code is the same code, so it is a replay too.
    """
    text = unicodedata.normalize("NFKC", raw)
    return re.sub(r"[\s\-]", "", text).upper()


# ---------------------------------------------------------------------------------------------
# Verification
# It lives here, not in a module of its own: it calls the code checks by this module's names
# (``_totp_accepts``, ``_use_email_code``, ``_use_recovery_code``), which the tests replace to count
# the codes actually looked at.


async def verify_enrolment_code(
    settings: Settings,
    account_id: UUID,
    *,
    factor_id: UUID,
    budget: TryBudget,
    raw: str,
    now: datetime | None = None,
) -> None:
    """The first code of a pending factor proves the authenticator app holds the seed."""
    at = _now(now)
    code = normalize_code(raw)
    if not _SIX_DIGITS.fullmatch(code):
        raise CodeRefused(SIX_DIGITS_WANTED)  # no code of this shape exists: no try spent
    tries = await _reserve_try(settings, account_id, budget=budget, now=at)
    outcome = await _totp_accepts(settings, factor_id, code=code, now=at, pending_of=account_id)
    if outcome != "ok":
        _refuse(settings, account_id, tries, message=_refusal(outcome))
    await _clear_failures(account_id, budget)


async def verify_second_factor(
    settings: Settings,
    account_id: UUID,
    *,
    attempt_id: UUID,
    budget: TryBudget,
    raw: str,
    now: datetime | None = None,
) -> Method:
    """Accept a TOTP code, an e-mail code sent for login attempt ``attempt_id``, or a recovery code.

    Raises :class:`CodeRefused` with a message for the person, :class:`TriesSpent` once ``budget``
    is spent; every try counts toward both limits.
    """
    at = _now(now)
    code = normalize_code(raw)
    if not (_SIX_DIGITS.fullmatch(code) or _RECOVERY_SHAPE.fullmatch(code)):
        raise CodeRefused(
            "Tapez les 6 chiffres de votre application ou du code reçu par e-mail, ou un code de secours "
            f"({RECOVERY_CODE_LENGTH} caractères)."
        )
    tries = await _reserve_try(settings, account_id, budget=budget, now=at)
    if _SIX_DIGITS.fullmatch(code):
        outcome: str = "no"
        factor_id = await active_factor(account_id)
        if factor_id is not None:
            outcome = await _totp_accepts(settings, factor_id, code=code, now=at)
            if outcome == "ok":
                await _clear_failures(account_id, budget)
                return "totp"
        email_outcome = await _use_email_code(settings, attempt_id, code=code, now=at)
        if email_outcome == "ok":
            await _clear_failures(account_id, budget)
            return "email"
        _refuse(settings, account_id, tries, message=_refusal(email_outcome if outcome == "no" else outcome))
    if await _use_recovery_code(settings, account_id, code=code, now=at):
        await _clear_failures(account_id, budget)
        return "recovery"
    _refuse(settings, account_id, tries, message="Ce code n'est pas valable.")


async def verify_email_code(
    settings: Settings,
    account_id: UUID,
    *,
    attempt_id: UUID,
    budget: TryBudget,
    raw: str,
    now: datetime | None = None,
) -> None:
    """Only an e-mail code (the lost-second-factor flow, where the app and recovery codes are gone)."""
    at = _now(now)
    code = normalize_code(raw)
    if not _SIX_DIGITS.fullmatch(code):
        raise CodeRefused(SIX_DIGITS_WANTED)
    tries = await _reserve_try(settings, account_id, budget=budget, now=at)
    outcome = await _use_email_code(settings, attempt_id, code=code, now=at)
    if outcome != "ok":
        _refuse(settings, account_id, tries, message=_refusal(outcome))
    await _clear_failures(account_id, budget)


def _refusal(outcome: str) -> str:
    return {
        "replay": "Ce code a déjà été utilisé. Attendez le code suivant de votre application.",
        "expired": "Ce code e-mail a expiré ou a déjà servi. Demandez-en un nouveau.",
    }.get(outcome, "Ce code n'est pas valable.")
