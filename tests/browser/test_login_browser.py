"""The first login of the phone app, driven in headless Chromium at phone width, page by page.

ens-mobile opens ``/oauth/authorize`` with a loopback redirect URI (RFC 8252 §7.3) → the embedded
provider's identity choice → TOTP enrolment (QR code + ``otpauth://`` link) → recovery codes →
back to ``http://127.0.0.1:<port>/callback?code=...&state=...``, which the test intercepts as the
app would; the code is then exchanged at ``/oauth/token`` and the token used on ``/v1/me``.
Each page is saved as a screenshot, 360 px wide, in tests/artifacts/screenshots/.

Accounts are keyed by (issuer, sub) and the live server's issuer carries its port, so each test
session starts with identities that have never logged in: every login here is a first login.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pyotp
import pytest
from playwright.async_api import Page, Route, expect

from ens.auth.login import pages
from tests.helpers.browser import png_size, text_problems
from tests.helpers.carers import today_in_paris, years_before
from tests.helpers.server import free_port

pytestmark = pytest.mark.browser

Screenshot = Callable[..., Awaitable[Path]]
PHONE_WIDTH = 360
MIN_TAP_TARGET_PX = 44  # WCAG 2.5.5 and the platforms' guidelines for touch targets
APP_PAGE = (
    '<!doctype html><html lang="fr"><head><meta name="viewport" content="width=device-width">'
    "</head><body><h1>Connexion terminée</h1><p>Vous pouvez revenir à l'application.</p></body></html>"
)


@dataclass
class PhoneApp:
    """What ens-mobile holds during a login: its PKCE verifier, its state, its loopback listener."""

    redirect_uri: str = field(default_factory=lambda: f"http://127.0.0.1:{free_port()}/callback")
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    state: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    returned: list[str] = field(default_factory=list)

    def authorize_url(self, base_url: str, client_id: str = "ens-mobile", scope: str = "space") -> str:
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()
        return f"{base_url}/oauth/authorize?" + urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": self.redirect_uri,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "state": self.state,
                "scope": scope,
            }
        )

    async def listen(self, page: Page) -> None:
        """Catch the final redirect to the loopback URI and answer as the app's listener would."""

        async def callback(route: Route) -> None:
            self.returned.append(route.request.url)
            await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=APP_PAGE)

        await page.route(f"{self.redirect_uri}*", callback)


async def check_phone_page(page: Page, screenshot: Screenshot, step: str) -> list[str]:
    """Save the page; it must fit 360 px (a wider page makes a wider screenshot). Returns unreadable text."""
    shot = await screenshot(step)
    width, _ = png_size(shot)
    assert width == PHONE_WIDTH, f"{step}: the page is {width} px wide at a {PHONE_WIDTH} px viewport ({shot})"
    return await text_problems(page)


async def check_tap_target(page: Page, selector: str) -> None:
    box = await page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not displayed"
    assert box["height"] >= MIN_TAP_TARGET_PX, f"{selector} is {box['height']} px high"


async def choose_identity(
    page: Page,
    base_url: str,
    app: PhoneApp,
    identity: str,
    screenshot: Screenshot,
    client_id: str = "ens-mobile",
    scope: str = "space",
) -> None:
    await app.listen(page)
    await page.goto(app.authorize_url(base_url, client_id, scope))
    assert urlsplit(page.url).path == "/dev-idp/authorize", page.url
    button = page.locator(f'button[name="login"][value="{identity}"]')
    await expect(button).to_be_visible()
    assert await check_phone_page(page, screenshot, "provider-identities") == []
    await check_tap_target(page, f'button[name="login"][value="{identity}"]')
    await button.click()


async def enrol_totp(page: Page, base_url: str, screenshot: Screenshot) -> str:
    """The enrolment page: QR code and otpauth:// link; the code comes from the link's secret."""
    await page.wait_for_url(f"{base_url}/login/otp*")
    otpauth = page.locator('a[href^="otpauth://totp/"]')
    await expect(otpauth).to_be_visible()
    await expect(page.locator("svg").first).to_be_visible()  # the QR code
    code_input = page.locator('input[name="code"]')
    await expect(code_input).to_be_visible()
    assert await code_input.get_attribute("autocomplete") == "one-time-code"
    assert await check_phone_page(page, screenshot, "otp-enrolment") == []
    await check_tap_target(page, 'form[action="/login/otp"] button[type="submit"]')
    href = await otpauth.get_attribute("href")
    assert href is not None
    secret = parse_qs(urlsplit(href).query)["secret"][0]
    await code_input.fill(pyotp.TOTP(secret).now())
    await code_input.press("Enter")
    return secret


async def acknowledge_recovery_codes(page: Page, screenshot: Screenshot) -> None:
    """Recovery codes, shown once; a page that only confirms: one form, one button."""
    codes = page.locator(".codes li")
    await expect(codes.first).to_be_visible()
    assert await codes.count() == 10
    await expect(page.locator("form")).to_have_count(1)
    confirm = page.locator('form button[type="submit"], form input[type="submit"]')
    await expect(confirm).to_have_count(1)
    await check_phone_page(page, screenshot, "recovery-codes")
    await check_tap_target(page, 'form button[type="submit"]')
    await confirm.click()


