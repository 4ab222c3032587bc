"""The legs at the identity provider: the start (``/oauth/authorize``), the callback, the logout."""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import msgspec

from ens.auth.clients import Client, find_client
from ens.auth.errors import LoginFailed, UpstreamRefused
from ens.auth.login.attempt import (
    ATTEMPT_TTL,
    Attempt,
    LoginContext,
    Redirect,
    error_redirect,
    update_attempt,
)
from ens.auth.login.second_factor import send_email_code, to_second_factor
from ens.auth.tables import LoginAttempt
from ens.core import clock
from ens.core.db import fetch, fetch_one
from ens.core.scopes import SCOPES
from ens.spaces import service as spaces
from ens.spaces.caller import SPACE_SCOPE

log = logging.getLogger("ens.auth.login")

_PKCE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class AuthorizeRequest:
    response_type: str | None
    client_id: str | None
    redirect_uri: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    state: str | None
    scope: str | None


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
        return error_redirect(
            redirect_uri, "unsupported_response_type", description="response_type must be code", state=state
        )
    if request.code_challenge_method != "S256" or not _PKCE_CHALLENGE.fullmatch(request.code_challenge or ""):
        # RFC 7636 §4.4.1; plain is refused: a S256 challenge is mandatory.
        return error_redirect(
            redirect_uri, "invalid_request", description="PKCE with code_challenge_method=S256 is required", state=state
        )
    scopes = _requested_scopes(client, request.scope)
    if scopes is None:
        return error_redirect(
            redirect_uri, "invalid_scope", description="a requested scope is not allowed for this client", state=state
        )
    attempt_id = uuid.uuid4()
    upstream_state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    try:
        url = await ctx.upstream.authorization_url(upstream_state, nonce, verifier=verifier)
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
    return requested if all(SCOPES.is_app_scope(s) for s in requested) else None


# Re-proving identity for a lost second factor must be a fresh authentication at the provider.
RECOVERY_FRESHNESS_S = 600


async def callback(
    ctx: LoginContext, cookie: str | None, *, state: str | None, code: str | None, error: str | None
) -> Redirect:
    """The provider sends the browser back: check the state (single use), then verify everything."""
    if not state:
        raise LoginFailed("La réponse du service d'identité est incomplète (state manquant).")
    now = clock.now()
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
        return error_redirect(
            attempt.redirect_uri,
            "access_denied",
            description="the identity provider refused",
            state=attempt.client_state,
        )
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
        id_token=proven.id_token,
        pending_identity=msgspec.json.encode(identity).decode(),
    )
    if attempt.recovering:
        await send_email_code(ctx, attempt, account_id=signed_in.account_id)
        await update_attempt(attempt.id, step="lost_email")
    else:
        await to_second_factor(ctx, attempt.id, account_id=signed_in.account_id)
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
        row["id_token"],
        secrets.token_urlsafe(32),
        post_logout_redirect_uri=f"{ctx.settings.public_url}/login/logged-out",
    )
    await fetch("UPDATE login_attempts SET id_token = NULL, expires_at = {} WHERE id = {}", clock.now(), attempt_id)
    return Redirect(url or "/login/logged-out")
