"""A page of another site cannot push the person's login out of the browser's login cookie.

The cookie names up to three logins. Another site's page opened ``/oauth/authorize`` three times
in a window it opened (top-level navigations: the ``SameSite=Lax`` cookie goes with each and is set
by its answer), and the login the person was finishing, at its code's page, left the cookie: their
code was refused, "Le formulaire n'est plus valable", and the page then said the step was over (an
outside audit, seen here in Chromium). Logins left at the provider now give way first.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, Route, expect

from tests.browser.test_login_browser import PhoneApp

pytestmark = pytest.mark.browser

# Another site: its page is served by the browser's own interception, never by a network.
ATTACKER = "http://attacker.test/"


def _attacker_page(authorize_url: str) -> str:
    """One click opens a window, which the page then sends to ``/oauth/authorize`` three times."""
    return (
        "<!doctype html><html><body><button id=go>Voir la vidéo</button><script>"
        f"const url = {authorize_url!r};"
        "document.getElementById('go').onclick = () => {"
        "  const w = window.open(url + '&state=1', 'x');"
        "  setTimeout(() => { w.location = url + '&state=2'; }, 700);"
        "  setTimeout(() => { w.location = url + '&state=3'; }, 1400);"
        "  setTimeout(() => { document.title = 'done'; }, 2400);"
        "};</script></body></html>"
    )


async def test_three_authorizations_from_another_site_leave_the_login_at_its_code(live_server: str, page: Page):
    person = PhoneApp()
    await person.listen(page)
    await page.goto(person.authorize_url(live_server))
    assert urlsplit(page.url).path == "/dev-idp/authorize", page.url
    await page.locator('button[name="login"][value="yanis"]').click()
    await page.wait_for_url(f"{live_server}/login/otp*")
    code = page.locator('input[name="code"]')
    await expect(code).to_be_visible()

    # The person, their code's page open, visits another site in a second tab, and clicks there.
    stranger = PhoneApp(redirect_uri="http://127.0.0.1:9/callback")
    attack_url = stranger.authorize_url(live_server).replace(f"&state={stranger.state}", "")
    body = _attacker_page(attack_url)

    async def serve(route: Route) -> None:
        await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=body)

    await page.context.route(ATTACKER, serve)
    other = await page.context.new_page()
    await other.goto(ATTACKER)
    async with page.context.expect_page():
        await other.locator("#go").click()
    await expect(other).to_have_title("done", timeout=10_000)
    cookie = [c["value"] for c in await page.context.cookies(live_server) if c["name"] == "ens_login"]
    assert len(cookie) == 1 and len(cookie[0].split(".")) == 3, cookie  # the site's logins did arrive

    # Back on the code's page: the form is still the login's (was 403, "Le formulaire n'est plus
    # valable"), and a wrong code is told as such, its page still there.
    await page.bring_to_front()
    await code.fill("000000")
    async with page.expect_response(f"{live_server}/login/otp") as answer:
        await code.press("Enter")
    assert (await answer.value).status == 400
    await expect(page.locator(".error")).to_contain_text("Ce code n'est pas valable")
    await page.goto(f"{live_server}/login/otp")
    await expect(page.locator('input[name="code"]')).to_be_visible()