def returned_code(app: PhoneApp) -> str:
    """The app's loopback URI was reached once, with a code and the app's own state."""
    assert len(app.returned) == 1, app.returned
    back = urlsplit(app.returned[0])
    assert f"{back.scheme}://{back.netloc}{back.path}" == app.redirect_uri
    query = parse_qs(back.query)
    assert "error" not in query, query
    assert query["state"] == [app.state]
    return query["code"][0]


async def exchange(base_url: str, app: PhoneApp, code: str, client_id: str = "ens-mobile") -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as api:
        response = await api.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": app.redirect_uri,
                "client_id": client_id,
                "code_verifier": app.verifier,
            },
        )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    assert tokens["token_type"].lower() == "bearer"
    assert tokens["access_token"] and tokens["refresh_token"]
    return tokens


async def test_first_login_in_chromium_from_authorize_to_api_call(
    live_server: str, page: Page, screenshot: Screenshot
) -> None:
    app = PhoneApp()

    # 1. The identity provider (embedded dev provider, FranceConnect-like): choose a test identity.
    await choose_identity(page, live_server, app, "camille", screenshot)

    # 2. Enrolment of the second factor.
    await enrol_totp(page, live_server, screenshot)

    # 3. Recovery codes, shown once.
    await acknowledge_recovery_codes(page, screenshot)

    # 4. Back in the app (the loopback redirect URI) with a code and the app's own state.
    await expect(page.locator("h1")).to_have_text("Connexion terminée")
    await check_phone_page(page, screenshot, "back-in-app")
    code = returned_code(app)

    # 5. The app exchanges the code (PKCE) and calls the API with the access token.
    tokens = await exchange(live_server, app, code)
    async with httpx.AsyncClient(base_url=live_server, timeout=10.0) as api:
        me = await api.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["account"]["givenName"] == "Camille"
    assert any(space["role"] == "holder" for space in body["spaces"])


async def test_recovery_codes_are_readable_whole_at_phone_width(
    live_server: str, page: Page, screenshot: Screenshot
) -> None:
    await choose_identity(page, live_server, PhoneApp(), "yanis", screenshot)
    await enrol_totp(page, live_server, screenshot)
    await expect(page.locator(".codes li").first).to_be_visible()

    assert await check_phone_page(page, screenshot, "recovery-codes") == []


async def test_device_app_consent_then_a_later_login_in_chromium(
    live_server: str, page: Page, screenshot: Screenshot, ens_cli: Callable[..., str]
) -> None:
    device = PhoneApp()
    registered = ens_cli(
        "apps", "register", "--name", "Balance Connectée", "--redirect-uri", device.redirect_uri,
        "--scope", "vitals.body_weight:write", "--kind", "device",
    )  # fmt: skip
    client_id = registered.split("client_id:", 1)[1].split()[0]

    # A device app's first login for Léa: provider, enrolment, recovery codes, then her consent.
    await choose_identity(page, live_server, device, "lea", screenshot, client_id, "vitals.body_weight:write")
    secret = await enrol_totp(page, live_server, screenshot)
    await acknowledge_recovery_codes(page, screenshot)
    await page.wait_for_url(f"{live_server}/login/consent*")
    await expect(page.locator("body")).to_contain_text("Balance Connectée")
    await expect(page.locator("body")).to_contain_text("Léa Dupont")
    approve = page.locator('button[name="decision"][value="approve"]')
    deny = page.locator('button[name="decision"][value="deny"]')
    await expect(approve).to_be_visible()
    await expect(deny).to_be_visible()
    assert await check_phone_page(page, screenshot, "consent") == []
    await check_tap_target(page, 'button[name="decision"][value="approve"]')
    await check_tap_target(page, 'button[name="decision"][value="deny"]')
    await approve.click()
    await expect(page.locator("h1")).to_have_text("Connexion terminée")
    app_tokens = await exchange(live_server, device, returned_code(device), client_id=client_id)
    assert app_tokens["scope"] == "vitals.body_weight:write"
    assert app_tokens["space"]

    # Later, the phone app: the provider again, then the one-time-code form (no enrolment this time).
    await page.context.clear_cookies()
    phone = PhoneApp()
    await choose_identity(page, live_server, phone, "lea", screenshot)
    await page.wait_for_url(f"{live_server}/login/otp*")
    code_input = page.locator('input[name="code"]')
    await expect(code_input).to_be_visible()
    await expect(page.locator('a[href^="otpauth://"]')).to_have_count(0)
    assert await code_input.get_attribute("autocomplete") == "one-time-code"
    # This form also takes a recovery code (letters): a phone's keyboard, not its digit pad.
    assert await code_input.get_attribute("inputmode") is None
    assert await check_phone_page(page, screenshot, "otp-code") == []
    await check_tap_target(page, 'form[action="/login/otp"] button[type="submit"]')
    # The enrolment used the current time step; a code is accepted once, so take the next one (±1 step).
    await code_input.fill(pyotp.TOTP(secret).at(time.time() + 30))
    await code_input.press("Enter")
    await expect(page.locator("h1")).to_have_text("Connexion terminée")
    tokens = await exchange(live_server, phone, returned_code(phone))
    async with httpx.AsyncClient(base_url=live_server, timeout=10.0) as api:
        me = await api.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["account"]["givenName"] == "Léa"
    assert [space["id"] for space in me.json()["spaces"] if space["role"] == "holder"] == [app_tokens["space"]]


