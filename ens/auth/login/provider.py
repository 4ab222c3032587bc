"""The legs at the identity provider: the start (``/oauth/authorize``), the callback, the logout and
its return."""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import msgspec

from ens.auth.clients import Client, find_client
from ens.auth.errors import LoginFailed, UpstreamRefused
from ens.auth.login.attempt import (
    ATTEMPT_TTL,
    Attempt,
    LoginContext,
    Redirect,
    Screen,
    browser_attempts,
    browser_key,
    check_csrf,
    cookie_with_new_attempt,
    error_redirect,
    new_browser_token,
    opened_by,
    provider_refusal,
    seal,
    state_key,
    state_keys,
    unseal,
    update_attempt,
)
from ens.auth.login.second_factor import to_second_factor, try_email_code
from ens.auth.tables import LoginAttempt
from ens.core import clock
from ens.core.api import EMAIL_ADDRESS
from ens.core.db import fetch, fetch_one, one_of
from ens.core.mail import carried_as_itself
from ens.core.scopes import SCOPES
from ens.core.settings import Settings
from ens.spaces import service as spaces
from ens.spaces.caller import PROFESSIONAL_SCOPE, SPACE_SCOPE

log = logging.getLogger("ens.auth.login")

_PKCE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


# An app's state is an opaque value it gets back (a random token, a short JSON): ample room, but
# not 60 KB stored with each login attempt an anonymous client may start.
MAX_STATE_CHARACTERS = 2048


@dataclass(frozen=True)
class AuthorizeRequest:
    response_type: str | None
    client_id: str | None
    redirect_uri: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    state: str | None
    scope: str | None
    # The parameters the query gave more than once (RFC 6749 §3.1: each at most once).
    repeated: tuple[str, ...] = ()


async def start(ctx: LoginContext, request: AuthorizeRequest, cookie: str | None = None) -> Redirect:
    """Check the app's request and send the browser to the identity provider; ``cookie``: the
    browser's login cookie, which the new login joins (:func:`cookie_with_new_attempt`).

    An unknown client or a redirect URI that is not registered is never redirected to (an error page
    instead, RFC 6749 §4.1.2.1); other errors go back to the app as ``?error=...``.
    """
    if {"client_id", "redirect_uri"} & set(request.repeated):
        # Which of them is the app's? Nothing is redirected to a value that may be someone else's.
        raise LoginFailed("La demande de connexion de l'application est mal formée.", title="Demande refusée")
    client = await find_client(request.client_id or "")
    if client is None:
        raise LoginFailed("Cette application n'est pas connue de l'espace santé.", title="Application inconnue")
    if not request.redirect_uri or not client.accepts_redirect(request.redirect_uri):
        raise LoginFailed(
            "L'adresse de retour demandée n'est pas enregistrée pour cette application.",
            title="Adresse de retour refusée",
        )
    redirect_uri, state = request.redirect_uri, request.state
    if request.repeated:
        return error_redirect(
            redirect_uri,
            "invalid_request",
            description=f"a parameter must not be repeated: {', '.join(request.repeated)}",
            state=None if "state" in request.repeated else state,
            issuer=ctx.settings.public_url,
        )
    if state is not None and len(state) > MAX_STATE_CHARACTERS:
        # Kept with the login attempt until the app gets it back: not echoed, not stored.
        return error_redirect(
            redirect_uri,
            "invalid_request",
            description=f"state is longer than {MAX_STATE_CHARACTERS} characters",
            state=None,
            issuer=ctx.settings.public_url,
        )
    if not request.response_type:
        # A required parameter missing is invalid_request; unsupported_response_type is for a value
        # ENS does not serve (RFC 6749 §4.1.2.1).
        return error_redirect(
            redirect_uri,
            "invalid_request",
            description="response_type is required",
            state=state,
            issuer=ctx.settings.public_url,
        )
    if request.response_type != "code":
        return error_redirect(
            redirect_uri,
            "unsupported_response_type",
            description="response_type must be code",
            state=state,
            issuer=ctx.settings.public_url,
        )
    if request.code_challenge_method != "S256" or not _PKCE_CHALLENGE.fullmatch(request.code_challenge or ""):
        # RFC 7636 §4.4.1; plain is refused: a S256 challenge is mandatory.
        return error_redirect(
            redirect_uri,
            "invalid_request",
            description="PKCE with code_challenge_method=S256 is required",
            state=state,
            issuer=ctx.settings.public_url,
        )
    scopes = _requested_scopes(client, request.scope)
    if scopes is None:
        return error_redirect(
            redirect_uri,
            "invalid_scope",
            description="a requested scope is not allowed for this client",
            state=state,
            issuer=ctx.settings.public_url,
        )
    upstream = ctx.upstream
    if client.kind == "professional":
        # A professional software's login goes to the professionals' provider (Pro Santé Connect).
        if ctx.pro_upstream is None:
            raise LoginFailed(
                "La connexion des professionnels de santé n'est pas configurée sur ce service.",
                title="Connexion des professionnels indisponible",
            )
        upstream = ctx.pro_upstream
    attempt_id, browser_token = uuid.uuid4(), new_browser_token()
    upstream_state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    try:
        url = await upstream.authorization_url(upstream_state, nonce, verifier=verifier)
    except UpstreamRefused as exc:
        log.warning("identity provider unavailable: %s", exc.detail)
        raise LoginFailed("Le service d'identité ne répond pas. Réessayez dans un instant.", 502) from exc
    now = clock.now()
    await LoginAttempt.insert(
        LoginAttempt(
            id=attempt_id,
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            client_state=state,
            code_challenge=request.code_challenge,
            scopes=" ".join(scopes),
            upstream_state=state_key(ctx.settings, upstream_state),
            upstream_nonce=seal(ctx.settings, attempt_id, nonce),
            upstream_verifier=seal(ctx.settings, attempt_id, verifier),
            browser_key=browser_key(browser_token),
            step="upstream",
            recovering=False,
            created_at=now,
            expires_at=now + ATTEMPT_TTL,
        )
    )
    return Redirect(url, browser_token=browser_token, cookie=await cookie_with_new_attempt(browser_token, cookie))


