"""The login as a browser walks it: pages read, forms posted, the code exchanged; and the mail it sends."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage as Message
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from ens.auth.clients import RegisteredApp, register_app
from ens.auth.login.attempt import browser_key
from tests.helpers.fake_provider import FakeProvider

BASE = "http://testserver.local"
LOOPBACK = "http://127.0.0.1:7777/callback"


class Outbox:
    """Messages the SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]

    def last_code(self, address: str) -> str:
        for message in reversed(self.to(address)):
            found = re.search(r"code de connexion est : (\d{6})", message.get_content())
            if found:
                return found.group(1)
        raise AssertionError(f"no code sent to {address}")


def attempt_key(cookie: str | None) -> str:
    """What the row of the attempt a login cookie serves first keeps of it (``browser_key``)."""
    return browser_key((cookie or "").split(".")[0])


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def otpauth_secret(html: str) -> str:
    found = re.search(r'href="(otpauth://totp/[^"]+)"', html)
    assert found, "no otpauth link on the page"
    uri = found.group(1).replace("&amp;", "&")
    return parse_qs(urlsplit(uri).query)["secret"][0]


def recovery_codes_of(html: str) -> list[str]:
    return re.findall(r"<li>([A-Z0-9]{5}-[A-Z0-9]{5})</li>", html)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@dataclass
class Browser:
    """One person's browser walking the login (the phone app opens it; PKCE kept by the 'app')."""

    client: httpx.AsyncClient
    outbox: Outbox
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    totp_secret: str | None = None
    recovery_codes: list[str] = field(default_factory=list)
    page: str = ""

    cookie: str | None = None
    # The login cookie's name: over HTTPS it is __Host-ens_login.
    cookie_name: str = "ens_login"
    # The known-browser cookie (ens.auth.otp.browsers), once this browser passed a second factor.
    known_browser: str | None = None
    known_browser_name: str = "ens_browser"

    def _cookies(self) -> dict[str, str]:
        # Each Browser has its own login cookie, so that tests can run two logins side by side.
        self.client.cookies.clear()
        held = [(self.cookie_name, self.cookie), (self.known_browser_name, self.known_browser)]
        sent = "; ".join(f"{name}={value}" for name, value in held if value)
        return {"Cookie": sent} if sent else {}

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.client.get(path, headers=self._cookies(), **kwargs)
        self._keep_cookie(response)
        return response

    async def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        response = await self.client.post(path, data=data, headers=self._cookies())
        self._keep_cookie(response)
        return response

    def _keep_cookie(self, response: httpx.Response) -> None:
        # One attempt's token, or several ("token.token": a browser running two logins).
        found = re.search(
            rf"(?:^|[\s,]){re.escape(self.cookie_name)}=([A-Za-z0-9_.-]+)", response.headers.get("set-cookie", "")
        )
        if found:
            self.cookie = found.group(1)
        named = re.escape(self.known_browser_name)
        known = re.search(rf"(?:^|[\s,]){named}=([A-Za-z0-9_.-]+)", response.headers.get("set-cookie", ""))
        if known:
            self.known_browser = known.group(1)
        self.client.cookies.clear()

    async def authorize(
        self, client_id: str = "ens-mobile", redirect_uri: str = LOOPBACK, scope: str | None = None, **extra: str
    ) -> httpx.Response:
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "code_challenge": create_s256_code_challenge(self.verifier),
            "code_challenge_method": "S256",
            "state": self.state,
            **({"scope": scope} if scope else {}),
            **extra,
        }
        params = {k: v for k, v in params.items() if v != ""}
        return await self.get("/oauth/authorize", params=params)

    async def post_form(self, path: str, data: dict[str, str]) -> httpx.Response:
        response = await self.post(path, {"csrf": csrf_of(self.page), **data})
        if response.headers.get("content-type", "").startswith("text/html"):
            self.page = response.text
        return response

    async def open(self, path: str) -> httpx.Response:
        response = await self.get(path)
        self.page = response.text
        return response

    def totp(self) -> pyotp.TOTP:
        assert self.totp_secret
        return pyotp.TOTP(self.totp_secret)

    async def second_factor(self, for_time: float | None = None) -> httpx.Response:
        """At /login/otp: enrol on first login (and note the recovery codes), else type a fresh code."""
        await self.open("/login/otp")
        if "otpauth://" in self.page:
            self.totp_secret = otpauth_secret(self.page)
            response = await self.post_form("/login/otp", {"code": self.totp().at(for_time or time.time())})
            assert response.status_code == 200, response.text
            self.recovery_codes = recovery_codes_of(self.page)
            assert len(self.recovery_codes) == 10
            return await self.post_form("/login/recovery-codes", {})
        # A later login in the same 30 s window needs the next step's code (the last one is spent).
        return await self.post_form("/login/otp", {"code": self.totp().at(for_time or time.time() + 30)})

    async def exchange(
        self, location: str, client_id: str = "ens-mobile", redirect_uri: str = LOOPBACK
    ) -> httpx.Response:
        params = query_of(location)
        assert params.get("state") == self.state
        assert params.get("iss"), "RFC 9207: the answer names its issuer"
        return await self.client.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": redirect_uri,
                "code_verifier": self.verifier,
                "client_id": client_id,
            },
        )


