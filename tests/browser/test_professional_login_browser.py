"""A professional's login in Chromium at phone width, from their software to an API call: the
software (registered with ``ens apps register --kind professional``) opens ``/oauth/authorize``
→ the embedded provider for professionals (``/dev-pro-idp``, like Pro Santé Connect) → straight
back to the software's loopback URI with a code: no one-time code, no consent page. The page is
saved as a screenshot, 360 px wide, in tests/artifacts/screenshots/."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.test_login_browser import (
    PhoneApp,
    Screenshot,
    check_phone_page,
    check_tap_target,
    returned_code,
)

pytestmark = pytest.mark.browser


async def test_a_nurse_logs_in_from_her_software_without_a_one_time_code(
    live_server: str, page: Page, screenshot: Screenshot, ens_cli
) -> None:
    software = PhoneApp()
    printed = ens_cli(
        "apps",
        "register",
        "--name",
        "Logiciel infirmier",
        "--kind",
        "professional",
        "--scope",
        "professional",
        "--redirect-uri",
        "http://127.0.0.1/callback",
    )
    found = re.search(r"client_id: (\S+)", printed)
    assert found, printed
    client_id = found.group(1)

    await software.listen(page)
    await page.goto(software.authorize_url(live_server, client_id, "professional"))
    assert urlsplit(page.url).path == "/dev-pro-idp/authorize", page.url
    await expect(page.locator("h1")).to_contain_text("Professionnel de santé")
    button = page.locator('button[name="login"][value="infirmier-petit"]')
    await expect(button).to_be_visible()
    for key in ("dr-bernard", "pharmacienne-roux", "sage-femme-moreau"):
        await expect(page.locator(f'button[name="login"][value="{key}"]')).to_be_visible()
    assert await check_phone_page(page, screenshot, "pro-provider-identities") == []
    await check_tap_target(page, 'button[name="login"][value="infirmier-petit"]')
    await button.click()

    # Back in the software at once: no /login/otp on the way.
    await expect(page.locator("h1")).to_have_text("Connexion terminée")
    await check_phone_page(page, screenshot, "pro-back-in-software")
    code = returned_code(software)
    async with httpx.AsyncClient(base_url=live_server, timeout=10.0) as api:
        tokens = await api.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": software.redirect_uri,
                "client_id": client_id,
                "code_verifier": software.verifier,
            },
        )
        assert tokens.status_code == 200, tokens.text
        assert tokens.json()["scope"] == "professional"
        headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        patients = await api.get("/v1/pro/patients", headers=headers)
        assert patients.status_code == 200 and patients.json()["items"] == []
        assert (await api.get("/v1/me", headers=headers)).status_code == 403
