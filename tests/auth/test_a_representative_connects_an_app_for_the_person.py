"""A parent connects a device app to their child's space: the consent page offers the spaces they
may manage apps for; the app's token is bound to the one chosen, sees what the parent sees, and
stops with the parent's right (issue 12, point 7)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from ens.auth.clients import register_app
from ens.auth.login import consent
from ens.auth.login.attempt import Attempt, load
from ens.core import db
from ens.core.settings import Settings
from ens.spaces.describe import describe
from tests.helpers.carers import set_birthdate, today_in_paris, years_before
from tests.helpers.login import FakeLogin, MakeFakeLogin, at_a_new_apps_consent_page, signed_in_browser

DEVICE_REDIRECT = "https://device.example/ens/callback"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _phone(fake_login: MakeFakeLogin, sub: str) -> tuple[FakeLogin, dict[str, Any]]:
    login, final = await signed_in_browser(fake_login, sub=sub)
    tokens = await login.browser.exchange(final.headers["location"])
    assert tokens.status_code == 200, tokens.text
    return login, tokens.json()


async def _parent_of_a_child(
    fake_login: MakeFakeLogin, fake_client: httpx.AsyncClient
) -> tuple[str, FakeLogin, dict[str, Any], str]:
    """A parent signed in on their phone who created their 9-year-old's space: their provider
    identity, their login, their phone's tokens and the child's space id."""
    sub = f"parent-{uuid.uuid4().hex[:8]}"
    first, phone = await _phone(fake_login, sub)
    created = await fake_client.post(
        "/v1/spaces",
        json={
            "givenName": "Léa",
            "familyName": "Dupont",
            "birthdate": years_before(today_in_paris(), 9).isoformat(),
            "sex": "female",
            "relationship": "parent",
        },
        headers=bearer(phone["access_token"]),
    )
    assert created.status_code == 201, created.text
    return sub, first, phone, created.json()["id"]


async def test_a_parent_chooses_the_childs_space_on_the_consent_page(
    fake_login: MakeFakeLogin, fake_client: httpx.AsyncClient, fake_settings: Settings
) -> None:
    sub, first, phone, child = await _parent_of_a_child(fake_login, fake_client)
    app = await register_app(
        fake_settings.secret_key,
        name="Toise connectée",
        redirect_uris=[DEVICE_REDIRECT],
        scopes=["vitals.body_height:write", "vitals.body_height:read"],
    )
    login: FakeLogin = fake_login()
    login.browser.totp_secret = first.browser.totp_secret  # the same person's authenticator app
    await login.start(client_id=app.client_id, redirect_uri=DEVICE_REDIRECT, scope="vitals.body_height:write")
    await login.come_back(login.code(sub=sub))
    assert (await login.browser.second_factor()).headers["location"] == "/login/consent"
    page = (await login.browser.open("/login/consent")).text
    # Both spaces are offered, the person's own checked first.
    assert page.count('name="space"') == 2 and "Léa Dupont (vous le représentez : parent)" in page
    assert f'value="{child}"' in page and "(votre espace)" in page
    # A space the person may not manage is refused.
    refused = await login.browser.post_form("/login/consent", {"decision": "approve", "space": str(uuid.uuid4())})
    assert refused.status_code in (400, 403) and "cet espace" in refused.text
    await login.browser.open("/login/consent")
    approved = await login.browser.post_form("/login/consent", {"decision": "approve", "space": child})
    tokens = await login.browser.exchange(approved.headers["location"], app.client_id, DEVICE_REDIRECT)
    assert tokens.status_code == 200 and tokens.json()["space"] == child
    device = bearer(tokens.json()["access_token"])
    sent = await fake_client.post(
        "/v1/spaces/me/vitals",
        json={
            "measurements": [{"type": "body_height", "value": 131, "unit": "cm", "effectiveAt": "2026-11-30T18:00:00Z"}]
        },
        headers=device,
    )
    assert sent.status_code == 201, sent.text
    seen = await fake_client.get(f"/v1/spaces/{child}/vitals", headers=bearer(phone["access_token"]))
    assert [item["value"] for item in seen.json()["items"]] == [131]
    # The connection is in the child's access history: who connected which app, as what.
    history = await fake_client.get(
        f"/v1/spaces/{child}/access-history?resource=grants", headers=bearer(phone["access_token"])
    )
    connected = [row for row in history.json()["items"] if row["action"] == "POST /login/consent"]
    assert len(connected) == 1, history.text
    assert connected[0]["actingAs"] == "representative" and connected[0]["actorKind"] == "parent"
    assert connected[0]["client"]["name"] == "Toise connectée" and connected[0]["resourceId"] is not None
    assert "a connecté une application à l'espace" in connected[0]["description"]
    # The parent's own space got nothing.
    assert (await fake_client.get("/v1/spaces/me/vitals", headers=bearer(phone["access_token"]))).json()["items"] == []
    # The child comes of age: the parent's authority ends, and the app they connected stops with it.
    await set_birthdate(uuid.UUID(child), years_before(today_in_paris(), 18))
    stopped = await fake_client.post(
        "/v1/spaces/me/vitals",
        json={
            "measurements": [{"type": "body_height", "value": 170, "unit": "cm", "effectiveAt": "2026-12-01T08:00:00Z"}]
        },
        headers=device,
    )
    assert stopped.status_code == 404
    # Its refresh token stops too, and with it the authorization, for good (an outside review saw it
    # still rotate).
    refreshed = await fake_client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": app.client_id,
            "refresh_token": tokens.json()["refresh_token"],
        },
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant", refreshed.text
    live = await db.fetch("SELECT id FROM grants WHERE client_id = {} AND revoked_at IS NULL", app.client_id)
    assert live == []
    # The space's history says the app's connection ended, and why (no row said it: a review).
    (ended,) = await db.fetch(
        "SELECT * FROM access_history WHERE space_id = {} AND action = 'POST /oauth/token'", uuid.UUID(child)
    )
    assert describe(ended) == (
        "L'application Toise connectée a été déconnectée par le service : le droit de la personne qui l'avait "
        "connectée à l'espace a pris fin."
    )


async def _consent_loaded_in_two_tabs(
    fake_login: MakeFakeLogin, fake_settings: Settings, monkeypatch: pytest.MonkeyPatch, *, name: str
) -> tuple[FakeLogin, Any]:
    """A person at the consent page of a device app named ``name``; the page's next two posts both
    read the attempt as it is now, as two tabs (or two clicks) that loaded it would."""
    sub = f"tabs-{uuid.uuid4().hex[:8]}"
    first, _ = await _phone(fake_login, sub)
    login, app = await at_a_new_apps_consent_page(
        fake_login,
        fake_settings.secret_key,
        known=first,
        sub=sub,
        name=name,
        redirect_uri=DEVICE_REDIRECT,
        scope="vitals.body_weight:write",
    )
    seen: list[Attempt] = []

    async def as_first_seen(cookie: str | None) -> Attempt:
        if not seen:
            seen.append(await load(cookie))
        return seen[0]

    monkeypatch.setattr(consent, "load", as_first_seen)
    return login, app


async def test_a_second_approval_of_the_same_consent_makes_no_second_grant(
    fake_login: MakeFakeLogin,
    fake_client: httpx.AsyncClient,
    fake_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two clicks on "approve" (or two tabs) that both loaded the consent page: the second, still
    seeing the page's step, must not make a grant that would replace the one the app's code holds."""
    login, app = await _consent_loaded_in_two_tabs(fake_login, fake_settings, monkeypatch, name="Balance")
    approved = await login.browser.post_form("/login/consent", {"decision": "approve"})
    assert approved.status_code == 303
    again = await login.browser.post_form("/login/consent", {"decision": "approve"})
    assert again.status_code == 400 and "déjà terminée" in again.text
    live = await db.fetch(
        "SELECT id FROM grants WHERE client_id = {} AND kind = 'app' AND revoked_at IS NULL", app.client_id
    )
    assert len(live) == 1
    # The app's code gives it a token on the grant that is live, and the token works.
    tokens = await login.browser.exchange(approved.headers["location"], app.client_id, DEVICE_REDIRECT)
    assert tokens.status_code == 200, tokens.text
    sent = await fake_client.post(
        "/v1/spaces/me/vitals",
        json={
            "measurements": [{"type": "body_weight", "value": 70, "unit": "kg", "effectiveAt": "2026-11-30T07:00:00Z"}]
        },
        headers=bearer(tokens.json()["access_token"]),
    )
    assert sent.status_code == 201, sent.text


