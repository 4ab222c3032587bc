"""HTTP routes of the login and of the OAuth 2.0 server (thin: one service call each).

Browser pages answer HTML (a :class:`LoginFailed` becomes an error page, never a redirect to an
unchecked address); the token and revocation endpoints answer RFC 6749 JSON; ``/v1`` routes
answer problem+json like the rest of the API.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import unquote
from uuid import UUID

import httpx
import msgspec
from litestar import Controller, Request, Response, Router, delete, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType, RequestEncodingType
from litestar.params import Body, CookieParameter, FromPath, JSONBody, QueryParameter
from litestar.response import Redirect
from litestar.status_codes import HTTP_204_NO_CONTENT
from litestar.types import ControllerRouterHandler

from ens.auth import app_grants, login, oauth, pages
from ens.auth.app_grants import AppGrantRead, RecoveryCodesRead, RecoveryCodesRenewal
from ens.auth.clients import AppRead, list_catalogue
from ens.auth.dev_idp import DevIdentityProvider, DevProvider
from ens.auth.errors import LoginFailed, OAuthError
from ens.auth.login import LoginContext, Screen
from ens.auth.oauth import RevokeRequest, TokenRequest
from ens.auth.scopes import SPACE_SCOPE, all_app_scopes
from ens.auth.tokens import AccessTokens
from ens.auth.upstream import Upstream
from ens.core.api import Page
from ens.core.mail import Mailer
from ens.core.settings import Settings
from ens.spaces.caller import Caller
from ens.spaces.door import Access, Need

LOGIN_COOKIE = "ens_login"
LOGIN_COOKIE_MAX_AGE = 30 * 60

# Login pages: never cached, never framed (the consent button must not be clickjacked).
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

LoginCookie = Annotated[str | None, CookieParameter(name=LOGIN_COOKIE, required=False)]


class CodeForm(msgspec.Struct, kw_only=True):
    csrf: str | None = None
    code: str | None = None


class CsrfForm(msgspec.Struct, kw_only=True):
    csrf: str | None = None


class ConsentForm(msgspec.Struct, kw_only=True):
    csrf: str | None = None
    decision: str | None = None


def html(body: str, status: int = 200) -> Response[str]:
    return Response(body, status_code=status, media_type=MediaType.HTML, headers=_PAGE_HEADERS)


def render(screen: Screen) -> Response[str]:
    """The page for where the login attempt is."""
    if screen.kind == "enrol" and screen.enrolment is not None:
        e = screen.enrolment
        return html(pages.enrol_page(e.qr_svg, e.otpauth_uri, e.secret, screen.csrf, screen.error))
    if screen.kind == "otp":
        status = 200 if screen.error is None else 400
        return html(pages.otp_page(screen.csrf, screen.error, screen.info, screen.email_hint), status)
    if screen.kind == "lost_email":
        status = 200 if screen.error is None else 400
        return html(pages.email_only_page(screen.csrf, screen.email_hint or "", screen.error, screen.info), status)
    if screen.kind == "recovery_codes":
        return html(pages.recovery_codes_page(screen.codes, screen.csrf))
    if screen.kind == "recovery_codes_done":
        return html(pages.recovery_codes_page([], screen.csrf))
    if screen.kind == "reopen":
        return html(pages.reopen_page(screen.csrf))
    if screen.kind == "consent" and screen.consent is not None:
        return html(pages.consent_page(screen.consent, screen.csrf))
    return html(pages.error_page("Connexion impossible", "Page inconnue."), 400)


def go(target: login.Redirect, settings: Settings, status: Literal[302, 303] = 303) -> Response[Any]:
    response: Response[Any] = Redirect(target.url, status_code=status, headers={"Cache-Control": "no-store"})
    if target.attempt_id is not None:
        response.set_cookie(
            Cookie(
                key=LOGIN_COOKIE,
                value=str(target.attempt_id),
                max_age=LOGIN_COOKIE_MAX_AGE,
                path="/",
                httponly=True,
                secure=settings.public_url.startswith("https://"),
                samesite="lax",
            )
        )
    return response


def _login_failed(request: Request[Any, Any, Any], exc: LoginFailed) -> Response[str]:
    return html(pages.error_page(exc.title, exc.detail), exc.status)


def _oauth_error(request: Request[Any, Any, Any], exc: OAuthError) -> Response[dict[str, str]]:
    headers = dict(_NO_STORE)
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


Form = Body(media_type=RequestEncodingType.URL_ENCODED)


class OAuthController(Controller):
    """The authorization server's endpoints."""

    path = "/"
    tags = ["oauth"]

    @get("/.well-known/oauth-authorization-server", summary="RFC 8414 authorization server metadata")
    async def metadata(self, settings: NamedDependency[Settings]) -> dict[str, Any]:
        base = settings.public_url
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "scopes_supported": [SPACE_SCOPE, *all_app_scopes()],
            "service_documentation": f"{base}/schema",
        }

    @get("/oauth/authorize", summary="Start a login (browser)", include_in_schema=True)
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
    ) -> Response[Any]:
        request = login.AuthorizeRequest(
            response_type, client_id, redirect_uri, code_challenge, code_challenge_method, state_, scope_
        )
        return go(await login.start(login_ctx, request), login_ctx.settings, status=302)

    @get("/oauth/callback", summary="Where the identity provider sends the browser back")
    async def callback(
        self,
        login_ctx: NamedDependency[LoginContext],
        cookie: LoginCookie = None,
        code: Annotated[str | None, QueryParameter(name="code", required=False)] = None,
        state_: Annotated[str | None, QueryParameter(name="state", required=False)] = None,
        error: Annotated[str | None, QueryParameter(name="error", required=False)] = None,
    ) -> Response[Any]:
        return go(await login.callback(login_ctx, cookie, state_, code, error), login_ctx.settings)

    @post("/oauth/token", status_code=200, summary="Exchange a code or a refresh token (form-encoded)")
    async def token(
        self,
        request: Request[Any, Any, Any],
        settings: NamedDependency[Settings],
        tokens: NamedDependency[AccessTokens],
        data: Annotated[TokenRequest, Form],
    ) -> Response[oauth.TokenResponse]:
        answer = await oauth.token(settings, tokens, data, _basic(request))
        return Response(answer, headers=_NO_STORE)

    @post("/oauth/revoke", status_code=200, summary="RFC 7009 token revocation")
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        settings: NamedDependency[Settings],
        tokens: NamedDependency[AccessTokens],
        data: Annotated[RevokeRequest, Form],
    ) -> Response[dict[str, str]]:
        await oauth.revoke(settings, tokens, data, _basic(request))
        return Response({}, headers=_NO_STORE)

    @get("/oauth/logout", summary="Sign out at the identity provider too (browser)")
    async def logout(self, login_ctx: NamedDependency[LoginContext], cookie: LoginCookie = None) -> Response[Any]:
        return go(await login.logout(login_ctx, cookie), login_ctx.settings, status=302)


