"""The two limits on wrong codes, both counted before a code is looked at.

- Each way in has a small budget of its own (``ENS_OTP_MAX_FAILURES``, a row of ``otp_budgets``): a
  login attempt, or a signed-in session renewing its recovery codes. Spent, that way in takes no more
  codes; being below the account's limit (checked at start-up), it cannot lock the account alone.
  Someone who has only the person's password at the identity provider, or a stolen token, can end
  their own attempt, not keep the person out.
- The person's guard row counts every wrong code over all ways in toward the account's lock
  (``ENS_OTP_ACCOUNT_MAX_FAILURES``): the backstop that bounds guessing over many attempts, each
  further lock twice as long as the previous one. Its row lock also runs a person's second-factor
  writes one at a time.
- Except in a browser that has passed this person's second factor before (its cookie, a row of
  ``known_browsers``, :mod:`ens.auth.otp.browsers`): there its wrong codes count on that browser's
  own row, with the same limit and locks, and the account's lock does not apply. The account's lock
  is then met by strangers' browsers only: whoever holds the person's provider password and locks it
  no longer keeps the person out of their own phone or computer, and the person's right codes there
  no longer start the stranger's escalation over (an outside audit of the login).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn
from uuid import UUID

from ens.auth.errors import CodeRefused, TriesSpent
from ens.core import clock
from ens.core.clock import aware_or_none
from ens.core.db import fetch, fetch_one, write_transaction
from ens.core.settings import Settings

security_log = logging.getLogger("ens.security")
MAX_LOCK = timedelta(days=1)  # the longest lock escalation reaches (unless ENS_OTP_LOCK_SECONDS is longer)


@dataclass(frozen=True)
class TryBudget:
    """The way in whose budget a try spends: a login attempt's id, or a session's grant id. Its row is
    kept ``keep`` after the first try: as long as that way in can live, so it never starts afresh.
    ``browser``: the key of the known browser the try comes from (a ``known_browsers`` row), whose
    lock it counts on instead of the account's. ``signed_in``: a session renewing its recovery
    codes, whose login passed the second factor: its budget alone bounds it (a stolen token gets
    its five codes), and no lock counts its tries, the account's least of all: a right code there
    started a stranger's count over, and strangers' lock refused it (a review)."""

    id: UUID
    keep: timedelta
    browser: str | None = None
    signed_in: bool = False


def _guard(account_id: UUID, browser: str | None) -> tuple[str, str, object]:
    """The row a try's wrong codes count on: the known browser's, else the account's (table, key
    column, key)."""
    if browser is not None:
        return "known_browsers", "key_hash", browser
    return "otp_guards", "account_id", account_id


@dataclass(frozen=True)
class Tries:
    """A try just counted: its number in its way in's budget, and on its lock (the account's or a
    known browser's) since the last right code; ``None`` for a signed-in session's (no lock)."""

    budget: int
    on_lock: int | None


def _count(number: int, noun: str) -> str:
    """``1 essai``, ``4 essais``: the login pages speak French, not ``essai(s)``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _now(now: datetime | None) -> datetime:
    return now or clock.now()


