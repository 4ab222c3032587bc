"""The login cookie names up to three of the browser's logins. A page of another site can send the
browser to ``/oauth/authorize`` three times (top-level navigations carry and take the ``SameSite=Lax``
cookie): each new login, left at the provider, pushed the oldest out of the cookie, and with it a
login the person was finishing: their code was refused ("le formulaire n'est plus valable"), the
page then said the step was over, and a signed-in browser had nothing left to sign out of (an
outside audit, seen in Chromium with a page on another site). A new login now pushes out what can
no longer serve first, then logins still at the provider, and a login past the provider last."""

from __future__ import annotations

import secrets

from tests.helpers.login import Browser, FakeLogin, query_of, signed_in_browser


async def _three_fresh_logins(browser: Browser, provider: object) -> None:
    """What the other site does: three authorization requests, never answered by the provider."""
    for _ in range(3):
        await FakeLogin(browser, provider).start()  # type: ignore[arg-type]
    assert browser.cookie is not None and len(browser.cookie.split(".")) == 3


async def test_a_login_at_its_code_is_not_pushed_out_by_three_fresh_ones(fake_client, provider, outbox):
    browser = Browser(fake_client, outbox[0])
    mine = FakeLogin(browser, provider)
    await mine.start()
    back = await mine.come_back(mine.code())
    assert back.status_code == 303 and back.headers["location"] == "/login/otp", back.text
    await browser.open("/login/otp")  # the person is at their code's page

    await _three_fresh_logins(browser, provider)

    # Its page still serves it (was: "Cette étape de la connexion est terminée"), and its form too
    # (was 403: "Le formulaire n'est plus valable").
    assert "otpauth://" in (await browser.open("/login/otp")).text
    final = await browser.second_factor()
    assert final.status_code == 303, final.text
    token = await browser.exchange(final.headers["location"])
    assert token.status_code == 200, token.text


async def test_a_login_proving_itself_again_for_a_lost_factor_is_not_pushed_out(fake_login, provider):
    """Back at the provider for a lost factor (its step ``upstream`` again), the login is past the
    provider all the same: the person is on their way back to it."""
    sub = f"fake-{secrets.token_hex(8)}"
    await signed_in_browser(fake_login, sub)  # the person's factor enrolled
    login: FakeLogin = fake_login()
    await login.start()
    assert (await login.come_back(login.code(sub=sub))).status_code == 303
    await login.browser.open("/login/otp")
    to_provider = await login.browser.post_form("/login/lost-factor", {})
    assert to_provider.status_code == 303, to_provider.text
    login.upstream = query_of(to_provider.headers["location"])

    await _three_fresh_logins(login.browser, provider)

    back = await login.come_back(login.code(sub=sub))
    assert back.status_code == 303, back.text  # was 400: "commencée dans un autre navigateur"
    assert "Vérification par e-mail" in (await login.browser.open("/login/otp")).text


async def test_a_signed_in_browser_can_still_sign_out_after_three_fresh_logins(fake_login, provider):
    login, _ = await signed_in_browser(fake_login)

    await _three_fresh_logins(login.browser, provider)

    page = await login.browser.get("/oauth/logout")  # was 400: nothing to sign out of
    assert page.status_code == 200 and 'action="/oauth/logout"' in page.text


async def test_fresh_logins_still_push_out_each_other_oldest_first(fake_client, provider, outbox):
    """Logins left at the provider (a person tapping "log in" again and again) still take the slots
    in turn: the newest three are kept, so the last one the person started can finish."""
    browser = Browser(fake_client, outbox[0])
    logins = [FakeLogin(browser, provider) for _ in range(4)]
    for login in logins:
        await login.start()
    assert browser.cookie is not None and len(browser.cookie.split(".")) == 3
    refused = await logins[0].come_back(logins[0].code())
    assert refused.status_code == 400 and "autre navigateur" in refused.text
    back = await logins[-1].come_back(logins[-1].code())
    assert back.status_code == 303, back.text
