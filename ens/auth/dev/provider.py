"""The embedded development provider under ``/dev-idp``: a small FranceConnect-like OpenID provider.

Mounted only when ``ENS_ENV=dev`` and no ``ENS_OIDC_ISSUER`` is set. It is a real provider —
discovery, JWKS, authorization page, token endpoint checking client authentication and PKCE, ES256
ID token, userinfo as a signed JWT (``application/jwt``, as FranceConnect), end-session — and the
relying party talks to it over HTTP like to any other, so the login path tested is the production one.

It keeps no state: its signing key is derived from ``ENS_SECRET_KEY`` (every worker has the same),
and its authorization codes and access tokens are short-lived MAC'd JWTs. Being stateless, it does
not enforce single use of its codes — our side does (the upstream ``state`` is single use).
"""

from __future__ import annotations

import hmac
import time
import uuid
from dataclasses import dataclass
from functools import cache
from html import escape
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OctKey
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import MediaType, RequestEncodingType
from litestar.params import Body, QueryParameter
from litestar.response import Redirect

from ens.auth.dev.identities import DEV_IDENTITIES, dev_sub
from ens.auth.dev.professionals import DEV_PROFESSIONALS, dev_professional_claims
from ens.auth.login.pages import PAGE_HEADERS, page
from ens.auth.upstream import PRO_CALLBACK_PATH
from ens.core import keyring
from ens.core.api import PUBLIC
from ens.core.settings import Settings

DEV_IDP_PATH = "/dev-idp"
# The same provider for professionals (Pro Santé Connect-like), with its own client and test people.
DEV_PRO_IDP_PATH = "/dev-pro-idp"
CODE_TTL_S = 60
ACCESS_TTL_S = 300
ID_TOKEN_TTL_S = 300


@cache
def _signing_key(secret: str) -> ECKey:
    # A P-256 private scalar derived from the secret: stable across restarts and workers.
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    scalar = int.from_bytes(keyring.derive_key(secret, "dev-idp-signing-key", length=48), "big") % (order - 1) + 1
    key = ECKey.import_key(ec.derive_private_key(scalar, ec.SECP256R1()))
    key.ensure_kid()
    return key


def _mac_key(secret: str) -> OctKey:
    return OctKey.import_key(keyring.derive_key(secret, "dev-idp-codes"))


@dataclass(frozen=True)
class DevLogin:
    """One test identity the provider's page offers."""

    key: str
    name: str
    description: str


class DevProvider:
    """What the endpoints below share: the issuer, its keys, the one client it knows — for people
    (FranceConnect-like, ``/dev-idp``) or for professionals (Pro Santé Connect-like, ``/dev-pro-idp``)."""

    def __init__(self, settings: Settings, *, professionals: bool = False) -> None:
        self.settings = settings
        self.professionals = professionals
        self.path = DEV_PRO_IDP_PATH if professionals else DEV_IDP_PATH
        self.issuer = f"{settings.public_url}{self.path}"
        self.key = _signing_key(settings.secret_key + (":pro" if professionals else ""))
        self.mac = _mac_key(settings.secret_key + (":pro" if professionals else ""))
        self.client_id = settings.pro_oidc_client_id if professionals else settings.oidc_client_id
        self.client_secret = settings.pro_oidc_client_secret if professionals else settings.oidc_client_secret
        self.scopes = settings.pro_oidc_scopes if professionals else settings.oidc_scopes
        self.callback = f"{settings.public_url}{PRO_CALLBACK_PATH if professionals else '/oauth/callback'}"

    def client_ok(self, client_id: str | None, secret: str | None) -> bool:
        return client_id == self.client_id and hmac.compare_digest((secret or "").encode(), self.client_secret.encode())

    def redirect_ok(self, redirect_uri: str) -> bool:
        return redirect_uri == self.callback

    def logins(self) -> list[DevLogin]:
        if self.professionals:
            return [
                DevLogin(p.key, f"{p.given_name} {p.family_name}", p.description) for p in DEV_PROFESSIONALS.values()
            ]
        return [DevLogin(i.key, f"{i.given_name} {i.family_name}", i.description) for i in DEV_IDENTITIES.values()]

    def knows(self, key: str) -> bool:
        return key in (DEV_PROFESSIONALS if self.professionals else DEV_IDENTITIES)

    def sign(self, claims: dict[str, Any], typ: str = "JWT") -> str:
        return jwt.encode({"alg": "ES256", "kid": self.key.kid, "typ": typ}, claims, self.key)

    def seal(self, claims: dict[str, Any]) -> str:
        return jwt.encode({"alg": "HS256"}, claims, self.mac)

    def unseal(self, token: str, purpose: str) -> dict[str, Any] | None:
        try:
            claims = dict(jwt.decode(token, self.mac, algorithms=["HS256"]).claims)
        except (JoseError, ValueError):
            return None
        if claims.get("purpose") != purpose or int(claims.get("exp", 0)) < time.time():
            return None
        return claims

    def identity_claims(self, key: str) -> dict[str, Any]:
        if self.professionals:
            return dev_professional_claims(key)
        identity = DEV_IDENTITIES[key]
        return {
            "sub": dev_sub(identity),
            "given_name": identity.given_name,
            "family_name": identity.family_name,
            "birthdate": identity.birthdate.isoformat(),
            "gender": identity.gender,
            "birthplace": identity.birthplace,
            "birthcountry": identity.birthcountry,
            "email": identity.email,
            "preferred_username": "",
        }


