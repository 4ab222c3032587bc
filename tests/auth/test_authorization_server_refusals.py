"""The authorization server's refusals: redirect URIs, PKCE, codes, refresh tokens, grants, scopes."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from ens.auth import oauth
from ens.auth.clients import RegisteredApp, register_app
from ens.auth.errors import OAuthError
from ens.auth.schemas import TokenRequest
from ens.auth.tokens import AccessTokens
from ens.core import db
from ens.spaces.caller import Caller
from tests.helpers.login import LOOPBACK, FakeLogin, query_of, signed_in_browser
from tests.helpers.pages import every_item
from tests.helpers.rows import one_row

DEVICE_REDIRECT = "https://device.example/ens/callback"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _phone_tokens(fake_login) -> tuple[FakeLogin, dict[str, Any]]:
    login, final = await signed_in_browser(fake_login)
    response = await login.browser.exchange(final.headers["location"])
    assert response.status_code == 200, response.text
    return login, response.json()


async def _app(fake_settings, scopes: list[str], confidential: bool = False):
    return await register_app(
        fake_settings.secret_key,
        name=f"App {uuid.uuid4().hex[:6]}",
        redirect_uris=[DEVICE_REDIRECT],
        scopes=scopes,
        confidential=confidential,
    )


async def _app_tokens(
    fake_login, fake_settings, scopes: list[str], sub: str | None = None
) -> tuple[RegisteredApp, dict[str, Any]]:
    """A person approves a device app for their space; the app exchanges its code."""
    app = await _app(fake_settings, scopes)
    login: FakeLogin = fake_login()
    await login.start(client_id=app.client_id, redirect_uri=DEVICE_REDIRECT, scope=" ".join(scopes))
    await login.come_back(login.code(sub=sub))
    consent = await login.browser.second_factor()
    assert consent.headers["location"] == "/login/consent"
    await login.browser.open("/login/consent")
    approved = await login.browser.post_form("/login/consent", {"decision": "approve"})
    tokens = await login.browser.exchange(approved.headers["location"], app.client_id, DEVICE_REDIRECT)
    assert tokens.status_code == 200, tokens.text
    return app, tokens.json()


async def test_unknown_client_and_unregistered_redirect_uri_show_an_error_page(fake_login, fake_settings):
    login: FakeLogin = fake_login()
    unknown = await login.browser.authorize(client_id="nobody")
    assert unknown.status_code == 400 and "location" not in unknown.headers
    assert unknown.headers["content-type"].startswith("text/html") and "Application inconnue" in unknown.text
    for uri in (
        "https://evil.example/callback",
        "http://127.0.0.1:7777/other",
        "http://localhost:7777/callback",
        "fr.ens.app:/oauth2redirect/x",
    ):
        response = await login.browser.authorize(redirect_uri=uri)
        assert response.status_code == 400 and "location" not in response.headers, uri
    app = await _app(fake_settings, ["vitals.body_weight:write"])
    prefix = await login.browser.authorize(client_id=app.client_id, redirect_uri=DEVICE_REDIRECT + "/../x")
    assert prefix.status_code == 400 and "location" not in prefix.headers


async def test_a_repeated_parameter_is_refused(fake_login):
    """RFC 6749 §3.1 (each parameter at most once); litestar kept the last one (an outside review)."""
    login: FakeLogin = fake_login()
    browser = login.browser
    base = [
        ("response_type", "code"),
        ("client_id", "ens-mobile"),
        ("redirect_uri", LOOPBACK),
        ("code_challenge", create_s256_code_challenge(browser.verifier)),
        ("code_challenge_method", "S256"),
        ("state", browser.state),
    ]
    # Which redirect_uri or client_id is the app's? An error page, redirected nowhere.
    for repeated in (("redirect_uri", "https://evil.example/callback"), ("client_id", "ens-mobile")):
        page = await browser.get("/oauth/authorize", params=[repeated, *base])
        assert page.status_code == 400 and "location" not in page.headers, repeated
    # Any other: back to the app, which learns what was wrong.
    back = await browser.get("/oauth/authorize", params=[*base, ("scope", "space"), ("scope", "space")])
    assert back.status_code == 302 and back.headers["location"].startswith(LOOPBACK)
    answer = query_of(back.headers["location"])
    assert answer["error"] == "invalid_request" and "scope" in answer["error_description"]
    assert answer["state"] == browser.state
    # The same request, each parameter once, goes on to the identity provider.
    assert (await browser.get("/oauth/authorize", params=base)).status_code == 302


async def test_registered_redirect_uris_are_accepted(fake_login):
    login: FakeLogin = fake_login()
    for uri in ("fr.ens.app:/oauth2redirect", "http://127.0.0.1:51234/callback"):
        assert (await login.browser.authorize(redirect_uri=uri)).status_code == 302


@pytest.mark.parametrize(
    "change",
    [{"code_challenge": ""}, {"code_challenge_method": "plain"}, {"code_challenge_method": ""}],
    ids=["no-challenge", "plain", "no-method"],
)
async def test_pkce_is_mandatory_and_s256_only(fake_login, change):
    login: FakeLogin = fake_login()
    response = await login.browser.authorize(**change)
    assert response.status_code == 302
    assert response.headers["location"].startswith(LOOPBACK)
    answer = query_of(response.headers["location"])
    assert answer["error"] == "invalid_request" and answer["state"] == login.browser.state


async def test_a_state_longer_than_2048_characters_is_refused_not_stored(fake_login):
    """An anonymous client could make every login attempt carry 60 KB (an outside audit)."""
    login: FakeLogin = fake_login()
    before = await one_row("SELECT count(*) AS n FROM login_attempts")
    response = await login.browser.authorize(state="s" * 2049)
    assert response.status_code == 302 and response.headers["location"].startswith(LOOPBACK)
    answer = query_of(response.headers["location"])
    assert answer["error"] == "invalid_request" and "state" not in answer
    assert await one_row("SELECT count(*) AS n FROM login_attempts") == before
    # 2048 characters go on to the provider.
    accepted = await fake_login().browser.authorize(state="s" * 2048)
    assert accepted.status_code == 302 and not accepted.headers["location"].startswith(LOOPBACK)


async def test_scopes_outside_the_clients_are_refused(fake_login, fake_settings):
    login: FakeLogin = fake_login()
    phone = await login.browser.authorize(scope="space vitals.body_weight:write")
    assert query_of(phone.headers["location"])["error"] == "invalid_scope"
    app = await _app(fake_settings, ["vitals.body_weight:write"])
    asked = await login.browser.authorize(client_id=app.client_id, redirect_uri=DEVICE_REDIRECT, scope="space")
    assert query_of(asked.headers["location"])["error"] == "invalid_scope"


async def test_token_exchange_needs_the_right_verifier(fake_login):
    verifier = "wrong-" + "x" * 50
    login, final = await signed_in_browser(fake_login)
    code = query_of(final.headers["location"])["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": LOOPBACK, "client_id": "ens-mobile"}
    form["code_verifier"] = verifier
    response = await login.browser.client.post("/oauth/token", data=form)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant" and response.headers["cache-control"] == "no-store"
    # The code is spent by the failed attempt: the right verifier cannot use it afterwards.
    assert (await login.browser.exchange(final.headers["location"])).status_code == 400


async def test_a_request_missing_its_verifier_is_malformed_and_leaves_the_code_usable(fake_login):
    """RFC 6749 §5.2: a required parameter missing is invalid_request; the code is not burnt by it
    (as by a wrong verifier, which may be someone else's), so the app sends the request again."""
    login, final = await signed_in_browser(fake_login)
    code = query_of(final.headers["location"])["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": LOOPBACK, "client_id": "ens-mobile"}
    # Nor by one no verifier can look like (too short, a character outside RFC 7636's set): no guess.
    for missing in ({}, {"code_verifier": ""}, {"code_verifier": "short"}, {"code_verifier": "é" * 50}):
        response = await login.browser.client.post("/oauth/token", data={**form, **missing})
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_request" and "code_verifier" in response.json()["error_description"]
    assert (await login.browser.exchange(final.headers["location"])).status_code == 200


async def test_every_error_description_keeps_to_the_characters_rfc_6749_allows(fake_login):
    """%x20-21 / %x23-5B / %x5D-7E (RFC 6749 §5.2): no section sign, accent, quote or backslash."""
    login, final = await signed_in_browser(fake_login)
    code = query_of(final.headers["location"])["code"]
    form = {"grant_type": "authorization_code", "code": code, "client_id": "ens-mobile", "code_verifier": "v" * 43}
    answer = (await login.browser.client.post("/oauth/token", data=form)).json()
    assert answer["error"] == "invalid_request" and "redirect_uri" in answer["error_description"]
    assert re.fullmatch(r"[\x20\x21\x23-\x5b\x5d-\x7e]+", answer["error_description"]), answer


async def test_second_use_of_an_authorization_code_revokes_what_the_first_produced(fake_login):
    login, final = await signed_in_browser(fake_login)
    first = await login.browser.exchange(final.headers["location"])
    assert first.status_code == 200
    access = first.json()["access_token"]
    assert (await login.browser.client.get("/v1/spaces/me", headers=bearer(access))).status_code == 200
    second = await login.browser.exchange(final.headers["location"])
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    after = await login.browser.client.get("/v1/spaces/me", headers=bearer(access))
    assert after.status_code == 401 and after.json()["type"] == "urn:ens:problem:grant-revoked"


async def test_authorization_code_lives_sixty_seconds(fake_login):
    login, final = await signed_in_browser(fake_login)
    await db.fetch(
        "UPDATE authorization_codes SET expires_at = {} WHERE client_id = 'ens-mobile' AND used_at IS NULL",
        datetime.now(UTC) - timedelta(seconds=1),
    )
    expired = await login.browser.exchange(final.headers["location"])
    assert expired.status_code == 400 and "expired" in expired.json()["error_description"]


async def test_code_bound_to_its_client_and_redirect_uri(fake_login):
    login, final = await signed_in_browser(fake_login)
    wrong_uri = await login.browser.exchange(final.headers["location"], redirect_uri="http://127.0.0.1:9/callback")
    assert wrong_uri.status_code == 400


async def test_token_endpoint_errors_are_rfc6749_json(fake_client):
    unknown = await fake_client.post("/oauth/token", data={"grant_type": "authorization_code", "client_id": "x"})
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    grant = await fake_client.post("/oauth/token", data={"grant_type": "password", "client_id": "ens-mobile"})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    bad = await fake_client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": "nope", "client_id": "ens-mobile"}
    )
    assert bad.json()["error"] == "invalid_grant"
    # A required parameter missing (grant_type absent, or empty) is invalid_request (RFC 6749 §5.2).
    for form in ({"client_id": "ens-mobile", "refresh_token": "x"}, {"client_id": "ens-mobile", "grant_type": ""}):
        missing = await fake_client.post("/oauth/token", data=form)
        assert missing.status_code == 400 and missing.json()["error"] == "invalid_request", missing.text


