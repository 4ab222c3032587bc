"""``ens dev token IDENTITY``: an access token for a test identity — a person, or a professional of
the embedded provider for professionals — for curl and benchmarks (dev only)."""

from __future__ import annotations

from uuid import UUID

from ens.auth.dev.identities import DEV_IDENTITIES, as_identity
from ens.auth.dev.professionals import DEV_PROFESSIONALS, dev_professional_claims
from ens.auth.login.professional import professional_identity
from ens.auth.tokens import AccessTokens, new_session_token
from ens.core.settings import Settings
from ens.spaces.caller import PROFESSIONAL_SCOPE, Caller
from ens.spaces.professionals import sign_in_professional
from ens.spaces.service import create_professional_grant, sign_in_identity

DEV_CLIENT_ID = "ens-mobile"
DEV_CLIENT_NAME = "ENS (jeton de développement)"


async def dev_token(settings: Settings, identity_key: str, *, ttl: int | None = None) -> str:
    """Sign the test identity in (creating its account and space) and mint a session token."""
    if not settings.is_dev:
        raise RuntimeError("dev tokens exist only with ENS_ENV=dev")
    if identity_key in DEV_PROFESSIONALS:
        return await _professional_token(settings, identity_key, ttl=ttl)
    identity = DEV_IDENTITIES.get(identity_key)
    if identity is None:
        known = ", ".join([*DEV_IDENTITIES, *DEV_PROFESSIONALS])
        raise KeyError(f"unknown test identity {identity_key!r}; known: {known}")
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


DEV_PRO_CLIENT_ID = "ens-dev-pro-software"


async def sign_in_dev_professional(settings: Settings, key: str) -> UUID:
    """The test professional as the embedded provider asserts them (same claims, same parsing)."""
    issuer = settings.effective_pro_oidc_issuer or f"{settings.public_url}/dev-pro-idp"
    return await sign_in_professional(professional_identity(issuer, dev_professional_claims(key)))


async def _professional_token(settings: Settings, key: str, *, ttl: int | None) -> str:
    professional_id = await sign_in_dev_professional(settings, key)
    grant_id = await create_professional_grant(
        professional_id, DEV_PRO_CLIENT_ID, client_name="Logiciel professionnel (jeton de développement)"
    )
    tokens = AccessTokens(settings)
    caller = Caller(
        kind="professional",
        account_id=professional_id,
        client_id=DEV_PRO_CLIENT_ID,
        grant_id=grant_id,
        scopes=frozenset({PROFESSIONAL_SCOPE}),
    )
    return tokens.issue(caller, ttl)