async def test_a_parent_connects_a_device_app_to_the_childs_space_in_chromium(
    live_server: str, page: Page, screenshot: Screenshot, ens_cli: Callable[..., str]
) -> None:
    # Jean's first login on the phone app, then he creates his daughter's space.
    phone = PhoneApp()
    await choose_identity(page, live_server, phone, "jean", screenshot)
    secret = await enrol_totp(page, live_server, screenshot)
    await acknowledge_recovery_codes(page, screenshot)
    await expect(page.locator("h1")).to_have_text("Connexion terminée")
    tokens = await exchange(live_server, phone, returned_code(phone))
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    ten_years_ago = years_before(today_in_paris(), 10).isoformat()  # a minor, whatever the year
    async with httpx.AsyncClient(base_url=live_server, timeout=10.0) as api:
        created = await api.post(
            "/v1/spaces",
            json={"givenName": "Inès", "familyName": "Dupont", "birthdate": ten_years_ago, "sex": "female",
                  "relationship": "parent"},
            headers=bearer,
        )  # fmt: skip
    assert created.status_code == 201, created.text
    child = created.json()["id"]
    device = PhoneApp()
    registered = ens_cli(
        "apps", "register", "--name", "Toise connectée", "--redirect-uri", device.redirect_uri,
        "--scope", "vitals.body_height:write", "--kind", "device",
    )  # fmt: skip
    client_id = registered.split("client_id:", 1)[1].split()[0]
    await page.context.clear_cookies()
    await choose_identity(page, live_server, device, "jean", screenshot, client_id, "vitals.body_height:write")
    await page.wait_for_url(f"{live_server}/login/otp*")
    await page.locator('input[name="code"]').fill(pyotp.TOTP(secret).at(time.time() + 30))
    await page.locator('input[name="code"]').press("Enter")
    await page.wait_for_url(f"{live_server}/login/consent*")
    # Two spaces offered: his own (checked) and Inès's.
    radios = page.locator('input[type="radio"][name="space"]')
    await expect(radios).to_have_count(2)
    await expect(radios.first).to_be_checked()
    await expect(page.locator("body")).to_contain_text("Inès Dupont (vous le représentez : parent)")
    assert await check_phone_page(page, screenshot, "consent-choose-space") == []
    await check_tap_target(page, f'label:has(input[value="{child}"])')
    await page.locator(f'input[value="{child}"]').check()
    await page.locator('button[name="decision"][value="approve"]').click()
    await expect(page.locator("h1")).to_have_text("Connexion terminée")
    app_tokens = await exchange(live_server, device, returned_code(device), client_id=client_id)
    assert app_tokens["space"] == child
    async with httpx.AsyncClient(base_url=live_server, timeout=10.0) as api:
        sent = await api.post(
            "/v1/spaces/me/vitals",
            json={"measurements": [{"type": "body_height", "value": 138.5, "unit": "cm",
                                    "effectiveAt": "2026-11-30T18:00:00Z"}]},
            headers={"Authorization": f"Bearer {app_tokens['access_token']}"},
        )  # fmt: skip
        assert sent.status_code == 201, sent.text
        listed = await api.get(f"/v1/spaces/{child}/vitals", headers=bearer)
    assert [item["value"] for item in listed.json()["items"]] == [138.5]


async def test_a_long_address_or_app_name_wraps_within_the_phone_screen(page: Page) -> None:
    """A word longer than the screen is wide (an e-mail domain of 60 letters in the code page's
    button and the lost-phone page, an app registered under one long word) pushed the page wider
    than 360 px: the person had to scroll sideways to read it and reach the buttons' right edge."""
    hint = "ca…@" + "santepubliqueregionaledeshautsdefrance" * 2 + ".fr"
    consent = pages.ConsentView(
        app_name="BalanceConnectéeUltraPréciseÉditionFamilleDeuxMilleVingtSix",
        publisher="BalancesEtMesuresDeSantéSociétéAnonymeEuropéenne",
        label_status="labelled",
        permissions=["Lire les mesures de poids enregistrées dans l'espace"],
        spaces=[pages.SpaceChoice(id="a", label="Marie-Françoise-Éléonore De La Tour d'Auvergne-Lauraguais")],
    )
    for name, html in (
        ("otp", pages.otp_page("csrf", email_hint=hint)),
        ("lost-phone", pages.email_only_page("csrf", hint)),
        ("consent", pages.consent_page(consent, "csrf")),
    ):
        await page.set_content(html)
        assert await page.evaluate("document.documentElement.scrollWidth") == PHONE_WIDTH, name
        assert await text_problems(page) == [], name
