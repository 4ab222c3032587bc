"""The login's HTML pages (second factor, enrolment, recovery codes, consent) and what every
browser leg of the login shares: the attempt cookie, page headers, redirects.

A :class:`LoginFailed` becomes an error page, never a redirect to an unchecked address.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.enums import MediaType, RequestEncodingType
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.params import Body, QueryParameter
from litestar.response import Redirect
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE

from ens.auth import login, otp
from ens.auth.errors import LoginFailed
from ens.auth.login import LoginContext, Screen, pages
from ens.auth.login.attempt import cookie_naming
from ens.auth.schemas import CodeForm, ConsentForm, CsrfForm, ReopenForm
from ens.core.api import PUBLIC, repeated_query_parameters
from ens.core.settings import Settings
from ens.spaces.door.guards import request_id_of

LOGIN_COOKIE = "ens_login"
# Over HTTPS the cookie carries the __Host- prefix: the browser takes it only Secure, for the whole
# site and from this host alone, so a sibling subdomain can neither plant one naming its own login
# attempt nor shadow ours (cookie tossing). Plain HTTP (make run) cannot: browsers refuse the prefix
# without Secure.
SECURE_LOGIN_COOKIE = "__Host-ens_login"
LOGIN_COOKIE_MAX_AGE = 30 * 60


def login_cookie_name(settings: Settings) -> str:
    return SECURE_LOGIN_COOKIE if settings.public_url.startswith("https://") else LOGIN_COOKIE


# The browser's known-browser token (ens.auth.otp.browsers), set once it passes a second factor:
# there, the person's wrong codes count on the browser's own lock, not the account's. __Host- over
# HTTPS, as the login cookie; kept as long as the browser is remembered from its last login.
BROWSER_COOKIE = "ens_browser"
SECURE_BROWSER_COOKIE = "__Host-ens_browser"


def browser_cookie_name(settings: Settings) -> str:
    return SECURE_BROWSER_COOKIE if settings.public_url.startswith("https://") else BROWSER_COOKIE


def known_browser_cookie(request: Request[Any, Any, Any], settings: Settings) -> str | None:
    return request.cookies.get(browser_cookie_name(settings))


def remembered(response: Response[Any], outcome: Screen | login.Redirect, settings: Settings) -> Response[Any]:
    """``response``, setting the browser's known-browser cookie if its second factor just passed."""
    if outcome.known_browser is not None:
        response.set_cookie(
            Cookie(
                key=browser_cookie_name(settings),
                value=outcome.known_browser,
                max_age=int(otp.BROWSER_KEPT.total_seconds()),
                path="/",
                httponly=True,
                secure=settings.public_url.startswith("https://"),
                samesite="lax",
            )
        )
    return response


def login_cookie(request: Request[Any, Any, Any], login_ctx: NamedDependency[LoginContext]) -> str | None:
    """The dependency ``cookie`` of the login's routes: the browser's login cookie, by its name.
    After ``login_ctx``, not beside it: two dependencies side by side are resolved in a task group
    (``tests/core/test_dependencies_resolve_one_after_another.py``)."""
    return request.cookies.get(login_cookie_name(login_ctx.settings))


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

# The browser's login cookie (``login_cookie_of``), whichever its name.
LoginCookie = NamedDependency[str | None]

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


def html(body: str, status: int = 200) -> Response[str]:
    return Response(body, status_code=status, media_type=MediaType.HTML, headers=pages.PAGE_HEADERS)


def render(screen: Screen) -> Response[str]:
    """The page for where the login attempt is."""
    if screen.kind == "enrol" and screen.enrolment is not None:
        e = screen.enrolment
        page = pages.enrol_page(e.qr_svg, e.otpauth_uri, secret=e.secret, csrf=screen.csrf, error=screen.error)
        return html(page, 200 if screen.error is None else 400)  # a refused code: 400, as on the other forms
    status = 200 if screen.error is None and screen.unsent is None else 400
    if screen.kind == "otp":
        page = pages.otp_page(
            screen.csrf,
            screen.error,
            info=screen.info,
            unsent=screen.unsent,
            email_hint=screen.email_hint,
            app_name=screen.app_name,
        )
        return html(page, status)
    if screen.kind == "lost_email":
        page = pages.email_only_page(
            screen.csrf, screen.email_hint or "", error=screen.error, info=screen.info, unsent=screen.unsent
        )
        return html(page, status)
    if screen.kind == "recovery_codes":
        return html(pages.recovery_codes_page(screen.codes, screen.csrf))
    if screen.kind == "recovery_codes_done":
        return html(pages.recovery_codes_seen_page(screen.csrf))
    if screen.kind == "reopen":
        return html(pages.reopen_page(screen.csrf))
    if screen.kind == "consent" and screen.consent is not None:
        return html(pages.consent_page(screen.consent, screen.csrf))
    if screen.kind == "logout":
        return html(pages.logout_page(screen.csrf))
    return html(pages.error_page("Connexion impossible", "Page inconnue."), 400)


def error_page(description: str) -> ResponseSpec:
    """An error the browser legs of the login show as an HTML page (:func:`login_failed`), for
    ``responses=`` in the OpenAPI document."""
    return ResponseSpec(str, media_type=MediaType.HTML, description=description, generate_examples=False)


def go(
    target: login.Redirect, settings: Settings, *, status: Literal[302, 303] = 303, cookie: str | None = None
) -> Redirect:
    """Where the login goes next; an attempt it names is put first in the browser's cookie, beside
    the others that ``cookie`` (the request's) names, or those the step chose to keep
    (``target.cookie``): a second login does not end the first."""
    response = Redirect(target.url, status_code=status, headers={"Cache-Control": "no-store"})
    if target.browser_token is not None:
        response.set_cookie(
            Cookie(
                key=login_cookie_name(settings),
                value=target.cookie if target.cookie is not None else cookie_naming(target.browser_token, cookie),
                max_age=LOGIN_COOKIE_MAX_AGE,
                path="/",
                httponly=True,
                secure=settings.public_url.startswith("https://"),
                samesite="lax",
            )
        )
    return response