async def ensure_not_locked(account_id: UUID, now: datetime | None = None, *, browser: str | None = None) -> None:
    """Refuse while the person's codes are locked, in this browser if it is a known one (a read:
    verification itself uses :func:`_reserve_try`)."""
    table, column, key = _guard(account_id, browser)
    row = await fetch_one(f"SELECT locked_until FROM {table} WHERE {column} = {{}}", key)
    until = aware_or_none(row["locked_until"]) if row else None
    if until is not None and until > _now(now):
        minutes = max(1, int((until - _now(now)).total_seconds() // 60) + 1)
        raise CodeRefused(
            f"Trop de codes erronés : la vérification est bloquée pendant encore {_count(minutes, 'minute')}. "
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


async def _reserve_try(settings: Settings, account_id: UUID, *, budget: TryBudget, now: datetime) -> Tries:
    """Count this try, in its way in's budget and on its lock (the account's or a known browser's),
    before its code is checked.

    One transaction: a try refused by the account's lock gives its place in the budget back (the
    person may go on with this attempt once the lock is over). The budget's row is taken first and
    the guard's second, always in that order, so concurrent tries cannot deadlock. Raises
    :class:`TriesSpent` once the budget is spent (the account is then not counted: the code is not
    looked at), :class:`CodeRefused` while the account is locked.
    """
    async with write_transaction():
        number = await _reserve_budget_try(settings, budget, now=now)
        if budget.signed_in:
            return Tries(budget=number, on_lock=None)
        on_lock = await _reserve_lock_try(settings, account_id, browser=budget.browser, now=now)
    return Tries(budget=number, on_lock=on_lock)


async def _reserve_budget_try(settings: Settings, budget: TryBudget, *, now: datetime) -> int:
    """One conditional UPDATE: it passes only while tries are left, so of concurrent tries only the
    budget's number get through."""
    await fetch(
        "INSERT INTO otp_budgets (id, failures, expires_at) VALUES ({}, 0, {}) ON CONFLICT (id) DO NOTHING",
        budget.id,
        now + budget.keep,
    )
    rows = await fetch(
        "UPDATE otp_budgets SET failures = failures + 1 WHERE id = {} AND failures < {} RETURNING failures",
        budget.id,
        settings.otp_max_failures,
    )
    if not rows:
        raise TriesSpent("")
    return int(rows[0]["failures"])


async def _reserve_lock_try(settings: Settings, account_id: UUID, *, browser: str | None, now: datetime) -> int:
    """The try's number on the account (or the known ``browser``) since the last right code.

    One conditional UPDATE: it passes only while the person is not locked, and the try that uses up
    a round (every ``ENS_OTP_ACCOUNT_MAX_FAILURES``-th) sets the lock in the same statement, so
    concurrent tries beyond it are refused without their code being looked at. Raises
    :class:`CodeRefused` while locked.
    """
    per_round = max(1, settings.otp_account_max_failures)
    table, column, key = _guard(account_id, browser)
    if browser is None:
        await _ensure_guard(account_id)
    rows = await fetch(
        f"UPDATE {table} SET failures = failures + 1, "
        "locked_until = CASE WHEN (failures + 1) % {} = 0 THEN {} ELSE locked_until END "
        f"WHERE {column} = {{}} AND (locked_until IS NULL OR locked_until <= {{}}) RETURNING failures",
        per_round,
        now + _lock_length(settings, 1),
        key,
        now,
    )
    if not rows:
        if (
            browser is not None
            and await fetch_one("SELECT 1 AS one FROM known_browsers WHERE key_hash = {}", browser) is None
        ):
            # The known browser's row went since it was recognised (its expiry's purge, a factor
            # replaced meanwhile): a stranger's try then, not a lock (it said "bloquée": a review).
            return await _reserve_lock_try(settings, account_id, browser=None, now=now)
        await ensure_not_locked(account_id, now, browser=browser)
        raise CodeRefused("Trop de codes erronés : la vérification est bloquée. Réessayez plus tard.")
    number = int(rows[0]["failures"])
    lock_number = number // per_round
    if number % per_round == 0 and lock_number > 1:
        # A repeated lock lasts longer; the account is already locked while this is written.
        await fetch(
            f"UPDATE {table} SET locked_until = {{}} WHERE {column} = {{}} AND failures = {{}}",
            now + _lock_length(settings, lock_number),
            key,
            number,
        )
    return number


def _refuse(settings: Settings, account_id: UUID, tries: Tries, *, message: str) -> NoReturn:
    """The refusal of a try already counted by :func:`_reserve_try`: :class:`TriesSpent` when it was
    its way in's last, else :class:`CodeRefused` (saying how many tries are left, or the lock). A
    try that locked the person's codes says so (``locked_now``) and is logged for the operators:
    that many wrong codes most likely come from someone holding the person's provider password."""
    per_round = max(1, settings.otp_account_max_failures)
    budget_left = settings.otp_max_failures - tries.budget
    lock_left = budget_left if tries.on_lock is None else per_round - ((tries.on_lock - 1) % per_round + 1)
    if tries.on_lock is not None and lock_left == 0:
        minutes = max(1, int(_lock_length(settings, tries.on_lock // per_round).total_seconds() // 60))
        message = f"Trop de codes erronés : la vérification est bloquée pendant {minutes} minutes."
        security_log.warning(
            "second factor locked after wrong codes",
            extra={"event": "otp_locked", "account_id": str(account_id), "minutes": minutes},
        )
    elif budget_left > 0:
        raise CodeRefused(f"{message} Il vous reste {_count(min(budget_left, lock_left), 'essai')}.")
    refusal = TriesSpent(message) if budget_left <= 0 else CodeRefused(message)
    refusal.locked_now = tries.on_lock is not None and lock_left == 0
    raise refusal


async def _clear_failures(account_id: UUID, budget: TryBudget) -> None:
    """A right code: the counter its try counted on (the account's, or the known browser's), its
    escalation and any lock its own try set start over, and the way in gets back the one try this
    code took (its budget counts wrong codes). A right code in a known browser leaves the account's
    counter alone: a stranger's escalation is not started over by the person's own logins.

    Only that one: emptied on success, the budget would let the guesses sent alongside a right code
    (in flight at once) be looked at beyond it. A way in never has more wrong codes looked at than
    its budget.
    """
    if not budget.signed_in:
        table, column, key = _guard(account_id, budget.browser)
        await fetch(f"UPDATE {table} SET failures = 0, locked_until = NULL WHERE {column} = {{}}", key)
    await fetch("UPDATE otp_budgets SET failures = failures - 1 WHERE id = {} AND failures > 0", budget.id)
