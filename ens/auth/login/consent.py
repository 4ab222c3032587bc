"""Consent: a third-party app's permissions shown to the person, approved (an app grant) or denied."""

from __future__ import annotations

from ens.auth.clients import find_client
from ens.auth.errors import LoginFailed
from ens.auth.login.attempt import (
    LoginContext,
    Redirect,
    Screen,
    check_csrf,
    error_redirect,
    finish,
    load,
    update_attempt,
)
from ens.auth.login.pages import ConsentView
from ens.core.scopes import SCOPES
from ens.spaces import service as spaces


async def consent_screen(cookie: str | None) -> Screen:
    """The consent page of the attempt's pending app authorization."""
    attempt = await load(cookie)
    if attempt.step != "consent" or attempt.space_id is None or attempt.account_id is None:
        raise LoginFailed("Aucune autorisation n'est en attente. Recommencez depuis l'application.")
    client = await find_client(attempt.client_id)
    if client is None:
        raise LoginFailed("Cette application n'est plus enregistrée.")
    account = await spaces.get_account(attempt.account_id)
    view = ConsentView(
        app_name=client.name,
        publisher=client.publisher,
        label_status=client.label_status,
        permissions=[SCOPES.describe(scope) for scope in attempt.scopes],
        space_label=f"{account.given_name} {account.family_name} (votre espace)",
    )
    return Screen("consent", attempt.csrf, consent=view)


async def decide(ctx: LoginContext, cookie: str | None, *, csrf: str | None, decision: str | None) -> Redirect:
    """Approve: the person's consent becomes an app grant on the space; deny: back to the app."""
    attempt = await load(cookie)
    check_csrf(attempt, csrf)
    if attempt.step != "consent" or attempt.space_id is None or attempt.account_id is None:
        raise LoginFailed("Aucune autorisation n'est en attente. Recommencez depuis l'application.")
    client = await find_client(attempt.client_id)
    if client is None:
        raise LoginFailed("Cette application n'est plus enregistrée.")
    if decision != "approve":
        await update_attempt(attempt.id, step="done")
        return error_redirect(
            attempt.redirect_uri, "access_denied", description="the person refused", state=attempt.client_state
        )
    grant_id = await spaces.create_app_grant(
        attempt.account_id, attempt.space_id, client_id=client.client_id, client_name=client.name, scopes=attempt.scopes
    )
    return await finish(ctx, attempt, client=client, kind="app", grant_id=grant_id, space_id=attempt.space_id)
