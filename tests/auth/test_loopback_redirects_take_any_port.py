"""RFC 8252 §7.3: a native app listening on the loopback gets a port from the system at each login,
so a redirect URI on a loopback IP literal (127.0.0.1, [::1]) is accepted on any port, the rest of
it (scheme, host, path, query) matching a registered one exactly. §8.3: ``localhost`` is refused
at registration (its resolution is not ours to trust)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from ens.auth.clients import register_app
from ens.core.errors import Invalid
from tests.helpers.login import FakeLogin, query_of

REGISTERED = "http://127.0.0.1:7777/cb"


async def _app_with(fake_settings, *redirect_uris: str) -> str:
    app = await register_app(
        fake_settings.secret_key,
        name=f"Loopback {uuid.uuid4().hex[:6]}",
        redirect_uris=list(redirect_uris),
        scopes=["vitals.body_weight:write"],
    )
    return app.client_id


async def _authorize_status(login: FakeLogin, client_id: str, redirect_uri: str) -> int:
    scope = "space" if client_id == "ens-mobile" else "vitals.body_weight:write"
    response = await login.browser.authorize(client_id=client_id, redirect_uri=redirect_uri, scope=scope)
    return int(response.status_code)


async def test_a_registered_loopback_uri_is_accepted_on_another_port_through_to_the_tokens(fake_login, fake_settings):
    client_id = await _app_with(fake_settings, REGISTERED)
    used = "http://127.0.0.1:7778/cb"
    login: FakeLogin = fake_login()
    await login.start(client_id=client_id, redirect_uri=used, scope="vitals.body_weight:write")
    await login.come_back(login.code())
    assert (await login.browser.second_factor()).headers["location"] == "/login/consent"
    await login.browser.open("/login/consent")
    approved = await login.browser.post_form("/login/consent", {"decision": "approve"})
    assert approved.headers["location"].startswith(used + "?")
    # The code is bound to the URI the authorization used, port included (RFC 6749 §4.1.3).
    code = query_of(approved.headers["location"])["code"]
    other_port = await login.browser.client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REGISTERED,
            "code_verifier": login.browser.verifier,
            "client_id": client_id,
        },
    )
    assert other_port.status_code == 400 and other_port.json()["error"] == "invalid_grant"


async def test_the_same_port_rule_holds_for_a_fresh_exchange(fake_login, fake_settings):
    client_id = await _app_with(fake_settings, REGISTERED)
    used = "http://127.0.0.1:49152/cb"
    login: FakeLogin = fake_login()
    await login.start(client_id=client_id, redirect_uri=used, scope="vitals.body_weight:write")
    await login.come_back(login.code())
    await login.browser.second_factor()
    await login.browser.open("/login/consent")
    approved = await login.browser.post_form("/login/consent", {"decision": "approve"})
    tokens = await login.browser.exchange(approved.headers["location"], client_id, used)
    assert tokens.status_code == 200, tokens.text


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:7778/cb",
        "http://127.0.0.1:1/cb",
        "http://127.0.0.1:65535/cb",
        "http://127.0.0.1/cb",
    ],
)
async def test_any_port_of_a_registered_ipv4_loopback_uri(fake_login, fake_settings, uri):
    client_id = await _app_with(fake_settings, REGISTERED)
    assert await _authorize_status(fake_login(), client_id, uri) == 302


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:7778/cb/",  # path
        "http://127.0.0.1:7778/CB",
        "http://127.0.0.1:7778/cb?x=1",  # query
        "http://127.0.0.1:7778/cb#f",
        "https://127.0.0.1:7778/cb",  # scheme
        "http://[::1]:7778/cb",  # another host
        "http://localhost:7778/cb",
        "http://127.0.0.2:7778/cb",
        "http://user@127.0.0.1:7778/cb",
        "http://127.0.0.1:0/cb",  # not a port
        "http://127.0.0.1:65536/cb",
        "http://127.0.0.1:77a/cb",
        "http://127.0.0.1:/cb",
        "http://127.0.0.1:+80/cb",
    ],
)
async def test_only_the_port_may_differ(fake_login, fake_settings, uri):
    client_id = await _app_with(fake_settings, REGISTERED)
    assert await _authorize_status(fake_login(), client_id, uri) == 400


async def test_a_registered_ipv6_loopback_uri_and_its_query_are_kept_exactly(fake_login, fake_settings):
    client_id = await _app_with(fake_settings, "http://[::1]:8080/cb?app=scale")
    assert await _authorize_status(fake_login(), client_id, "http://[::1]:40000/cb?app=scale") == 302
    assert await _authorize_status(fake_login(), client_id, "http://[::1]:40000/cb?app=other") == 400
    assert await _authorize_status(fake_login(), client_id, "http://[::1]:40000/cb") == 400


async def test_a_https_uri_is_matched_exactly_port_included(fake_login, fake_settings):
    client_id = await _app_with(fake_settings, "https://scale.example:8443/cb")
    assert await _authorize_status(fake_login(), client_id, "https://scale.example:8443/cb") == 302
    assert await _authorize_status(fake_login(), client_id, "https://scale.example:8444/cb") == 400


@pytest.mark.parametrize(
    "uri", ["http://[::1]:9999/callback", "http://[::1]:1/callback", "http://127.0.0.1:9999/callback"]
)
async def test_the_phone_app_may_use_either_loopback_on_any_port(fake_login, uri):
    assert await _authorize_status(fake_login(), "ens-mobile", uri) == 302


@pytest.mark.parametrize(
    "uri",
    ["http://[::1]:9999/other", "http://[0:0:0:0:0:0:0:1]:9999/callback", "http://localhost:9999/callback"],
)
async def test_the_phone_app_keeps_its_path_and_hosts(fake_login, uri):
    assert await _authorize_status(fake_login(), "ens-mobile", uri) == 400


async def test_registration_refuses_localhost_and_other_plain_http(fake_settings):
    for uri in ("http://localhost:7777/cb", "http://localhost/cb", "http://127.0.0.2:7777/cb", "http://example.org/cb"):
        with pytest.raises(Invalid) as refused:
            await _app_with(fake_settings, uri)
        assert uri in refused.value.detail
    assert "RFC 8252" in refused.value.detail or "loopback" in refused.value.detail
    for uri in ("http://127.0.0.1:7777/cb", "http://[::1]:7777/cb", "http://[::1]/cb"):
        assert await _app_with(fake_settings, uri)


async def test_registration_refuses_schemes_a_browser_or_the_system_would_act_on(fake_settings):
    refused_uris = (
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "ftp://example.org/cb",
        "myapp:/callback",  # a private-use scheme not in reverse domain form
        "com.example.app://host/callback",  # with an authority: not a private-use redirect
        "https:///callback",
    )
    for uri in refused_uris:
        with pytest.raises(Invalid) as refused:
            await _app_with(fake_settings, uri)
        assert uri in refused.value.detail
    for uri in ("com.example.app:/callback", "https://scale.example/ens/callback"):
        assert await _app_with(fake_settings, uri)


def test_ens_apps_register_refuses_localhost(settings, migrated):
    env = {**os.environ, "ENS_ENV": "dev", "ENS_DATABASE_URL": settings.database_url}
    command = [sys.executable, "-m", "ens.cli", "apps", "register", "--name", "Local", "--scope"]
    command += ["vitals.body_weight:write", "--redirect-uri", "http://localhost:7777/cb"]
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    assert refused.returncode != 0
    assert "cannot register the app" in refused.stderr and "localhost" in refused.stderr
