"""The whole login over HTTP against the embedded dev provider, as the phone app and a device app do it."""

from __future__ import annotations

import re
import time
from zoneinfo import ZoneInfo

import pyotp

from ens.auth.clients import register_app
from ens.auth.dev.identities import DEV_IDENTITIES, dev_sub
from ens.core import clock, db
from ens.core.pdf import french_date
from tests.helpers.login import LOOPBACK, Browser, csrf_of, query_of

DEVICE_REDIRECT = "https://scale.example/ens/callback"


async def _forget_factors(identity_key: str) -> None:
    """Start from a person who never enrolled (other tests may have used the same test identity)."""
    sub = dev_sub(DEV_IDENTITIES[identity_key])
    await db.fetch(
        "UPDATE otp_factors SET status = 'revoked' WHERE account_id IN (SELECT id FROM accounts WHERE sub = {})", sub
    )
    await db.fetch("DELETE FROM otp_guards WHERE account_id IN (SELECT id FROM accounts WHERE sub = {})", sub)


async def _provider_login(browser: Browser, identity: str, authorize_response) -> str:
    """Follow ENS to /dev-idp, press the identity's button, come back to /oauth/callback."""
    location = authorize_response.headers["location"]
    assert location.startswith("http://testserver.local/dev-idp/authorize?")
    page = await browser.get(location)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"  # one charset, said once
    assert f'name="login" value="{identity}"' in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page.text))
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
    chosen = await browser.post("/dev-idp/authorize", {**fields, "login": identity})
    assert chosen.status_code == 302
    callback = await browser.get(chosen.headers["location"])
    assert callback.status_code == 303, callback.text
    return callback.headers["location"]


