"""The authorization server's endpoints: metadata, authorize, callback, token, revoke, logout, and
the relying party's public encryption keys (FranceConnect+).

The token and revocation endpoints answer RFC 6749 JSON; the browser legs redirect.
"""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from typing import Annotated, Any
from urllib.parse import parse_qsl, unquote_plus

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.handlers import BaseRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import QueryParameter
from litestar.response import Redirect
from litestar.types import ControllerRouterHandler, ExceptionHandlersMap

from ens.auth import client_keys, login, oauth
from ens.auth.errors import OAuthError, error_description
from ens.auth.fcplus import encryption_key_from_settings, public_jwks
from ens.auth.login import LoginContext
from ens.auth.oauth import CLIENT_AUTH_METHODS
from ens.auth.routes.login_pages import (
    NO_STORE,
    Form,
    LoginCookie,
    error_page,
    go,
    known_browser_cookie,
    malformed_form,
    render,
)
from ens.auth.schemas import (
    AuthorizationServerMetadata,
    CsrfForm,
    JsonWebKeySet,
    OAuthErrorRead,
    RevokeRequest,
    RevokeResponse,
    TokenRequest,
    TokenResponse,
)
from ens.auth.tokens import AccessTokens
from ens.core.api import PUBLIC, get_and_head
from ens.core.scopes import SCOPES
from ens.core.settings import Settings
from ens.spaces.caller import PROFESSIONAL_SCOPE, SPACE_SCOPE
from ens.spaces.door import request_id_of

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
    extra = {"WWW-Authenticate": 'Basic realm="ens"'} if exc.status == 401 else None
    return oauth_error_response(exc.error, exc.detail, status=exc.status, headers=extra)


def oauth_error_response(
    error: str, description: str, *, status: int, headers: dict[str, str] | None = None
) -> Response[dict[str, str]]:
    """RFC 6749 §5.2's answer, never stored by a cache (§5.1)."""
    headers = {**NO_STORE, **(headers or {})}
    return Response(
        {"error": error, "error_description": error_description(description)}, status_code=status, headers=headers
    )


FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
# Named in the OpenAPI description of both endpoints.
MALFORMED_REQUESTS = (
    "A malformed request — a body that is not `application/x-www-form-urlencoded` UTF-8, a parameter "
    "given more than once (RFC 6749 §3.1, §3.2), an oversize body (413) — is answered "
    '`{"error": "invalid_request", "error_description": ...}` (RFC 6749 §5.2) with `Cache-Control: no-store`.'
)


