"""Security review fixes of the second factor: the wrong-code limits (a login attempt's budget, the
account's lock) hold under concurrent guesses (every try is counted before its code is looked at),
repeated locks grow longer, and a new factor is activated only while it is pending and no other
became active meanwhile (unless it is a recovery)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest

from ens.auth import otp
from ens.auth.errors import CodeRefused, LoginFailed, TriesSpent
from ens.core import db
from ens.core.settings import Settings
from tests.helpers.login import FakeLogin, otpauth_secret, signed_in_browser
from tests.helpers.rows import account_of, one_row

GUESSES = 40


def _sub() -> str:
    return f"sec-otp-{uuid.uuid4().hex[:12]}"


async def _enrolled(fake_login: Any) -> tuple[uuid.UUID, pyotp.TOTP, list[str]]:
    """A person who enrolled a TOTP factor through the login pages: account, authenticator, recovery codes."""
    sub = _sub()
    login, _ = await signed_in_browser(fake_login, sub)
    return await account_of(sub), login.browser.totp(), login.browser.recovery_codes


def _wrong(totp: pyotp.TOTP, at: datetime) -> str:
    """A six-digit code the authenticator does not show around ``at`` (so a certain miss)."""
    valid = {totp.at(at + timedelta(seconds=30 * d)) for d in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


def _count(monkeypatch: pytest.MonkeyPatch, name: str) -> list[dict[str, Any]]:
    """Record the keyword arguments of each call of ``otp.<name>``: the codes actually looked at."""
    calls: list[dict[str, Any]] = []
    original: Callable[..., Awaitable[Any]] = getattr(otp, name)

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return await original(*args, **kwargs)

    monkeypatch.setattr(otp, name, counted)
    return calls


async def _outcomes(*coroutines: Awaitable[Any]) -> list[Any]:
    return list(await asyncio.gather(*coroutines, return_exceptions=True))


def _attempt() -> otp.TryBudget:
    """A new login attempt's budget."""
    return otp.TryBudget(uuid.uuid4(), keep=timedelta(minutes=30))


async def _wrong_codes_over_attempts(
    settings: Settings, account: uuid.UUID, totp: pyotp.TOTP, *, count: int, at: datetime
) -> str:
    """``count`` wrong codes, one after another, each attempt typing as many as it may (then the
    next one begins); the last refusal's message."""
    message, budget = "", _attempt()
    for n in range(count):
        if n % settings.otp_max_failures == 0:
            budget = _attempt()
        with pytest.raises(CodeRefused) as refused:
            await otp.verify_second_factor(
                settings, account, attempt_id=budget.id, budget=budget, raw=_wrong(totp, at), now=at
            )
        message = refused.value.detail
    return message