async def test_whole_flow_phone_app_then_device_app(dev_client, outbox, dev_settings):
    mails, _ = outbox
    await _forget_factors("jean")
    jean = DEV_IDENTITIES["jean"]

    # The phone app: authorize → provider → callback → enrolment → recovery codes → back to the app.
    phone = Browser(dev_client, mails)
    started = await phone.authorize()
    assert started.status_code == 302
    assert "ens_login" in started.headers["set-cookie"]
    assert (
        "httponly" in started.headers["set-cookie"].lower() and "samesite=lax" in started.headers["set-cookie"].lower()
    )
    upstream = query_of(started.headers["location"])
    assert upstream["acr_values"] == "eidas1" and upstream["code_challenge_method"] == "S256"
    assert len(upstream["state"]) >= 32 and len(upstream["nonce"]) >= 32
    assert await _provider_login(phone, "jean", started) == "/login/otp"
    enrol = await phone.open("/login/otp")
    assert 'href="otpauth://totp/' in enrol.text and "<svg" in enrol.text
    assert 'autocomplete="one-time-code"' in enrol.text and 'inputmode="numeric"' in enrol.text
    back = await phone.second_factor()
    assert back.status_code == 303
    assert back.headers["location"].startswith(LOOPBACK + "?")
    assert len(phone.recovery_codes) == 10
    told = mails.to(jean.email)[-1]
    assert told["Subject"] == "Nouvelle connexion à votre espace santé"
    # When, with which app, and what to do if it was not Jean (it said "a new device", "let us know").
    paris = clock.now().astimezone(ZoneInfo("Europe/Paris"))
    text = told.get_content()
    assert f"le {french_date(paris.date())} à " in text and "(heure de Paris)" in text
    assert re.search(r" à \d\d:\d\d \(heure de Paris\), avec l'application « [^»]+ »", text), text
    assert "remplacez votre second facteur" in text and "prévenez-nous" not in text

    tokens = await phone.exchange(back.headers["location"])
    assert tokens.status_code == 200, tokens.text
    assert tokens.headers["cache-control"] == "no-store"
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "space" and "space" not in body
    me = await dev_client.get("/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["account"]["givenName"] == "Jean"
    own_space = me.json()["spaces"][0]["id"]

    # A device app asks for one vital type; Jean consents for his own space.
    app = await register_app(
        dev_settings.secret_key,
        name="Balance Connectée",
        redirect_uris=[DEVICE_REDIRECT],
        scopes=["vitals.body_weight:write"],
        publisher="Balances SA",
    )
    device = Browser(dev_client, mails)
    started = await device.authorize(
        client_id=app.client_id, redirect_uri=DEVICE_REDIRECT, scope="vitals.body_weight:write"
    )
    assert await _provider_login(device, "jean", started) == "/login/otp"
    device.totp_secret = phone.totp_secret
    consent_redirect = await device.second_factor(for_time=time.time() + 30)
    assert consent_redirect.headers["location"] == "/login/consent"
    consent = await device.open("/login/consent")
    assert "Balance Connectée" in consent.text and "Balances SA" in consent.text
    assert "mesures de poids" in consent.text and "Jean Dupont" in consent.text
    assert 'name="decision" value="approve"' in consent.text and 'name="decision" value="deny"' in consent.text
    approved = await device.post_form("/login/consent", {"decision": "approve"})
    assert approved.status_code == 303
    assert approved.headers["location"].startswith(DEVICE_REDIRECT + "?code=")
    app_tokens = await device.exchange(
        approved.headers["location"], client_id=app.client_id, redirect_uri=DEVICE_REDIRECT
    )
    assert app_tokens.status_code == 200, app_tokens.text
    app_body = app_tokens.json()
    assert app_body["space"] == own_space and app_body["scope"] == "vitals.body_weight:write"

    # An API call with the app's token, on its space (`me` = the space it was granted).
    app_auth = {"Authorization": f"Bearer {app_body['access_token']}"}
    wrote = await dev_client.post("/v1/spaces/me/scope-probe/body-weight", headers=app_auth)
    assert wrote.status_code == 201 and wrote.json() == {"space": own_space, "role": "app"}
    # The app cannot use account routes.
    assert (await dev_client.get("/v1/me", headers=app_auth)).status_code == 403
    grants = await dev_client.get(
        f"/v1/spaces/{own_space}/grants", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert [g["clientId"] for g in grants.json()["items"]] == [app.client_id]

    # Refresh rotates; the old refresh token used again revokes the whole chain.
    first_refresh = app_body["refresh_token"]
    refreshed = await dev_client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": first_refresh, "client_id": app.client_id}
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["refresh_token"] != first_refresh
    new_auth = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert (await dev_client.post("/v1/spaces/me/scope-probe/body-weight", headers=new_auth)).status_code == 201
    reused = await dev_client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": first_refresh, "client_id": app.client_id}
    )
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    revoked = await dev_client.post("/v1/spaces/me/scope-probe/body-weight", headers=new_auth)
    assert revoked.status_code == 401 and revoked.json()["type"] == "urn:ens:problem:grant-revoked"
    again = await dev_client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refreshed.json()["refresh_token"],
            "client_id": app.client_id,
        },
    )
    assert again.status_code == 400

    # Revocation (RFC 7009) of the phone's refresh token signs the phone out.
    phone_auth = {"Authorization": f"Bearer {body['access_token']}"}
    out = await dev_client.post("/oauth/revoke", data={"token": body["refresh_token"], "client_id": "ens-mobile"})
    assert out.status_code == 200
    after = await dev_client.get("/v1/spaces/me", headers=phone_auth)
    assert after.status_code == 401 and after.json()["type"] == "urn:ens:problem:grant-revoked"


async def test_dev_provider_is_a_real_oidc_provider(dev_client):
    discovery = (await dev_client.get("/dev-idp/.well-known/openid-configuration")).json()
    assert discovery["issuer"] == "http://testserver.local/dev-idp"
    assert discovery["id_token_signing_alg_values_supported"] == ["ES256"]
    jwks = (await dev_client.get("/dev-idp/jwks")).json()
    assert jwks["keys"][0]["kty"] == "EC" and "d" not in jwks["keys"][0]
    metadata = (await dev_client.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["response_modes_supported"] == ["query"]  # the code comes back in the query, only
    assert metadata["token_endpoint"] == "http://testserver.local/oauth/token"
    assert metadata["authorization_response_iss_parameter_supported"] is True  # RFC 9207
    # Every scope a client may be registered with: the phone's, a professional software's, the apps'.
    assert {"space", "professional", "vitals.body_weight:write"} <= set(metadata["scopes_supported"])


def test_totp_helper_matches_pyotp():
    assert len(pyotp.random_base32()) == 32 and csrf_of('name="csrf" value="x"') == "x"
