"""The second factor: TOTP (RFC 6238), single-use recovery codes, and codes sent by e-mail.

Rules that hold across processes live in the database: the last accepted TOTP time step (a code is
accepted once, and only if its step is strictly later, by one conditional UPDATE, so two concurrent
submissions cannot both pass), the wrong-code counter and its lock, recovery and e-mail codes
(stored hashed, single use). TOTP seeds are encrypted with a key derived from ``ENS_SECRET_KEY``.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import UUID

import pyotp
import segno

from ens import keyring
from ens.auth.errors import CodeRefused
from ens.auth.tables import EmailCode, OtpFactor, RecoveryCode
from ens.db import as_uuid, fetch, fetch_one, write_transaction
from ens.settings import Settings

ISSUER_LABEL = "Espace santé"
VALID_WINDOW = 1  # ±1 time step (30 s) for clocks that drift
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: codes are copied by hand
RECOVERY_CODE_LENGTH = 10
EMAIL_CODE_TTL = timedelta(minutes=10)
_SEED_PURPOSE = "otp-seed"

Method = Literal["totp", "recovery", "email"]


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def normalize_code(raw: str) -> str:
    """What the person typed, as we compare it: NFKC (full-width digits become ASCII), no spaces or dashes.

    A full-width spelling of a code is the same code, so it is a replay too.
    """
    text = unicodedata.normalize("NFKC", raw)
    return re.sub(r"[\s\-]", "", text).upper()


# ---------------------------------------------------------------------------------------------
# TOTP factors


def _seed_blob(settings: Settings, factor_id: UUID, seed: str) -> bytes:
    return keyring.encrypt(settings.secret_key, _SEED_PURPOSE, seed.encode(), factor_id.bytes)


def _seed_of(settings: Settings, factor_id: UUID, blob: bytes) -> str:
    return keyring.decrypt(settings.secret_key, _SEED_PURPOSE, bytes(blob), factor_id.bytes).decode()


async def start_enrolment(settings: Settings, account_id: UUID, now: datetime | None = None) -> UUID:
    """A new pending TOTP factor with a fresh seed; it becomes active once a first code is verified."""
    factor_id = uuid.uuid4()
    await OtpFactor.insert(
        OtpFactor(
            id=factor_id,
            account_id=account_id,
            status="pending",
            seed=_seed_blob(settings, factor_id, pyotp.random_base32()),
            created_at=_now(now),
        )
    )
    return factor_id


@dataclass(frozen=True)
class Enrolment:
    otpauth_uri: str
    qr_svg: str
    secret: str


async def enrolment(settings: Settings, factor_id: UUID, account_label: str) -> Enrolment:
    """The QR code and the ``otpauth://`` link of a pending factor."""
    row = await fetch_one("SELECT id, seed FROM otp_factors WHERE id = {} AND status = 'pending'", factor_id)
    if row is None:
        raise CodeRefused("L'enrôlement a expiré ; recommencez la connexion.")
    seed = _seed_of(settings, factor_id, row["seed"])
    uri = pyotp.TOTP(seed).provisioning_uri(name=account_label, issuer_name=ISSUER_LABEL)
    svg = segno.make(uri, error="m").svg_inline(scale=4, omitsize=True, title="Code QR d'enrôlement")
    return Enrolment(otpauth_uri=uri, qr_svg=svg, secret=" ".join(re.findall(".{1,4}", seed)))


async def active_factor(account_id: UUID) -> UUID | None:
    row = await fetch_one(
        "SELECT id FROM otp_factors WHERE account_id = {} AND status = 'active' ORDER BY activated_at DESC LIMIT 1",
        account_id,
    )
    return as_uuid(row["id"]) if row else None


async def _totp_accepts(settings: Settings, factor_id: UUID, code: str, now: datetime) -> Literal["ok", "replay", "no"]:
    row = await fetch_one("SELECT seed FROM otp_factors WHERE id = {}", factor_id)
    if row is None:
        return "no"
    totp = pyotp.TOTP(_seed_of(settings, factor_id, row["seed"]))
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


