"""The login and the authorization server against a stranger and a race (an outside audit,
2026-12-05): control characters in Basic credentials are ``invalid_client`` (a NUL was a 500 on
PostgreSQL); a login whose code was checked just before the person replaced a lost factor gets no
tokens; a used code presented by another client revokes nothing of its own client's; no secret of a
login reaches the logs."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.helpers.login import FakeLogin, signed_in_browser
from tests.helpers.rows import account_of


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def _phone_tokens(fake_login: Any) -> tuple[FakeLogin, dict[str, Any]]:
    login, final = await signed_in_browser(fake_login)
    response = await login.browser.exchange(final.headers["location"])
    assert response.status_code == 200, response.text
    return login, response.json()


# ---------------------------------------------------------------------------------------------
# Client authentication: what the Basic header carries reaches the database unchecked.


@pytest.mark.parametrize("endpoint", ["/oauth/token", "/oauth/revoke"])
@pytest.mark.parametrize("user", ["ens\x00mobile", "ens%00mobile"])
async def test_a_nul_in_basic_credentials_is_invalid_client_not_a_500(fake_client, endpoint, user):
    """RFC 6749 §2.3.1 / §5.2: credentials that name no client are ``invalid_client`` (401).
    The form fields refuse NUL (ProtocolStruct), the address too (ens.core.api); the Basic header's
    user name is decoded (base64, then percent-decoding) and sent to ``find_client`` as is."""
    response = await fake_client.post(
        endpoint,
        data={"grant_type": "refresh_token", "refresh_token": "x", "token": "x"},
        headers=_basic(user, "secret"),
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"


# ---------------------------------------------------------------------------------------------
# A login superseded by a factor replacement while it is between its code and its authorization code.


async def _at_otp_page(fake_login: Any, sub: str, browser_of: FakeLogin) -> FakeLogin:
    login: FakeLogin = fake_login()
    await login.start()
    assert (await login.come_back(login.code(sub=sub))).status_code == 303
    await login.browser.open("/login/otp")
    assert 'name="code"' in login.browser.page and "otpauth://" not in login.browser.page
    login.browser.totp_secret = browser_of.browser.totp_secret
    return login


async def test_a_login_superseded_by_a_factor_replacement_after_its_code_gets_no_tokens(
    fake_login, fake_settings, monkeypatch
):
    """``activate_factor`` (a lost-factor recovery) ends every other attempt of the person (step
    ``superseded``), revokes their sessions and expires their unexchanged codes: "a phone that may be
    stolen signs in no more". An attempt whose (old-factor) code was checked just before the
    replacement still reaches ``finish``, whose ``take_step(from_step=None)`` moves *any* step but
    ``done`` — ``superseded`` included — to ``done`` and issues a code: the stolen phone gets a fresh
    session created after the revocation. The window is the time between the code check and the
    code's creation, which includes sending the "new device" e-mail over SMTP.
    Simulated here by running the replacement while that e-mail is being sent."""
    import time
    import uuid

    from ens.auth import otp
    from ens.auth.login import second_factor

    sub = f"replaced-{uuid.uuid4().hex[:10]}"
    owner, _ = await signed_in_browser(fake_login, sub)
    account = await account_of(sub)
    thief = await _at_otp_page(fake_login, sub, owner)

    original = getattr(second_factor, "notify")  # noqa: B009 — imported there, not re-exported

    async def notify_while_the_person_replaces_the_factor(ctx: Any, account_id: Any, **kwargs: Any) -> None:
        if kwargs.get("subject", "").startswith("Nouvelle connexion") and account_id == account:
            # The person, on their new phone, finishes the lost-factor recovery at this moment.
            new_factor = await otp.start_enrolment(fake_settings, account_id)
            assert await otp.activate_factor(account_id, new_factor, replacing=True)
        await original(ctx, account_id, **kwargs)

    monkeypatch.setattr(second_factor, "notify", notify_while_the_person_replaces_the_factor)
    passed = await thief.browser.post_form("/login/otp", {"code": thief.browser.totp().at(time.time() + 30)})
    monkeypatch.setattr(second_factor, "notify", original)
    if passed.status_code == 303 and "code=" in passed.headers.get("location", ""):
        tokens = await thief.browser.exchange(passed.headers["location"])
        assert tokens.status_code != 200, "the superseded login got tokens: " + tokens.text
    else:
        assert passed.status_code in (400, 409), passed.text


async def test_no_step_is_taken_from_an_attempt_a_replacement_ended(fake_login):
    """Every step an attempt moves to is taken only from a step that is not an end: a request that
    read the attempt before a factor replacement superseded it (at the consent, the reopening, the
    recovery codes) is refused with why, and the attempt stays ended."""
    import uuid

    import pytest

    from ens.auth.errors import LoginFailed
    from ens.auth.login.attempt import update_attempt
    from ens.core import db
    from tests.helpers.rows import one_row

    sub = f"replaced-{uuid.uuid4().hex[:10]}"
    owner, _ = await signed_in_browser(fake_login, sub)
    account = await account_of(sub)
    await _at_otp_page(fake_login, sub, owner)
    row = await one_row("SELECT id FROM login_attempts WHERE account_id = {} AND step = 'otp'", account)
    attempt_id = db.as_uuid(row["id"])
    await db.fetch("UPDATE login_attempts SET step = 'superseded' WHERE id = {}", attempt_id)
    for step in ("consent", "reopen", "recovery_codes", "enrol"):
        with pytest.raises(LoginFailed, match="remplacé"):
            await update_attempt(attempt_id, step=step)
    assert (await one_row("SELECT step FROM login_attempts WHERE id = {}", attempt_id))["step"] == "superseded"
    # Columns other than the step are still set (what a step records before it moves on).
    await update_attempt(attempt_id, pending_identity=None)


# ---------------------------------------------------------------------------------------------
# A used code replayed by someone who is not its client.

DEVICE_REDIRECT = "https://device.example/ens/callback"


async def _confidential_app_tokens(fake_login: Any, fake_settings: Any) -> tuple[Any, str, dict[str, Any]]:
    """A confidential device app connected by a person: (app, the used code, its tokens)."""
    import uuid

    from ens.auth.clients import register_app
    from tests.helpers.login import query_of

    app = await register_app(
        fake_settings.secret_key,
        name=f"Audit C {uuid.uuid4().hex[:6]}",
        redirect_uris=[DEVICE_REDIRECT],
        scopes=["vitals.body_weight:write"],
        confidential=True,
    )
    assert app.client_secret
    login: FakeLogin = fake_login()
    await login.start(client_id=app.client_id, redirect_uri=DEVICE_REDIRECT, scope="vitals.body_weight:write")
    await login.come_back(login.code())
    consent = await login.browser.second_factor()
    assert consent.headers["location"] == "/login/consent"
    await login.browser.open("/login/consent")
    approved = await login.browser.post_form("/login/consent", {"decision": "approve"})
    code = query_of(approved.headers["location"])["code"]
    tokens = await login.browser.client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": DEVICE_REDIRECT,
            "code_verifier": login.browser.verifier,
        },
        auth=(app.client_id, app.client_secret),
    )
    assert tokens.status_code == 200, tokens.text
    return app, code, tokens.json()


async def test_a_used_code_replayed_by_another_client_does_not_revoke_a_confidential_apps_grant(
    fake_login, fake_settings, fake_client
):
    """RFC 6749 §4.1.2 asks to revoke what a code produced when the code is used twice — as a defence
    for the code's client. ``_exchange_code`` does it (``_second_use``) for *any* authenticated client:
    someone who only saw the code (it travels in the redirect URL: browser history, a proxy's log, a
    Referer) and holds no client secret names himself ``ens-mobile`` (a public client: no secret) and
    disconnects the person's confidential app — the secret the app was registered with is bypassed."""
    app, code, tokens = await _confidential_app_tokens(fake_login, fake_settings)
    replay = await fake_client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": DEVICE_REDIRECT,
            "code_verifier": "x" * 43,
            "client_id": "ens-mobile",
        },
    )
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # The app, which did nothing wrong, still refreshes its tokens.
    refreshed = await fake_client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(app.client_id, app.client_secret),
    )
    assert refreshed.status_code == 200, refreshed.text