async def test_a_client_authenticates_one_way_only(fake_client, fake_settings):
    """RFC 6749 §2.3: a client MUST NOT use more than one authentication method. Basic credentials
    beside a client_secret in the body (the body's was silently ignored), or two Authorization
    headers (the first won), are invalid_request, at the token and revocation endpoints alike."""
    app = await _app(fake_settings, ["vitals.heart_rate:write"], confidential=True)
    assert app.client_secret
    for endpoint, form in (
        ("/oauth/token", {"grant_type": "refresh_token", "refresh_token": "x"}),
        ("/oauth/revoke", {"token": "x"}),
    ):
        both = await fake_client.post(
            endpoint, data={**form, "client_secret": "wrong"}, auth=(app.client_id, app.client_secret)
        )
        assert both.status_code == 400 and both.json()["error"] == "invalid_request", (endpoint, both.text)
        good = "Basic " + base64.b64encode(f"{app.client_id}:{app.client_secret}".encode()).decode()
        bad = "Basic " + base64.b64encode(f"{app.client_id}:wrong".encode()).decode()
        for pair in ([good, bad], [bad, good]):
            twice = await fake_client.post(
                endpoint, data=form, headers=[("Authorization", pair[0]), ("Authorization", pair[1])]
            )
            assert twice.status_code == 400 and twice.json()["error"] == "invalid_request", (endpoint, twice.text)
        other = await fake_client.post(
            endpoint, data={**form, "client_id": "ens-mobile"}, auth=(app.client_id, app.client_secret)
        )
        assert other.status_code == 400 and other.json()["error"] == "invalid_request", (endpoint, other.text)
        # One way, either one, authenticates.
        for alone in (
            await fake_client.post(endpoint, data=form, auth=(app.client_id, app.client_secret)),
            await fake_client.post(
                endpoint, data={**form, "client_id": app.client_id, "client_secret": app.client_secret}
            ),
        ):
            assert alone.status_code in (200, 400), alone.text
            assert alone.status_code == 200 or alone.json()["error"] == "invalid_grant"