def login_failed(request: Request[Any, Any, Any], exc: LoginFailed) -> Response[str]:
    return html(pages.error_page(exc.title, exc.detail), exc.status)


def malformed_form(request: Request[Any, Any, Any], exc: ValidationException) -> Response[str]:
    """A browser form litestar cannot read (a field given twice...), or an address whose query it
    cannot (``?notice=bad``): a page, not problem+json."""
    if request.method == "GET":
        return html(pages.error_page(*BAD_LINK), 400)
    return html(
        pages.error_page("Formulaire non valable", "Le formulaire envoyé n'est pas valable. Rechargez la page."), 400
    )


def refused_request(request: Request[Any, Any, Any], exc: HTTPException) -> Response[str]:
    """What litestar refuses before a login page reads its form (a body too large: 413): a page too."""
    if exc.status_code == HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        return html(
            pages.error_page(
                "Formulaire trop volumineux", "Le formulaire envoyé est trop volumineux. Rechargez la page."
            ),
            exc.status_code,
        )
    return html(pages.error_page("Demande non valable", "Cette demande n'a pas pu être traitée."), exc.status_code)


BAD_LINK = ("Lien non valable", "Le lien suivi n'est pas valable. Revenez à l'application pour vous connecter.")


async def one_value_per_name(request: Request[Any, Any, Any]) -> None:
    """A login page's address names what the page reads once (``?notice=unsent&notice=...``: which?)."""
    if repeated_query_parameters(request):
        raise LoginFailed(BAD_LINK[1], title=BAD_LINK[0])


class LoginController(Controller):
    """The HTML pages of the login (second factor, enrolment, recovery codes, consent)."""

    path = "/login"
    tags = ["login pages"]
    opt = PUBLIC
    include_in_schema = False
    exception_handlers = {ValidationException: malformed_form, HTTPException: refused_request}
    before_request = one_value_per_name  # type: ignore[assignment]  # a hook, not a method: litestar calls it with the request

    @get("/otp")
    async def otp_page(
        self,
        login_ctx: NamedDependency[LoginContext],
        cookie: LoginCookie,
        notice: Annotated[Literal["unsent"] | None, QueryParameter(required=False)] = None,
    ) -> Response[str]:
        unsent = login.CODE_NOT_SENT if notice == "unsent" else None
        return render(await login.current_screen(login_ctx, cookie, unsent=unsent))

    @post("/otp", status_code=200)
    async def submit_code(
        self,
        request: Request[Any, Any, Any],
        login_ctx: NamedDependency[LoginContext],
        data: Annotated[CodeForm, Form],
        cookie: LoginCookie,
    ) -> Response[Any]:
        settings = login_ctx.settings
        browser = known_browser_cookie(request, settings)
        outcome = await login.submit_code(login_ctx, cookie, csrf=data.csrf, code=data.code, browser=browser)
        response = render(outcome) if isinstance(outcome, Screen) else go(outcome, settings)
        return remembered(response, outcome, settings)

    @post("/email-code", status_code=200)
    async def email_code(
        self,
        request: Request[Any, Any, Any],
        login_ctx: NamedDependency[LoginContext],
        data: Annotated[CsrfForm, Form],
        cookie: LoginCookie,
    ) -> Response[str]:
        browser = known_browser_cookie(request, login_ctx.settings)
        return render(await login.request_email_code(login_ctx, cookie, csrf=data.csrf, browser=browser))

    @post("/lost-factor", status_code=303)
    async def lost_factor(
        self, login_ctx: NamedDependency[LoginContext], data: Annotated[CsrfForm, Form], cookie: LoginCookie
    ) -> Response[Any]:
        return go(await login.lost_factor(login_ctx, cookie, csrf=data.csrf), login_ctx.settings)

    @post("/recovery-codes", status_code=303)
    async def recovery_codes_noted(
        self, login_ctx: NamedDependency[LoginContext], data: Annotated[CsrfForm, Form], cookie: LoginCookie
    ) -> Response[Any]:
        return go(await login.acknowledge_recovery_codes(login_ctx, cookie, csrf=data.csrf), login_ctx.settings)

    @post("/reopen", status_code=303)
    async def reopen(
        self, login_ctx: NamedDependency[LoginContext], data: Annotated[ReopenForm, Form], cookie: LoginCookie
    ) -> Response[Any]:
        return go(await login.reopen(login_ctx, cookie, csrf=data.csrf, decision=data.decision), login_ctx.settings)

    @get("/consent")
    async def consent_page(self, cookie: LoginCookie) -> Response[str]:
        return render(await login.consent_screen(cookie))

    @post("/consent", status_code=303)
    async def decide(
        self,
        request: Request[Any, Any, Any],
        login_ctx: NamedDependency[LoginContext],
        data: Annotated[ConsentForm, Form],
        cookie: LoginCookie,
    ) -> Response[Any]:
        return go(
            await login.decide(
                login_ctx,
                cookie,
                csrf=data.csrf,
                decision=data.decision,
                space=data.space,
                request_id=request_id_of(request.scope),
            ),
            login_ctx.settings,
        )

    @get("/logged-out")
    async def logged_out(
        self,
        login_ctx: NamedDependency[LoginContext],
        cookie: LoginCookie,
        state_: Annotated[str | None, QueryParameter(name="state", required=False)] = None,
    ) -> Response[str]:
        await login.confirm_logout(login_ctx.settings, cookie, state=state_)
        return html(pages.logged_out_page())
