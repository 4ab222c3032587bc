"""The wrong-code counter and its lock, kept in the person's guard row (whose row lock also runs a
person's second-factor writes one at a time)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NoReturn
from uuid import UUID

from ens.auth.errors import CodeRefused
from ens.core import clock
from ens.core.clock import aware_or_none
from ens.core.db import fetch, fetch_one
from ens.core.settings import Settings

MAX_LOCK = timedelta(days=1)  # the longest lock escalation reaches (unless ENS_OTP_LOCK_SECONDS is longer)


def _now(now: datetime | None) -> datetime:
    return now or clock.now()


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