async def test_a_refusal_that_loaded_the_page_before_an_approval_changes_nothing(
    fake_login: MakeFakeLogin, fake_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Approve in one tab, refuse in another that loaded the page too: the refusal finds the consent
    decided (it could otherwise end the attempt between the approval's grant and its code)."""
    login, app = await _consent_loaded_in_two_tabs(fake_login, fake_settings, monkeypatch, name="Tensiomètre")
    approved = await login.browser.post_form("/login/consent", {"decision": "approve"})
    assert approved.status_code == 303 and "code=" in approved.headers["location"]
    refused = await login.browser.post_form("/login/consent", {"decision": "deny"})
    assert refused.status_code == 400 and "déjà terminée" in refused.text
    tokens = await login.browser.exchange(approved.headers["location"], app.client_id, DEVICE_REDIRECT)
    assert tokens.status_code == 200, tokens.text


async def test_a_person_who_left_their_space_closed_connects_an_app_only_where_it_can_work(
    fake_login: MakeFakeLogin, fake_client: httpx.AsyncClient, fake_settings: Settings
) -> None:
    """Signed in with "Continuer sans rouvrir", a person is not offered their closed space for an
    app (its every call would be a 410, and it would wake with a reopening): a parent is offered
    the child's; someone who represents no one is told to reopen first (a review of that choice)."""
    sub, first, phone, child = await _parent_of_a_child(fake_login, fake_client)
    assert (await fake_client.delete("/v1/spaces/me", headers=bearer(phone["access_token"]))).status_code == 204
    app = await register_app(
        fake_settings.secret_key,
        name="Toise connectée",
        redirect_uris=[DEVICE_REDIRECT],
        scopes=["vitals.body_height:write"],
    )

    async def at_consent() -> FakeLogin:
        login: FakeLogin = fake_login()
        login.browser.totp_secret = first.browser.totp_secret
        await login.start(client_id=app.client_id, redirect_uri=DEVICE_REDIRECT, scope="vitals.body_height:write")
        await login.come_back(login.code(sub=sub))
        code = await login.browser.second_factor()
        assert code.headers["location"] == "/login/otp"
        await login.browser.open("/login/otp")
        later = await login.browser.post_form("/login/reopen", {"decision": "later"})
        assert later.headers["location"] == "/login/consent"
        return login

    own = (await fake_client.get("/v1/spaces/me", headers=bearer(phone["access_token"]))).status_code
    assert own == 410
    me = (await fake_client.get("/v1/me", headers=bearer(phone["access_token"]))).json()
    own_id = next(item["id"] for item in me["spaces"] if item["role"] == "holder")
    login = await at_consent()
    page = (await login.browser.open("/login/consent")).text
    assert page.count('name="space"') == 1 and f'value="{child}"' in page and "(votre espace)" not in page
    # Approving the closed space (named, or the default without a choice) is refused, nothing granted.
    grants = "SELECT space_id FROM grants WHERE client_id = {} AND revoked_at IS NULL"
    for form in ({"space": own_id}, {}):
        refused = await login.browser.post_form("/login/consent", {"decision": "approve", **form})
        assert refused.status_code in (400, 403) and "cet espace" in refused.text, refused.text
        assert await db.fetch(grants, app.client_id) == []
        await login.browser.open("/login/consent")
    # The one space offered is the page's hidden field, as a browser sends it.
    approved = await login.browser.post_form("/login/consent", {"decision": "approve", "space": child})
    assert approved.status_code == 303, approved.text
    assert [str(row["space_id"]) for row in await db.fetch(grants, app.client_id)] == [child]

    # Someone who represents no one, their space closed: nothing to connect the app to.
    alone = f"alone-{uuid.uuid4().hex[:8]}"
    solo, tokens = await _phone(fake_login, alone)
    assert (await fake_client.delete("/v1/spaces/me", headers=bearer(tokens["access_token"]))).status_code == 204
    login = fake_login()
    login.browser.totp_secret = solo.browser.totp_secret
    await login.start(client_id=app.client_id, redirect_uri=DEVICE_REDIRECT, scope="vitals.body_height:write")
    await login.come_back(login.code(sub=alone))
    await login.browser.second_factor()
    await login.browser.open("/login/otp")
    await login.browser.post_form("/login/reopen", {"decision": "later"})
    told = await login.browser.open("/login/consent")
    assert "rouvrez-le pour y connecter une application" in told.text, told.text
