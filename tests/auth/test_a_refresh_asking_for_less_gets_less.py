"""A refresh that asks for less than the person granted gets an access token with that much only.

RFC 6749 §6: ``scope`` on a refresh is "the requested scope", within the one granted. A request for
less was answered with the whole grant (an outside audit: an app asking for a read-only token to
hand to a component got one that writes too; RFC 9700 §2.3, an access token's privileges kept to
the minimum). The refresh token keeps the grant's scope (§6: the new one's is the old one's), so a
later refresh may ask for the rest again.
"""

from __future__ import annotations

from typing import Any

from ens.core.settings import Settings
from tests.auth.test_authorization_server_refusals import _app_tokens
from tests.helpers.login import FakeLogin

READ, WRITE = "vitals.body_weight:read", "vitals.body_weight:write"
PROBE = "/v1/spaces/me/scope-probe/body-weight"  # needs vitals.body_weight:write


async def test_a_refresh_asking_for_less_gets_a_token_with_less(fake_login: Any, fake_settings: Settings) -> None:
    app, tokens = await _app_tokens(fake_login, fake_settings, [READ, WRITE])
    assert tokens["scope"].split() == sorted([READ, WRITE])
    client = (fake_login()).browser.client
    refresh = {"grant_type": "refresh_token", "client_id": app.client_id}

    narrowed = await client.post(
        "/oauth/token", data={**refresh, "refresh_token": tokens["refresh_token"], "scope": READ}
    )
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["scope"] == READ  # was both: the whole grant
    reader = {"Authorization": f"Bearer {narrowed.json()['access_token']}"}
    assert (await client.post(PROBE, headers=reader)).status_code == 403

    # The chain keeps what the person granted: the next refresh, asking nothing, gets it all.
    whole = await client.post("/oauth/token", data={**refresh, "refresh_token": narrowed.json()["refresh_token"]})
    assert whole.status_code == 200, whole.text
    assert whole.json()["scope"].split() == sorted([READ, WRITE])
    writer = {"Authorization": f"Bearer {whole.json()['access_token']}"}
    assert (await client.post(PROBE, headers=writer)).status_code == 201


async def test_a_refresh_asking_for_the_same_or_nothing_gets_the_grant(
    fake_login: Any, fake_settings: Settings
) -> None:
    app, tokens = await _app_tokens(fake_login, fake_settings, [READ, WRITE])
    login: FakeLogin = fake_login()
    refresh = {"grant_type": "refresh_token", "client_id": app.client_id}
    same = await login.browser.client.post(
        "/oauth/token", data={**refresh, "refresh_token": tokens["refresh_token"], "scope": f"{WRITE} {READ}"}
    )
    assert same.status_code == 200 and same.json()["scope"].split() == sorted([READ, WRITE]), same.text
    blank = await login.browser.client.post(
        "/oauth/token", data={**refresh, "refresh_token": same.json()["refresh_token"], "scope": " "}
    )
    assert blank.status_code == 200 and blank.json()["scope"].split() == sorted([READ, WRITE]), blank.text
