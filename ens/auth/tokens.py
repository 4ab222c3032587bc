"""Access tokens: short-lived JWTs (RFC 9068) signed with a key derived from ENS_SECRET_KEY.

The signature and expiry are checked without touching the database; whether the session or app
grant the token carries is still live is checked by the space door (or the account door) in the
query that serves the request, so a revocation takes effect on the next request.
"""

from __future__ import annotations

import time
import uuid
from uuid import UUID

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import OctKey

from ens.core import keyring
from ens.core.errors import Unauthorized
from ens.core.remembered import Remembered
from ens.core.settings import Settings
from ens.spaces.caller import SPACE_SCOPE, Caller
from ens.spaces.service import create_app_grant, create_session_grant

ALGORITHM = "HS256"
TOKEN_TYPE = "at+jwt"
# Tokens whose signature and claims were already checked, kept until they expire (at most this many).
VERIFIED_MAX = 4096


class _PastExpiryAllowed(jwt.JWTClaimsRegistry):
    """Every check of the access-token registry, but an ``exp`` in the past passes (revocation only)."""

    def validate_exp(self, value: object) -> None:
        try:
            super().validate_exp(value)
        except ExpiredTokenError:
            pass


class AccessTokens:
    def __init__(self, settings: Settings) -> None:
        # The current key only, never one it replaced (ENS_PREVIOUS_SECRET_KEYS): whoever holds a
        # key could sign any token with it, and a key is replaced when it may have leaked. A token
        # issued before the change is refused (401), and its client refreshes it, as at its expiry.
        self._key = OctKey.import_key(keyring.derive_key(settings.secret_key, "access-token-jwt"))
        # Revocation alone also reads a token signed under a key the current one replaced: the
        # grant it names is ended, never opened (an outside audit: a phone app signing out with a
        # token issued before the change was told 200, and its session refreshed on).
        self._revocation_keys = [self._key] + [
            OctKey.import_key(keyring.derive_key(key, "access-token-jwt")) for key in settings.previous_keys
        ]
        self._issuer = settings.public_url
        self._audience = f"{settings.public_url}/v1"
        self.ttl = settings.access_token_ttl
        self._registry = self._claims_registry(jwt.JWTClaimsRegistry)
        self._any_age_registry = self._claims_registry(_PastExpiryAllowed)
        # A phone or an app sends the same token on every request until it expires: checking its
        # signature and claims once is enough. Only the expiry depends on the time, so a remembered
        # token is checked against it again; liveness of the grant stays with the door (database).
        self._verified: Remembered[str, tuple[Caller, int]] = Remembered(VERIFIED_MAX)

    def _claims_registry(self, kind: type[jwt.JWTClaimsRegistry]) -> jwt.JWTClaimsRegistry:
        return kind(
            iss={"essential": True, "value": self._issuer},
            aud={"essential": True, "value": self._audience},
            exp={"essential": True},
            sub={"essential": True},
            client_id={"essential": True},
            sid={"essential": True},
            leeway=0,
        )

    def issue(self, caller: Caller, ttl: int | None = None) -> str:
        now = int(time.time())
        claims: dict[str, object] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(caller.account_id),
            "client_id": caller.client_id,
            "sid": str(caller.grant_id),
            "kind": caller.kind,
            "scope": " ".join(sorted(caller.scopes)),
            "iat": now,
            "exp": now + (ttl or self.ttl),
            "jti": uuid.uuid4().hex,
        }
        if caller.space_id is not None:
            claims["space"] = str(caller.space_id)
        return jwt.encode({"alg": ALGORITHM, "typ": TOKEN_TYPE}, claims, self._key)

    def verify(self, token: str) -> Caller:
        """The caller the token names, or :class:`Unauthorized` (bad signature, expired, malformed)."""
        known = self._verified.get(token)
        if known is not None:
            caller, expires = known
            if expires > self._registry.now:  # joserfc's rule with leeway 0: expired once exp <= now
                return caller
            self._verified.forget(token)
        caller, expires = self._verify(token)
        self._verified.put(token, (caller, expires))
        return caller

    def verify_any_age(self, token: str) -> Caller:
        """The caller an authentic token names, even past its expiry (for revocation, RFC 7009).

        Signature, type, issuer, audience and every other claim are checked as in :meth:`verify`; only
        an ``exp`` in the past is let through, so that revoking an expired token still ends its grant,
        and a signature under a key ``ENS_PREVIOUS_SECRET_KEYS`` names, so that revoking a token
        issued before the key changed does too. Raises :class:`Unauthorized` for anything else.
        """
        refusals: list[Unauthorized] = []
        for key in self._revocation_keys:
            try:
                return self._verify(token, self._any_age_registry, key=key)[0]
            except Unauthorized as refusal:
                refusals.append(refusal)
        raise refusals[0]  # what the current key says of the token

    def _verify(
        self, token: str, registry: jwt.JWTClaimsRegistry | None = None, *, key: OctKey | None = None
    ) -> tuple[Caller, int]:
        try:
            decoded = jwt.decode(token, key or self._key, algorithms=[ALGORITHM])
            if decoded.header.get("typ") != TOKEN_TYPE:
                raise Unauthorized("This is not an access token.")
            (registry or self._registry).validate(decoded.claims)
            claims = decoded.claims
            kind = claims.get("kind")
            if kind not in ("person", "app", "professional"):
                raise Unauthorized("The access token is malformed.")
            space = claims.get("space")
            caller = Caller(
                kind=kind,
                account_id=UUID(str(claims["sub"])),
                client_id=str(claims["client_id"]),
                grant_id=UUID(str(claims["sid"])),
                scopes=frozenset(str(claims.get("scope", "")).split()),
                space_id=UUID(str(space)) if space else None,
            )
            return caller, claims["exp"]
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise Unauthorized("The access token is invalid or expired.") from exc


async def new_session_token(
    tokens: AccessTokens, account_id: UUID, *, client_id: str, client_name: str, label: str, ttl: int | None = None
) -> tuple[UUID, str]:
    """A session grant and a token bound to it, without the login flow (dev tokens, demo, bench, tests)."""
    grant_id = await create_session_grant(account_id, client_id, client_name=client_name, label=label)
    caller = Caller(
        kind="person", account_id=account_id, client_id=client_id, grant_id=grant_id, scopes=frozenset({SPACE_SCOPE})
    )
    return grant_id, tokens.issue(caller, ttl)


async def new_app_token(
    tokens: AccessTokens,
    account_id: UUID,
    *,
    space_id: UUID,
    client_id: str,
    client_name: str,
    scopes: list[str],
    ttl: int | None = None,
) -> tuple[UUID, str]:
    """An app grant on one space (as a consent leaves it) and a token bound to it, without the flow."""
    grant_id = await create_app_grant(account_id, space_id, client_id=client_id, client_name=client_name, scopes=scopes)
    caller = Caller(
        kind="app",
        account_id=account_id,
        client_id=client_id,
        grant_id=grant_id,
        scopes=frozenset(scopes),
        space_id=space_id,
    )
    return grant_id, tokens.issue(caller, ttl)
