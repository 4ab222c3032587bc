"""The login in the browser, from ``/oauth/authorize`` to the redirect back to the app.

A login attempt is one database row (API processes are stateless) bound to the browser by a cookie
carrying its id. It walks these steps:

``upstream`` (at the identity provider) → ``reopen`` (own space closed) → ``enrol`` (first login, or
after a lost factor) | ``otp`` (second factor) | ``lost_email`` (lost factor: e-mail code) →
``recovery_codes`` (shown once after enrolment) → ``consent`` (third-party apps) → ``done``.

Each function returns what the browser should see next — a :class:`Screen` to render or a
:class:`Redirect` — and raises :class:`LoginFailed` for what cannot go on.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode
from uuid import UUID

from ens.auth import oauth, otp
from ens.auth.clients import Client, find_client
from ens.auth.errors import CodeRefused, LoginFailed, UpstreamRefused
from ens.auth.mail import Mailer
from ens.auth.pages import ConsentView
from ens.auth.scopes import SPACE_SCOPE, describe, is_app_scope
from ens.auth.tables import LoginAttempt
from ens.auth.upstream import Upstream
from ens.db import fetch, fetch_one
from ens.settings import Settings
from ens.spaces import service as spaces

log = logging.getLogger("ens.auth.login")

ATTEMPT_TTL = timedelta(minutes=30)
_PKCE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


@dataclass
class LoginContext:
    """What the login needs from the app: settings, the upstream provider, the mailer."""

    settings: Settings
    upstream: Upstream
    mailer: Mailer


@dataclass(frozen=True)
class Redirect:
    url: str
    # A new login attempt's id, for the browser cookie (only when a login starts).
    attempt_id: UUID | None = None


ScreenKind = Literal["enrol", "otp", "lost_email", "recovery_codes", "recovery_codes_done", "reopen", "consent"]


@dataclass(frozen=True)
class Screen:
    kind: ScreenKind
    csrf: str
    error: str | None = None
    info: str | None = None
    email_hint: str | None = None
    codes: list[str] = field(default_factory=list)
    enrolment: otp.Enrolment | None = None
    consent: ConsentView | None = None


@dataclass(frozen=True)
class AuthorizeRequest:
    response_type: str | None
    client_id: str | None
    redirect_uri: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    state: str | None
    scope: str | None


@dataclass(frozen=True)
class Attempt:
    id: UUID
    client_id: str
    redirect_uri: str
    client_state: str | None
    code_challenge: str
    scopes: list[str]
    upstream_state: str
    upstream_nonce: str
    upstream_verifier: str
    csrf: str
    step: str
    recovering: bool
    account_id: UUID | None
    space_id: UUID | None
    id_token: str | None
    new_factor_id: UUID | None

    @classmethod
    def of(cls, row: dict[str, Any]) -> Attempt:
        return cls(
            id=_uuid(row["id"]),
            client_id=row["client_id"],
            redirect_uri=row["redirect_uri"],
            client_state=row["client_state"],
            code_challenge=row["code_challenge"],
            scopes=str(row["scopes"]).split(),
            upstream_state=row["upstream_state"],
            upstream_nonce=row["upstream_nonce"],
            upstream_verifier=row["upstream_verifier"],
            csrf=row["csrf"],
            step=row["step"],
            recovering=bool(row["recovering"]),
            account_id=_uuid(row["account_id"]) if row["account_id"] else None,
            space_id=_uuid(row["space_id"]) if row["space_id"] else None,
            id_token=row["id_token"],
            new_factor_id=_uuid(row["new_factor_id"]) if row["new_factor_id"] else None,
        )


def _now() -> datetime:
    return datetime.now(UTC)


def _error_redirect(redirect_uri: str, error: str, description: str, state: str | None) -> Redirect:
    params = {"error": error, "error_description": description}
    if state is not None:
        params["state"] = state
    return Redirect(redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(params))


# ---------------------------------------------------------------------------------------------
# /oauth/authorize and /oauth/callback


async def start(ctx: LoginContext, request: AuthorizeRequest) -> Redirect:
    """Check the app's request and send the browser to the identity provider.

    An unknown client or a redirect URI that is not registered is never redirected to (an error page
    instead, RFC 6749 §4.1.2.1); other errors go back to the app as ``?error=...``.
    """
    client = await find_client(request.client_id or "")
    if client is None:
        raise LoginFailed("Cette application n'est pas connue de l'espace santé.", title="Application inconnue")
    if not request.redirect_uri or not client.accepts_redirect(request.redirect_uri):
        raise LoginFailed(
            "L'adresse de retour demandée n'est pas enregistrée pour cette application.",
            title="Adresse de retour refusée",
        )
    redirect_uri, state = request.redirect_uri, request.state
    if request.response_type != "code":
        return _error_redirect(redirect_uri, "unsupported_response_type", "response_type must be code", state)
    if request.code_challenge_method != "S256" or not _PKCE_CHALLENGE.fullmatch(request.code_challenge or ""):
        # RFC 7636 §4.4.1; plain is refused: a S256 challenge is mandatory.
        return _error_redirect(
            redirect_uri, "invalid_request", "PKCE with code_challenge_method=S256 is required", state
        )
    scopes = _requested_scopes(client, request.scope)
    if scopes is None:
        return _error_redirect(redirect_uri, "invalid_scope", "a requested scope is not allowed for this client", state)
    attempt_id = uuid.uuid4()
    upstream_state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    try:
        url = await ctx.upstream.authorization_url(upstream_state, nonce, verifier)
    except UpstreamRefused as exc:
        log.warning("identity provider unavailable: %s", exc.detail)
        raise LoginFailed("Le service d'identité ne répond pas. Réessayez dans un instant.", 502) from exc
    now = _now()
    await LoginAttempt.insert(
        LoginAttempt(
            id=attempt_id,
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            client_state=state,
            code_challenge=request.code_challenge,
            scopes=" ".join(scopes),
            upstream_state=upstream_state,
            upstream_nonce=nonce,
            upstream_verifier=verifier,
            csrf=secrets.token_urlsafe(32),
            step="upstream",
            recovering=False,
            created_at=now,
            expires_at=now + ATTEMPT_TTL,
        )
    )
    return Redirect(url, attempt_id=attempt_id)


def _requested_scopes(client: Client, scope: str | None) -> list[str] | None:
    requested = sorted(set((scope or "").split())) or sorted(client.allowed_scopes)
    if not set(requested) <= client.allowed_scopes:
        return None
    if client.is_first_party:
        return requested if requested == [SPACE_SCOPE] else None
    return requested if all(is_app_scope(s) for s in requested) else None


async def callback(
    ctx: LoginContext, cookie: str | None, state: str | None, code: str | None, error: str | None
) -> Redirect:
    """The provider sends the browser back: check the state (single use), then verify everything."""
    if not state:
        raise LoginFailed("La réponse du service d'identité est incomplète (state manquant).")
    now = _now()
    # Consuming the state is one conditional UPDATE: a replayed or forged state finds nothing.
    rows = await fetch(
        "UPDATE login_attempts SET step = 'callback' WHERE upstream_state = {} AND step = 'upstream' "
        "AND expires_at > {} RETURNING *",
        state[:64],
        now,
    )
    if not rows:
        raise LoginFailed(
            "Cette réponse du service d'identité n'est pas attendue ou a déjà servi. Recommencez la connexion."
        )
    attempt = Attempt.of(rows[0])
    if cookie != str(attempt.id):
        # The login was started in another browser: finishing it here would log in the wrong person.
        raise LoginFailed("Cette connexion a été commencée dans un autre navigateur. Recommencez-la.")
    if error:
        return _error_redirect(
            attempt.redirect_uri, "access_denied", "the identity provider refused", attempt.client_state
        )
    if not code:
        raise LoginFailed("La réponse du service d'identité est incomplète (code manquant).")
    try:
        proven = await ctx.upstream.finish_login(code, attempt.upstream_verifier, attempt.upstream_nonce)
    except UpstreamRefused as exc:
        log.warning("upstream login refused: %s", exc.detail)
        raise LoginFailed("L'identité transmise par le service d'identité n'a pas pu être vérifiée.") from exc
    identity = _identity(ctx.upstream.issuer, {**proven.userinfo, **proven.claims})
    signed_in = await spaces.sign_in_identity(identity)
    if attempt.recovering and attempt.account_id != signed_in.account_id:
        raise LoginFailed("Vous vous êtes identifié comme une autre personne. Recommencez la connexion.")
    await _update(attempt.id, account_id=signed_in.account_id, space_id=signed_in.space_id, id_token=proven.id_token)
    if attempt.recovering:
        await _send_email_code(ctx, attempt, signed_in.account_id)
        await _update(attempt.id, step="lost_email")
    elif signed_in.space_status == "closed":
        await _update(attempt.id, step="reopen")
    else:
        await _to_second_factor(ctx, attempt.id, signed_in.account_id)
    return Redirect("/login/otp")


def _identity(issuer: str, claims: dict[str, Any]) -> spaces.Identity:
    birthdate: date | None = None
    try:
        birthdate = date.fromisoformat(str(claims.get("birthdate", "")))
    except ValueError:
        birthdate = None
    return spaces.Identity(
        issuer=issuer,
        sub=str(claims["sub"]),
        given_name=str(claims.get("given_name") or ""),
        family_name=str(claims.get("family_name") or ""),
        birthdate=birthdate,
        gender=str(claims["gender"]) if claims.get("gender") else None,
        birthplace=str(claims["birthplace"]) if claims.get("birthplace") else None,
        email=str(claims["email"]) if claims.get("email") else None,
    )


async def _to_second_factor(ctx: LoginContext, attempt_id: UUID, account_id: UUID) -> None:
    if await otp.active_factor(account_id) is None:
        factor_id = await otp.start_enrolment(ctx.settings, account_id)
        await _update(attempt_id, step="enrol", new_factor_id=factor_id)
    else:
        await _update(attempt_id, step="otp")


# ---------------------------------------------------------------------------------------------
# The pages under /login


async def load(cookie: str | None) -> Attempt:
    """The browser's login attempt, still running."""
    try:
        attempt_id = UUID(cookie or "")
    except ValueError as exc:
        raise LoginFailed("Aucune connexion en cours dans ce navigateur. Recommencez depuis l'application.") from exc
    row = await fetch_one("SELECT * FROM login_attempts WHERE id = {} AND expires_at > {}", attempt_id, _now())
    if row is None:
        raise LoginFailed("Votre connexion a expiré. Recommencez depuis l'application.", title="Connexion expirée")
    return Attempt.of(row)


