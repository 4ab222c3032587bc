"""Which provider, as which client (:class:`ProviderConfig`), what its discovery document says
(:class:`ProviderMetadata`), and what a finished login tells (:class:`UpstreamLogin`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ens.core.settings import Settings


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of ``/.well-known/openid-configuration`` the relying party uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None
    id_token_algorithms: frozenset[str]
    userinfo_algorithms: frozenset[str]
    token_auth_methods: tuple[str, ...]


@dataclass(frozen=True)
class UpstreamLogin:
    """What the provider says about the person once the callback is done."""

    id_token: str
    claims: dict[str, Any]
    userinfo: dict[str, Any]


@dataclass(frozen=True)
class ProviderConfig:
    """Which provider, as which client, at which level: people's (FranceConnect, ``ENS_OIDC_*``) or
    professionals' (Pro Santé Connect, ``ENS_PRO_OIDC_*``). The relying party's code is the same."""

    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    acr: str
    callback_path: str
    # FranceConnect+ only: ID tokens and userinfo encrypted to ENS_OIDC_ENCRYPTION_KEY.
    decrypts: bool = False

    @classmethod
    def people(cls, settings: Settings) -> ProviderConfig:
        return cls(
            issuer=settings.effective_oidc_issuer,
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            scopes=settings.oidc_scopes,
            acr=settings.oidc_acr,
            callback_path="/oauth/callback",
            decrypts=True,
        )

    @classmethod
    def professionals(cls, settings: Settings) -> ProviderConfig | None:
        """``None`` when no professionals' provider is configured (production without one)."""
        issuer = settings.effective_pro_oidc_issuer
        if issuer is None:
            return None
        return cls(
            issuer=issuer,
            client_id=settings.pro_oidc_client_id,
            client_secret=settings.pro_oidc_client_secret,
            scopes=settings.pro_oidc_scopes,
            acr=settings.pro_oidc_acr,
            callback_path=PRO_CALLBACK_PATH,
        )


# Where the professionals' provider sends the browser back.
PRO_CALLBACK_PATH = "/oauth/pro/callback"
