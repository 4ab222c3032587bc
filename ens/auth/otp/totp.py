"""TOTP factors (RFC 6238): enrolment, the seed encrypted at rest, a code accepted once, activation."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

import pyotp
import segno

from ens.auth.errors import CodeRefused, LoginFailed
from ens.auth.otp.browsers import forget_browsers
from ens.auth.otp.lock import _hold_guard, _now
from ens.auth.tables import OtpFactor
from ens.core import keyring
from ens.core.db import as_uuid, fetch, fetch_one, write_transaction
from ens.core.settings import Settings

ISSUER_LABEL = "Espace santé"
VALID_WINDOW = 1  # ±1 time step (30 s) for clocks that drift


_SEED_PURPOSE = "otp-seed"


def _seed_blob(settings: Settings, factor_id: UUID, *, seed: str) -> bytes:
    return keyring.encrypt(settings.secret_key, _SEED_PURPOSE, plaintext=seed.encode(), associated=factor_id.bytes)


def _seed_of(settings: Settings, factor_id: UUID, *, blob: bytes) -> str:
    return keyring.decrypt(settings.secret_key, _SEED_PURPOSE, blob=bytes(blob), associated=factor_id.bytes).decode()


async def reseal_seeds(settings: Settings) -> tuple[int, int]:
    """Every seed sealed again under the current ENS_SECRET_KEY (``ens keys rotate``): how many were
    sealed under a key it replaced, and how many no configured key opens (left as they are)."""
    return await keyring.reseal_column(settings.secret_key, _SEED_PURPOSE, table="otp_factors", key="id", column="seed")


async def seeds_open(settings: Settings) -> bool | None:
    """Whether the configured keys open the authenticators' seeds (a few of them: ``ens serve`` asks
    before it starts); ``None`` when no one has enrolled one yet."""
    return await keyring.column_opens(settings.secret_key, _SEED_PURPOSE, table="otp_factors", key="id", column="seed")


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
        if old:
            # The factor was lost with a phone, maybe stolen: what was signed in with the old factor
            # ends with it: the phone app's sessions, the codes not yet exchanged for one, and the
            # other logins under way (past the old factor, at consent or reopening). Apps the
            # person connected keep their grant.
            # In this order: a login finishing meanwhile moves its attempt and creates its code in one
            # transaction (ens.auth.login.attempt.finish), which the first statement waits for; each
            # statement after it then sees that code, and the session its exchange made, to end them
            # (an outside audit: a code checked before the replacement still gave a live session).
            await fetch(
                "UPDATE login_attempts SET step = 'superseded' WHERE account_id = {} AND step <> 'spent' "
                "AND (new_factor_id IS NULL OR new_factor_id <> {})",
                account_id,
                factor_id,
            )
            await fetch(
                "UPDATE authorization_codes SET expires_at = {} WHERE account_id = {} AND used_at IS NULL "
                "AND expires_at > {}",
                at,
                account_id,
                at,
            )
            await fetch(
                "UPDATE grants SET revoked_at = {} WHERE account_id = {} AND kind = 'session' AND revoked_at IS NULL",
                at,
                account_id,
            )
            # And no browser is known any more (the lost phone's among them): the one replacing
            # the factor is remembered again once its login passes (ens.auth.login.second_factor).
            await forget_browsers(account_id)
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
