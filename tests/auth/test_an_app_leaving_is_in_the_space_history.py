"""An app's connection that ends at a token request leaves its row in the space's history: the app
revoking its own tokens (RFC 7009), and the service revoking a connection whose refresh token or
code was presented twice. The holder saw the app leave the list of connected apps without a word
(an outside audit)."""

from __future__ import annotations

import email
import email.policy
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from ens.core.mail import Mailer
from ens.core.settings import Settings
from ens.spaces import notifications
from tests.helpers.login import MakeFakeLogin, at_a_new_apps_consent_page, signed_in_browser

REDIRECT = "https://device.example/ens/callback"
SCOPE = "vitals.body_weight:write"


async def _connected(
    fake_login: MakeFakeLogin, fake_settings: Settings, name: str
) -> tuple[str, dict[str, str], dict[str, Any], str]:
    """A person who connected the device app ``name`` to their space through the consent page: the
    app's id, the person's phone headers, the app's tokens and the redirect that carried the code."""
    sub = f"leaving-{uuid.uuid4().hex[:8]}"
    first, final = await signed_in_browser(fake_login, sub=sub)
    phone = await first.browser.exchange(final.headers["location"])
    assert phone.status_code == 200, phone.text
    login, app = await at_a_new_apps_consent_page(
        fake_login, fake_settings.secret_key, known=first, sub=sub, name=name, redirect_uri=REDIRECT, scope=SCOPE
    )
    approved = await login.browser.post_form("/login/consent", {"decision": "approve"})
    assert approved.status_code == 303, approved.text
    tokens = await login.browser.exchange(approved.headers["location"], app.client_id, REDIRECT)
    assert tokens.status_code == 200, tokens.text
    headers = {"Authorization": f"Bearer {phone.json()['access_token']}"}
    return app.client_id, headers, tokens.json(), approved.headers["location"]


async def _rows_about_the_app(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    history = await client.get("/v1/spaces/me/access-history", params={"limit": 100}, headers=headers)
    assert history.status_code == 200, history.text
    return [row for row in history.json()["items"] if row["action"].startswith("POST /oauth/")]


async def _listed(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    grants = await client.get("/v1/spaces/me/grants", headers=headers)
    assert grants.status_code == 200, grants.text
    return [item["clientId"] for item in grants.json()["items"]]


async def test_an_app_revoking_its_own_tokens_is_in_the_history(
    fake_login: MakeFakeLogin, fake_client: httpx.AsyncClient, fake_settings: Settings
) -> None:
    client_id, phone, tokens, _ = await _connected(fake_login, fake_settings, "Balance Partie")
    assert await _listed(fake_client, phone) == [client_id]
    form = {"token": tokens["refresh_token"], "client_id": client_id}
    revoked = await fake_client.post("/oauth/revoke", data=form)
    assert revoked.status_code == 200, revoked.text
    assert (await fake_client.post("/oauth/revoke", data=form)).status_code == 200  # again: no second row
    assert await _listed(fake_client, phone) == []
    (row,) = await _rows_about_the_app(fake_client, phone)
    assert row["description"] == "L'application Balance Partie s'est déconnectée de l'espace.", row
    assert (row["actingAs"], row["outcome"], row["client"]["clientId"]) == ("app", 200, client_id)
    assert row["requestId"] == revoked.headers["x-request-id"]


async def test_a_refresh_token_used_twice_ends_the_connection_and_says_so(
    fake_login: MakeFakeLogin, fake_client: httpx.AsyncClient, fake_settings: Settings
) -> None:
    client_id, phone, tokens, _ = await _connected(fake_login, fake_settings, "Tensiomètre Volé")

    async def refresh(token: str) -> httpx.Response:
        return await fake_client.post(
            "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id}
        )

    second = await refresh(tokens["refresh_token"])
    assert second.status_code == 200, second.text
    assert (await refresh(second.json()["refresh_token"])).status_code == 200
    reused = await refresh(tokens["refresh_token"])  # the first, two rotations back: a reuse
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant", reused.text
    assert await _listed(fake_client, phone) == []
    (row,) = await _rows_about_the_app(fake_client, phone)
    assert row["description"] == (
        "L'application Tensiomètre Volé a été déconnectée par le service, par sécurité : un jeton de "
        "renouvellement déjà utilisé a été présenté à nouveau."
    ), row
    assert (row["action"], row["outcome"]) == ("POST /oauth/token", 400)


async def test_a_code_used_twice_ends_the_connection_and_says_so(
    fake_login: MakeFakeLogin, fake_client: httpx.AsyncClient, fake_settings: Settings
) -> None:
    client_id, phone, _, location = await _connected(fake_login, fake_settings, "Podomètre Copié")
    code = dict(part.split("=", 1) for part in location.split("?", 1)[1].split("&"))["code"]
    again = await fake_client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": "x" * 43,
            "client_id": client_id,
        },
    )
    assert again.status_code == 400, again.text
    assert await _listed(fake_client, phone) == []
    (row,) = await _rows_about_the_app(fake_client, phone)
    assert "un code d'autorisation déjà utilisé a été présenté à nouveau" in row["description"], row


async def test_the_apps_digest_tells_a_connection_the_service_ended(
    fake_login: MakeFakeLogin,
    fake_client: httpx.AsyncClient,
    fake_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its request was refused (400), and the digest left refusals out: the holder who asked to be
    told of what apps do was not told of the one the service cut off (a review)."""
    client_id, phone, tokens, _ = await _connected(fake_login, fake_settings, "Glucomètre Cloné")
    prefs = {"documentAdded": True, "emergencyAccess": True, "representativesDigest": False, "appsDigest": True}
    assert (await fake_client.put("/v1/me/notifications", json=prefs, headers=phone)).status_code == 200
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": client_id}
    second = await fake_client.post("/oauth/token", data=form)
    assert second.status_code == 200, second.text
    assert (
        await fake_client.post("/oauth/token", data={**form, "refresh_token": second.json()["refresh_token"]})
    ).status_code == 200
    assert (await fake_client.post("/oauth/token", data=form)).status_code == 400
    monkeypatch.setattr(notifications, "DIGEST_SETTLE", timedelta(0))
    mailer = Mailer(msgspec.structs.replace(fake_settings, var_dir=str(tmp_path), smtp_url=None))
    assert await notifications.send_digests(mailer) == 1
    (mail,) = (tmp_path / "outbox").glob("*.eml")
    text = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default).get_body().get_content()  # type: ignore[union-attr]
    assert "L'application Glucomètre Cloné a été déconnectée par le service, par sécurité" in text, text
