"""Wrong second-factor codes end the login attempt (or the session) that typed them, not the
person's access (from a security review): the lock counted per account only, so anyone with the
person's password at the identity provider, or a stolen access token through the renewal of
recovery codes, could type five wrong codes on purpose and keep the person out of their own space,
lock after lock. Each way in now has its own budget; the account's lock stays, further off, as the
backstop against guessing through many attempts (tests/auth/test_second_factor_lock_and_activation.py)."""

from __future__ import annotations

import html
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ens.auth.maintenance import purge_expired_login_state
from ens.core import db
from ens.core.settings import ConfigurationError, Settings
from tests.helpers.login import LOOPBACK, FakeLogin, csrf_of, signed_in_browser
from tests.helpers.rows import one_row


def _sub() -> str:
    return f"budget-{uuid.uuid4().hex[:12]}"


async def _at_otp_page(fake_login: Any, sub: str) -> FakeLogin:
    """A new login of an enrolled person through the provider, stopped at the code form."""
    login: FakeLogin = fake_login()
    await login.start()
    assert (await login.come_back(login.code(sub=sub))).status_code == 303
    await login.browser.open("/login/otp")
    assert 'name="code"' in login.browser.page
    return login


async def _failures(sub: str) -> int:
    row = await one_row(
        "SELECT g.failures FROM otp_guards g JOIN accounts a ON a.id = g.account_id WHERE a.sub = {}", sub
    )
    assert row is not None
    return int(row["failures"])


async def test_an_attempt_that_spent_its_codes_does_not_lock_the_persons_own_login(
    fake_login: Any, fake_settings: Settings
) -> None:
    sub = _sub()
    owner, _ = await signed_in_browser(fake_login, sub)
    # Someone with the person's password at the provider, not their authenticator.
    attacker = await _at_otp_page(fake_login, sub)
    for n in range(1, fake_settings.otp_max_failures):
        wrong = await attacker.browser.post_form("/login/otp", {"code": "000000"})
        assert wrong.status_code == 400 and f"reste {fake_settings.otp_max_failures - n} essai" in wrong.text
    csrf = csrf_of(attacker.browser.page)
    spent = await attacker.browser.post_form("/login/otp", {"code": "000000"})
    text = html.unescape(spent.text)
    assert spent.status_code == 400 and "Trop de codes erronés pour cette connexion" in text
    assert "elle est annulée" in text and "bloquée" not in text and 'name="code"' not in text
    # That attempt is over: its page, its code form and its other buttons all say so.
    assert "elle est annulée" in html.unescape((await attacker.browser.get("/login/otp")).text)
    for path, form in (("/login/otp", {"code": "000000"}), ("/login/email-code", {}), ("/login/lost-factor", {})):
        refused = await attacker.browser.post(path, {"csrf": csrf, **form})
        assert refused.status_code == 400 and "elle est annulée" in html.unescape(refused.text), path
    # The wrong codes still count on the account (the backstop), but do not lock it.
    assert await _failures(sub) == fake_settings.otp_max_failures
    mine = await _at_otp_page(fake_login, sub)
    passed = await mine.browser.post_form("/login/otp", {"code": owner.browser.totp().at(time.time() + 30)})
    assert passed.status_code == 303 and passed.headers["location"].startswith(LOOPBACK)
    assert await _failures(sub) == 0


async def test_a_stolen_token_spends_its_sessions_codes_not_the_persons_login(
    fake_login: Any, fake_settings: Settings
) -> None:
    sub = _sub()
    owner, final = await signed_in_browser(fake_login, sub)
    tokens = (await owner.browser.exchange(final.headers["location"])).json()
    stolen = {"Authorization": f"Bearer {tokens['access_token']}"}
    client = owner.browser.client
    for _ in range(fake_settings.otp_max_failures):
        wrong = await client.post("/v1/me/otp/recovery-codes", headers=stolen, json={"code": "000000"})
        assert wrong.status_code == 403 and wrong.headers["content-type"].startswith("application/problem+json")
        assert wrong.json()["type"] == "urn:ens:problem:forbidden"
    assert "reconnectez-vous" in wrong.json()["detail"]
    # The session takes no more codes, even the right one, which is not looked at (so not spent).
    code = owner.browser.totp().at(time.time() + 30)
    refused = await client.post("/v1/me/otp/recovery-codes", headers=stolen, json={"code": code})
    assert refused.status_code == 403 and "reconnectez-vous" in refused.json()["detail"]
    # The person's own login is not locked, and its new session may renew the codes.
    mine = await _at_otp_page(fake_login, sub)
    passed = await mine.browser.post_form("/login/otp", {"code": code})
    assert passed.status_code == 303, passed.text
    fresh = (await mine.browser.exchange(passed.headers["location"])).json()
    renewed = await client.post(
        "/v1/me/otp/recovery-codes",
        headers={"Authorization": f"Bearer {fresh['access_token']}"},
        json={"code": owner.browser.recovery_codes[0]},
    )
    assert renewed.status_code == 201, renewed.text


@pytest.mark.parametrize(("per_attempt", "per_account"), [("0", "30"), ("30", "30"), ("31", "30"), ("5", "4")], ids=str)
def test_an_attempts_budget_must_stay_below_the_accounts_lock(per_attempt: str, per_account: str) -> None:
    """Else one attempt could lock the account on its own again."""
    environ = {"ENS_OTP_MAX_FAILURES": per_attempt, "ENS_OTP_ACCOUNT_MAX_FAILURES": per_account}
    with pytest.raises(ConfigurationError, match="ENS_OTP_MAX_FAILURES"):
        Settings.from_env(environ, env="dev")


def test_the_defaults_give_each_attempt_five_codes_and_the_account_thirty() -> None:
    settings = Settings.from_env({}, env="dev")
    assert (settings.otp_max_failures, settings.otp_account_max_failures) == (5, 30)


async def test_budgets_go_once_their_way_in_cannot_live_any_more(fake_settings: Settings) -> None:
    now = datetime.now(UTC)
    old, live = uuid.uuid4(), uuid.uuid4()
    for budget, expires in ((old, now - timedelta(minutes=1)), (live, now + timedelta(minutes=29))):
        await db.fetch("INSERT INTO otp_budgets (id, failures, expires_at) VALUES ({}, 5, {})", budget, expires)
    removed = await purge_expired_login_state(fake_settings, now)
    assert removed["code budgets"] >= 1
    left = {row["id"] for row in await db.fetch("SELECT id FROM otp_budgets WHERE id IN ({}, {})", old, live)}
    assert left == {live}