# ---------------------------------------------------------------------------------------------
# Logs: no token, code or one-time code.


async def test_no_secret_of_the_login_reaches_the_logs(fake_login, fake_client, caplog):
    """A whole login, a refresh, a reuse (revocation) and a revocation, logs captured at DEBUG from
    every logger but the test's own HTTP client: none of the secrets may appear."""
    import logging

    from tests.helpers.login import query_of

    caplog.set_level(logging.DEBUG)
    login, final = await signed_in_browser(fake_login)
    code = query_of(final.headers["location"])["code"]
    first = (await login.browser.exchange(final.headers["location"])).json()
    refresh = {"grant_type": "refresh_token", "client_id": "ens-mobile"}
    second = (await fake_client.post("/oauth/token", data={**refresh, "refresh_token": first["refresh_token"]})).json()
    await fake_client.post("/oauth/token", data={**refresh, "refresh_token": first["refresh_token"]})  # reuse
    await fake_client.post("/oauth/revoke", data={"token": second["access_token"], "client_id": "ens-mobile"})
    secrets_seen = {
        "authorization code": code,
        "access token": first["access_token"],
        "refresh token": first["refresh_token"],
        "second refresh token": second["refresh_token"],
        "upstream state": login.upstream["state"],
        "upstream nonce": login.upstream["nonce"],
        "recovery code": login.browser.recovery_codes[0],
        "totp seed": login.browser.totp_secret or "",
    }
    server_lines = "\n".join(
        record.getMessage() + " " + repr(record.__dict__)
        for record in caplog.records
        if not record.name.startswith(("httpx", "httpcore")) or "testserver.local" not in record.getMessage()
    )
    leaked = [name for name, value in secrets_seen.items() if value and value in server_lines]
    assert not leaked, leaked