def _check_csrf(attempt: Attempt, csrf: str | None) -> None:
    if not csrf or not hmac.compare_digest(csrf.encode(), attempt.csrf.encode()):
        raise LoginFailed("Le formulaire n'est plus valable. Rechargez la page.", 403)


async def _email_hint(account_id: UUID) -> str | None:
    email = (await spaces.get_me(account_id)).account.email
    if not email or "@" not in email:
        return None
    name, _, domain = email.partition("@")
    return f"{name[:2]}…@{domain}"


async def current_screen(
    ctx: LoginContext, cookie: str | None, error: str | None = None, info: str | None = None
) -> Screen:
    """The page the attempt is at (GET /login/otp)."""
    attempt = await load(cookie)
    assert_account = attempt.account_id
    if attempt.step == "enrol" and attempt.new_factor_id and assert_account:
        me = await spaces.get_me(assert_account)
        label = f"{me.account.given_name} {me.account.family_name}"
        try:
            enrolment = await otp.enrolment(ctx.settings, attempt.new_factor_id, label)
        except CodeRefused as exc:
            raise LoginFailed(exc.detail) from exc
        return Screen("enrol", attempt.csrf, error=error, enrolment=enrolment)
    if attempt.step == "otp" and assert_account:
        return Screen("otp", attempt.csrf, error=error, info=info, email_hint=await _email_hint(assert_account))
    if attempt.step == "lost_email" and assert_account:
        return Screen("lost_email", attempt.csrf, error=error, info=info, email_hint=await _email_hint(assert_account))
    if attempt.step == "recovery_codes":
        return Screen("recovery_codes_done", attempt.csrf)
    if attempt.step == "reopen":
        return Screen("reopen", attempt.csrf)
    if attempt.step == "consent":
        return await consent_screen(cookie)
    raise LoginFailed("Cette étape de la connexion est terminée. Recommencez depuis l'application.")