async def well_formed_form(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The token and revocation endpoints' guard: a form-encoded UTF-8 body naming each parameter once.

    RFC 6749 §3.1, §3.2 and Appendix B. It runs before litestar decodes the form, which would read a
    body of any content type as a form, replace undecodable bytes silently, and turn a repeated
    parameter into a list.
    """
    if not isinstance(connection, Request):
        return
    media_type, options = connection.content_type
    if media_type != FORM_MEDIA_TYPE or options.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
        raise OAuthError("invalid_request", f"The body must be {FORM_MEDIA_TYPE} (UTF-8).")
    try:
        pairs = parse_qsl((await connection.body()).decode(), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as exc:
        raise OAuthError("invalid_request", "The body is not UTF-8 (RFC 6749 Appendix B).") from exc
    repeated = sorted(name for name, times in Counter(name for name, _ in pairs).items() if times > 1)
    if repeated:
        shown = ", ".join(name[:40] for name in repeated[:5])
        raise OAuthError("invalid_request", f"A parameter must not be repeated: {shown}.")


def _repeated(query: bytes) -> tuple[str, ...]:
    """The parameters a query names more than once (litestar keeps the last one of each)."""
    names = Counter(name for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True))
    return tuple(sorted(name[:40] for name, times in names.items() if times > 1))[:5]


def malformed_request(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, str]]:
    """What litestar refuses while reading the form, in RFC 6749 JSON rather than problem+json."""
    if isinstance(exc, RequestEntityTooLarge):
        return oauth_error(request, OAuthError("invalid_request", "The request body is too large.", 413))
    return oauth_error(request, OAuthError("invalid_request", "The request's parameters are malformed."))


# Both endpoints speak RFC 6749 JSON for every refusal, whatever layer refuses.
FORM_ENDPOINT_ERRORS: ExceptionHandlersMap = {
    ValidationException: malformed_request,
    RequestEntityTooLarge: malformed_request,
}


def _basic(request: Request[Any, Any, Any]) -> tuple[str, str] | None:
    """RFC 6749 §2.3.1 client credentials (form-urlencoded, then base64)."""
    if len(request.headers.getall("authorization", [])) > 1:
        raise OAuthError("invalid_request", "Send one Authorization header.")
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client", "Malformed Basic credentials.", 401) from exc
    user, password = unquote_plus(user), unquote_plus(password)
    if not sep or not (user + password).isprintable():
        # A control character (NUL reached the database, a 500: an outside audit) names no client.
        raise OAuthError("invalid_client", "Malformed Basic credentials.", 401)
    return user, password


class OAuthController(Controller):
    """The authorization server's endpoints."""

    path = "/"
    tags = ["oauth"]
    opt = PUBLIC

    @get_and_head(
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
            response_modes_supported=["query"],
            token_endpoint_auth_methods_supported=[*CLIENT_AUTH_METHODS],
            token_endpoint_auth_signing_alg_values_supported=[*client_keys.ALGORITHMS],
            revocation_endpoint_auth_methods_supported=[*CLIENT_AUTH_METHODS],
            revocation_endpoint_auth_signing_alg_values_supported=[*client_keys.ALGORITHMS],
            scopes_supported=[SPACE_SCOPE, PROFESSIONAL_SCOPE, *SCOPES.names()],
            service_documentation=f"{base}/schema",
            authorization_response_iss_parameter_supported=True,
        )

    @get(
        "/oauth/authorize",
        summary="Start a login (browser): redirects to the identity provider",
        description="`redirect_uri` must match one registered for the client exactly, except that on a "
        "loopback IP literal (`http://127.0.0.1`, `http://[::1]`) any port is accepted (RFC 8252 §7.3); "
        "scheme, host, path and query still match exactly. S256 PKCE is mandatory.",
        status_code=302,
        response_description="To the identity provider, or back to redirect_uri with ?error=...&state=...&iss=... "
        "(RFC 9207: iss is this server's issuer, as on the code's answer)",
        operation_id="authorize",
        responses={
            400: error_page("Unknown client or unregistered redirect_uri (never redirected to)"),
            502: error_page("The identity provider does not answer"),
        },
    )
    async def authorize(
        self,
        cookie: LoginCookie,
        request: Request[Any, Any, Any],
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
        asked = login.AuthorizeRequest(
            response_type,
            client_id,
            redirect_uri,
            code_challenge,
            code_challenge_method,
            state_,
            scope_,
            repeated=_repeated(request.scope.get("query_string", b"")),
        )
        return go(await login.start(login_ctx, asked, cookie), login_ctx.settings, status=302, cookie=cookie)

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
        request: Request[Any, Any, Any],
        login_ctx: NamedDependency[LoginContext],
        cookie: LoginCookie,
        code: Annotated[str | None, QueryParameter(name="code", required=False)] = None,
        state_: Annotated[str | None, QueryParameter(name="state", required=False)] = None,
        error: Annotated[str | None, QueryParameter(name="error", required=False)] = None,
    ) -> Redirect:
        browser = known_browser_cookie(request, login_ctx.settings)
        target = await login.callback(login_ctx, cookie, state=state_, code=code, error=error, browser=browser)
        return go(target, login_ctx.settings, cookie=cookie)

    @get(
        "/oauth/pro/callback",
        summary="Where the professionals' identity provider sends the browser back: on to the software",
        description="Pro Santé Connect (or the development provider for professionals) authenticated the "
        "professional with their CPS card or e-CPS app: no one-time code is asked. The ID token's `acr` "
        "must reach `ENS_PRO_OIDC_ACR`; the userinfo's `SubjectNameID` (RPPS or ADELI) and "
        "`SubjectRefPro` (professions) name the professional. Then back to the software's redirect_uri "
        "with `?code=...&state=...`.",
        status_code=303,
        response_description="Back to the professional software's redirect_uri with ?code=... (or ?error=...)",
        operation_id="oauthProCallback",
        responses={400: error_page("The provider's answer is unexpected, replayed, or fails a check")},
    )
    async def pro_callback(
        self,
        login_ctx: NamedDependency[LoginContext],
        cookie: LoginCookie,
        code: Annotated[str | None, QueryParameter(name="code", required=False)] = None,
        state_: Annotated[str | None, QueryParameter(name="state", required=False)] = None,
        error: Annotated[str | None, QueryParameter(name="error", required=False)] = None,
    ) -> Redirect:
        target = await login.pro_callback(login_ctx, cookie, state=state_, code=code, error=error)
        return go(target, login_ctx.settings, cookie=cookie)

    @post(
        "/oauth/token",
        status_code=200,
        summary="Exchange a code or a refresh token (form-encoded)",
        description=MALFORMED_REQUESTS,
        guards=[well_formed_form],
        exception_handlers=FORM_ENDPOINT_ERRORS,
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
        answer = await oauth.token(
            settings, tokens, form=data, basic=_basic(request), request_id=request_id_of(request.scope)
        )
        return Response(answer, headers=NO_STORE)

    @post(
        "/oauth/revoke",
        status_code=200,
        summary="RFC 7009 token revocation",
        description="Revoking an access token or a refresh token revokes the grant (session or app "
        "authorization) both belong to. `token_type_hint` only says where to look first: a token not "
        "found as that type is looked for as the other. An access token past its expiry but otherwise "
        "ours (signature, issuer, audience) still revokes its grant. An unknown or invalid token is not "
        "an error (200); a token issued to another client is refused, `invalid_grant` (400), and revokes "
        "nothing. " + MALFORMED_REQUESTS,
        guards=[well_formed_form],
        exception_handlers=FORM_ENDPOINT_ERRORS,
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
        await oauth.revoke(settings, tokens, form=data, basic=_basic(request), request_id=request_id_of(request.scope))
        return Response(RevokeResponse(), headers=NO_STORE)

    @get(
        "/oauth/logout",
        summary="The page a logout starts from (browser)",
        operation_id="logoutPage",
        media_type="text/html",
        description="An HTML page holding the logout form (a POST to `/oauth/logout` with the login's "
        "CSRF token); opening it signs nobody out. Without a login in this browser, an error page.",
        responses={400: error_page("No login in this browser")},
    )
    async def logout_page(self, cookie: LoginCookie) -> Response[str]:
        return render(await login.logout_screen(cookie))

    @post(
        "/oauth/logout",
        status_code=303,
        summary="Sign out at the identity provider too (browser form)",
        description="Posted from the page of `GET /oauth/logout` with its `csrf` field (else 403). Redirects "
        "to the provider's `end_session_endpoint` with `id_token_hint`, `state` and "
        "`post_logout_redirect_uri` = `{ENS_PUBLIC_URL}/login/logged-out`, which says the person is signed "
        "out only when the provider brings back that `state` to the browser that posted the form.",
        exception_handlers={ValidationException: malformed_form},
        response_description="To the provider's end-session page, or to /login/logged-out",
        operation_id="logout",
        responses={
            400: error_page("No login in this browser, or a form that cannot be read"),
            403: error_page("The form is not this login's (CSRF)"),
        },
    )
    async def logout(
        self, login_ctx: NamedDependency[LoginContext], data: Annotated[CsrfForm, Form], cookie: LoginCookie
    ) -> Redirect:
        return go(await login.logout(login_ctx, cookie, csrf=data.csrf), login_ctx.settings)


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