class LoginController(Controller):
    """The HTML pages of the login (second factor, enrolment, recovery codes, consent)."""

    path = "/login"
    tags = ["login pages"]
    include_in_schema = False

    @get("/otp")
    async def otp_page(self, login_ctx: NamedDependency[LoginContext], cookie: LoginCookie = None) -> Response[str]:
        return render(await login.current_screen(login_ctx, cookie))

    @post("/otp", status_code=200)
    async def submit_code(
        self, login_ctx: NamedDependency[LoginContext], data: Annotated[CodeForm, Form], cookie: LoginCookie = None
    ) -> Response[Any]:
        outcome = await login.submit_code(login_ctx, cookie, data.csrf, data.code)
        return render(outcome) if isinstance(outcome, Screen) else go(outcome, login_ctx.settings)

    @post("/email-code", status_code=200)
    async def email_code(
        self, login_ctx: NamedDependency[LoginContext], data: Annotated[CsrfForm, Form], cookie: LoginCookie = None
    ) -> Response[str]:
        return render(await login.request_email_code(login_ctx, cookie, data.csrf))

    @post("/lost-factor", status_code=303)
    async def lost_factor(
        self, login_ctx: NamedDependency[LoginContext], data: Annotated[CsrfForm, Form], cookie: LoginCookie = None
    ) -> Response[Any]:
        return go(await login.lost_factor(login_ctx, cookie, data.csrf), login_ctx.settings)

    @post("/recovery-codes", status_code=303)
    async def recovery_codes_noted(
        self, login_ctx: NamedDependency[LoginContext], data: Annotated[CsrfForm, Form], cookie: LoginCookie = None
    ) -> Response[Any]:
        return go(await login.acknowledge_recovery_codes(login_ctx, cookie, data.csrf), login_ctx.settings)

    @post("/reopen", status_code=303)
    async def reopen(
        self, login_ctx: NamedDependency[LoginContext], data: Annotated[CsrfForm, Form], cookie: LoginCookie = None
    ) -> Response[Any]:
        return go(await login.reopen(login_ctx, cookie, data.csrf), login_ctx.settings)

    @get("/consent")
    async def consent_page(self, cookie: LoginCookie = None) -> Response[str]:
        return render(await login.consent_screen(cookie))

    @post("/consent", status_code=303)
    async def decide(
        self, login_ctx: NamedDependency[LoginContext], data: Annotated[ConsentForm, Form], cookie: LoginCookie = None
    ) -> Response[Any]:
        return go(await login.decide(login_ctx, cookie, data.csrf, data.decision), login_ctx.settings)

    @get("/logged-out")
    async def logged_out(self) -> Response[str]:
        return html(pages.logged_out_page())