def _requested_scopes(client: Client, scope: str | None) -> list[str] | None:
    requested = sorted(set((scope or "").split())) or sorted(client.allowed_scopes)
    if not set(requested) <= client.allowed_scopes:
        return None
    if client.is_first_party:
        return requested if requested == [SPACE_SCOPE] else None
    if client.kind == "professional":
        return requested if requested == [PROFESSIONAL_SCOPE] else None
    return requested if all(SCOPES.is_app_scope(s) for s in requested) else None


async def take_attempt(settings: Settings, cookie: str | None, *, state: str | None, professional: bool) -> Attempt:
    """The login attempt the provider's ``state`` names, consumed (single use), started in this
    browser, for a client of the kind the callback serves (people's or professionals' provider);
    its nonce and PKCE verifier opened, and gone from its row."""
    if not state:
        raise LoginFailed("La réponse du service d'identité est incomplète (state manquant).")
    hashes = state_keys(settings, state[:512])
    row = await fetch_one(
        f"SELECT * FROM login_attempts WHERE {one_of('upstream_state', hashes)} AND step = 'upstream' "
        "AND expires_at > {}",
        *hashes,
        clock.now(),
    )
    if row is None:
        raise LoginFailed(_UNEXPECTED)
    # Opened in this browser: the token of its cookie whose hash the row keeps.
    token = opened_by(cookie, row)
    attempt = Attempt.of(row, browser_token=token or "")
    # Refused before anything is spent: the answer at the wrong callback, or opened in another
    # browser (a link preview, a proxy's log), must not end the person's own login (an outside audit).
    client = await find_client(attempt.client_id)
    if client is None or (client.kind == "professional") != professional:
        # Each provider answers at its own callback: a state carried to the other one is refused.
        raise LoginFailed("Cette réponse n'est pas celle du service d'identité attendu. Recommencez la connexion.")
    if token is None:
        # The login was started in another browser: finishing it here would log in the wrong person.
        raise LoginFailed("Cette connexion a été commencée dans un autre navigateur. Recommencez-la.")
    # Consuming the state is one conditional UPDATE: of two requests carrying it, one only goes on.
    # The nonce and the verifier serve this answer only: the row forgets them as it is consumed.
    rows = await fetch(
        "UPDATE login_attempts SET step = 'callback', upstream_nonce = '', upstream_verifier = '' "
        "WHERE id = {} AND step = 'upstream' RETURNING id",
        attempt.id,
    )
    nonce = unseal(settings, attempt.id, attempt.upstream_nonce)
    verifier = unseal(settings, attempt.id, attempt.upstream_verifier)
    if not rows or nonce is None or verifier is None:
        raise LoginFailed(_UNEXPECTED)
    return replace(attempt, step="callback", upstream_nonce=nonce, upstream_verifier=verifier)