async def test_confidential_app_must_authenticate(fake_client, fake_settings):
    app = await _app(fake_settings, ["vitals.heart_rate:write"], confidential=True)
    assert app.client_secret
    no_secret = await fake_client.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": app.client_id})
    assert no_secret.status_code == 401
    basic = await fake_client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        auth=(app.client_id, app.client_secret),
    )
    assert basic.status_code == 400 and basic.json()["error"] == "invalid_grant"  # authenticated, bad token


async def test_expired_access_token_is_unauthorized(fake_login, fake_settings):
    _, tokens = await _phone_tokens(fake_login)
    caller = AccessTokens(fake_settings).verify(tokens["access_token"])
    expired = AccessTokens(fake_settings).issue(caller, ttl=-1)
    response = await fake_login().browser.client.get("/v1/spaces/me", headers=bearer(expired))
    assert response.status_code == 401 and response.json()["type"] == "urn:ens:problem:unauthorized"


async def test_app_token_only_reaches_its_granted_space_and_scopes(fake_login, fake_settings, fake_client):
    _, tokens = await _app_tokens(fake_login, fake_settings, ["vitals.heart_rate:write", "vitals.steps_per_day:read"])
    _, other_person = await _phone_tokens(fake_login)
    other_space = (await fake_client.get("/v1/me", headers=bearer(other_person["access_token"]))).json()["spaces"][0]
    # Another person's space: invisible to the app.
    elsewhere = await fake_client.post(
        f"/v1/spaces/{other_space['id']}/scope-probe/body-weight", headers=bearer(tokens["access_token"])
    )
    assert elsewhere.status_code == 404
    # Its own space, but a vital type it was not granted: forbidden.
    wrong_type = await fake_client.post("/v1/spaces/me/scope-probe/body-weight", headers=bearer(tokens["access_token"]))
    assert wrong_type.status_code == 403
    # Person-only routes: forbidden for apps.
    history = await fake_client.get("/v1/spaces/me/access-history", headers=bearer(tokens["access_token"]))
    assert history.status_code == 403
    grants = await fake_client.get("/v1/spaces/me/grants", headers=bearer(tokens["access_token"]))
    assert grants.status_code == 403