async def submit_code(ctx: LoginContext, cookie: str | None, csrf: str | None, code: str | None) -> Screen | Redirect:
    """POST /login/otp: the enrolment's first code, a second-factor code, or the lost-factor e-mail code."""
    attempt = await load(cookie)
    _check_csrf(attempt, csrf)
    account_id = attempt.account_id
    if account_id is None or attempt.step not in ("enrol", "otp", "lost_email"):
        raise LoginFailed("Cette étape de la connexion est terminée. Recommencez depuis l'application.")
    method: otp.Method = "totp"
    try:
        if attempt.step == "enrol" and attempt.new_factor_id is not None:
            await otp.verify_enrolment_code(ctx.settings, account_id, attempt.new_factor_id, code or "")
        elif attempt.step == "lost_email":
            await otp.verify_email_code(ctx.settings, account_id, attempt.id, code or "")
        else:
            method = await otp.verify_second_factor(ctx.settings, account_id, attempt.id, code or "")
    except CodeRefused as exc:
        return await current_screen(ctx, cookie, error=exc.detail)
    if attempt.step == "lost_email":
        factor_id = await otp.start_enrolment(ctx.settings, account_id)
        await _update(attempt.id, step="enrol", new_factor_id=factor_id)
        return Redirect("/login/otp")
    if attempt.step == "enrol" and attempt.new_factor_id is not None:
        replaced = await otp.activate_factor(account_id, attempt.new_factor_id)
        codes = await otp.issue_recovery_codes(ctx.settings, account_id)
        await _update(attempt.id, step="recovery_codes")
        if replaced:
            await _notify(ctx, account_id, "Votre second facteur a été remplacé", _FACTOR_REPLACED)
        return Screen("recovery_codes", attempt.csrf, codes=codes)
    if method == "recovery":
        await _notify(ctx, account_id, "Un code de secours a été utilisé", _RECOVERY_USED)
    return await _after_second_factor(ctx, attempt)