_UNEXPECTED = "Cette réponse du service d'identité n'est pas attendue ou a déjà servi. Recommencez la connexion."


# Re-proving identity for a lost second factor must be a fresh authentication at the provider.
RECOVERY_FRESHNESS_S = 600


async def callback(
    ctx: LoginContext,
    cookie: str | None,
    *,
    state: str | None,
    code: str | None,
    error: str | None,
    browser: str | None = None,
) -> Redirect:
    """The provider sends the browser back: check the state (single use), then verify everything.
    ``browser``: its known-browser cookie (the lost-factor way in sends its first e-mail code)."""
    attempt = await take_attempt(ctx.settings, cookie, state=state, professional=False)
    if error:
        return provider_refusal(attempt, error, issuer=ctx.settings.public_url)
    if not code:
        raise LoginFailed("La réponse du service d'identité est incomplète (code manquant).")
    try:
        proven = await ctx.upstream.finish_login(
            code,
            attempt.upstream_verifier,
            nonce=attempt.upstream_nonce,
            fresh_within=RECOVERY_FRESHNESS_S if attempt.recovering else None,
        )
    except UpstreamRefused as exc:
        log.warning("upstream login refused: %s", exc.detail)
        raise LoginFailed("L'identité transmise par le service d'identité n'a pas pu être vérifiée.") from exc
    identity = _identity(ctx.upstream.issuer, {**proven.userinfo, **proven.claims})
    # Claims that changed at the provider (the e-mail address above all) wait until the second
    # factor has passed: someone holding only the provider login must not redirect this login's
    # e-mail codes and notices to an address of theirs.
    signed_in = await spaces.sign_in_identity(identity, update_claims=False)
    if attempt.recovering and attempt.account_id != signed_in.account_id:
        raise LoginFailed("Vous vous êtes identifié comme une autre personne. Recommencez la connexion.")
    await update_attempt(
        attempt.id,
        account_id=signed_in.account_id,
        space_id=signed_in.space_id,
        id_token=seal(ctx.settings, attempt.id, proven.id_token),
        pending_identity=seal(ctx.settings, attempt.id, msgspec.json.encode(identity).decode()),
    )
    if attempt.recovering:
        # The step first: if no code can be sent now, the person still lands on the lost-factor
        # page (told why), whose "send again" works later; the login is not left stuck.
        await update_attempt(attempt.id, step="lost_email")
        if await try_email_code(ctx, attempt, account_id=signed_in.account_id, browser=browser) is not None:
            return Redirect("/login/otp?notice=unsent", browser_token=attempt.browser_token)
    else:
        await to_second_factor(ctx, attempt.id, account_id=signed_in.account_id)
    # Its pages serve this attempt now, whichever the browser started last.
    return Redirect("/login/otp", browser_token=attempt.browser_token)