async def test_read_only_app_cannot_write(fake_login, fake_settings, fake_client):
    _, tokens = await _app_tokens(fake_login, fake_settings, ["vitals.body_weight:read"])
    response = await fake_client.post("/v1/spaces/me/scope-probe/body-weight", headers=bearer(tokens["access_token"]))
    assert response.status_code == 403


async def test_revoked_app_grant_is_refused_on_the_next_request(fake_login, fake_settings, fake_client):
    sub = f"grant-{uuid.uuid4().hex[:10]}"
    app, app_tokens = await _app_tokens(fake_login, fake_settings, ["vitals.body_weight:write"], sub=sub)
    probe = "/v1/spaces/me/scope-probe/body-weight"
    assert (await fake_client.post(probe, headers=bearer(app_tokens["access_token"]))).status_code == 201
    _, phone = await _phone_tokens_for(fake_login, fake_settings, sub)
    listed = (await fake_client.get("/v1/spaces/me/grants", headers=bearer(phone["access_token"]))).json()["items"]
    grant = next(g for g in listed if g["clientId"] == app.client_id)
    assert grant["permissions"] == ["Enregistrer des mesures de poids dans l'espace"]
    assert grant["lastUsedAt"] is not None
    gone = await fake_client.delete(f"/v1/spaces/me/grants/{grant['id']}", headers=bearer(phone["access_token"]))
    assert gone.status_code == 204
    refused = await fake_client.post(probe, headers=bearer(app_tokens["access_token"]))
    assert refused.status_code == 401 and refused.json()["type"] == "urn:ens:problem:grant-revoked"
    refresh = await fake_client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": app_tokens["refresh_token"], "client_id": app.client_id},
    )
    assert refresh.status_code == 400


