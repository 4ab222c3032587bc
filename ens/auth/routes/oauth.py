"""The authorization server's endpoints: metadata, authorize, callback, token, revoke, logout, and
the relying party's public encryption keys (FranceConnect+).

The token and revocation endpoints answer RFC 6749 JSON; the browser legs redirect.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import unquote

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import QueryParameter
from litestar.response import Redirect
from litestar.types import ControllerRouterHandler

from ens.auth import login, oauth
from ens.auth.errors import OAuthError
from ens.auth.fcplus import encryption_key_from_settings, public_jwks
from ens.auth.login import LoginContext
from ens.auth.routes.login_pages import NO_STORE, Form, LoginCookie, error_page, go
from ens.auth.schemas import (
    AuthorizationServerMetadata,
    JsonWebKeySet,
    OAuthErrorRead,
    RevokeRequest,
    RevokeResponse,
    TokenRequest,
    TokenResponse,
)
from ens.auth.tokens import AccessTokens
from ens.core.api import PUBLIC
from ens.core.scopes import SCOPES
from ens.core.settings import Settings
from ens.spaces.caller import SPACE_SCOPE

JWKS_CACHE_SECONDS = 3600

# What the token and revocation endpoints answer on failure (RFC 6749 §5.2), not problem+json.
OAUTH_ERRORS = {
    400: ResponseSpec(
        OAuthErrorRead,
        description="RFC 6749 §5.2: invalid_request, invalid_grant, unsupported_grant_type...",
        generate_examples=False,
    ),
    401: ResponseSpec(
        OAuthErrorRead, description="invalid_client: client authentication failed", generate_examples=False
    ),
}


def oauth_error(request: Request[Any, Any, Any], exc: OAuthError) -> Response[dict[str, str]]:
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="ens"'
    return Response({"error": exc.error, "error_description": exc.detail}, status_code=exc.status, headers=headers)


def _basic(request: Request[Any, Any, Any]) -> tuple[str, str] | None:
    """RFC 6749 §2.3.1 client credentials (form-urlencoded, then base64)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client", "Malformed Basic credentials.", 401) from exc
    if not sep:
        raise OAuthError("invalid_client", "Malformed Basic credentials.", 401)
    return unquote(user), unquote(password)


