"""Client authentication at the token and revocation endpoints (an outside review, 2026-12-06).

- A public client (``ens-mobile``, or a device app registered without ``--confidential``) was given
  no secret: a request that presents one anyway (Basic credentials, or ``client_secret`` in the body)
  uses an authentication method the client is not registered for, and fails client authentication
  (RFC 6749 §5.2, ``invalid_client``: "unsupported authentication method"; RFC 6749 §2.3: the
  server authenticates a client by the method it was registered with). It was accepted whatever the
  secret said.
- Basic credentials are the client id and secret each encoded with
  ``application/x-www-form-urlencoded`` (RFC 6749 §2.3.1, Appendix B), where ``+`` stands for a
  space: they were percent-decoded only (``urllib.parse.unquote``), leaving ``+`` as it came.
"""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest

from ens.auth.clients import register_app
from ens.core.settings import Settings

DEVICE_REDIRECT = "https://device.example/ens/callback"


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize("endpoint", ["/oauth/token", "/oauth/revoke"])
async def test_a_public_client_presenting_a_secret_it_was_never_given_is_invalid_client(
    fake_client: httpx.AsyncClient, endpoint: str
) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": "x", "token": "x"}
    by_basic = await fake_client.post(endpoint, data=form, headers=_basic("ens-mobile", "any-password-at-all"))
    by_post = await fake_client.post(
        endpoint, data={**form, "client_id": "ens-mobile", "client_secret": "any-password-at-all"}
    )
    for how, response in (("client_secret_basic", by_basic), ("client_secret_post", by_post)):
        assert response.status_code == 401, (how, response.status_code, response.text)
        assert response.json()["error"] == "invalid_client", (how, response.text)
        assert "without a secret" in response.json()["error_description"]
        assert response.headers["www-authenticate"].lower().startswith("basic")


async def test_basic_credentials_are_form_url_decoded(fake_client: httpx.AsyncClient, fake_settings: Settings) -> None:
    """A client id holding a space travels as ``+`` in Basic credentials (RFC 6749 Appendix B)."""
    client_id = f"appli demo {uuid.uuid4().hex[:6]}"
    app = await register_app(
        fake_settings.secret_key,
        name="Appli démo",
        redirect_uris=[DEVICE_REDIRECT],
        scopes=["vitals.heart_rate:read"],
        confidential=True,
        client_id=client_id,
    )
    assert app.client_secret
    # As a conforming client sends them: each form-url-encoded, then joined and base64-encoded.
    encoded_id = client_id.replace(" ", "+")
    response = await fake_client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        headers=_basic(encoded_id, app.client_secret),
    )
    # Authenticated, then told the refresh token is unknown.
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant", response.text
