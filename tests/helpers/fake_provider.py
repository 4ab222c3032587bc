"""A test-only OpenID provider: a real small litestar app whose keys and answers the tests control.

The relying party reaches it over HTTP (``httpx.ASGITransport``) exactly as it reaches FranceConnect;
the tests use it to forge what a misbehaving or malicious provider could send.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import unquote_plus

import msgspec
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey
from litestar import Litestar, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

ISSUER = "http://fake-idp.test"
CLIENT_ID = "ens-fake-client"
CLIENT_SECRET = "fake-client-secret-0123456789abcdef0123456789"


@dataclass
class Issued:
    """What the provider will answer for one authorization code."""

    nonce: str
    code_challenge: str
    sub: str
    claims: dict[str, Any]
    id_token_overrides: dict[str, Any]
    alg: str
    sign_with_stranger: bool
    userinfo_as_jwt: bool


class TokenForm(msgspec.Struct, kw_only=True):
    grant_type: str = ""
    code: str = ""
    redirect_uri: str = ""
    code_verifier: str = ""
    client_id: str | None = None
    client_secret: str | None = None


@dataclass
class FakeProvider:
    announced_algs: list[str] = field(default_factory=lambda: ["RS256", "ES256", "HS256"])
    token_auth_methods: list[str] = field(default_factory=lambda: ["client_secret_post"])
    rsa: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, auto_kid=True))
    ec: ECKey = field(default_factory=lambda: ECKey.generate_key("P-256", auto_kid=True))
    stranger: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, auto_kid=True))
    codes: dict[str, Issued] = field(default_factory=dict)
    access: dict[str, Issued] = field(default_factory=dict)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    # Whether discovery announces an end_session_endpoint (RP-initiated logout).
    end_session: bool = True
    # Who it is and the client it knows: where it is reached (the load test serves it on a loopback
    # port); a second, independent provider (the professionals') has its own client too.
    issuer: str = ISSUER
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    # What else its JWKS lists (a provider's mistakes: a string, a number).
    extra_keys: list[Any] = field(default_factory=list)

    def issue_code(
        self,
        nonce: str,
        code_challenge: str,
        sub: str | None = None,
        alg: str = "RS256",
        sign_with_stranger: bool = False,
        userinfo_as_jwt: bool = True,
        claims_override: dict[str, Any] | None = None,
        userinfo: dict[str, Any] | None = None,
        **id_token_overrides: Any,
    ) -> str:
        """A code the provider will exchange for an ID token built from these choices."""
        subject = sub or f"fake-{secrets.token_hex(8)}"
        code = secrets.token_urlsafe(24)
        self.codes[code] = Issued(
            nonce=nonce,
            code_challenge=code_challenge,
            sub=subject,
            claims=userinfo
            if userinfo is not None
            else {
                "given_name": "Inès",
                "family_name": "Testeuse",
                "birthdate": "1992-03-04",
                "gender": "female",
                "birthplace": "75056",
                "email": f"{subject}@example.test",
            },
            id_token_overrides={**id_token_overrides, **(claims_override or {})},
            alg=alg,
            sign_with_stranger=sign_with_stranger,
            userinfo_as_jwt=userinfo_as_jwt,
        )
        return code

    def _sign(self, issued: Issued, claims: dict[str, Any]) -> str:
        if issued.alg == "HS256":
            return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(self.client_secret.encode()))
        if issued.sign_with_stranger:
            # Same kid as the published key, another private key: a forged signature.
            return jwt.encode({"alg": "RS256", "kid": self.rsa.kid}, claims, self.stranger)
        key = self.ec if issued.alg == "ES256" else self.rsa
        return jwt.encode({"alg": issued.alg, "kid": key.kid}, claims, key)

    def app(self) -> Litestar:
        provider = self

        @get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            document: dict[str, Any] = {
                "issuer": provider.issuer,
                "authorization_endpoint": f"{provider.issuer}/authorize",
                "token_endpoint": f"{provider.issuer}/token",
                "userinfo_endpoint": f"{provider.issuer}/userinfo",
                "jwks_uri": f"{provider.issuer}/jwks",
                "id_token_signing_alg_values_supported": provider.announced_algs,
                "userinfo_signing_alg_values_supported": provider.announced_algs,
                "token_endpoint_auth_methods_supported": provider.token_auth_methods,
            }
            if provider.end_session:
                document["end_session_endpoint"] = f"{provider.issuer}/session/end"
            return document

        @get("/jwks")
        async def jwks() -> dict[str, Any]:
            return {
                "keys": [
                    {**provider.rsa.as_dict(private=False), "use": "sig"},
                    {**provider.ec.as_dict(private=False), "use": "sig"},
                    *provider.extra_keys,
                ]
            }

        @post("/token", status_code=200)
        async def token(
            request: Request[Any, Any, Any],
            data: Annotated[TokenForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
        ) -> Response[Any]:
            client_id, secret = data.client_id, data.client_secret
            scheme, _, value = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() == "basic":
                client_id, _, secret = base64.b64decode(value).decode().partition(":")
                client_id, secret = unquote_plus(client_id), unquote_plus(secret)  # RFC 6749 §2.3.1
            provider.token_requests.append({"client_id": client_id, "basic": scheme.lower() == "basic"})
            if client_id != provider.client_id or secret != provider.client_secret:
                return Response({"error": "invalid_client"}, status_code=401)
            issued = provider.codes.pop(data.code, None)
            if issued is None or create_s256_code_challenge(data.code_verifier) != issued.code_challenge:
                return Response({"error": "invalid_grant"}, status_code=400)
            now = int(time.time())
            claims = {
                "iss": provider.issuer,
                "sub": issued.sub,
                "aud": provider.client_id,
                "exp": now + 300,
                "iat": now,
                "auth_time": now,
                "nonce": issued.nonce,
                "acr": "eidas1",
                **issued.id_token_overrides,
            }
            claims = {k: v for k, v in claims.items() if v is not None}
            access = secrets.token_urlsafe(16)
            provider.access[access] = issued
            return Response(
                {"access_token": access, "token_type": "Bearer", "id_token": provider._sign(issued, claims)}
            )

        @get("/userinfo")
        async def userinfo(request: Request[Any, Any, Any]) -> Response[Any]:
            issued = provider.access.get(request.headers.get("authorization", "").removeprefix("Bearer "))
            if issued is None:
                return Response({"error": "invalid_token"}, status_code=401)
            claims = {"sub": issued.sub, **issued.claims}
            if not issued.userinfo_as_jwt:
                return Response(claims)
            body = provider._sign(issued, {**claims, "iss": provider.issuer, "aud": provider.client_id})
            return Response(body, media_type="application/jwt")

        return Litestar(route_handlers=[discovery, jwks, token, userinfo])
