"""Consent: a third-party app's permissions shown to the person, approved (an app grant) or denied."""

from __future__ import annotations

from typing import cast
from uuid import UUID

from ens.auth.clients import find_client, held_enabled
from ens.auth.errors import LoginFailed
from ens.auth.login.attempt import (
    LoginContext,
    Redirect,
    Screen,
    check_csrf,
    error_redirect,
    finish,
    load,
    step_over,
    take_step,
)
from ens.auth.login.pages import ConsentView, SpaceChoice
from ens.core.db import write_transaction
from ens.core.errors import NotFound
from ens.core.scopes import SCOPES
from ens.spaces import service as spaces
from ens.spaces.caller import Caller
from ens.spaces.history import AccountAction, Role
from ens.spaces.rights import KIND_WORDS, Action, ActorKind
from ens.spaces.schemas import MeRead

NO_LONGER_REGISTERED = "Cette application n'est plus enregistrée."
NOTHING_PENDING = "Aucune autorisation n'est en attente. Recommencez depuis l'application."
# The person left their own space closed at login and represents no one who could take the app.
NOWHERE_TO_CONNECT = "Votre espace santé est fermé : rouvrez-le pour y connecter une application."


async def consent_screen(cookie: str | None) -> Screen:
    """The consent page of the attempt's pending app authorization."""
    attempt = await load(cookie)
    if attempt.step != "consent" or attempt.space_id is None or attempt.account_id is None:
        raise step_over(attempt, NOTHING_PENDING)
    client = await find_client(attempt.client_id)
    if client is None:
        raise LoginFailed(NO_LONGER_REGISTERED)
    view = ConsentView(
        app_name=client.name,
        publisher=client.publisher,
        label_status=client.label_status,
        permissions=[SCOPES.describe(scope) for scope in attempt.scopes],
        spaces=await _choices(attempt.account_id, own=attempt.space_id),
    )
    if not view.spaces:
        raise LoginFailed(NOWHERE_TO_CONNECT)
    return Screen("consent", attempt.csrf, consent=view)


def _standing(me: MeRead, space_id: UUID, *, own: UUID) -> tuple[Role, str | None]:
    """As what the person connects an app to the space, from the same reading of their spaces that
    offered it: its holder, or the kind of representative."""
    for item in me.spaces:
        if item.id == space_id:
            return ("holder", None) if item.role == "holder" else ("representative", item.representative_kind)
    if space_id == own:
        return "holder", None
    raise LoginFailed("Vous ne pouvez pas connecter d'application à cet espace.")


async def _choices(account_id: UUID, *, own: UUID, me: MeRead | None = None) -> list[SpaceChoice]:
    """The spaces the person may connect an app to: their own, and those they represent with the
    right to manage apps (the table of rights), open ones only (a person may sign in and leave
    their own space closed); their own first."""
    me = me or await spaces.get_me(account_id)
    choices: list[SpaceChoice] = []
    own_closed = any(item.id == own and item.status != "open" for item in me.spaces)
    for item in me.spaces:
        if Action.MANAGE_ACCESS not in item.rights or item.status != "open":
            continue
        name = f"{item.holder.given_name} {item.holder.family_name}"
        if item.role == "holder":
            choices.insert(0, SpaceChoice(str(item.id), f"{name} (votre espace)"))
        else:
            kind = KIND_WORDS.get(cast(ActorKind, item.representative_kind), "représentant")
            choices.append(SpaceChoice(str(item.id), f"{name} (vous le représentez : {kind})"))
    if not own_closed and not any(choice.id == str(own) for choice in choices):
        choices.insert(0, SpaceChoice(str(own), "votre espace"))
    return choices


async def decide(
    ctx: LoginContext,
    cookie: str | None,
    *,
    csrf: str | None,
    decision: str | None,
    space: str | None = None,
    request_id: str = "",
) -> Redirect:
    """Approve: the person's consent becomes an app grant on the space they chose (their own unless
    they represent someone: one of the page's choices), with its row in that space's access history
    (who connected which app, as what); deny: back to the app."""
    attempt = await load(cookie)
    check_csrf(attempt, csrf)
    if attempt.step != "consent" or attempt.space_id is None or attempt.account_id is None:
        raise step_over(attempt, NOTHING_PENDING)
    client = await find_client(attempt.client_id)
    if client is None:
        raise LoginFailed(NO_LONGER_REGISTERED)
    if decision != "approve":
        # Only from the consent step: a refusal racing an approval (two tabs) must not end the
        # attempt between the approval's grant and its code (the grant left, the app told nothing).
        await take_step(attempt.id, from_step="consent", to="done")
        return error_redirect(
            attempt.redirect_uri,
            "access_denied",
            description="the person refused",
            state=attempt.client_state,
            issuer=ctx.settings.public_url,
        )
    me = await spaces.get_me(attempt.account_id)
    allowed = {choice.id for choice in await _choices(attempt.account_id, own=attempt.space_id, me=me)}
    if not allowed:
        raise LoginFailed(NOWHERE_TO_CONNECT)
    # Their own space unless they chose another: one the page offered (open, theirs to manage).
    if (space or str(attempt.space_id)) not in allowed:
        raise LoginFailed("Vous ne pouvez pas connecter d'application à cet espace.")
    chosen = UUID(space) if space else attempt.space_id
    acting_as, actor_kind = _standing(me, chosen, own=attempt.space_id)
    async with write_transaction():
        # One approval per attempt, taken before the grant is made: a second click (or tab) that
        # loaded the page too would otherwise make a second grant, which replaces the first one,
        # whose code the app then holds (its tokens refused, a grant left that nothing uses).
        await take_step(attempt.id, from_step="consent", to="granting")
        if not await held_enabled(client.client_id):
            raise LoginFailed(NO_LONGER_REGISTERED)
        try:
            grant_id = await spaces.create_app_grant(
                attempt.account_id, chosen, client_id=client.client_id, client_name=client.name, scopes=attempt.scopes
            )
        except NotFound:  # erased since the page was shown
            raise LoginFailed(NOWHERE_TO_CONNECT) from None
        noted = AccountAction(
            caller=Caller(
                kind="person",
                account_id=attempt.account_id,
                client_id=client.client_id,
                grant_id=grant_id,
                scopes=frozenset(attempt.scopes),
            ),
            action="POST /login/consent",
            request_id=request_id,
            resource_type="grants",
            resource_id=str(grant_id),
            client_name=client.name,
        )
        await noted.record(chosen, acting_as=acting_as, actor_kind=actor_kind, outcome=303)
    return await finish(ctx, attempt, client=client, kind="app", grant_id=grant_id, space_id=chosen)
