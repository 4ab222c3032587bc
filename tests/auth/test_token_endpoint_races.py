"""Security review fixes of the token endpoint: concurrent refreshes inside the retry interval get a
fresh pair instead of revoking the session (reuse outside it still revokes the chain), and a failed
exchange of an app's authorization code does not let the legitimate app's later exchange revoke
the person's consent."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from ens.auth import oauth
from ens.auth.clients import register_app
from ens.auth.errors import OAuthError
from ens.auth.schemas import TokenRequest, TokenResponse
from ens.auth.tokens import AccessTokens
from ens.core import db, keyring
from ens.core.settings import Settings
from ens.spaces import service as spaces
from tests.helpers.login import FakeLogin, query_of, signed_in_browser
from tests.helpers.rows import one_row

DEVICE_REDIRECT = "https://device.example/ens/callback"
INTERVAL = 30


async def _phone_refresh_token(fake_login: Any, settings: Settings) -> tuple[str, uuid.UUID]:
    """A phone session's refresh token and its grant."""
    login, final = await signed_in_browser(fake_login)
    response = await login.browser.exchange(final.headers["location"])
    assert response.status_code == 200, response.text
    token = response.json()["refresh_token"]
    row = await one_row("SELECT grant_id FROM refresh_tokens WHERE token_hash = {}", _hash(settings, token))
    assert row is not None
    return token, db.as_uuid(row["grant_id"])


def _hash(settings: Settings, token: str) -> str:
    return keyring.token_hash(settings.secret_key, "refresh:" + token)


async def _revoked(grant_id: uuid.UUID) -> bool:
    row = await one_row("SELECT revoked_at FROM grants WHERE id = {}", grant_id)
    assert row is not None
    return row["revoked_at"] is not None


def _form(refresh_token: str) -> TokenRequest:
    return TokenRequest(grant_type="refresh_token", refresh_token=refresh_token, client_id="ens-mobile")


def _lenient(fake_settings: Settings) -> Settings:
    return msgspec.structs.replace(fake_settings, refresh_reuse_interval=INTERVAL)


async def test_concurrent_refreshes_inside_the_interval_get_tokens_instead_of_revoking(
    fake_login: Any, fake_settings: Settings
) -> None:
    token, grant = await _phone_refresh_token(fake_login, fake_settings)
    settings = _lenient(fake_settings)
    access = AccessTokens(settings)
    now = datetime.now(UTC)
    results = await asyncio.gather(
        *[oauth.token(settings, access, form=_form(token), basic=None, request_id="test", now=now) for _ in range(3)],
        return_exceptions=True,
    )
    assert all(isinstance(r, TokenResponse) for r in results), results
    assert not await _revoked(grant)
    # Exactly one of the answers is the live link of the chain (the others died as forgiven retries).
    live = [
        r.refresh_token
        for r in results
        if isinstance(r, TokenResponse)
        and (
            await db.fetch_one(
                "SELECT 1 AS live FROM refresh_tokens WHERE token_hash = {} AND rotated_at IS NULL",
                _hash(settings, r.refresh_token),
            )
        )
        is not None
    ]
    assert len(live) == 1
    following = await oauth.token(
        settings, access, form=_form(live[0]), basic=None, request_id="test", now=now + timedelta(seconds=5)
    )
    assert following.refresh_token and not await _revoked(grant)


async def test_concurrent_refreshes_without_an_interval_still_revoke_the_chain(
    fake_login: Any, fake_settings: Settings
) -> None:
    token, grant = await _phone_refresh_token(fake_login, fake_settings)
    assert fake_settings.refresh_reuse_interval == 0
    access = AccessTokens(fake_settings)
    now = datetime.now(UTC)
    results = await asyncio.gather(
        *[
            oauth.token(fake_settings, access, form=_form(token), basic=None, request_id="test", now=now)
            for _ in range(2)
        ],
        return_exceptions=True,
    )
    assert sum(isinstance(r, OAuthError) for r in results) == 1, results
    assert await _revoked(grant)


async def test_reuse_outside_the_interval_revokes_the_chain(fake_login: Any, fake_settings: Settings) -> None:
    token, grant = await _phone_refresh_token(fake_login, fake_settings)
    settings = _lenient(fake_settings)
    access = AccessTokens(settings)
    now = datetime.now(UTC)
    await oauth.token(settings, access, form=_form(token), basic=None, request_id="test", now=now)
    with pytest.raises(OAuthError, match="already used"):
        await oauth.token(
            settings,
            access,
            form=_form(token),
            basic=None,
            request_id="test",
            now=now + timedelta(seconds=INTERVAL + 1),
        )
    assert await _revoked(grant)


async def test_reuse_after_the_next_token_was_used_revokes_the_chain_even_inside_the_interval(
    fake_login: Any, fake_settings: Settings
) -> None:
    token, grant = await _phone_refresh_token(fake_login, fake_settings)
    settings = _lenient(fake_settings)
    access = AccessTokens(settings)
    now = datetime.now(UTC)
    child = await oauth.token(settings, access, form=_form(token), basic=None, request_id="test", now=now)
    await oauth.token(
        settings, access, form=_form(child.refresh_token), basic=None, request_id="test", now=now + timedelta(seconds=1)
    )
    with pytest.raises(OAuthError, match="already used"):
        await oauth.token(
            settings, access, form=_form(token), basic=None, request_id="test", now=now + timedelta(seconds=2)
        )
    assert await _revoked(grant)


