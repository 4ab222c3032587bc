"""``GET /oauth/rp-jwks``: the public half of the FranceConnect+ decryption key (see ``ens.auth.fcplus``).

Mounted only when ``ENS_OIDC_ENCRYPTION_KEY`` is set, so that without it the path is a plain 404.
The key is read when the app is built: a missing or unusable key stops the service at start-up.
"""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.types import ControllerRouterHandler

from ens.auth.fcplus import encryption_key_from_settings, public_jwks
from ens.core.settings import Settings

JWKS_CACHE_SECONDS = 3600


def relying_party_key_routes(settings: Settings) -> list[ControllerRouterHandler]:
    """The JWKS route when a decryption key is configured, nothing otherwise."""
    key = encryption_key_from_settings(settings)
    if key is None:
        return []
    document = public_jwks(key)

    @get(
        "/oauth/rp-jwks",
        tags=["auth"],
        summary="Public encryption keys of the relying party (FranceConnect+ encrypts tokens to them)",
        operation_id="relyingPartyJwks",
    )
    async def relying_party_jwks() -> Response[dict[str, Any]]:
        return Response(document, headers={"Cache-Control": f"public, max-age={JWKS_CACHE_SECONDS}"})

    return [relying_party_jwks]
