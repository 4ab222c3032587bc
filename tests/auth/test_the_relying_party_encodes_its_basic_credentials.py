"""A review of b97466f (2026-12-06): ENS now reads Basic credentials as RFC 6749 §2.3.1 says (each
of client id and secret form-url-decoded, ``+`` a space), and so does its own dev provider
(``ens.auth.dev.provider._basic_credentials``); but ENS as a relying party still sends them raw
(``httpx.BasicAuth(client_id, client_secret)``): a secret holding ``+``, ``%`` or ``:`` reaches a
conforming provider changed (``+`` read as a space), and the dev provider now refuses it."""

from __future__ import annotations

import base64
from urllib.parse import unquote_plus

import httpx

from ens.auth.upstream.config import ProviderConfig, ProviderMetadata
from ens.auth.upstream.relying_party import Upstream
from ens.core.settings import Settings

SECRET = "s3cr+t/with%2Bsigns:and=="  # as a provider may issue one (base64 has + and /)


async def test_the_relying_party_form_url_encodes_its_basic_credentials(settings: Settings) -> None:
    sent: list[str] = []

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["authorization"])
        return httpx.Response(200, json={})

    config = ProviderConfig(
        issuer="https://idp.example",
        client_id="ens client",
        client_secret=SECRET,
        scopes="openid",
        acr="eidas1",
        callback_path="/oauth/callback",
    )
    upstream = Upstream(settings, transport=httpx.MockTransport(token_endpoint), provider=config)
    metadata = ProviderMetadata(
        issuer="https://idp.example",
        authorization_endpoint="https://idp.example/authorize",
        token_endpoint="https://idp.example/token",
        jwks_uri="https://idp.example/jwks",
        userinfo_endpoint=None,
        end_session_endpoint=None,
        id_token_algorithms=frozenset({"RS256"}),
        userinfo_algorithms=frozenset(),
        token_auth_methods=("client_secret_basic",),
    )
    await upstream._exchange_code(metadata, "code", verifier="v" * 43)
    _, _, value = sent[0].partition(" ")
    user, _, password = base64.b64decode(value).decode().partition(":")
    # As the provider reads them (RFC 6749 §2.3.1, and ENS's own /oauth/token and dev provider).
    assert (unquote_plus(user), unquote_plus(password)) == ("ens client", SECRET)
