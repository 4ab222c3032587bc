"""A review of 1f47230 (2026-12-06), ``ens apps disable``: what happens to a consent in flight, and
what ``enable`` says of an app that was never disabled."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from ens.auth import client_admin
from ens.auth.clients import register_app
from ens.core import db
from ens.core.settings import Settings
from ens.spaces import service as spaces
from tests.helpers.login import FakeLogin, MakeFakeLogin, at_a_new_apps_consent_page, signed_in_browser

DEVICE_REDIRECT = "https://device.example/ens/callback"


async def _consent_approved_while_disabled(
    fake_login: MakeFakeLogin, fake_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> tuple[FakeLogin, str, httpx.Response]:
    """The consent reads the app (``find_client``: enabled) outside its write transaction and
    makes the grant later; ``disable`` runs whole in between (as it may on PostgreSQL with the two
    interleaved: nothing makes the consent's write wait for, or see, the disable). The login, the
    app's id and the consent's answer (a redirect with a code)."""
    sub = f"inflight-{uuid.uuid4().hex[:8]}"
    first, _ = await signed_in_browser(fake_login, sub=sub)
    login, app = await at_a_new_apps_consent_page(
        fake_login,
        fake_settings.secret_key,
        known=first,
        sub=sub,
        name="Balance retirée",
        redirect_uri=DEVICE_REDIRECT,
        scope="vitals.body_weight:write",
    )

    real_get_me = spaces.get_me
    disabled: list[client_admin.Disabled] = []

    async def disable_meanwhile(*args: Any, **kwargs: Any) -> Any:
        if not disabled:  # after the consent read the app, before it writes the grant
            disabled.append(await client_admin.disable_client(app.client_id, reason="label withdrawn"))
        return await real_get_me(*args, **kwargs)

    monkeypatch.setattr(spaces, "get_me", disable_meanwhile)  # as ens.auth.login.consent calls it
    approved = await login.browser.post_form("/login/consent", {"decision": "approve"})
    monkeypatch.undo()
    assert disabled and disabled[0].connections_ended == 0
    assert "plus enregistrée" in approved.text, (approved.status_code, approved.text[:300])
    return login, app.client_id, approved


async def test_a_consent_in_flight_leaves_no_live_grant_once_disable_has_finished(
    fake_login: MakeFakeLogin, fake_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The grant is left live: listed to the person as a connected app the operator's run said it
    had disconnected (``connections ended: 0``), with no history row telling it ended."""
    _, client_id, _ = await _consent_approved_while_disabled(fake_login, fake_settings, monkeypatch)
    live = await db.fetch("SELECT id FROM grants WHERE client_id = {} AND revoked_at IS NULL", client_id)
    assert live == [], "a grant of the disabled app outlived ens apps disable"


async def test_a_consent_in_flight_gives_no_tokens_once_the_app_is_enabled(
    fake_login: MakeFakeLogin, fake_client: httpx.AsyncClient, fake_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: once enabled, "the connections it lost stay ended (each person connects it
    again)". The grant made during the disable is live: enabled within the code's minute, the app
    exchanges the code and writes to the space."""
    _, client_id, approved = await _consent_approved_while_disabled(fake_login, fake_settings, monkeypatch)
    assert "code=" not in approved.headers.get("location", "")  # the app was given no code
    await client_admin.enable_client(client_id, operator="Sam")
    live = await db.fetch("SELECT id FROM grants WHERE client_id = {} AND revoked_at IS NULL", client_id)
    assert live == []


async def test_enable_says_when_the_app_was_not_disabled(settings: Settings, client: httpx.AsyncClient) -> None:
    """``disable`` tells "already disabled" (``Disabled.newly``); ``enable`` on an enabled app logs
    "app enabled by an operator" in the security log and prints "enabled" as if it had changed."""
    app = await register_app(
        settings.secret_key, name="Podomètre", redirect_uris=[DEVICE_REDIRECT], scopes=["vitals.body_weight:write"]
    )
    assert await client_admin.enable_client(app.client_id, operator="Sam") == ("Podomètre", False)
