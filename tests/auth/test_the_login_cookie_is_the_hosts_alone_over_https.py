"""Over HTTPS the login cookie is ``__Host-ens_login``: the browser takes it only Secure, for the
whole site and from this host alone, so that a sibling subdomain can neither plant a cookie naming
a login attempt of its choosing nor shadow ours (cookie tossing; an outside audit's suspicion). A
cookie of the plain name is not read there. Over plain HTTP (``make run``) it stays ``ens_login``:
browsers refuse the prefix without Secure. The known-browser cookie is ``__Host-ens_browser`` alike."""

from __future__ import annotations

import re

import httpx
import msgspec

from ens.app import create_app
from tests.auth.conftest import _LateApp
from tests.helpers.asgi import asgi_client
from tests.helpers.login import Browser, otpauth_secret

HTTPS = "https://testserver.local"


async def test_over_https_the_cookie_is_host_only_and_the_plain_name_is_not_read(dev_settings, outbox):
    mails, _ = outbox
    settings = msgspec.structs.replace(dev_settings, public_url=HTTPS)
    late = _LateApp()
    app = create_app(settings, upstream_transport=httpx.ASGITransport(app=late))
    late.app = app
    async with asgi_client(app, HTTPS) as client:
        client.follow_redirects = False
        browser = Browser(client, mails, cookie_name="__Host-ens_login")
        started = await browser.authorize()
        assert started.status_code == 302, started.text
        cookie = started.headers["set-cookie"]
        assert cookie.startswith("__Host-ens_login=") and browser.cookie
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"secure", "httponly", "path"} <= attributes and "domain" not in attributes
        assert "path=/;" in cookie.lower().replace(" ", "") + ";"
        # Through the provider and back: the attempt is the browser's by its __Host- cookie.
        page = await browser.get(started.headers["location"])
        hidden = re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page.text)
        fields = {name: value.replace("&amp;", "&") for name, value in hidden}
        chosen = await browser.post("/dev-idp/authorize", {**fields, "login": "yanis"})
        back = await browser.get(chosen.headers["location"])
        assert back.status_code == 303 and back.headers["location"] == "/login/otp", back.text
        mine = await browser.open("/login/otp")
        assert mine.status_code == 200 and "otpauth://totp/" in mine.text
        # The same attempt named by a cookie of the plain name (which any subdomain may set) is not read.
        planted = Browser(client, mails, cookie=browser.cookie)
        seen = await planted.open("/login/otp")
        assert seen.status_code == 400 and "Connexion impossible" in seen.text and "otpauth://" not in seen.text
        # Past the second factor, the browser is remembered by a __Host- cookie too (ens.auth.otp.browsers).
        browser.known_browser_name = "__Host-ens_browser"
        browser.totp_secret = otpauth_secret(mine.text)
        enrolled = await browser.post_form("/login/otp", {"code": browser.totp().now()})
        assert enrolled.status_code == 200 and browser.known_browser, enrolled.text
        known = next(c for c in enrolled.headers.get_list("set-cookie") if c.startswith("__Host-ens_browser="))
        attributes = {part.strip().split("=")[0].lower() for part in known.split(";")[1:]}
        assert {"secure", "httponly", "path"} <= attributes and "domain" not in attributes