def claim_text(
    claims: Mapping[str, Any], name: str, *, max_length: int = 255, required: bool = False, strict: bool = True
) -> str | None:
    """A text claim of the provider's, as ENS keeps it: ``None`` when absent or empty. A claim that
    is no text (a number, an object), holds a control character (NUL among them) or is longer than
    ENS stores stops the login with a clear page (it was a 500 on PostgreSQL, or stored as
    ``"{'x': 1}"`` on SQLite: an outside audit); the log names the claim, never its value.
    Not ``strict`` (a part of the identity the login can do without: a professional's secondary
    exercise, a place of practice), such a claim is left out (logged) rather than refused."""
    value = claims.get(name)
    if value is None or value == "":
        if required:
            raise _refused_claim(name, "missing")
        return None
    reason = _why_not_kept(value, max_length)
    if reason is None:
        return str(value)
    if strict:
        raise _refused_claim(name, reason)
    log.warning("upstream claim left out", extra={"event": "upstream_claim_left_out", "claim": name, "reason": reason})
    return None


def _why_not_kept(value: object, max_length: int) -> str | None:
    if not isinstance(value, str):
        return "not a string"
    if len(value) > max_length:
        return f"longer than {max_length} characters"
    if any(unicodedata.category(char) == "Cc" for char in value):
        return "control character"
    return None


def _refused_claim(name: str, reason: str) -> LoginFailed:
    log.warning("upstream claim refused", extra={"event": "upstream_claim_refused", "claim": name, "reason": reason})
    return LoginFailed(
        f"Le service d'identité a transmis une identité qu'ENS ne peut pas enregistrer (« {name} »). "
        "Réessayez plus tard ou contactez l'assistance."
    )


def _identity(issuer: str, claims: dict[str, Any]) -> spaces.Identity:
    birthdate: date | None = None
    try:
        birthdate = date.fromisoformat(str(claims.get("birthdate", "")))
    except ValueError:
        birthdate = None
    email, email_left_out = _email_claim(claims)
    # The longest each is stored (the accounts table).
    return spaces.Identity(
        issuer=issuer,
        sub=claim_text(claims, "sub", required=True) or "",
        given_name=claim_text(claims, "given_name") or "",
        family_name=claim_text(claims, "family_name") or "",
        birthdate=birthdate,
        gender=claim_text(claims, "gender", max_length=16),
        birthplace=claim_text(claims, "birthplace", max_length=16),
        email=email,
        email_left_out=email_left_out,
        birthcountry=claim_text(claims, "birthcountry", max_length=16),
    )


def _email_claim(claims: Mapping[str, Any]) -> tuple[str | None, bool]:
    """The e-mail claim when it is one address (``EMAIL_ADDRESS``), else left out (logged, never its
    value), and whether it was: a claim of two ("a@x.fr, b@y.fr") was stored, and the login's e-mail
    code went to both (an outside audit of the e-mails); one holding a line separator could carry no
    message at all. The login does without it, and the account keeps the address it had: emptied,
    the person got no security notice and could not recover a lost factor by e-mail until a login
    brought a usable one (a review)."""
    email = claim_text(claims, "email", max_length=320)
    # Its pattern, and a To header reading it as itself: "autre,luc@x.fr" passes the pattern and
    # is two recipients to the header (a review).
    if email is None or (re.match(EMAIL_ADDRESS, email) and carried_as_itself(email)):
        return email, False
    log.warning(
        "upstream claim left out",
        extra={"event": "upstream_claim_left_out", "claim": "email", "reason": "not one e-mail address"},
    )
    return None, True


# How long the provider may take to send the browser back after a logout (the attempt waits for it).
LOGOUT_RETURN_TTL = timedelta(minutes=15)
LOGGED_OUT_PATH = "/login/logged-out"


_NOTHING_TO_CLOSE = "Aucune connexion au service d'identité n'est ouverte dans ce navigateur : il n'y a rien à fermer."


async def _signed_in_attempt(cookie: str | None) -> Attempt:
    """The browser's login attempt that still holds the provider's ID token (what a logout ends):
    the first its cookie names. Not merely the first: a login opened since in another tab and left
    at the provider is named first, and holds none (the logout then said there was nothing to close:
    seen in a browser walk)."""
    signed_in = await browser_attempts(cookie, "id_token IS NOT NULL")
    if not signed_in:
        raise LoginFailed(_NOTHING_TO_CLOSE, title="Déconnexion impossible")
    return signed_in[0]