async def test_concurrent_wrong_codes_of_one_attempt_are_evaluated_at_most_its_budget_times(
    fake_login: Any, fake_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    account, totp, _ = await _enrolled(fake_login)
    evaluated = _count(monkeypatch, "_totp_accepts")
    now = datetime.now(UTC) + timedelta(minutes=2)  # later than the step the enrolment spent
    budget = _attempt()
    wrong = _wrong(totp, now)
    results = await _outcomes(
        *[
            otp.verify_second_factor(fake_settings, account, attempt_id=budget.id, budget=budget, raw=wrong, now=now)
            for _ in range(GUESSES)
        ]
    )
    assert all(isinstance(r, CodeRefused) for r in results), results
    assert len(evaluated) == fake_settings.otp_max_failures
    spent = [r for r in results if isinstance(r, TriesSpent)]
    assert len(spent) >= GUESSES - fake_settings.otp_max_failures + 1
    # The right code, on the spent attempt, is refused without being looked at.
    with pytest.raises(TriesSpent):
        await otp.verify_second_factor(
            fake_settings, account, attempt_id=budget.id, budget=budget, raw=totp.at(now), now=now
        )
    assert len(evaluated) == fake_settings.otp_max_failures
    # The account is not locked: a new attempt's right code works, and the counter starts over.
    fresh = _attempt()
    assert (
        await otp.verify_second_factor(
            fake_settings, account, attempt_id=fresh.id, budget=fresh, raw=totp.at(now), now=now
        )
        == "totp"
    )
    guard = await one_row("SELECT failures, locked_until FROM otp_guards WHERE account_id = {}", account)
    assert guard is not None and guard["failures"] == 0 and guard["locked_until"] is None
    other = _attempt()
    with pytest.raises(CodeRefused, match=f"reste {fake_settings.otp_max_failures - 1} essai"):
        await otp.verify_second_factor(
            fake_settings, account, attempt_id=other.id, budget=other, raw=_wrong(totp, now), now=now
        )


async def test_concurrent_wrong_codes_over_many_attempts_are_evaluated_at_most_the_accounts_limit(
    fake_login: Any, fake_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Brute force through many login attempts at once: the account's lock bounds it."""
    account, totp, _ = await _enrolled(fake_login)
    evaluated = _count(monkeypatch, "_totp_accepts")
    now = datetime.now(UTC) + timedelta(minutes=2)
    attempts = [_attempt() for _ in range(2 * fake_settings.otp_account_max_failures // fake_settings.otp_max_failures)]
    wrong = _wrong(totp, now)
    results = await _outcomes(
        *[
            otp.verify_second_factor(fake_settings, account, attempt_id=a.id, budget=a, raw=wrong, now=now)
            for a in attempts
            for _ in range(fake_settings.otp_max_failures)
        ]
    )
    assert all(isinstance(r, CodeRefused) for r in results), [r for r in results if not isinstance(r, CodeRefused)]
    assert len(evaluated) == fake_settings.otp_account_max_failures
    assert sum("bloquée" in r.detail for r in results) >= len(results) - fake_settings.otp_account_max_failures
    # Locked: a new attempt's right code is refused without being looked at, and spends nothing.
    fresh = _attempt()
    with pytest.raises(CodeRefused, match="bloquée"):
        await otp.verify_second_factor(
            fake_settings, account, attempt_id=fresh.id, budget=fresh, raw=totp.at(now), now=now
        )
    assert len(evaluated) == fake_settings.otp_account_max_failures
    # Once the lock is over, that same attempt goes on: its try refused by the lock was given back.
    later = now + timedelta(seconds=fake_settings.otp_lock_seconds + 1)
    for _ in range(fake_settings.otp_max_failures - 1):
        with pytest.raises(CodeRefused, match="reste"):
            await otp.verify_second_factor(
                fake_settings, account, attempt_id=fresh.id, budget=fresh, raw=_wrong(totp, later), now=later
            )
    assert (
        await otp.verify_second_factor(
            fake_settings, account, attempt_id=fresh.id, budget=fresh, raw=totp.at(later), now=later
        )
        == "totp"
    )


async def test_the_right_code_among_concurrent_guesses_passes_only_if_it_was_one_of_the_allowed_tries(
    fake_login: Any, fake_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    account, totp, _ = await _enrolled(fake_login)
    evaluated = _count(monkeypatch, "_totp_accepts")
    now = datetime.now(UTC) + timedelta(minutes=2)
    budget = _attempt()
    right, wrong = totp.at(now), _wrong(totp, now)
    results = await _outcomes(
        *[
            otp.verify_second_factor(fake_settings, account, attempt_id=budget.id, budget=budget, raw=wrong, now=now)
            for _ in range(GUESSES)
        ],
        otp.verify_second_factor(fake_settings, account, attempt_id=budget.id, budget=budget, raw=right, now=now),
    )
    # A right code gives its try back (the budget counts wrong codes), never more: the wrong ones
    # looked at stay within the budget, even those in flight when the right one passed.
    assert len([call for call in evaluated if call["code"] != right]) <= fake_settings.otp_max_failures
    right_was_evaluated = any(call["code"] == right for call in evaluated)
    assert (results[-1] == "totp") == right_was_evaluated, results[-1]
    assert all(isinstance(r, CodeRefused) for r in results[:-1])


async def test_right_codes_do_not_spend_the_budget_wrong_ones_do(fake_login: Any, fake_settings: Settings) -> None:
    """The budget counts wrong codes: a session may renew its recovery codes more often than its
    budget, and one wrong code between right ones is still counted."""
    account, totp, recovery = await _enrolled(fake_login)
    now = datetime.now(UTC) + timedelta(minutes=2)
    budget = _attempt()
    with pytest.raises(CodeRefused, match=f"reste {fake_settings.otp_max_failures - 1} essai"):
        await otp.verify_second_factor(
            fake_settings, account, attempt_id=budget.id, budget=budget, raw=_wrong(totp, now), now=now
        )
    for code in recovery[: fake_settings.otp_max_failures + 1]:
        assert (
            await otp.verify_second_factor(
                fake_settings, account, attempt_id=budget.id, budget=budget, raw=code, now=now
            )
            == "recovery"
        )
    with pytest.raises(CodeRefused, match=f"reste {fake_settings.otp_max_failures - 2} essai"):
        await otp.verify_second_factor(
            fake_settings, account, attempt_id=budget.id, budget=budget, raw=_wrong(totp, now), now=now
        )


async def test_every_kind_of_code_counts_toward_one_budget_and_one_lock(
    fake_login: Any, fake_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recovery codes, e-mail codes and the lost-factor e-mail path share the attempt's budget, the
    account's guard and its reservation."""
    account, totp, recovery = await _enrolled(fake_login)
    emails = _count(monkeypatch, "_use_email_code")
    recoveries = _count(monkeypatch, "_use_recovery_code")
    now = datetime.now(UTC) + timedelta(minutes=2)
    budget = _attempt()
    results = await _outcomes(
        *[
            otp.verify_email_code(fake_settings, account, attempt_id=budget.id, budget=budget, raw="123456", now=now)
            for _ in range(GUESSES)
        ],
        *[
            otp.verify_second_factor(
                fake_settings, account, attempt_id=budget.id, budget=budget, raw="ABCDE-FGHJK", now=now
            )
            for _ in range(GUESSES)
        ],
    )
    assert all(isinstance(r, CodeRefused) for r in results)
    assert len(emails) + len(recoveries) <= fake_settings.otp_max_failures
    # Over many attempts, the account locks; a real recovery code and a real e-mail code are then
    # refused, and not spent.
    await _wrong_codes_over_attempts(fake_settings, account, totp, count=fake_settings.otp_account_max_failures, at=now)
    fresh = _attempt()
    code = await otp.new_email_code(fake_settings, fresh.id, account_id=account, now=now)
    with pytest.raises(CodeRefused, match="bloquée"):
        await otp.verify_second_factor(
            fake_settings, account, attempt_id=fresh.id, budget=fresh, raw=recovery[0], now=now
        )
    with pytest.raises(CodeRefused, match="bloquée"):
        await otp.verify_email_code(fake_settings, account, attempt_id=fresh.id, budget=fresh, raw=code, now=now)
    later = now + timedelta(seconds=fake_settings.otp_lock_seconds + 1)
    assert (
        await otp.verify_second_factor(
            fake_settings, account, attempt_id=fresh.id, budget=fresh, raw=recovery[0], now=later
        )
        == "recovery"
    )


async def test_concurrent_wrong_enrolment_codes_are_bounded_too(
    fake_settings: Settings, fake_login: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    account, _, _ = await _enrolled(fake_login)
    factor = await otp.start_enrolment(fake_settings, account)
    evaluated = _count(monkeypatch, "_totp_accepts")
    now = datetime.now(UTC) + timedelta(minutes=2)
    budget = _attempt()
    results = await _outcomes(
        *[
            otp.verify_enrolment_code(fake_settings, account, factor_id=factor, budget=budget, raw="000000", now=now)
            for _ in range(GUESSES)
        ]
    )
    assert all(isinstance(r, CodeRefused) for r in results)
    assert len(evaluated) <= fake_settings.otp_max_failures


async def test_repeated_locks_grow_longer(fake_login: Any, fake_settings: Settings) -> None:
    account, totp, _ = await _enrolled(fake_login)
    tries, lock = fake_settings.otp_account_max_failures, timedelta(seconds=fake_settings.otp_lock_seconds)
    now = datetime.now(UTC) + timedelta(minutes=2)

    async def one_round(at: datetime) -> str:
        return await _wrong_codes_over_attempts(fake_settings, account, totp, count=tries, at=at)

    async def right_code(at: datetime) -> otp.Method:
        budget = _attempt()
        return await otp.verify_second_factor(
            fake_settings, account, attempt_id=budget.id, budget=budget, raw=totp.at(at), now=at
        )

    assert f"bloquée pendant {int(lock.total_seconds() // 60)} minutes" in await one_round(now)
    second = now + lock + timedelta(seconds=1)
    assert f"bloquée pendant {int(2 * lock.total_seconds() // 60)} minutes" in await one_round(second)
    # The first lock's length later, the second lock still holds; twice that length later, it is over.
    still = second + lock + timedelta(seconds=1)
    with pytest.raises(CodeRefused, match="bloquée"):
        await right_code(still)
    over = second + 2 * lock + timedelta(seconds=1)
    assert await right_code(over) == "totp"
    # A right code ends the escalation: the next lock is the short one again.
    fresh = over + timedelta(minutes=1)
    assert f"bloquée pendant {int(lock.total_seconds() // 60)} minutes" in await one_round(fresh)


# ---------------------------------------------------------------------------------------------
# Activating a new factor


async def test_activation_refuses_when_another_factor_became_active_meanwhile(
    fake_login: Any, fake_settings: Settings
) -> None:
    account, _, _ = await _enrolled(fake_login)
    active = await otp.active_factor(account)
    pending = await otp.start_enrolment(fake_settings, account)
    with pytest.raises(LoginFailed, match="entre-temps") as refused:
        await otp.activate_factor(account, pending)
    assert refused.value.status == 409
    assert await otp.active_factor(account) == active
    status = await one_row("SELECT status FROM otp_factors WHERE id = {}", pending)
    assert status is not None and status["status"] == "pending"
    # A lost-factor recovery may replace it.
    assert await otp.activate_factor(account, pending, replacing=True) is True
    assert await otp.active_factor(account) == pending


async def test_activation_needs_a_pending_factor_of_that_account(fake_login: Any, fake_settings: Settings) -> None:
    account, _, _ = await _enrolled(fake_login)
    active = await otp.active_factor(account)
    assert active is not None
    with pytest.raises(LoginFailed):
        await otp.activate_factor(account, active, replacing=True)  # already active, not pending
    other, _, _ = await _enrolled(fake_login)
    foreign = await otp.start_enrolment(fake_settings, other)
    with pytest.raises(LoginFailed):
        await otp.activate_factor(account, foreign, replacing=True)
    revoked = await otp.start_enrolment(fake_settings, account)
    await db.fetch("UPDATE otp_factors SET status = 'revoked' WHERE id = {}", revoked)
    with pytest.raises(LoginFailed):
        await otp.activate_factor(account, revoked, replacing=True)
    assert await otp.active_factor(account) == active


async def test_concurrent_first_activations_leave_one_active_factor(fake_login: Any, fake_settings: Settings) -> None:
    account, _, _ = await _enrolled(fake_login)
    await db.fetch("UPDATE otp_factors SET status = 'revoked' WHERE account_id = {}", account)
    pending = [await otp.start_enrolment(fake_settings, account) for _ in range(4)]
    results = await _outcomes(*[otp.activate_factor(account, factor) for factor in pending])
    assert sum(r is False for r in results) == 1, results
    assert all(isinstance(r, LoginFailed) for r in results if r is not False)
    active = await db.fetch("SELECT id FROM otp_factors WHERE account_id = {} AND status = 'active'", account)
    assert len(active) == 1


async def test_two_first_logins_enrolling_side_by_side_only_the_first_activates(
    fake_login: Any, fake_settings: Settings
) -> None:
    """A new person starts two logins; both enrol. The second enrolment to finish must not silently
    replace the first one's factor (that needs the lost-factor recovery)."""
    sub = _sub()
    first: FakeLogin = fake_login()
    second: FakeLogin = fake_login()
    for login in (first, second):
        await login.start()
        assert (await login.come_back(login.code(sub=sub))).status_code == 303
    done = await first.browser.second_factor()
    assert done.status_code == 303, done.text
    await second.browser.open("/login/otp")
    assert "otpauth://" in second.browser.page
    code = pyotp.TOTP(otpauth_secret(second.browser.page)).at(time.time())
    refused = await second.browser.post_form("/login/otp", {"code": code})
    assert refused.status_code == 409 and "entre-temps" in refused.text
    account = await account_of(sub)
    assert await otp.active_factor(account) is not None
    active = await db.fetch("SELECT id FROM otp_factors WHERE account_id = {} AND status = 'active'", account)
    assert len(active) == 1
    # The first login's authenticator still works.
    code = first.browser.totp().at(time.time() + 30)
    budget = _attempt()
    assert (
        await otp.verify_second_factor(fake_settings, account, attempt_id=budget.id, budget=budget, raw=code) == "totp"
    )
