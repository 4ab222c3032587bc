"""The upstream OpenID Connect relying party: FranceConnect, the embedded dev provider, or any other.

Everything comes from the provider's discovery document and JWKS, fetched over HTTP (the embedded
dev provider is reached over HTTP too, so that the production code path is the one tested). Both
documents are cached for ``ENS_OIDC_CACHE_TTL`` seconds; a token signed with a key id the cached
JWKS does not know triggers one refetch (the provider rotated its keys).

Every JWT the provider sends — ID token, userinfo — goes through :meth:`Upstream.decode_upstream_jwt`,
the one place where a FranceConnect+ decryption step is slotted in before the signature check.
"""

from __future__ import annotations

from ens.auth.upstream.config import PRO_CALLBACK_PATH, ProviderConfig, ProviderMetadata, UpstreamLogin
from ens.auth.upstream.relying_party import (
    ACR_LEVELS,
    ASYMMETRIC_ALGORITHMS,
    CLOCK_LEEWAY_S,
    HTTP_TIMEOUT_S,
    SYMMETRIC_ALGORITHMS,
    Upstream,
)

__all__ = [
    "ACR_LEVELS",
    "ASYMMETRIC_ALGORITHMS",
    "CLOCK_LEEWAY_S",
    "HTTP_TIMEOUT_S",
    "PRO_CALLBACK_PATH",
    "SYMMETRIC_ALGORITHMS",
    "ProviderConfig",
    "ProviderMetadata",
    "Upstream",
    "UpstreamLogin",
]