async def logout_screen(cookie: str | None) -> Screen:
    """``GET /oauth/logout``: the page whose form starts the logout; opening it changes nothing.

    The logout itself is a POST carrying the attempt's CSRF token (:func:`logout`), so that another
    site cannot sign the person out by sending their browser to a URL.
    """
    attempt = await _signed_in_attempt(cookie)
    return Screen("logout", attempt.csrf)


async def logout(ctx: LoginContext, cookie: str | None, *, csrf: str | None) -> Redirect:
    """Sign out at the provider too: end_session with ``id_token_hint``, ``state``, ``post_logout_redirect_uri``.

    The ID token is forgotten here; the attempt then only waits for the provider to send the browser
    back with this ``state`` (:func:`confirm_logout`). A provider without an end-session endpoint:
    straight back to our page, with the same state.
    """
    attempt = await _signed_in_attempt(cookie)
    check_csrf(attempt, csrf)
    id_token = unseal(ctx.settings, attempt.id, attempt.id_token)
    if id_token is None:
        raise LoginFailed(_NOTHING_TO_CLOSE, title="Déconnexion impossible")
    # The provider the login went through: a professional's ID token went to the people's provider
    # (a review: a token of Pro Santé Connect's sent to FranceConnect, and its session never ended).
    professional = await _is_professionals(attempt)
    upstream = ctx.pro_upstream if professional else ctx.upstream
    if upstream is None:
        raise LoginFailed(_NOTHING_TO_CLOSE, title="Déconnexion impossible")
    state = secrets.token_urlsafe(32)
    back = f"{ctx.settings.public_url}{LOGGED_OUT_PATH}"
    try:
        url = await upstream.logout_url(id_token, state, post_logout_redirect_uri=back)
    except UpstreamRefused as exc:
        log.warning("identity provider unavailable: %s", exc.detail)
        raise LoginFailed("Le service d'identité ne répond pas. Réessayez dans un instant.", 502) from exc
    # One conditional UPDATE: of two logouts posted together, only one leaves with the ID token.
    moved = await fetch(
        "UPDATE login_attempts SET step = 'logout', upstream_state = {}, id_token = NULL, expires_at = {} "
        "WHERE id = {} AND id_token IS NOT NULL RETURNING id",
        state_key(ctx.settings, state),
        clock.now() + LOGOUT_RETURN_TTL,
        attempt.id,
    )
    if not moved:
        raise LoginFailed("Cette déconnexion est déjà en cours.", title="Déconnexion impossible")
    # Signed out at the provider, the browser's other logins through it have no session there left
    # to end (one through the other provider keeps its own, to be ended there).
    others = [
        other.id
        for other in await browser_attempts(cookie, "id_token IS NOT NULL")
        if other.id != attempt.id and await _is_professionals(other) == professional
    ]
    if others:
        await fetch(
            f"UPDATE login_attempts SET id_token = NULL WHERE id IN ({', '.join('{}' for _ in others)}) RETURNING id",
            *others,
        )
    return Redirect(url or f"{back}?{urlencode({'state': state})}")


async def _is_professionals(attempt: Attempt) -> bool:
    """Whether the login went through the professionals' provider (its client is a professional
    software, as at the callback: :func:`take_attempt`)."""
    client = await find_client(attempt.client_id)
    return client is not None and client.kind == "professional"


async def confirm_logout(settings: Settings, cookie: str | None, *, state: str | None) -> None:
    """The provider's return to ``/login/logged-out``: only the ``state`` this browser's logout sent.

    Without it (missing, wrong, another browser, no logout started), nothing says the person is
    signed out: :class:`LoginFailed`, shown as an error page.
    """
    returned = []
    if state:
        hashes = state_keys(settings, state)
        returned = await browser_attempts(
            cookie,
            f"step = 'logout' AND {one_of('upstream_state', hashes)} AND expires_at > {{}}",
            *hashes,
            clock.now(),
        )
    if not returned:
        raise LoginFailed(
            "Ce retour du service d'identité ne correspond à aucune déconnexion commencée dans ce navigateur : "
            "la déconnexion n'est pas confirmée.",
            title="Déconnexion non confirmée",
        )
