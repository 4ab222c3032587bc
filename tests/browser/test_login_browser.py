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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pyotp
import pytest
from playwright.async_api import Page, Route, expect

from tests.browser.conftest import free_port, png_size, text_problems

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

    def authorize_url(self, base_url: str) -> str:
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()
        return f"{base_url}/oauth/authorize?" + urlencode(
            {
                "response_type": "code",
                "client_id": "ens-mobile",
                "redirect_uri": self.redirect_uri,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "state": self.state,
                "scope": "space",
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


async def choose_identity(page: Page, base_url: str, app: PhoneApp, identity: str, screenshot: Screenshot) -> None:
    await app.listen(page)
    await page.goto(app.authorize_url(base_url))
    assert urlsplit(page.url).path == "/dev-idp/authorize", page.url
    button = page.locator(f'button[name="login"][value="{identity}"]')
    await expect(button).to_be_visible()
    assert await check_phone_page(page, screenshot, "provider-identities") == []
    await check_tap_target(page, f'button[name="login"][value="{identity}"]')
    await button.click()


async def enrol_totp(page: Page, base_url: str, screenshot: Screenshot) -> None:
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


async def test_first_login_in_chromium_from_authorize_to_api_call(
    live_server: str, page: Page, screenshot: Screenshot
) -> None:
    app = PhoneApp()

    # 1. The identity provider (embedded dev provider, FranceConnect-like): choose a test identity.
    await choose_identity(page, live_server, app, "camille", screenshot)

    # 2. Enrolment of the second factor.
    await enrol_totp(page, live_server, screenshot)

    # 3. Recovery codes, shown once; a page that only confirms: one form, one button.
    codes = page.locator(".codes li")
    await expect(codes.first).to_be_visible()
    assert await codes.count() == 10
    await expect(page.locator("form")).to_have_count(1)
    confirm = page.locator('form button[type="submit"], form input[type="submit"]')
    await expect(confirm).to_have_count(1)
    await check_phone_page(page, screenshot, "recovery-codes")  # readability: see the test below
    await check_tap_target(page, 'form button[type="submit"]')
    await confirm.click()

    # 4. Back in the app (the loopback redirect URI) with a code and the app's own state.
    await expect(page.locator("h1")).to_have_text("Connexion terminée")
    await check_phone_page(page, screenshot, "back-in-app")
    assert len(app.returned) == 1, app.returned
    back = urlsplit(app.returned[0])
    assert f"{back.scheme}://{back.netloc}{back.path}" == app.redirect_uri
    query = parse_qs(back.query)
    assert "error" not in query, query
    assert query["state"] == [app.state]

    # 5. The app exchanges the code (PKCE) and calls the API with the access token.
    async with httpx.AsyncClient(base_url=live_server, timeout=10.0) as api:
        token_response = await api.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": app.redirect_uri,
                "client_id": "ens-mobile",
                "code_verifier": app.verifier,
            },
        )
        assert token_response.status_code == 200, token_response.text
        tokens = token_response.json()
        assert tokens["token_type"].lower() == "bearer"
        assert tokens["refresh_token"]
        me = await api.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["account"]["givenName"] == "Camille"
    assert any(space["role"] == "holder" for space in body["spaces"])


@pytest.mark.xfail(
    strict=True,
    reason="ens/auth/pages.py lays the 10 recovery codes out in two CSS columns (.codes{columns:2}); at "
    "360 px the second column's numbers cover the end of each code of the first column. Once the page "
    "is fixed this test passes: remove this xfail mark.",
)
async def test_recovery_codes_are_readable_whole_at_phone_width(
    live_server: str, page: Page, screenshot: Screenshot
) -> None:
    await choose_identity(page, live_server, PhoneApp(), "yanis", screenshot)
    await enrol_totp(page, live_server, screenshot)
    await expect(page.locator(".codes li").first).to_be_visible()

    assert await check_phone_page(page, screenshot, "recovery-codes") == []