class AuthorizeForm(msgspec.Struct, kw_only=True):
    login: str
    client_id: str
    redirect_uri: str
    state: str
    nonce: str
    code_challenge: str
    acr_values: str = "eidas1"


class TokenForm(msgspec.Struct, kw_only=True):
    grant_type: str = ""
    code: str = ""
    redirect_uri: str = ""
    code_verifier: str = ""
    client_id: str | None = None
    client_secret: str | None = None


def _json_error(error: str, description: str, *, status: int = 400) -> Response[dict[str, str]]:
    return Response(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def _html(body: str, status: int = 200) -> Response[str]:
    return Response(body, status_code=status, media_type=MediaType.HTML, headers=PAGE_HEADERS)


def _basic_credentials(request: Request[Any, Any, Any]) -> tuple[str | None, str | None]:
    import base64
    import binascii
    from urllib.parse import unquote_plus

    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    return unquote_plus(user), unquote_plus(password)


class DevIdentityProvider(Controller):
    """The endpoints FranceConnect has, under ``/dev-idp``."""

    path = DEV_IDP_PATH
    tags = ["development provider"]
    opt = PUBLIC
    include_in_schema = False

    @get("/.well-known/openid-configuration")
    async def discovery(self, dev_provider: NamedDependency[DevProvider]) -> dict[str, Any]:
        issuer = dev_provider.issuer
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "jwks_uri": f"{issuer}/jwks",
            "end_session_endpoint": f"{issuer}/session/end",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "scopes_supported": sorted({"openid", *dev_provider.scopes.split()}),
            "claims_supported": ["sub", "given_name", "family_name", "SubjectNameID", "SubjectRefPro"]
            if dev_provider.professionals
            else ["sub", "given_name", "family_name", "birthdate", "gender", "birthplace", "birthcountry", "email"],
            "acr_values_supported": ["eidas1", "eidas2"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "userinfo_signing_alg_values_supported": ["ES256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
        }

    @get("/jwks")
    async def jwks(self, dev_provider: NamedDependency[DevProvider]) -> dict[str, Any]:
        public = dev_provider.key.as_dict(private=False)
        return {"keys": [{**public, "use": "sig", "alg": "ES256"}]}

    @get("/authorize")
    async def authorize_page(
        self,
        dev_provider: NamedDependency[DevProvider],
        client_id: Annotated[str, QueryParameter(name="client_id")] = "",
        redirect_uri: Annotated[str, QueryParameter(name="redirect_uri")] = "",
        state_: Annotated[str, QueryParameter(name="state")] = "",
        nonce: Annotated[str, QueryParameter(name="nonce")] = "",
        code_challenge: Annotated[str, QueryParameter(name="code_challenge")] = "",
        code_challenge_method: Annotated[str, QueryParameter(name="code_challenge_method")] = "",
        acr_values: Annotated[str, QueryParameter(name="acr_values")] = "eidas1",
    ) -> Response[str]:
        if client_id != dev_provider.client_id or not dev_provider.redirect_ok(redirect_uri):
            return _html(page("Fournisseur de test", "<p class='error'>Client ou adresse de retour inconnus.</p>"), 400)
        if len(state_) < 22 or len(nonce) < 22 or code_challenge_method != "S256" or not code_challenge:
            return _html(page("Fournisseur de test", "<p class='error'>state, nonce et PKCE S256 requis.</p>"), 400)
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{escape(value)}">'
            for name, value in (
                ("client_id", client_id),
                ("redirect_uri", redirect_uri),
                ("state", state_),
                ("nonce", nonce),
                ("code_challenge", code_challenge),
                ("acr_values", acr_values),
            )
        )
        buttons = "".join(
            f'<button type="submit" name="login" value="{escape(login.key)}">'
            f"{escape(login.name)}"
            f'<br><span class="small" style="color:inherit">{escape(login.description)}</span></button>'
            for login in dev_provider.logins()
        )
        cancel = escape(redirect_uri + "?" + urlencode({"error": "access_denied", "state": state_}))
        like = "Pro Santé Connect, carte CPS ou e-CPS" if dev_provider.professionals else "FranceConnect"
        body = (
            f"<p class='info'>Fournisseur d'identité de développement (comme {like}). "
            "Choisissez une identité de test.</p>"
            f'<form method="post" action="{dev_provider.path}/authorize">{hidden}{buttons}</form>'
            f'<a class="button secondary" href="{cancel}">Annuler</a>'
        )
        title = "Professionnel de santé : identité de test" if dev_provider.professionals else None
        return _html(page(title or "Se connecter avec une identité de test", body))

    @post("/authorize", status_code=302)
    async def authorize(
        self,
        dev_provider: NamedDependency[DevProvider],
        data: Annotated[AuthorizeForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        if not dev_provider.knows(data.login) or not dev_provider.redirect_ok(data.redirect_uri):
            return _html(page("Fournisseur de test", "<p class='error'>Identité ou adresse inconnue.</p>"), 400)
        code = dev_provider.seal(
            {
                "purpose": "code",
                "login": data.login,
                "client_id": data.client_id,
                "redirect_uri": data.redirect_uri,
                "nonce": data.nonce,
                "code_challenge": data.code_challenge,
                "acr": "eidas2" if data.acr_values == "eidas2" else "eidas1",
                "exp": int(time.time()) + CODE_TTL_S,
                "jti": uuid.uuid4().hex,
            }
        )
        return Redirect(data.redirect_uri + "?" + urlencode({"code": code, "state": data.state}), status_code=302)

    @post("/token", status_code=200)
    async def token(
        self,
        request: Request[Any, Any, Any],
        dev_provider: NamedDependency[DevProvider],
        data: Annotated[TokenForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        client_id, secret = _basic_credentials(request)
        if client_id is None:
            client_id, secret = data.client_id, data.client_secret
        if not dev_provider.client_ok(client_id, secret):
            return _json_error("invalid_client", "Client authentication failed.", status=401)
        if data.grant_type != "authorization_code":
            return _json_error("unsupported_grant_type", "Only authorization_code.")
        code = dev_provider.unseal(data.code, "code")
        if code is None or code["client_id"] != client_id or code["redirect_uri"] != data.redirect_uri:
            return _json_error("invalid_grant", "Unknown, expired or mismatched code.")
        if not data.code_verifier or create_s256_code_challenge(data.code_verifier) != code["code_challenge"]:
            return _json_error("invalid_grant", "PKCE verification failed.")
        now = int(time.time())
        claims = dev_provider.identity_claims(str(code["login"]))
        id_token = dev_provider.sign(
            {
                "iss": dev_provider.issuer,
                "sub": claims["sub"],
                "aud": client_id,
                "exp": now + ID_TOKEN_TTL_S,
                "iat": now,
                "auth_time": now,
                "nonce": code["nonce"],
                "acr": code["acr"],
                "amr": ["pwd"],
            }
        )
        access_token = dev_provider.seal({"purpose": "access", "login": code["login"], "exp": now + ACCESS_TTL_S})
        return Response(
            {"access_token": access_token, "token_type": "Bearer", "expires_in": ACCESS_TTL_S, "id_token": id_token},
            headers={"Cache-Control": "no-store"},
        )

    @get("/userinfo")
    async def userinfo(
        self, request: Request[Any, Any, Any], dev_provider: NamedDependency[DevProvider]
    ) -> Response[Any]:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        access = dev_provider.unseal(token.strip(), "access") if scheme.lower() == "bearer" else None
        if access is None:
            return _json_error("invalid_token", "Unknown or expired access token.", status=401)
        now = int(time.time())
        claims = {
            **dev_provider.identity_claims(str(access["login"])),
            "iss": dev_provider.issuer,
            "aud": dev_provider.client_id,
            "iat": now,
            "exp": now + ID_TOKEN_TTL_S,
        }
        return Response(dev_provider.sign(claims), media_type="application/jwt")

    @get("/session/end", status_code=302)
    async def end_session(
        self,
        dev_provider: NamedDependency[DevProvider],
        post_logout_redirect_uri: Annotated[str, QueryParameter(name="post_logout_redirect_uri")] = "",
        state_: Annotated[str, QueryParameter(name="state")] = "",
    ) -> Response[Any]:
        if not post_logout_redirect_uri.startswith(dev_provider.settings.public_url + "/"):
            return _html(page("Fournisseur de test", "<p>Vous êtes déconnecté du fournisseur de test.</p>"))
        return Redirect(post_logout_redirect_uri + "?" + urlencode({"state": state_}), status_code=302)


class DevProIdentityProvider(DevIdentityProvider):
    """The same endpoints for professionals, under ``/dev-pro-idp`` (Pro Santé Connect-like)."""

    path = DEV_PRO_IDP_PATH
