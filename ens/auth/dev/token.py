"""``ens dev token IDENTITY``: an access token for a test identity, for curl and benchmarks (dev only)."""

from __future__ import annotations

from ens.auth.dev.identities import DEV_IDENTITIES, as_identity
from ens.auth.tokens import AccessTokens, new_session_token
from ens.core.settings import Settings
from ens.spaces.service import sign_in_identity

DEV_CLIENT_ID = "ens-mobile"
DEV_CLIENT_NAME = "ENS (jeton de développement)"


async def dev_token(settings: Settings, identity_key: str, *, ttl: int | None = None) -> str:
    """Sign the test identity in (creating its account and space) and mint a session token."""
    if not settings.is_dev:
        raise RuntimeError("dev tokens exist only with ENS_ENV=dev")
    identity = DEV_IDENTITIES.get(identity_key)
    if identity is None:
        raise KeyError(f"unknown test identity {identity_key!r}; known: {', '.join(DEV_IDENTITIES)}")
    signed_in = await sign_in_identity(as_identity(identity, settings.effective_oidc_issuer))
    _, token = await new_session_token(
        AccessTokens(settings),
        account_id=signed_in.account_id,
        client_id=DEV_CLIENT_ID,
        client_name=DEV_CLIENT_NAME,
        label="ens dev token",
        ttl=ttl,
    )
    return token