async def _phone_tokens_for(fake_login, fake_settings, sub: str):
    """The same person signs in to the phone app (with a fresh recovery code: the test holds no seed)."""
    from ens.auth import otp

    login: FakeLogin = fake_login()
    await login.start()
    await login.come_back(login.code(sub=sub))
    await login.browser.open("/login/otp")
    account = await one_row("SELECT id FROM accounts WHERE sub = {}", sub)
    codes = await otp.issue_recovery_codes(fake_settings, account["id"])
    final = await login.browser.post_form("/login/otp", {"code": codes[0]})
    response = await login.browser.exchange(final.headers["location"])
    return login, response.json()


async def test_revoked_session_is_refused_on_the_next_request(fake_login, fake_client):
    _, tokens = await _phone_tokens(fake_login)
    sessions = (await fake_client.get("/v1/me/sessions", headers=bearer(tokens["access_token"]))).json()["items"]
    current = next(s for s in sessions if s["current"])
    assert current["lastUsedAt"] is not None  # set when the session obtained its tokens
    _, other = await _phone_tokens(fake_login)
    out = await fake_client.delete(f"/v1/me/sessions/{current['id']}", headers=bearer(tokens["access_token"]))
    assert out.status_code == 204
    me = await fake_client.get("/v1/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 401 and me.json()["type"] == "urn:ens:problem:grant-revoked"
    assert (await fake_client.get("/v1/me", headers=bearer(other["access_token"]))).status_code == 200


async def test_app_catalogue_lists_labelled_apps(fake_client, fake_settings):
    app = await _app(fake_settings, ["vitals.blood_pressure:write"])
    # Paged through (other tests of the session registered apps too).
    catalogue = await every_item(fake_client, "/v1/apps")
    entry = next(a for a in catalogue if a["clientId"] == app.client_id)
    assert entry["labelStatus"] == "labelled" and entry["scopes"] == ["vitals.blood_pressure:write"]


async def test_denied_consent_returns_access_denied(fake_login, fake_settings):
    app = await _app(fake_settings, ["vitals.body_weight:write"])
    login: FakeLogin = fake_login()
    await login.start(client_id=app.client_id, redirect_uri=DEVICE_REDIRECT, scope="vitals.body_weight:write")
    await login.come_back(login.code())
    await login.browser.second_factor()
    await login.browser.open("/login/consent")
    denied = await login.browser.post_form("/login/consent", {"decision": "deny"})
    answer = query_of(denied.headers["location"])
    assert answer["error"] == "access_denied" and "code" not in answer
    assert answer["iss"] == fake_settings.public_url  # RFC 9207, on refusals too


# ---------------------------------------------------------------------------------------------
# Refresh tokens, with time injected into the service


async def test_refresh_reuse_interval_and_absolute_lifetime(fake_login, fake_settings):
    import msgspec

    _, tokens = await _phone_tokens(fake_login)
    lenient = msgspec.structs.replace(fake_settings, refresh_reuse_interval=30)
    access = AccessTokens(lenient)
    now = datetime.now(UTC)
    form = TokenRequest(grant_type="refresh_token", refresh_token=tokens["refresh_token"], client_id="ens-mobile")
    first = await oauth.token(lenient, access, form=form, basic=None, request_id="test", now=now)
    # The phone lost the answer and retries 10 s later: accepted, and the first answer's token dies.
    retry = await oauth.token(
        lenient, access, form=form, basic=None, request_id="test", now=now + timedelta(seconds=10)
    )
    lost = TokenRequest(grant_type="refresh_token", refresh_token=first.refresh_token, client_id="ens-mobile")
    with pytest.raises(OAuthError):
        await oauth.token(lenient, access, form=lost, basic=None, request_id="test", now=now + timedelta(seconds=11))
    # That was a reuse outside the retry: the chain is revoked, the retry's token too.
    kept = TokenRequest(grant_type="refresh_token", refresh_token=retry.refresh_token, client_id="ens-mobile")
    with pytest.raises(OAuthError):
        await oauth.token(lenient, access, form=kept, basic=None, request_id="test", now=now + timedelta(seconds=12))


async def test_refresh_chain_has_an_absolute_lifetime(fake_login, fake_settings):
    _, tokens = await _phone_tokens(fake_login)
    form = TokenRequest(grant_type="refresh_token", refresh_token=tokens["refresh_token"], client_id="ens-mobile")
    later = datetime.now(UTC) + timedelta(seconds=fake_settings.refresh_token_max_age + 1)
    with pytest.raises(OAuthError, match="sign in again"):
        await oauth.token(
            fake_settings, AccessTokens(fake_settings), form=form, basic=None, request_id="test", now=later
        )


async def test_caller_is_bound_to_grant(fake_settings):
    caller = Caller(
        kind="person",
        account_id=uuid.uuid4(),
        client_id="ens-mobile",
        grant_id=uuid.uuid4(),
        scopes=frozenset({"space"}),
    )
    assert AccessTokens(fake_settings).verify(AccessTokens(fake_settings).issue(caller)).grant_id == caller.grant_id


async def test_erasing_a_space_removes_its_app_grants_and_their_refresh_tokens(fake_login, fake_settings, fake_client):
    sub = f"erase-{uuid.uuid4().hex[:10]}"
    _, app_tokens = await _app_tokens(fake_login, fake_settings, ["vitals.body_weight:write"], sub=sub)
    _, phone = await _phone_tokens_for(fake_login, fake_settings, sub)
    space_id = app_tokens["space"]
    assert await db.fetch("SELECT id FROM refresh_tokens WHERE space_id = {}", uuid.UUID(space_id))
    erased = await fake_client.delete("/v1/spaces/me?erase=true", headers=bearer(phone["access_token"]))
    assert erased.status_code == 204, erased.text
    for table in ("grants", "refresh_tokens", "authorization_codes", "spaces"):
        column = "id" if table == "spaces" else "space_id"
        rows = await db.fetch(f"SELECT * FROM {table} WHERE {column} = {{}}", uuid.UUID(space_id))
        assert rows == [], table
    # The app's refresh token no longer exists; the phone's session survives the erase.
    refused = await fake_client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": app_tokens["refresh_token"]}
    )
    assert refused.status_code in (400, 401)
    assert (await fake_client.get("/v1/me", headers=bearer(phone["access_token"]))).status_code == 200
