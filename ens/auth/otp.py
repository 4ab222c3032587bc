"""The second factor: TOTP (RFC 6238), single-use recovery codes, and codes sent by e-mail.

Rules that hold across processes live in the database: the last accepted TOTP time step (a code is
accepted once, and only if its step is strictly later, by one conditional UPDATE, so two concurrent
submissions cannot both pass), the wrong-code counter and its lock, recovery and e-mail codes
(stored hashed, single use) and the hourly limit of e-mail codes (counted under the person's guard
row, :func:`new_email_code`). TOTP seeds are encrypted with a key derived from ``ENS_SECRET_KEY``.

Every try is counted before its code is looked at, by one conditional UPDATE that also sets the lock
when the try is the last one allowed (:func:`_reserve_try`): concurrent guesses cannot slip past the
lock, at most ``ENS_OTP_MAX_FAILURES`` codes are evaluated per round. The counter survives the lock
(only a right code resets it), so each further lock lasts twice as long as the previous one, up to a day.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, NoReturn
from uuid import UUID

import pyotp
import segno

from ens.auth.errors import CodeRefused, LoginFailed
from ens.auth.tables import EmailCode, OtpFactor, RecoveryCode
from ens.core import clock, keyring
from ens.core.clock import aware_or_none
from ens.core.db import as_uuid, fetch, fetch_one, write_transaction
from ens.core.settings import Settings

ISSUER_LABEL = "Espace santé"
VALID_WINDOW = 1  # ±1 time step (30 s) for clocks that drift
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: codes are copied by hand
RECOVERY_CODE_LENGTH = 10
EMAIL_CODE_TTL = timedelta(minutes=10)
MAX_LOCK = timedelta(days=1)  # the longest lock escalation reaches (unless ENS_OTP_LOCK_SECONDS is longer)
_SEED_PURPOSE = "otp-seed"

Method = Literal["totp", "recovery", "email"]


def _now(now: datetime | None) -> datetime:
    return now or clock.now()


def normalize_code(raw: str) -> str:
    """What the person typed, as we compare it: NFKC (full-width digits become ASCII), no spaces or dashes.

    A full-width spelling of a code is the same code, so it is a replay too.
    """
    text = unicodedata.normalize("NFKC", raw)
    return re.sub(r"[\s\-]", "", text).upper()


# ---------------------------------------------------------------------------------------------
# TOTP factors


def _seed_blob(settings: Settings, factor_id: UUID, *, seed: str) -> bytes:
    return keyring.encrypt(settings.secret_key, _SEED_PURPOSE, plaintext=seed.encode(), associated=factor_id.bytes)


def _seed_of(settings: Settings, factor_id: UUID, *, blob: bytes) -> str:
    return keyring.decrypt(settings.secret_key, _SEED_PURPOSE, blob=bytes(blob), associated=factor_id.bytes).decode()


async def start_enrolment(settings: Settings, account_id: UUID, *, now: datetime | None = None) -> UUID:
    """A new pending TOTP factor with a fresh seed; it becomes active once a first code is verified."""
    factor_id = uuid.uuid4()
    await OtpFactor.insert(
        OtpFactor(
            id=factor_id,
            account_id=account_id,
            status="pending",
            seed=_seed_blob(settings, factor_id, seed=pyotp.random_base32()),
            created_at=_now(now),
        )
    )
    return factor_id


@dataclass(frozen=True)
class Enrolment:
    otpauth_uri: str
    qr_svg: str
    secret: str


async def enrolment(settings: Settings, factor_id: UUID, *, account_label: str) -> Enrolment:
    """The QR code and the ``otpauth://`` link of a pending factor."""
    row = await fetch_one("SELECT id, seed FROM otp_factors WHERE id = {} AND status = 'pending'", factor_id)
    if row is None:
        raise CodeRefused("L'enrôlement a expiré ; recommencez la connexion.")
    seed = _seed_of(settings, factor_id, blob=row["seed"])
    uri = pyotp.TOTP(seed).provisioning_uri(name=account_label, issuer_name=ISSUER_LABEL)
    svg = segno.make(uri, error="m").svg_inline(scale=4, omitsize=True, title="Code QR d'enrôlement")
    return Enrolment(otpauth_uri=uri, qr_svg=svg, secret=" ".join(re.findall(".{1,4}", seed)))


async def active_factor(account_id: UUID) -> UUID | None:
    row = await fetch_one(
        "SELECT id FROM otp_factors WHERE account_id = {} AND status = 'active' ORDER BY activated_at DESC LIMIT 1",
        account_id,
    )
    return as_uuid(row["id"]) if row else None