async def activate_factor(account_id: UUID, factor_id: UUID, now: datetime | None = None) -> bool:
    """Make ``factor_id`` the person's factor; the previous one dies. True when there was one."""
    at = _now(now)
    async with write_transaction():
        old = await fetch(
            "UPDATE otp_factors SET status = 'revoked', revoked_at = {} "
            "WHERE account_id = {} AND status = 'active' AND id <> {} RETURNING id",
            at,
            account_id,
            factor_id,
        )
        await fetch(
            "UPDATE otp_factors SET status = 'active', activated_at = {} WHERE id = {} AND account_id = {}",
            at,
            factor_id,
            account_id,
        )
    return bool(old)


# ---------------------------------------------------------------------------------------------
# Wrong-code counter and lock


async def ensure_not_locked(account_id: UUID, now: datetime | None = None) -> None:
    row = await fetch_one("SELECT locked_until FROM otp_guards WHERE account_id = {}", account_id)
    until = _dt(row["locked_until"]) if row else None
    if until is not None and until > _now(now):
        minutes = max(1, int((until - _now(now)).total_seconds() // 60) + 1)
        raise CodeRefused(
            f"Trop de codes erronés : la vérification est bloquée pendant encore {minutes} minute(s). "
            "Réessayez plus tard."
        )


async def _record_failure(settings: Settings, account_id: UUID, message: str, now: datetime) -> None:
    rows = await fetch(
        "INSERT INTO otp_guards (account_id, failures) VALUES ({}, 1) "
        "ON CONFLICT (account_id) DO UPDATE SET failures = otp_guards.failures + 1 RETURNING failures",
        account_id,
    )
    failures = int(rows[0]["failures"]) if rows else 1
    if failures >= settings.otp_max_failures:
        until = now + timedelta(seconds=settings.otp_lock_seconds)
        await fetch("UPDATE otp_guards SET failures = 0, locked_until = {} WHERE account_id = {}", until, account_id)
        raise CodeRefused(
            f"Trop de codes erronés : la vérification est bloquée pendant {settings.otp_lock_seconds // 60} minutes."
        )
    left = settings.otp_max_failures - failures
    raise CodeRefused(f"{message} Il vous reste {left} essai(s).")


async def _clear_failures(account_id: UUID) -> None:
    await fetch("UPDATE otp_guards SET failures = 0 WHERE account_id = {}", account_id)


# ---------------------------------------------------------------------------------------------
# Verification


async def verify_enrolment_code(
    settings: Settings, account_id: UUID, factor_id: UUID, raw: str, now: datetime | None = None
) -> None:
    """The first code of a pending factor proves the authenticator app holds the seed."""
    at = _now(now)
    await ensure_not_locked(account_id, at)
    code = normalize_code(raw)
    if not re.fullmatch(r"\d{6}", code):
        await _record_failure(settings, account_id, "Le code doit comporter 6 chiffres.", at)
    outcome = await _totp_accepts(settings, factor_id, code, at)
    if outcome != "ok":
        await _record_failure(settings, account_id, _refusal(outcome), at)
    await _clear_failures(account_id)


async def verify_second_factor(
    settings: Settings, account_id: UUID, attempt_id: UUID, raw: str, now: datetime | None = None
) -> Method:
    """Accept a TOTP code, an e-mail code sent for this login attempt, or a recovery code.

    Raises :class:`CodeRefused` with a message for the person; every refusal counts toward the lock.
    """
    at = _now(now)
    await ensure_not_locked(account_id, at)
    code = normalize_code(raw)
    if re.fullmatch(r"\d{6}", code):
        outcome: str = "no"
        factor_id = await active_factor(account_id)
        if factor_id is not None:
            outcome = await _totp_accepts(settings, factor_id, code, at)
            if outcome == "ok":
                await _clear_failures(account_id)
                return "totp"
        email_outcome = await _use_email_code(settings, attempt_id, code, at)
        if email_outcome == "ok":
            await _clear_failures(account_id)
            return "email"
        await _record_failure(settings, account_id, _refusal(email_outcome if outcome == "no" else outcome), at)
    if len(code) == RECOVERY_CODE_LENGTH and await _use_recovery_code(settings, account_id, code, at):
        await _clear_failures(account_id)
        return "recovery"
    await _record_failure(settings, account_id, "Ce code n'est pas valable.", at)
    raise AssertionError("unreachable")  # _record_failure always raises


async def verify_email_code(
    settings: Settings, account_id: UUID, attempt_id: UUID, raw: str, now: datetime | None = None
) -> None:
    """Only an e-mail code (the lost-second-factor flow, where the app and recovery codes are gone)."""
    at = _now(now)
    await ensure_not_locked(account_id, at)
    outcome = await _use_email_code(settings, attempt_id, normalize_code(raw), at)
    if outcome != "ok":
        await _record_failure(settings, account_id, _refusal(outcome), at)
    await _clear_failures(account_id)


def _refusal(outcome: str) -> str:
    return {
        "replay": "Ce code a déjà été utilisé. Attendez le code suivant de votre application.",
        "expired": "Ce code e-mail a expiré ou a déjà servi. Demandez-en un nouveau.",
    }.get(outcome, "Ce code n'est pas valable.")


# ---------------------------------------------------------------------------------------------
# Recovery codes


def _recovery_hash(settings: Settings, account_id: UUID, code: str) -> str:
    return keyring.token_hash(settings.secret_key, f"recovery:{account_id}:{code}")


async def issue_recovery_codes(settings: Settings, account_id: UUID, now: datetime | None = None) -> list[str]:
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
                    code_hash=_recovery_hash(settings, account_id, code),
                    created_at=at,
                )
                for code in codes
            ]
        )
    return [f"{code[:5]}-{code[5:]}" for code in codes]