# ---------------------------------------------------------------------------------------------
# Authorization codes of apps


async def _app_code(fake_login: Any, fake_settings: Settings) -> tuple[FakeLogin, Any, str]:
    """A person approves a device app; the app's authorization code, not yet exchanged."""
    app = await register_app(
        fake_settings.secret_key,
        name=f"App {uuid.uuid4().hex[:6]}",
        redirect_uris=[DEVICE_REDIRECT],
        scopes=["vitals.body_weight:write"],
    )
    login: FakeLogin = fake_login()
    await login.start(client_id=app.client_id, redirect_uri=DEVICE_REDIRECT, scope="vitals.body_weight:write")
    await login.come_back(login.code())
    assert (await login.browser.second_factor()).headers["location"] == "/login/consent"
    await login.browser.open("/login/consent")
    approved = await login.browser.post_form("/login/consent", {"decision": "approve"})
    return login, app, approved.headers["location"]


async def _app_grant_revoked(client_id: str) -> bool:
    rows = await db.fetch("SELECT revoked_at FROM grants WHERE client_id = {}", client_id)
    assert len(rows) == 1
    return rows[0]["revoked_at"] is not None


async def test_a_failed_exchange_does_not_let_the_legitimate_exchange_revoke_the_apps_grant(
    fake_login: Any, fake_settings: Settings
) -> None:
    login, app, location = await _app_code(fake_login, fake_settings)
    # Someone who saw the code tries it without the PKCE verifier.
    stolen = await login.browser.client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": query_of(location)["code"],
            "redirect_uri": DEVICE_REDIRECT,
            "code_verifier": "attacker-" + "x" * 50,
            "client_id": app.client_id,
        },
    )
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    # The app's own exchange comes second: the code is spent, but the person's consent survives.
    legitimate = await login.browser.exchange(location, app.client_id, DEVICE_REDIRECT)
    assert legitimate.status_code == 400 and legitimate.json()["error"] == "invalid_grant"
    assert not await _app_grant_revoked(app.client_id)


async def test_a_second_use_after_a_successful_exchange_still_revokes_the_apps_grant(
    fake_login: Any, fake_settings: Settings
) -> None:
    login, app, location = await _app_code(fake_login, fake_settings)
    first = await login.browser.exchange(location, app.client_id, DEVICE_REDIRECT)
    assert first.status_code == 200, first.text
    again = await login.browser.exchange(location, app.client_id, DEVICE_REDIRECT)
    assert again.status_code == 400
    assert await _app_grant_revoked(app.client_id)


async def test_a_code_whose_app_grant_was_revoked_meanwhile_gives_no_tokens(
    fake_login: Any, fake_settings: Settings
) -> None:
    login, app, location = await _app_code(fake_login, fake_settings)
    [grant] = await db.fetch("SELECT id FROM grants WHERE client_id = {}", app.client_id)
    await spaces.revoke_grant(db.as_uuid(grant["id"]))
    exchanged = await login.browser.exchange(location, app.client_id, DEVICE_REDIRECT)
    assert exchanged.status_code == 400 and exchanged.json()["error"] == "invalid_grant", exchanged.text


async def test_revocation_needs_a_token_and_a_refresh_cannot_widen_the_scope(
    fake_login: Any, fake_settings: Settings
) -> None:
    token, grant = await _phone_refresh_token(fake_login, fake_settings)
    login: FakeLogin = fake_login()
    missing = await login.browser.client.post("/oauth/revoke", data={"client_id": "ens-mobile"})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    refresh = {"grant_type": "refresh_token", "client_id": "ens-mobile", "refresh_token": token}
    wider = await login.browser.client.post("/oauth/token", data={**refresh, "scope": "space vitals.body_weight:write"})
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    assert not await _revoked(grant)  # refused before the token was touched: it still works
    same = await login.browser.client.post("/oauth/token", data={**refresh, "scope": "space"})
    assert same.status_code == 200, same.text


async def test_an_old_refresh_token_asking_for_more_is_a_reuse_all_the_same(
    fake_login: Any, fake_settings: Settings
) -> None:
    """An old token of the chain sent with a wider scope was told invalid_scope, and the chain lived
    on (an outside audit; it also told an attacker the token was one of ours). A reuse revokes the
    chain whatever else the request asks."""
    token, grant = await _phone_refresh_token(fake_login, fake_settings)
    login: FakeLogin = fake_login()
    refresh = {"grant_type": "refresh_token", "client_id": "ens-mobile", "refresh_token": token}
    rotated = await login.browser.client.post("/oauth/token", data=refresh)
    assert rotated.status_code == 200, rotated.text
    wider = await login.browser.client.post("/oauth/token", data={**refresh, "scope": "space vitals.body_weight:read"})
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_grant", wider.text
    assert await _revoked(grant)
    successor = {**refresh, "refresh_token": rotated.json()["refresh_token"]}
    assert (await login.browser.client.post("/oauth/token", data=successor)).json()["error"] == "invalid_grant"
