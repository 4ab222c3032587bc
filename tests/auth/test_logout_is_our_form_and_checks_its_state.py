"""Signing out at the identity provider starts from a page of ours: ``GET /oauth/logout`` shows a form
that posts to ``/oauth/logout`` with the login's CSRF token, so another site cannot sign a person out;
the provider sends the browser back to ``/login/logged-out`` with the ``state`` we gave it, and only
that state, in the browser that started the logout, shows the "signed out" page."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from ens.auth.login.attempt import unseal
from ens.core import db
from ens.core.settings import Settings
from tests.helpers import fake_provider
from tests.helpers.login import BASE, Browser, FakeLogin, attempt_key, csrf_of, query_of, signed_in_browser

SIGNED_OUT = "Vous êtes déconnecté"


async def _id_token(login: FakeLogin, settings: Settings) -> str | None:
    """The ID token the login's row keeps (sealed: opened here as the logout opens it)."""
    rows = await db.fetch(
        "SELECT id, id_token FROM login_attempts WHERE browser_key = {}", attempt_key(login.browser.cookie)
    )
    if not rows or rows[0]["id_token"] is None:
        return None
    opened = unseal(settings, db.as_uuid(rows[0]["id"]), rows[0]["id_token"])
    assert opened is not None
    return opened


async def _logout_page(login: FakeLogin) -> Any:
    page = await login.browser.open("/oauth/logout")
    assert page.status_code == 200, page.text
    assert re.search(r'<form method="post" action="/oauth/logout">', page.text)
    assert len(re.findall(r"<button", page.text)) == 1
    return page


async def _sign_out(login: FakeLogin) -> dict[str, str]:
    """Our page, its form posted: the provider's end-session URL, whose query is returned."""
    await _logout_page(login)
    posted = await login.browser.post_form("/oauth/logout", {})
    assert posted.status_code == 303, posted.text
    location = posted.headers["location"]
    assert location.startswith(f"{fake_provider.ISSUER}/session/end?")
    return query_of(location)


async def test_logout_goes_to_the_provider_from_our_form_and_comes_back_with_its_state(fake_login, fake_settings):
    login, _ = await signed_in_browser(fake_login)
    id_token = await _id_token(login, fake_settings)
    assert id_token
    sent = await _sign_out(login)
    assert sent["id_token_hint"] == id_token
    assert sent["post_logout_redirect_uri"] == f"{BASE}/login/logged-out"
    assert len(sent["state"]) >= 32
    assert await _id_token(login, fake_settings) is None  # forgotten as soon as the logout leaves
    back = await login.browser.get("/login/logged-out", params={"state": sent["state"]})
    assert back.status_code == 200 and SIGNED_OUT in back.text
    again = await login.browser.get("/login/logged-out", params={"state": sent["state"]})
    assert again.status_code == 200 and SIGNED_OUT in again.text  # a reload of the same page


async def test_opening_the_logout_page_signs_nobody_out(fake_login, fake_settings):
    login, _ = await signed_in_browser(fake_login)
    await _logout_page(login)
    assert await _id_token(login, fake_settings)


@pytest.mark.parametrize("csrf", [None, "", "forged-by-another-site"], ids=["missing", "empty", "wrong"])
async def test_a_logout_posted_without_our_csrf_token_is_refused(fake_login, fake_settings, csrf):
    login, _ = await signed_in_browser(fake_login)
    await _logout_page(login)
    refused = await login.browser.post("/oauth/logout", {} if csrf is None else {"csrf": csrf})
    assert refused.status_code == 403 and "location" not in refused.headers
    assert refused.headers["content-type"].startswith("text/html")
    assert await _id_token(login, fake_settings)


async def test_a_logout_by_get_from_another_site_does_not_reach_the_provider(fake_login, fake_settings):
    login, _ = await signed_in_browser(fake_login)
    followed = await login.browser.get("/oauth/logout", params={"next": "https://evil.example"})
    assert followed.status_code == 200 and "location" not in followed.headers
    assert await _id_token(login, fake_settings)


@pytest.mark.parametrize(
    "state", [None, "", "a-state-of-someone-else-0123456789abcdef0123"], ids=["missing", "empty", "wrong"]
)
async def test_the_return_needs_the_state_of_this_browsers_logout(fake_login, state):
    login, _ = await signed_in_browser(fake_login)
    await _sign_out(login)
    params = {} if state is None else {"state": state}
    back = await login.browser.get("/login/logged-out", params=params)
    assert back.status_code == 400 and back.headers["content-type"].startswith("text/html")
    assert SIGNED_OUT not in back.text


async def test_the_return_in_another_browser_is_not_a_signed_out_page(fake_login):
    login, _ = await signed_in_browser(fake_login)
    sent = await _sign_out(login)
    elsewhere: FakeLogin = fake_login()  # no cookie: another browser
    back = await elsewhere.browser.get("/login/logged-out", params={"state": sent["state"]})
    assert back.status_code == 400 and SIGNED_OUT not in back.text
    # Nor does it spend the state of the browser that did sign out.
    mine = await login.browser.get("/login/logged-out", params={"state": sent["state"]})
    assert mine.status_code == 200 and SIGNED_OUT in mine.text