async def acknowledge_recovery_codes(ctx: LoginContext, cookie: str | None, csrf: str | None) -> Redirect:
    attempt = await load(cookie)
    _check_csrf(attempt, csrf)
    if attempt.step != "recovery_codes":
        raise LoginFailed("Cette étape de la connexion est terminée. Recommencez depuis l'application.")
    return await _after_second_factor(ctx, attempt)


async def request_email_code(ctx: LoginContext, cookie: str | None, csrf: str | None) -> Screen:
    attempt = await load(cookie)
    _check_csrf(attempt, csrf)
    if attempt.account_id is None or attempt.step not in ("otp", "lost_email"):
        raise LoginFailed("Cette étape de la connexion est terminée. Recommencez depuis l'application.")
    try:
        await otp.ensure_not_locked(attempt.account_id)
        await _send_email_code(ctx, attempt, attempt.account_id)
    except CodeRefused as exc:
        return await current_screen(ctx, cookie, error=exc.detail)
    return await current_screen(ctx, cookie, info="Un code vous a été envoyé par e-mail. Il est valable 10 minutes.")


async def _send_email_code(ctx: LoginContext, attempt: Attempt, account_id: UUID) -> None:
    email = (await spaces.get_me(account_id)).account.email
    if not email:
        raise LoginFailed("Aucune adresse e-mail n'est connue pour votre compte : ce moyen n'est pas disponible.")
    code = await otp.new_email_code(ctx.settings, attempt.id, account_id)
    try:
        await ctx.mailer.send(
            email,
            "Votre code de connexion à l'espace santé",
            f"Votre code de connexion est : {code}\n\nIl est valable 10 minutes et ne sert qu'une fois.\n"
            "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n",
            dev_note=f"code {code}",
        )
    except OSError as exc:
        log.error("e-mail code not sent: %s", type(exc).__name__)
        raise CodeRefused("L'e-mail n'a pas pu être envoyé. Réessayez dans un instant.") from exc