@dataclass
class FakeLogin:
    """A browser driving a login against the fake provider; ``upstream`` is where ENS sent it."""

    browser: Browser
    provider: FakeProvider
    upstream: dict[str, str] = field(default_factory=dict)

    async def start(self, **authorize: str) -> httpx.Response:
        response = await self.browser.authorize(**authorize)
        assert response.status_code == 302, response.text
        self.upstream = query_of(response.headers["location"])
        return response

    async def come_back(self, code: str | None = None, state: str | None = None, **params: str) -> httpx.Response:
        query = {"state": state if state is not None else self.upstream["state"], **params}
        if code is not None:
            query["code"] = code
        query = {k: v for k, v in query.items() if v != ""}
        response = await self.browser.get("/oauth/callback", params=query)
        self.browser.page = response.text
        return response

    def code(self, **choices: Any) -> str:
        """A provider code for this login (``nonce`` and PKCE as ENS sent them, unless overridden)."""
        if "nonce" in choices:
            choices["claims_override"] = {"nonce": choices.pop("nonce")}
        return self.provider.issue_code(
            nonce=choices.pop("nonce_for_code", self.upstream["nonce"]),
            code_challenge=self.upstream["code_challenge"],
            **choices,
        )


MakeFakeLogin = Callable[[], "FakeLogin"]


async def mails_to(outbox: tuple[Outbox, int], address: str, count: int) -> list[str]:
    """The bodies sent to ``address``, once ``count`` of them arrived (the SMTP server is another thread)."""
    for _ in range(100):
        found = outbox[0].to(address)
        if len(found) >= count:
            return [message.get_content() for message in found]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} e-mail(s) expected for {address}, got {len(outbox[0].to(address))}")


async def signed_in_browser(fake_login: Any, sub: str | None = None) -> tuple[FakeLogin, httpx.Response]:
    """A person logged in with the fake provider through to the redirect back to the phone app."""
    login: FakeLogin = fake_login()
    await login.start()
    response = await login.come_back(login.code(sub=sub))
    assert response.status_code == 303, response.text
    final = await login.browser.second_factor()
    assert final.status_code == 303, final.text
    return login, final


async def logged_in_again(
    fake_login: Any, *, known: FakeLogin, sub: str, claims: Callable[[dict[str, Any]], None]
) -> FakeLogin:
    """The person of ``known`` (signed in once as ``sub``, their second factor enrolled) logging in
    again in a new browser, their provider's claims changed by ``claims`` this time, through the
    second factor."""
    login: FakeLogin = fake_login()
    login.browser.totp_secret = known.browser.totp_secret
    await login.start()
    code = login.code(sub=sub)
    claims(login.provider.codes[code].claims)
    assert (await login.come_back(code)).status_code == 303
    assert (await login.browser.second_factor()).status_code == 303
    return login


async def at_the_consent_page(
    fake_login: Any, *, known: FakeLogin, sub: str, client_id: str, redirect_uri: str, scope: str
) -> FakeLogin:
    """The person of ``known`` (signed in once as ``sub``, their second factor enrolled), in a new
    browser, at the consent page of the app ``client_id``."""
    login: FakeLogin = fake_login()
    login.browser.totp_secret = known.browser.totp_secret
    await login.start(client_id=client_id, redirect_uri=redirect_uri, scope=scope)
    await login.come_back(login.code(sub=sub))
    assert (await login.browser.second_factor()).headers["location"] == "/login/consent"
    await login.browser.open("/login/consent")
    return login


async def at_a_new_apps_consent_page(
    fake_login: Any, secret_key: str, *, known: FakeLogin, sub: str, name: str, redirect_uri: str, scope: str
) -> tuple[FakeLogin, RegisteredApp]:
    """A device app ``name`` registered now (``scope``, its one ``redirect_uri``), and the person of
    ``known`` at its consent page (:func:`at_the_consent_page`)."""
    app = await register_app(secret_key, name=name, redirect_uris=[redirect_uri], scopes=scope.split())
    login = await at_the_consent_page(
        fake_login, known=known, sub=sub, client_id=app.client_id, redirect_uri=redirect_uri, scope=scope
    )
    return login, app


def concurrently(*coroutines: Any) -> Any:
    return asyncio.gather(*coroutines)
