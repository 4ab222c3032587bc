"""A parent connects a device app to their child's space: the consent page offers the spaces they
may manage apps for; the app's token is bound to the one chosen, sees what the parent sees, and
stops with the parent's right (issue 12, point 7)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from ens.auth.clients import register_app
from ens.core.settings import Settings
from tests.helpers.carers import set_birthdate, today_in_paris, years_before
from tests.helpers.login import FakeLogin, MakeFakeLogin, signed_in_browser

DEVICE_REDIRECT = "https://device.example/ens/callback"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _phone(fake_login: MakeFakeLogin, sub: str) -> tuple[FakeLogin, dict[str, Any]]:
    login, final = await signed_in_browser(fake_login, sub=sub)
    tokens = await login.browser.exchange(final.headers["location"])
    assert tokens.status_code == 200, tokens.text
    return login, tokens.json()


async def test_a_parent_chooses_the_childs_space_on_the_consent_page(
    fake_login: MakeFakeLogin, fake_client: httpx.AsyncClient, fake_settings: Settings
) -> None:
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
    child = created.json()["id"]
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