async def lost_factor(ctx: LoginContext, cookie: str | None, csrf: str | None) -> Redirect:
    """Lost phone and recovery codes: prove identity again at the provider, then with an e-mail code."""
    attempt = await load(cookie)
    _check_csrf(attempt, csrf)
    if attempt.account_id is None or attempt.step != "otp":
        raise LoginFailed("Cette étape de la connexion est terminée. Recommencez depuis l'application.")
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    url = await ctx.upstream.authorization_url(state, nonce, verifier, force_login=True)
    await _update(
        attempt.id,
        step="upstream",
        recovering=True,
        upstream_state=state,
        upstream_nonce=nonce,
        upstream_verifier=verifier,
    )
    return Redirect(url)


async def reopen(ctx: LoginContext, cookie: str | None, csrf: str | None) -> Redirect:
    attempt = await load(cookie)
    _check_csrf(attempt, csrf)
    if attempt.step != "reopen" or attempt.account_id is None or attempt.space_id is None:
        raise LoginFailed("Cette étape de la connexion est terminée. Recommencez depuis l'application.")
    await spaces.reopen_space(attempt.space_id)
    await _to_second_factor(ctx, attempt.id, attempt.account_id)
    return Redirect("/login/otp")


async def _after_second_factor(ctx: LoginContext, attempt: Attempt) -> Redirect:
    client = await find_client(attempt.client_id)
    if client is None or attempt.account_id is None:
        raise LoginFailed("Cette application n'est plus enregistrée.")
    if not client.is_first_party:
        await _update(attempt.id, step="consent")
        return Redirect("/login/consent")
    await _notify(ctx, attempt.account_id, "Nouvelle connexion à votre espace santé", _NEW_DEVICE)
    return await _finish(ctx, attempt, client, kind="session", grant_id=None, space_id=None)


async def consent_screen(cookie: str | None) -> Screen:
    attempt = await load(cookie)
    if attempt.step != "consent" or attempt.space_id is None or attempt.account_id is None:
        raise LoginFailed("Aucune autorisation n'est en attente. Recommencez depuis l'application.")
    client = await find_client(attempt.client_id)
    if client is None:
        raise LoginFailed("Cette application n'est plus enregistrée.")
    me = await spaces.get_me(attempt.account_id)
    view = ConsentView(
        app_name=client.name,
        publisher=client.publisher,
        label_status=client.label_status,
        permissions=[describe(scope) for scope in attempt.scopes],
        space_label=f"{me.account.given_name} {me.account.family_name} (votre espace)",
    )
    return Screen("consent", attempt.csrf, consent=view)


async def decide(ctx: LoginContext, cookie: str | None, csrf: str | None, decision: str | None) -> Redirect:
    """Approve: the person's consent becomes an app grant on the space; deny: back to the app."""
    attempt = await load(cookie)
    _check_csrf(attempt, csrf)
    if attempt.step != "consent" or attempt.space_id is None or attempt.account_id is None:
        raise LoginFailed("Aucune autorisation n'est en attente. Recommencez depuis l'application.")
    client = await find_client(attempt.client_id)
    if client is None:
        raise LoginFailed("Cette application n'est plus enregistrée.")
    if decision != "approve":
        await _update(attempt.id, step="done")
        return _error_redirect(attempt.redirect_uri, "access_denied", "the person refused", attempt.client_state)
    grant_id = await spaces.create_app_grant(
        attempt.account_id, attempt.space_id, client.client_id, client.name, attempt.scopes
    )
    return await _finish(ctx, attempt, client, kind="app", grant_id=grant_id, space_id=attempt.space_id)