async def _use_recovery_code(settings: Settings, account_id: UUID, code: str, now: datetime) -> bool:
    used = await fetch(
        "UPDATE recovery_codes SET used_at = {} WHERE account_id = {} AND code_hash = {} AND used_at IS NULL "
        "RETURNING id",
        now,
        account_id,
        _recovery_hash(settings, account_id, code),
    )
    return bool(used)


# ---------------------------------------------------------------------------------------------
# E-mail codes


def _email_hash(settings: Settings, attempt_id: UUID, code: str) -> str:
    return keyring.token_hash(settings.secret_key, f"email:{attempt_id}:{code}")


async def new_email_code(settings: Settings, attempt_id: UUID, account_id: UUID, now: datetime | None = None) -> str:
    """Six random digits for this login attempt, valid 10 minutes; earlier ones of the attempt die.

    Sending is rate-limited per person (``ENS_EMAIL_CODES_PER_HOUR``).
    """
    at = _now(now)
    count = await fetch_one(
        "SELECT COUNT(*) AS n FROM email_codes WHERE account_id = {} AND created_at > {}",
        account_id,
        at - timedelta(hours=1),
    )
    if count is not None and int(count["n"]) >= settings.email_codes_per_hour:
        raise CodeRefused("Trop de codes envoyés par e-mail. Réessayez dans une heure ou utilisez votre application.")
    code = f"{secrets.randbelow(1_000_000):06d}"
    async with write_transaction():
        await fetch("UPDATE email_codes SET used_at = {} WHERE attempt_id = {} AND used_at IS NULL", at, attempt_id)
        await EmailCode.insert(
            EmailCode(
                id=uuid.uuid4(),
                attempt_id=attempt_id,
                account_id=account_id,
                code_hash=_email_hash(settings, attempt_id, code),
                created_at=at,
                expires_at=at + EMAIL_CODE_TTL,
            )
        )
    return code


async def _use_email_code(settings: Settings, attempt_id: UUID, code: str, now: datetime) -> str:
    code_hash = _email_hash(settings, attempt_id, code)
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


def _dt(value: object) -> datetime | None:
    if value is None:
        return None
    result = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return result if result.tzinfo else result.replace(tzinfo=UTC)