async def _totp_accepts(
    settings: Settings, factor_id: UUID, *, code: str, now: datetime, pending_of: UUID | None = None
) -> Literal["ok", "replay", "no"]:
    """``pending_of``: only a pending factor of this account will do (the enrolment's first code)."""
    if pending_of is None:
        row = await fetch_one("SELECT seed FROM otp_factors WHERE id = {}", factor_id)
    else:
        row = await fetch_one(
            "SELECT seed FROM otp_factors WHERE id = {} AND account_id = {} AND status = 'pending'",
            factor_id,
            pending_of,
        )
    if row is None:
        return "no"
    totp = pyotp.TOTP(_seed_of(settings, factor_id, blob=row["seed"]))
    try:
        step = totp.verify_and_get_timecode(code, for_time=now, valid_window=VALID_WINDOW)
    except pyotp.exceptions.OTPVerificationError:
        return "no"
    # The one atomic check that makes a code single use, even under concurrent submissions.
    won = await fetch(
        "UPDATE otp_factors SET last_step = {} WHERE id = {} AND (last_step IS NULL OR last_step < {}) RETURNING id",
        step,
        factor_id,
        step,
    )
    return "ok" if won else "replay"


async def activate_factor(
    account_id: UUID, factor_id: UUID, *, now: datetime | None = None, replacing: bool | None = None
) -> bool:
    """Make the pending ``factor_id`` the person's factor. True when it replaced an active one.

    Only a lost-factor recovery (``replacing``) may replace an active factor: otherwise a factor that
    became active meanwhile (another login enrolled first) makes this activation fail, as does a
    factor that is no longer pending. ``replacing=None`` asks the login attempt that enrolled the
    factor whether it is a recovery (identity proven again at the provider, then by an e-mail code).
    Raises :class:`LoginFailed` when refused.
    """
    at = _now(now)
    async with write_transaction():
        # One activation at a time per person, so the check below cannot go stale.
        await _hold_guard(account_id)
        if replacing is None:
            replacing = await _enrolled_by_recovery(account_id, factor_id)
        if not replacing:
            other = await fetch_one(
                "SELECT id FROM otp_factors WHERE account_id = {} AND status = 'active' AND id <> {}",
                account_id,
                factor_id,
            )
            if other is not None:
                raise LoginFailed(
                    "Un autre second facteur a été activé entre-temps pour votre compte. "
                    "Recommencez la connexion depuis l'application.",
                    status=409,
                )
        activated = await fetch(
            "UPDATE otp_factors SET status = 'active', activated_at = {} "
            "WHERE id = {} AND account_id = {} AND status = 'pending' RETURNING id",
            at,
            factor_id,
            account_id,
        )
        if not activated:
            raise LoginFailed("L'enrôlement a expiré ; recommencez la connexion.", status=409)
        old = await fetch(
            "UPDATE otp_factors SET status = 'revoked', revoked_at = {} "
            "WHERE account_id = {} AND status = 'active' AND id <> {} RETURNING id",
            at,
            account_id,
            factor_id,
        )
    return bool(old)


async def _enrolled_by_recovery(account_id: UUID, factor_id: UUID) -> bool:
    """Whether the login attempt enrolling ``factor_id`` is a lost-factor recovery.

    Such an attempt reaches enrolment only after the person signed in again at the provider and
    typed an e-mail code (``ens.auth.login``); a first enrolment never has ``recovering`` set.
    """
    row = await fetch_one(
        "SELECT recovering FROM login_attempts WHERE new_factor_id = {} AND account_id = {} AND step = 'enrol'",
        factor_id,
        account_id,
    )
    return row is not None and bool(row["recovering"])


# ---------------------------------------------------------------------------------------------
# Wrong-code counter and lock