async def _finish(
    ctx: LoginContext,
    attempt: Attempt,
    client: Client,
    kind: Literal["session", "app"],
    grant_id: UUID | None,
    space_id: UUID | None,
) -> Redirect:
    assert attempt.account_id is not None
    # Only one authorization code per attempt: the step moves on atomically.
    moved = await fetch(
        "UPDATE login_attempts SET step = 'done' WHERE id = {} AND step <> 'done' RETURNING id", attempt.id
    )
    if not moved:
        raise LoginFailed("Cette connexion est déjà terminée.")
    code = await oauth.create_authorization_code(
        secret_key=ctx.settings.secret_key,
        client_id=client.client_id,
        redirect_uri=attempt.redirect_uri,
        code_challenge=attempt.code_challenge,
        account_id=attempt.account_id,
        space_id=space_id,
        scopes=attempt.scopes,
        kind=kind,
        grant_id=grant_id,
    )
    params = {"code": code, **({"state": attempt.client_state} if attempt.client_state is not None else {})}
    separator = "&" if "?" in attempt.redirect_uri else "?"
    return Redirect(attempt.redirect_uri + separator + urlencode(params))


async def logout(ctx: LoginContext, cookie: str | None) -> Redirect:
    """Sign out at the provider too (end_session with id_token_hint, state, post_logout_redirect_uri)."""
    try:
        attempt_id = UUID(cookie or "")
    except ValueError:
        return Redirect("/login/logged-out")
    row = await fetch_one("SELECT id_token FROM login_attempts WHERE id = {}", attempt_id)
    if row is None or not row["id_token"]:
        return Redirect("/login/logged-out")
    url = await ctx.upstream.logout_url(
        row["id_token"], secrets.token_urlsafe(32), f"{ctx.settings.public_url}/login/logged-out"
    )
    await fetch("UPDATE login_attempts SET id_token = NULL, expires_at = {} WHERE id = {}", _now(), attempt_id)
    return Redirect(url or "/login/logged-out")


# ---------------------------------------------------------------------------------------------

_NEW_DEVICE = (
    "Bonjour,\n\nUn nouvel appareil vient de se connecter à votre espace santé.\n"
    "Si ce n'est pas vous, déconnectez-le depuis « Appareils connectés » et prévenez-nous.\n"
)
_FACTOR_REPLACED = (
    "Bonjour,\n\nLe second facteur de connexion de votre espace santé vient d'être remplacé ; "
    "l'ancien ne fonctionne plus.\nSi ce n'est pas vous, contactez-nous immédiatement.\n"
)
_RECOVERY_USED = (
    "Bonjour,\n\nUn code de secours vient d'être utilisé pour vous connecter à votre espace santé.\n"
    "Si ce n'est pas vous, contactez-nous immédiatement.\n"
)
RECOVERY_CODES_RENEWED = (
    "Bonjour,\n\nDe nouveaux codes de secours viennent d'être créés pour votre espace santé ; "
    "les anciens ne fonctionnent plus.\nSi ce n'est pas vous, contactez-nous immédiatement.\n"
)


async def _notify(ctx: LoginContext, account_id: UUID, subject: str, text: str) -> None:
    """A security notice by e-mail; a mail server outage must not block the login, so it is only logged."""
    email = (await spaces.get_me(account_id)).account.email
    if not email:
        return
    try:
        await ctx.mailer.send(email, subject, text)
    except OSError as exc:
        log.error("security notice not sent: %s", type(exc).__name__)


async def notify(ctx: LoginContext, account_id: UUID, subject: str, text: str) -> None:
    await _notify(ctx, account_id, subject, text)


_COLUMNS = {
    "step",
    "account_id",
    "space_id",
    "id_token",
    "new_factor_id",
    "recovering",
    "upstream_state",
    "upstream_nonce",
    "upstream_verifier",
}


async def _update(attempt_id: UUID, **values: Any) -> None:
    assert set(values) <= _COLUMNS
    assignments = ", ".join(f"{name} = {{}}" for name in values)
    await fetch(f"UPDATE login_attempts SET {assignments} WHERE id = {{}}", *values.values(), attempt_id)


def _uuid(value: object) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