async def test_a_login_left_at_the_provider_in_another_tab_does_not_hide_the_session(fake_login, fake_settings):
    """The app opened another authorize in the same browser, left at the provider: its attempt is
    named first by the browser's cookie, and holds no ID token. The logout still ends the session
    that has one, and its return is confirmed (both had said there was nothing: a browser walk)."""
    login, _ = await signed_in_browser(fake_login)
    signed_in = login.browser.cookie
    await login.start()  # another tab: at the provider, named first
    assert login.browser.cookie is not None and login.browser.cookie != signed_in
    assert login.browser.cookie.endswith(str(signed_in))
    sent = await _sign_out(login)
    rows = await db.fetch("SELECT id_token FROM login_attempts WHERE browser_key = {}", attempt_key(signed_in))
    assert rows[0]["id_token"] is None  # the signed-in attempt's token left with the logout
    back = await login.browser.get("/login/logged-out", params={"state": sent["state"]})
    assert back.status_code == 200 and SIGNED_OUT in back.text


async def test_two_signed_in_logins_in_one_browser_are_both_over_after_one_logout(fake_login):
    login, _ = await signed_in_browser(fake_login)
    await login.start()
    again = await login.come_back(login.code())
    assert again.status_code == 303, again.text
    assert (await login.browser.second_factor()).status_code == 303
    assert login.browser.cookie is not None and len(login.browser.cookie.split(".")) == 2
    await _sign_out(login)
    # Signed out at the provider: the other login has no session there left to end.
    assert (await login.browser.get("/oauth/logout")).status_code == 400
    ids = (login.browser.cookie or "").split(".")
    keys = [attempt_key(token) for token in ids]
    rows = await db.fetch("SELECT id FROM login_attempts WHERE id_token IS NOT NULL AND browser_key IN ({}, {})", *keys)
    assert rows == []


async def test_a_return_with_no_logout_started_is_an_error_page(fake_login, fake_settings):
    login, _ = await signed_in_browser(fake_login)
    back = await login.browser.get("/login/logged-out", params={"state": "x" * 43})
    assert back.status_code == 400 and SIGNED_OUT not in back.text
    assert await _id_token(login, fake_settings)


async def test_without_a_session_in_this_browser_there_is_no_logout_form(fake_login):
    login: FakeLogin = fake_login()
    page = await login.browser.get("/oauth/logout")
    assert page.status_code == 400 and 'action="/oauth/logout"' not in page.text
    posted = await login.browser.post("/oauth/logout", {"csrf": "x"})
    assert posted.status_code == 400 and "location" not in posted.headers


async def test_a_provider_without_end_session_comes_straight_back_with_the_state(fake_login, provider):
    login, _ = await signed_in_browser(fake_login)
    await _logout_page(login)
    provider.end_session = False
    try:
        posted = await login.browser.post_form("/oauth/logout", {})
    finally:
        provider.end_session = True
    assert posted.status_code == 303
    location = urlsplit(posted.headers["location"])
    assert location.path == "/login/logged-out" and location.netloc in ("", urlsplit(BASE).netloc)
    back = await login.browser.get("/login/logged-out", params={"state": query_of(posted.headers["location"])["state"]})
    assert back.status_code == 200 and SIGNED_OUT in back.text


async def test_the_dev_provider_sends_the_browser_back_with_our_state(dev_client, outbox):
    browser = Browser(dev_client, outbox[0])
    started = await browser.authorize()
    page = await browser.get(started.headers["location"])
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page.text))
    chosen = await browser.post(
        "/dev-idp/authorize", {**{k: v.replace("&amp;", "&") for k, v in fields.items()}, "login": "lea"}
    )
    assert (await browser.get(chosen.headers["location"])).status_code == 303
    page = await browser.open("/oauth/logout")
    assert page.status_code == 200
    posted = await browser.post("/oauth/logout", {"csrf": csrf_of(page.text)})
    assert posted.status_code == 303 and posted.headers["location"].startswith(f"{BASE}/dev-idp/session/end?")
    at_provider = await browser.get(posted.headers["location"])
    assert at_provider.status_code == 302
    back = await browser.get(at_provider.headers["location"])
    assert back.status_code == 200 and SIGNED_OUT in back.text


async def test_a_malformed_logout_form_is_an_error_page(fake_login, fake_settings):
    login, _ = await signed_in_browser(fake_login)
    csrf = csrf_of((await _logout_page(login)).text)
    for body in (f"csrf={csrf}&csrf={csrf}", "csrf=%ff"):
        refused = await login.browser.client.post(
            "/oauth/logout",
            content=body.encode(),
            headers={
                "Cookie": f"ens_login={login.browser.cookie}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        assert refused.status_code in (400, 403) and refused.headers["content-type"].startswith("text/html"), body
        assert "location" not in refused.headers
    assert await _id_token(login, fake_settings)


async def test_every_login_form_that_cannot_be_read_is_an_html_page(fake_client: httpx.AsyncClient) -> None:
    for path in (
        "/login/otp",
        "/login/email-code",
        "/login/lost-factor",
        "/login/recovery-codes",
        "/login/reopen",
        "/login/consent",
    ):
        response = await fake_client.post(
            path, content=b"csrf=a&csrf=b&code=1&code=2", headers={"content-type": "application/x-www-form-urlencoded"}
        )
        assert response.status_code == 400, (path, response.status_code)
        assert response.headers["content-type"].startswith("text/html"), path