async def ensure_not_locked(account_id: UUID, now: datetime | None = None) -> None:
    """Refuse while the person's codes are locked (a read: verification itself uses :func:`_reserve_try`)."""
    row = await fetch_one("SELECT locked_until FROM otp_guards WHERE account_id = {}", account_id)
    until = aware_or_none(row["locked_until"]) if row else None
    if until is not None and until > _now(now):
        minutes = max(1, int((until - _now(now)).total_seconds() // 60) + 1)
        raise CodeRefused(
            f"Trop de codes erronés : la vérification est bloquée pendant encore {minutes} minute(s). "
            "Réessayez plus tard."
        )


async def _ensure_guard(account_id: UUID) -> None:
    await fetch(
        "INSERT INTO otp_guards (account_id, failures) VALUES ({}, 0) ON CONFLICT (account_id) DO NOTHING", account_id
    )


async def _hold_guard(account_id: UUID) -> None:
    """Inside a write transaction: take the person's guard row until commit, whatever it holds.

    The row is the lock: a row lock on PostgreSQL (a concurrent holder waits, then its next statement
    sees what this one committed), and SQLite's write transaction already runs alone. Either way it
    holds across processes, since it lives in the database.
    """
    await _ensure_guard(account_id)
    await fetch("UPDATE otp_guards SET failures = failures WHERE account_id = {}", account_id)


def _lock_length(settings: Settings, lock_number: int) -> timedelta:
    """The ``lock_number``-th lock since the last right code: ``ENS_OTP_LOCK_SECONDS``, doubled each time."""
    base = timedelta(seconds=settings.otp_lock_seconds)
    doubled: timedelta = base * (1 << min(max(lock_number - 1, 0), 20))
    return min(doubled, max(base, MAX_LOCK))


async def _reserve_try(settings: Settings, account_id: UUID, *, now: datetime) -> int:
    """Count this try before its code is checked; its number since the last right code.

    One conditional UPDATE: it passes only while the person is not locked, and the try that uses up
    a round (every ``ENS_OTP_MAX_FAILURES``-th) sets the lock in the same statement, so concurrent
    tries beyond it are refused without their code being looked at. Raises :class:`CodeRefused`
    while locked.
    """
    per_round = max(1, settings.otp_max_failures)
    await _ensure_guard(account_id)
    rows = await fetch(
        "UPDATE otp_guards SET failures = failures + 1, "
        "locked_until = CASE WHEN (failures + 1) % {} = 0 THEN {} ELSE locked_until END "
        "WHERE account_id = {} AND (locked_until IS NULL OR locked_until <= {}) RETURNING failures",
        per_round,
        now + _lock_length(settings, 1),
        account_id,
        now,
    )
    if not rows:
        await ensure_not_locked(account_id, now)
        raise CodeRefused("Trop de codes erronés : la vérification est bloquée. Réessayez plus tard.")
    number = int(rows[0]["failures"])
    lock_number = number // per_round
    if number % per_round == 0 and lock_number > 1:
        # A repeated lock lasts longer; the account is already locked while this is written.
        await fetch(
            "UPDATE otp_guards SET locked_until = {} WHERE account_id = {} AND failures = {}",
            now + _lock_length(settings, lock_number),
            account_id,
            number,
        )
    return number


def _refuse(settings: Settings, number: int, *, message: str) -> NoReturn:
    """The refusal of try ``number`` (already counted by :func:`_reserve_try`)."""
    per_round = max(1, settings.otp_max_failures)
    left = per_round - ((number - 1) % per_round + 1)
    if left == 0:
        minutes = max(1, int(_lock_length(settings, number // per_round).total_seconds() // 60))
        raise CodeRefused(f"Trop de codes erronés : la vérification est bloquée pendant {minutes} minutes.")
    raise CodeRefused(f"{message} Il vous reste {left} essai(s).")


async def _clear_failures(account_id: UUID) -> None:
    """A right code: the counter, the escalation and any lock its own try set start over."""
    await fetch("UPDATE otp_guards SET failures = 0, locked_until = NULL WHERE account_id = {}", account_id)


# ---------------------------------------------------------------------------------------------
# Verification


async def verify_enrolment_code(
    settings: Settings, account_id: UUID, *, factor_id: UUID, raw: str, now: datetime | None = None
) -> None:
    """The first code of a pending factor proves the authenticator app holds the seed."""
    at = _now(now)
    number = await _reserve_try(settings, account_id, now=at)
    code = normalize_code(raw)
    if not re.fullmatch(r"\d{6}", code):
        _refuse(settings, number, message="Le code doit comporter 6 chiffres.")
    outcome = await _totp_accepts(settings, factor_id, code=code, now=at, pending_of=account_id)
    if outcome != "ok":
        _refuse(settings, number, message=_refusal(outcome))
    await _clear_failures(account_id)


async def verify_second_factor(
    settings: Settings, account_id: UUID, *, attempt_id: UUID, raw: str, now: datetime | None = None
) -> Method:
    """Accept a TOTP code, an e-mail code sent for this login attempt, or a recovery code.

    Raises :class:`CodeRefused` with a message for the person; every try counts toward the lock.
    """
    at = _now(now)
    number = await _reserve_try(settings, account_id, now=at)
    code = normalize_code(raw)
    if re.fullmatch(r"\d{6}", code):
        outcome: str = "no"
        factor_id = await active_factor(account_id)
        if factor_id is not None:
            outcome = await _totp_accepts(settings, factor_id, code=code, now=at)
            if outcome == "ok":
                await _clear_failures(account_id)
                return "totp"
        email_outcome = await _use_email_code(settings, attempt_id, code=code, now=at)
        if email_outcome == "ok":
            await _clear_failures(account_id)
            return "email"
        _refuse(settings, number, message=_refusal(email_outcome if outcome == "no" else outcome))
    if len(code) == RECOVERY_CODE_LENGTH and await _use_recovery_code(settings, account_id, code=code, now=at):
        await _clear_failures(account_id)
        return "recovery"
    _refuse(settings, number, message="Ce code n'est pas valable.")


async def verify_email_code(
    settings: Settings, account_id: UUID, *, attempt_id: UUID, raw: str, now: datetime | None = None
) -> None:
    """Only an e-mail code (the lost-second-factor flow, where the app and recovery codes are gone)."""
    at = _now(now)
    number = await _reserve_try(settings, account_id, now=at)
    outcome = await _use_email_code(settings, attempt_id, code=normalize_code(raw), now=at)
    if outcome != "ok":
        _refuse(settings, number, message=_refusal(outcome))
    await _clear_failures(account_id)


def _refusal(outcome: str) -> str:
    return {
        "replay": "Ce code a déjà été utilisé. Attendez le code suivant de votre application.",
        "expired": "Ce code e-mail a expiré ou a déjà servi. Demandez-en un nouveau.",
    }.get(outcome, "Ce code n'est pas valable.")


# ---------------------------------------------------------------------------------------------
# Recovery codes


def _recovery_hash(settings: Settings, account_id: UUID, *, code: str) -> str:
    return keyring.token_hash(settings.secret_key, f"recovery:{account_id}:{code}")


async def issue_recovery_codes(settings: Settings, account_id: UUID, *, now: datetime | None = None) -> list[str]:
    """Ten new single-use codes (shown once, stored hashed); the previous ones die."""
    at = _now(now)
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH)) for _ in range(10)]
    async with write_transaction():
        await fetch("DELETE FROM recovery_codes WHERE account_id = {}", account_id)
        await RecoveryCode.insert(
            *[
                RecoveryCode(
                    id=uuid.uuid4(),
                    account_id=account_id,
                    code_hash=_recovery_hash(settings, account_id, code=code),
                    created_at=at,
                )
                for code in codes
            ]
        )
    return [f"{code[:5]}-{code[5:]}" for code in codes]


async def _use_recovery_code(settings: Settings, account_id: UUID, *, code: str, now: datetime) -> bool:
    used = await fetch(
        "UPDATE recovery_codes SET used_at = {} WHERE account_id = {} AND code_hash = {} AND used_at IS NULL "
        "RETURNING id",
        now,
        account_id,
        _recovery_hash(settings, account_id, code=code),
    )
    return bool(used)


# ---------------------------------------------------------------------------------------------
# E-mail codes


def _email_hash(settings: Settings, attempt_id: UUID, *, code: str) -> str:
    return keyring.token_hash(settings.secret_key, f"email:{attempt_id}:{code}")


async def new_email_code(settings: Settings, attempt_id: UUID, *, account_id: UUID, now: datetime | None = None) -> str:
    """Six random digits for this login attempt, valid 10 minutes; earlier ones of the attempt die.

    Sending is rate-limited per person (``ENS_EMAIL_CODES_PER_HOUR`` over the last hour): the count
    and the new code's row are one transaction under the person's guard row, so parallel requests,
    from any process, are counted one after the other and at most that many codes are created.
    Raises :class:`CodeRefused` beyond the limit.
    """
    at = _now(now)
    code = f"{secrets.randbelow(1_000_000):06d}"
    async with write_transaction():
        # Not a COUNT inside a conditional statement: on PostgreSQL a waiting statement re-checks
        # its row but not its subquery, which would still count from before the wait.
        await _hold_guard(account_id)
        count = await fetch_one(
            "SELECT COUNT(*) AS n FROM email_codes WHERE account_id = {} AND created_at > {}",
            account_id,
            at - timedelta(hours=1),
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
            )
        )
    return code


async def _use_email_code(settings: Settings, attempt_id: UUID, *, code: str, now: datetime) -> str:
    code_hash = _email_hash(settings, attempt_id, code=code)
    used = await fetch(
        "UPDATE email_codes SET used_at = {} WHERE attempt_id = {} AND code_hash = {} AND used_at IS NULL "
        "AND expires_at > {} RETURNING id",
        now,
        attempt_id,
        code_hash,
        now,
    )
    if used:
        return "ok"
    known = await fetch_one(
        "SELECT id FROM email_codes WHERE attempt_id = {} AND code_hash = {}", attempt_id, code_hash
    )
    return "expired" if known else "no"
