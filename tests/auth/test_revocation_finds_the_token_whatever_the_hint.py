"""RFC 7009 §2.1: ``token_type_hint`` is only a hint. A token sent with the wrong hint is still
found and revoked, and an access token that is authentic but expired still revokes its grant (the
refresh token beside it dies with it). A token that is not ours revokes nothing."""

from __future__ import annotations

from typing import Any

import msgspec

from ens.auth.clients import register_app
from ens.auth.tokens import AccessTokens
from ens.core.settings import Settings
from tests.helpers.login import signed_in_browser

PHONE = "ens-mobile"


async def _phone_tokens(fake_login: Any) -> tuple[Any, dict[str, Any]]:
    login, final = await signed_in_browser(fake_login)
    response = await login.browser.exchange(final.headers["location"])
    assert response.status_code == 200, response.text
    return login, response.json()


async def _revoke(client: Any, token: str, hint: str | None = None, client_id: str = PHONE) -> None:
    form = {"token": token, "client_id": client_id, **({"token_type_hint": hint} if hint else {})}
    response = await client.post("/oauth/revoke", data=form)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"


async def _refresh_status(client: Any, refresh_token: str) -> int:
    response = await client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": PHONE}
    )
    return int(response.status_code)


async def test_an_access_token_sent_with_the_refresh_token_hint_is_revoked(fake_login, fake_client):
    _, tokens = await _phone_tokens(fake_login)
    await _revoke(fake_client, tokens["access_token"], hint="refresh_token")
    me = await fake_client.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 401 and me.json()["type"] == "urn:ens:problem:grant-revoked"
    assert await _refresh_status(fake_client, tokens["refresh_token"]) == 400


async def test_a_refresh_token_sent_with_the_access_token_hint_is_revoked(fake_login, fake_client):
    _, tokens = await _phone_tokens(fake_login)
    await _revoke(fake_client, tokens["refresh_token"], hint="access_token")
    assert await _refresh_status(fake_client, tokens["refresh_token"]) == 400


async def test_an_expired_access_token_still_revokes_its_grant(fake_login, fake_client, fake_settings):
    signer = AccessTokens(fake_settings)
    for hint in (None, "access_token"):
        _, tokens = await _phone_tokens(fake_login)
        expired = signer.issue(signer.verify(tokens["access_token"]), ttl=-5)
        await _revoke(fake_client, expired, hint=hint)
        assert await _refresh_status(fake_client, tokens["refresh_token"]) == 400, hint


async def test_an_expired_token_that_is_not_ours_revokes_nothing(fake_login, fake_client, fake_settings: Settings):
    _, tokens = await _phone_tokens(fake_login)
    caller = AccessTokens(fake_settings).verify(tokens["access_token"])
    foreign = [
        # Another key: the signature is not ours.
        AccessTokens(msgspec.structs.replace(fake_settings, secret_key="k" * 48)).issue(caller, ttl=-5),
        # Our key, but another issuer and audience.
        AccessTokens(msgspec.structs.replace(fake_settings, public_url="https://elsewhere.example")).issue(
            caller, ttl=-5
        ),
    ]
    for token in foreign:
        await _revoke(fake_client, token)
        await _revoke(fake_client, token, hint="refresh_token")
    assert await _refresh_status(fake_client, tokens["refresh_token"]) == 200


async def test_a_token_presented_by_another_client_is_refused_and_revokes_nothing(
    fake_login, fake_client, fake_settings: Settings
):
    """RFC 7009 §2.1: the server checks the token was issued to the client asking; if not, the
    request is refused (it was a silent 200, an outside audit): ``invalid_grant``, nothing revoked."""
    _, tokens = await _phone_tokens(fake_login)
    caller = AccessTokens(fake_settings).verify(tokens["access_token"])
    other = await register_app(
        fake_settings.secret_key,
        name="Other app",
        redirect_uris=["https://other.example/cb"],
        scopes=["vitals.body_weight:read"],
    )
    expired = AccessTokens(fake_settings).issue(caller, ttl=-5)
    for token in (tokens["access_token"], expired, tokens["refresh_token"]):
        for hint in (None, "access_token", "refresh_token"):
            form = {"token": token, "client_id": other.client_id, **({"token_type_hint": hint} if hint else {})}
            refused = await fake_client.post("/oauth/revoke", data=form)
            assert refused.status_code == 400, refused.text
            assert refused.json()["error"] == "invalid_grant" and refused.headers["cache-control"] == "no-store"
    me = await fake_client.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert await _refresh_status(fake_client, tokens["refresh_token"]) == 200


async def test_a_token_of_ours_naming_a_grant_not_issued_to_it_revokes_nothing(
    fake_login, fake_client, fake_settings: Settings
):
    """Signed by a key of ours (one since replaced, its holder may have it) but naming someone
    else's grant: the grant must be the token's own person's and client's, else nothing ends."""
    _, victim = await _phone_tokens(fake_login)
    _, other = await _phone_tokens(fake_login)
    signer = AccessTokens(fake_settings)
    theirs, mine = signer.verify(victim["access_token"]), signer.verify(other["access_token"])
    # Another person's grant, named by a token of ours made for the forger's person, sent as the
    # phone app that both grants belong to: nothing ends (it ended the victim's session). Each
    # forgery alone ended the grant before (its refresh token then refused, checked once at the end:
    # a refresh rotates it).
    forged = signer.issue(msgspec.structs.replace(mine, grant_id=theirs.grant_id), ttl=-5)
    response = await fake_client.post("/oauth/revoke", data={"token": forged, "client_id": PHONE})
    assert response.status_code == 200, response.text
    # The grant and person right, the client named another: not this grant's token either.
    other_client = signer.issue(msgspec.structs.replace(theirs, client_id="ens-web"), ttl=-5)
    response = await fake_client.post("/oauth/revoke", data={"token": other_client, "client_id": PHONE})
    assert response.status_code == 200, response.text
    assert await _refresh_status(fake_client, victim["refresh_token"]) == 200