class OAuthController(Controller):
    """The authorization server's endpoints."""

    path = "/"
    tags = ["oauth"]
    opt = PUBLIC

    @get(
        "/.well-known/oauth-authorization-server",
        summary="RFC 8414 authorization server metadata",
        operation_id="getAuthorizationServerMetadata",
    )
    async def metadata(self, settings: NamedDependency[Settings]) -> AuthorizationServerMetadata:
        base = settings.public_url
        return AuthorizationServerMetadata(
            issuer=base,
            authorization_endpoint=f"{base}/oauth/authorize",
            token_endpoint=f"{base}/oauth/token",
            revocation_endpoint=f"{base}/oauth/revoke",
            response_types_supported=["code"],
            grant_types_supported=["authorization_code", "refresh_token"],
            code_challenge_methods_supported=["S256"],
            token_endpoint_auth_methods_supported=["none", "client_secret_basic", "client_secret_post"],
            revocation_endpoint_auth_methods_supported=["none", "client_secret_basic", "client_secret_post"],
            scopes_supported=[SPACE_SCOPE, *SCOPES.names()],
            service_documentation=f"{base}/schema",
        )

    @get(
        "/oauth/authorize",
        summary="Start a login (browser): redirects to the identity provider",
        status_code=302,
        response_description="To the identity provider, or back to redirect_uri with ?error=...&state=...",
        operation_id="authorize",
        responses={
            400: error_page("Unknown client or unregistered redirect_uri (never redirected to)"),
            502: error_page("The identity provider does not answer"),
        },
    )
    async def authorize(
        self,
        login_ctx: NamedDependency[LoginContext],
        response_type: Annotated[str | None, QueryParameter(name="response_type", required=False)] = None,
        client_id: Annotated[str | None, QueryParameter(name="client_id", required=False)] = None,
        redirect_uri: Annotated[str | None, QueryParameter(name="redirect_uri", required=False)] = None,
        code_challenge: Annotated[str | None, QueryParameter(name="code_challenge", required=False)] = None,
        code_challenge_method: Annotated[
            str | None, QueryParameter(name="code_challenge_method", required=False)
        ] = None,
        state_: Annotated[str | None, QueryParameter(name="state", required=False)] = None,
        scope_: Annotated[str | None, QueryParameter(name="scope", required=False)] = None,
    ) -> Redirect:
        request = login.AuthorizeRequest(
            response_type, client_id, redirect_uri, code_challenge, code_challenge_method, state_, scope_
        )
        return go(await login.start(login_ctx, request), login_ctx.settings, status=302)

    @get(
        "/oauth/callback",
        summary="Where the identity provider sends the browser back: on to the second factor",
        status_code=303,
        response_description="On to the second factor, or back to redirect_uri with ?error=access_denied",
        operation_id="oauthCallback",
        responses={400: error_page("The provider's answer is unexpected, replayed, or fails a check")},
    )
    async def callback(
        self,
        login_ctx: NamedDependency[LoginContext],
        cookie: LoginCookie = None,
        code: Annotated[str | None, QueryParameter(name="code", required=False)] = None,
        state_: Annotated[str | None, QueryParameter(name="state", required=False)] = None,
        error: Annotated[str | None, QueryParameter(name="error", required=False)] = None,
    ) -> Redirect:
        return go(await login.callback(login_ctx, cookie, state=state_, code=code, error=error), login_ctx.settings)

    @post(
        "/oauth/token",
        status_code=200,
        summary="Exchange a code or a refresh token (form-encoded)",
        operation_id="token",
        responses=OAUTH_ERRORS,
    )
    async def token(
        self,
        request: Request[Any, Any, Any],
        settings: NamedDependency[Settings],
        tokens: NamedDependency[AccessTokens],
        data: Annotated[TokenRequest, Form],
    ) -> Response[TokenResponse]:
        answer = await oauth.token(settings, tokens, form=data, basic=_basic(request))
        return Response(answer, headers=NO_STORE)

    @post(
        "/oauth/revoke",
        status_code=200,
        summary="RFC 7009 token revocation",
        operation_id="revokeToken",
        responses=OAUTH_ERRORS,
    )
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        settings: NamedDependency[Settings],
        tokens: NamedDependency[AccessTokens],
        data: Annotated[RevokeRequest, Form],
    ) -> Response[RevokeResponse]:
        await oauth.revoke(settings, tokens, form=data, basic=_basic(request))
        return Response(RevokeResponse(), headers=NO_STORE)

    @get(
        "/oauth/logout",
        summary="Sign out at the identity provider too (browser)",
        status_code=302,
        response_description="To the provider's end-session page, or to /login/logged-out",
        operation_id="logout",
    )
    async def logout(self, login_ctx: NamedDependency[LoginContext], cookie: LoginCookie = None) -> Redirect:
        return go(await login.logout(login_ctx, cookie), login_ctx.settings, status=302)


def relying_party_key_routes(settings: Settings) -> list[ControllerRouterHandler]:
    """``GET /oauth/rp-jwks``: the public half of the FranceConnect+ decryption key (``ens.auth.fcplus``).

    Mounted only when ``ENS_OIDC_ENCRYPTION_KEY`` is set, so that without it the path is a plain 404.
    The key is read when the app is built: a missing or unusable key stops the service at start-up.
    """
    key = encryption_key_from_settings(settings)
    if key is None:
        return []
    document = JsonWebKeySet(keys=public_jwks(key)["keys"])

    @get(
        "/oauth/rp-jwks",
        tags=["oauth"],
        summary="Public encryption keys of the relying party (FranceConnect+ encrypts tokens to them)",
        opt=PUBLIC,
        operation_id="getRelyingPartyJwks",
    )
    async def relying_party_jwks() -> Response[JsonWebKeySet]:
        return Response(document, headers={"Cache-Control": f"public, max-age={JWKS_CACHE_SECONDS}"})

    return [relying_party_jwks]
