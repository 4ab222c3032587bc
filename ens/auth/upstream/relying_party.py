"""The relying party (:class:`Upstream`): discovery and JWKS (cached), the authorization and logout
URLs, the code exchange, userinfo, and the check of every JWT the provider sends."""

from __future__ import annotations

import binascii
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey

from ens.auth.errors import UpstreamRefused
from ens.auth.fcplus import TokenDecryptionRefused, decrypt_nested, encryption_key_from_settings
from ens.auth.upstream.config import ProviderConfig, ProviderMetadata, UpstreamLogin
from ens.core.settings import Settings

log = logging.getLogger("ens.auth.upstream")

# Asymmetric algorithms we accept when the provider announces them; HS256 uses the client secret.
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "ES256", "ES384"})
SYMMETRIC_ALGORITHMS = frozenset({"HS256"})
ACR_LEVELS = {"eidas1": 1, "eidas2": 2, "eidas3": 3}
CLOCK_LEEWAY_S = 60
HTTP_TIMEOUT_S = 10.0


@dataclass
class _Cached:
    value: Any
    fetched_at: float


@dataclass
class Upstream:
    """The relying party. ``transport`` lets tests reach an in-process provider over real HTTP."""

    settings: Settings
    transport: httpx.AsyncBaseTransport | None = None
    clock: Callable[[], float] = time.time
    # People's provider unless told otherwise (``ProviderConfig.professionals``).
    provider: ProviderConfig | None = None
    _metadata: _Cached | None = field(default=None, init=False)
    _jwks: _Cached | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.provider is None:
            self.provider = ProviderConfig.people(self.settings)

    @property
    def config(self) -> ProviderConfig:
        assert self.provider is not None
        return self.provider

    @property
    def issuer(self) -> str:
        return self.config.issuer

    @property
    def redirect_uri(self) -> str:
        return f"{self.settings.public_url}{self.config.callback_path}"

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, timeout=HTTP_TIMEOUT_S, follow_redirects=False)

    def _fresh(self, cached: _Cached | None) -> bool:
        return cached is not None and self.clock() - cached.fetched_at < self.settings.oidc_cache_ttl

    async def metadata(self) -> ProviderMetadata:
        if self._metadata is not None and self._fresh(self._metadata):
            return self._metadata.value  # type: ignore[no-any-return]
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = await self._get_json(url)
        if document.get("issuer") != self.issuer:
            # OpenID Connect Discovery §4.3: the document must name the issuer we asked for.
            raise UpstreamRefused("The provider's discovery document names another issuer.")
        try:
            metadata = ProviderMetadata(
                issuer=str(document["issuer"]),
                authorization_endpoint=str(document["authorization_endpoint"]),
                token_endpoint=str(document["token_endpoint"]),
                jwks_uri=str(document["jwks_uri"]),
                userinfo_endpoint=document.get("userinfo_endpoint"),
                end_session_endpoint=document.get("end_session_endpoint"),
                id_token_algorithms=frozenset(document.get("id_token_signing_alg_values_supported") or ["RS256"]),
                userinfo_algorithms=frozenset(document.get("userinfo_signing_alg_values_supported") or []),
                token_auth_methods=tuple(
                    document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
                ),
            )
        except KeyError as exc:
            raise UpstreamRefused(f"The provider's discovery document lacks {exc.args[0]}.") from exc
        self._metadata = _Cached(metadata, self.clock())
        return metadata

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self._client() as client:
                response = await client.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise UpstreamRefused(f"The provider cannot be reached ({type(exc).__name__}).") from exc
        if response.status_code != 200:
            raise UpstreamRefused(f"The provider answered {response.status_code} for {url}.")
        try:
            document = response.json()
        except ValueError as exc:
            raise UpstreamRefused(f"The provider's answer at {url} is not JSON.") from exc
        if not isinstance(document, dict):
            raise UpstreamRefused(f"The provider's answer at {url} is not a JSON object.")
        return document

    async def jwks(self, refresh: bool = False) -> KeySet:
        if not refresh and self._jwks is not None and self._fresh(self._jwks):
            return self._jwks.value  # type: ignore[no-any-return]
        metadata = await self.metadata()
        document = await self._get_json(metadata.jwks_uri)
        listed = document.get("keys", [])
        try:
            if not isinstance(listed, list):
                raise TypeError("keys is not a list")
            # Keys meant for encryption are not signing keys; skip them, and what is no key at all
            # (a string in the list was a 500: an outside audit).
            keys = [key for key in listed if isinstance(key, dict) and key.get("use", "sig") == "sig"]
            key_set = KeySet.import_key_set({"keys": keys})
        except (JoseError, ValueError, TypeError) as exc:
            raise UpstreamRefused("The provider's JWKS cannot be read.") from exc
        self._jwks = _Cached(key_set, self.clock())
        return key_set

    async def authorization_url(self, state: str, nonce: str, *, verifier: str, force_login: bool = False) -> str:
        """Where the browser goes to prove who it is (state, nonce, PKCE S256, acr_values)."""
        metadata = await self.metadata()
        params = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.config.scopes,
            "state": state,
            "nonce": nonce,
            "acr_values": self.config.acr,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        if force_login:
            # Re-proving identity (lost second factor): an existing provider session is not enough.
            params["prompt"] = "login"
            params["max_age"] = "0"
        return _with_query(metadata.authorization_endpoint, params)

    async def logout_url(self, id_token: str, state: str, *, post_logout_redirect_uri: str) -> str | None:
        metadata = await self.metadata()
        if metadata.end_session_endpoint is None:
            return None
        return _with_query(
            metadata.end_session_endpoint,
            {"id_token_hint": id_token, "state": state, "post_logout_redirect_uri": post_logout_redirect_uri},
        )

    async def finish_login(
        self, code: str, verifier: str, *, nonce: str, fresh_within: int | None = None
    ) -> UpstreamLogin:
        """Exchange the code, verify the ID token, read userinfo (JSON or signed JWT).

        ``fresh_within`` (seconds): the person must have authenticated at the provider that
        recently (``auth_time``), as asked with ``prompt=login``; a provider that ignored the
        request and reused its session is refused.
        """
        metadata = await self.metadata()
        tokens = await self._exchange_code(metadata, code, verifier=verifier)
        raw_id_token = tokens.get("id_token")
        access_token = tokens.get("access_token")
        if not isinstance(raw_id_token, str) or not isinstance(access_token, str):
            raise UpstreamRefused("The provider's token response lacks id_token or access_token.")
        claims = await self.decode_upstream_jwt(raw_id_token, metadata.id_token_algorithms)
        self._check_id_token(claims, nonce)
        if fresh_within is not None:
            auth_time = claims.get("auth_time")
            if not isinstance(auth_time, int | float) or auth_time < self.clock() - fresh_within - CLOCK_LEEWAY_S:
                raise UpstreamRefused("The provider did not authenticate the person afresh (auth_time).")
        userinfo = await self._userinfo(metadata, access_token)
        if userinfo.get("sub") != claims["sub"]:
            raise UpstreamRefused("The userinfo subject differs from the ID token's.")
        return UpstreamLogin(id_token=raw_id_token, claims=claims, userinfo=userinfo)

    async def _exchange_code(self, metadata: ProviderMetadata, code: str, *, verifier: str) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
        }
        auth: httpx.BasicAuth | None = None
        if "client_secret_basic" in metadata.token_auth_methods:
            # RFC 6749 §2.3.1: each form-url-encoded first (a secret with '+' reached the provider
            # with a space, as ENS's own token endpoint reads them: a review).
            auth = httpx.BasicAuth(quote_plus(self.config.client_id), quote_plus(self.config.client_secret))
        elif "client_secret_post" in metadata.token_auth_methods:
            form["client_id"] = self.config.client_id
            form["client_secret"] = self.config.client_secret
        else:
            raise UpstreamRefused("The provider supports neither client_secret_basic nor client_secret_post.")
        try:
            async with self._client() as client:
                response = await client.post(
                    metadata.token_endpoint,
                    data=form,
                    auth=auth or httpx.USE_CLIENT_DEFAULT,
                    headers={"Accept": "application/json"},
                )
        except httpx.HTTPError as exc:
            raise UpstreamRefused(f"The provider's token endpoint cannot be reached ({type(exc).__name__}).") from exc
        if response.status_code != 200:
            error = _safe_json(response).get("error", "unknown")
            raise UpstreamRefused(f"The provider refused the code exchange ({response.status_code}, {error}).")
        return _safe_json(response)

    async def _userinfo(self, metadata: ProviderMetadata, access_token: str) -> dict[str, Any]:
        if metadata.userinfo_endpoint is None:
            # The person's identity (names, birth date and place) is read there, as FranceConnect
            # gives it: said plainly rather than as a subject that "differs".
            raise UpstreamRefused("The provider announces no userinfo_endpoint, where ENS reads the person's identity.")
        try:
            async with self._client() as client:
                response = await client.get(
                    metadata.userinfo_endpoint, headers={"Authorization": f"Bearer {access_token}"}
                )
        except httpx.HTTPError as exc:
            raise UpstreamRefused(f"The provider's userinfo cannot be reached ({type(exc).__name__}).") from exc
        if response.status_code != 200:
            raise UpstreamRefused(f"The provider's userinfo answered {response.status_code}.")
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type == "application/jwt":
            # FranceConnect signs userinfo; verified like the ID token (iss, aud when present).
            algorithms = metadata.userinfo_algorithms or metadata.id_token_algorithms
            claims = await self.decode_upstream_jwt(response.text.strip(), algorithms)
            if "iss" in claims and claims["iss"] != metadata.issuer:
                raise UpstreamRefused("The userinfo JWT comes from another issuer.")
            if "aud" in claims and not _audience_contains(claims["aud"], self.config.client_id):
                raise UpstreamRefused("The userinfo JWT is meant for another client.")
            return claims
        return _safe_json(response)

    async def decode_upstream_jwt(self, raw: str, algorithms: frozenset[str]) -> dict[str, Any]:
        """Verify a JWT from the provider and return its claims.

        The algorithm must be one the provider announces and one we accept (never ``none``);
        asymmetric signatures are checked with the JWKS key named by ``kid``, HS256 with the
        client secret. A FranceConnect+ token (JWE) is decrypted first, then checked the same way.
        """
        # FranceConnect+: a JWE wrapping the signed JWT, decrypted with ENS_OIDC_ENCRYPTION_KEY first.
        try:
            raw = decrypt_nested(raw, encryption_key_from_settings(self.settings) if self.config.decrypts else None)
        except TokenDecryptionRefused as exc:
            raise UpstreamRefused(exc.detail) from exc
        try:
            header = jws.extract_compact(raw.encode()).protected
        except (JoseError, ValueError, binascii.Error) as exc:
            raise UpstreamRefused("The provider's token is not a compact JWS.") from exc
        alg = str(header.get("alg", ""))
        accepted = (ASYMMETRIC_ALGORITHMS | SYMMETRIC_ALGORITHMS) & algorithms
        if alg not in accepted:
            raise UpstreamRefused(f"The token's algorithm {alg or 'none'} is not one the provider announces.")
        key: Any
        if alg in SYMMETRIC_ALGORITHMS:
            key = OctKey.import_key(self.config.client_secret.encode())
        else:
            key = await self._signing_key(header.get("kid"))
        try:
            token = jwt.decode(raw, key, algorithms=[alg])
        except JoseError as exc:
            if alg in SYMMETRIC_ALGORITHMS:
                raise _unverified(exc) from exc
            # A provider that replaced its key under the same kid: the cached key fails until the
            # cache ends (an hour of refused logins, an outside audit). The keys are fetched once more.
            try:
                token = jwt.decode(raw, await self._signing_key(header.get("kid"), refresh=True), algorithms=[alg])
            except JoseError as again:
                raise _unverified(again) from again
        return dict(token.claims)

    async def _signing_key(self, kid: object, *, refresh: bool = False) -> Any:
        key_set = await self.jwks(refresh=refresh)
        if kid is None:
            if len(key_set.keys) == 1:
                return key_set.keys[0]
            raise UpstreamRefused("The token names no key and the provider has several.")
        for attempt in range(2):
            for key in key_set.keys:
                if key.kid == kid:
                    return key
            if attempt == 0 and not refresh:
                key_set = await self.jwks(refresh=True)
        raise UpstreamRefused("The token is signed with a key the provider does not publish.")

    def _check_id_token(self, claims: dict[str, Any], nonce: str) -> None:
        now = self.clock()
        registry = jwt.JWTClaimsRegistry(
            now=int(now),
            leeway=CLOCK_LEEWAY_S,
            iss={"essential": True, "value": self.issuer},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise UpstreamRefused(f"The ID token is not acceptable ({exc.description or type(exc).__name__}).") from exc
        audience = claims.get("aud")
        if not _audience_contains(audience, self.config.client_id):
            raise UpstreamRefused("The ID token is meant for another client (aud).")
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != self.config.client_id:
            raise UpstreamRefused("The ID token has several audiences and another authorized party (azp).")
        if float(claims["iat"]) > now + CLOCK_LEEWAY_S:
            raise UpstreamRefused("The ID token is issued in the future (iat).")
        acr = str(claims.get("acr", ""))
        if ACR_LEVELS.get(acr, 0) < ACR_LEVELS[self.config.acr]:
            raise UpstreamRefused(f"The identity was proven at level {acr or 'none'}, below {self.config.acr}.")


def _audience_contains(audience: object, client_id: str) -> bool:
    if isinstance(audience, str):
        return audience == client_id
    if isinstance(audience, list):
        return client_id in audience
    return False


def _safe_json(response: httpx.Response) -> dict[str, Any]:
    try:
        document = response.json()
    except (ValueError, json.JSONDecodeError):
        return {}
    return document if isinstance(document, dict) else {}


def _with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _unverified(exc: JoseError) -> UpstreamRefused:
    return UpstreamRefused(f"The provider's token signature does not verify ({type(exc).__name__}).")