class AppCatalogueController(Controller):
    path = "/v1/apps"
    tags = ["apps"]

    @get("/", summary="The catalogue of labelled apps")
    async def catalogue(self) -> Page[AppRead]:
        return Page(items=await list_catalogue(), next_cursor=None)


class SpaceGrantsController(Controller):
    """Apps connected to a space (under the space door)."""

    path = "/grants"
    tags = ["apps"]

    @get("/", opt={"need": Need("grants")}, summary="Apps connected to this space and their permissions")
    async def list_grants(self, access: Access) -> Page[AppGrantRead]:
        return Page(items=await app_grants.list_app_grants(access.space_id), next_cursor=None)

    @delete(
        "/{id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        opt={"need": Need("grants")},
        summary="Disconnect an app: its tokens stop working at once",
    )
    async def revoke_grant(self, access: Access, id: FromPath[UUID]) -> None:
        await app_grants.revoke_app_grant(access.space_id, id)


class RecoveryCodesController(Controller):
    """Behind the account door (``/v1/me``)."""

    path = "/v1/me/otp"
    tags = ["account"]

    @post("/recovery-codes", status_code=201, summary="New recovery codes (the old ones die)")
    async def renew(
        self,
        request: Request[Caller, Any, Any],
        login_ctx: NamedDependency[LoginContext],
        data: JSONBody[RecoveryCodesRenewal],
    ) -> Response[RecoveryCodesRead]:
        codes = await app_grants.renew_recovery_codes(login_ctx, request.user.account_id, data.code)
        return Response(codes, status_code=201, headers=_NO_STORE)


@dataclass
class AuthWiring:
    """What ``ens.app.create_app`` mounts for the login. ``upstream_transport`` is for tests."""

    settings: Settings
    upstream_transport: httpx.AsyncBaseTransport | None = None

    def __post_init__(self) -> None:
        self.context = LoginContext(
            settings=self.settings,
            upstream=Upstream(self.settings, self.upstream_transport),
            mailer=Mailer(self.settings),
        )

    @property
    def dependencies(self) -> dict[str, Provide]:
        context = self.context
        return {"login_ctx": Provide(lambda: context, sync_to_thread=False)}

    @property
    def routes(self) -> list[ControllerRouterHandler]:
        """Public routes: the OAuth endpoints, the login pages, the catalogue (and the dev provider)."""
        handlers: list[ControllerRouterHandler] = [
            Router(
                path="/",
                route_handlers=[OAuthController, LoginController],
                exception_handlers={LoginFailed: _login_failed, OAuthError: _oauth_error},
            ),
            AppCatalogueController,
        ]
        if self.settings.uses_dev_idp:
            provider = DevProvider(self.settings)
            handlers.append(
                Router(
                    path="/",
                    route_handlers=[DevIdentityProvider],
                    dependencies={"dev_provider": Provide(lambda: provider, sync_to_thread=False)},
                )
            )
        return handlers

    @property
    def me_routes(self) -> list[ControllerRouterHandler]:
        return [RecoveryCodesController]

    @staticmethod
    def space_routes() -> list[ControllerRouterHandler]:
        return [SpaceGrantsController]
