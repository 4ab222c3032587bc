"""The pages under ``/login`` between the provider and the app: the second factor and its recovery.

Enrolment (first login, or after a lost factor) with its recovery codes shown once, a code at each
login, a lost factor proven again at the provider then by an e-mail code; and the reopening of the
person's own closed space, which leads to the second factor.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import secrets
from uuid import UUID

import msgspec

from ens.auth import otp
from ens.auth.clients import find_client
from ens.auth.errors import CodeRefused, LoginFailed, TriesSpent
from ens.auth.login.attempt import (
    TRIES_SPENT,
    Attempt,
    LoginContext,
    Redirect,
    Screen,
    check_csrf,
    code_budget,
    finish,
    load,
    seal,
    state_key,
    step_over,
    take_step,
    unseal,
    update_attempt,
)
from ens.auth.login.consent import consent_screen
from ens.auth.login.notices import (
    EMAIL_CHANGED,
    EMAIL_REMOVED,
    FACTOR_REPLACED,
    RECOVERY_USED,
    new_device,
    notify,
    tell_of_a_lock,
)
from ens.core import clock
from ens.core.owed_mail import send_owed_notice
from ens.spaces import service as spaces
from ens.spaces.door import erasure_begun

log = logging.getLogger("ens.auth.login")


async def to_second_factor(ctx: LoginContext, attempt_id: UUID, *, account_id: UUID) -> None:
    """Enrol a factor if the account has none active, else ask for a code."""
    if await otp.active_factor(account_id) is None:
        factor_id = await otp.start_enrolment(ctx.settings, account_id)
        await update_attempt(attempt_id, step="enrol", new_factor_id=factor_id)
    else:
        await update_attempt(attempt_id, step="otp")


async def _email_hint(account_id: UUID) -> str | None:
    email = (await spaces.get_account(account_id)).email
    if not email or "@" not in email:
        return None
    name, _, domain = email.partition("@")
    return f"{name[:2]}…@{domain}"


async def current_screen(
    ctx: LoginContext,
    cookie: str | None,
    *,
    error: str | None = None,
    info: str | None = None,
    unsent: str | None = None,
) -> Screen:
    """The page the attempt is at (GET /login/otp)."""
    attempt = await load(cookie)
    assert_account = attempt.account_id
    if attempt.step == "enrol" and attempt.new_factor_id and assert_account:
        account = await spaces.get_account(assert_account)
        label = f"{account.given_name} {account.family_name}"
        try:
            enrolment = await otp.enrolment(ctx.settings, attempt.new_factor_id, account_label=label)
        except CodeRefused as exc:
            raise LoginFailed(exc.detail) from exc
        return Screen("enrol", attempt.csrf, error=error, enrolment=enrolment)
    if attempt.step == "otp" and assert_account:
        hint = await _email_hint(assert_account)
        client = await find_client(attempt.client_id)
        app_name = client.name if client is not None else None
        return Screen("otp", attempt.csrf, error=error, info=info, unsent=unsent, email_hint=hint, app_name=app_name)
    if attempt.step == "lost_email" and assert_account:
        hint = await _email_hint(assert_account)
        return Screen("lost_email", attempt.csrf, error=error, info=info, unsent=unsent, email_hint=hint)
    if attempt.step == "recovery_codes":
        return Screen("recovery_codes_done", attempt.csrf)
    if attempt.step == "reopen":
        return Screen("reopen", attempt.csrf)
    if attempt.step == "consent":
        return await consent_screen(cookie)
    raise step_over(attempt)


async def submit_code(
    ctx: LoginContext, cookie: str | None, *, csrf: str | None, code: str | None, browser: str | None = None
) -> Screen | Redirect:
    """POST /login/otp: the enrolment's first code, a second-factor code, or the lost-factor e-mail code.
    ``browser``: the browser's known-browser cookie; a code that passes the second factor
    remembers the browser (the outcome's ``known_browser``, for that cookie)."""
    attempt = await load(cookie)
    check_csrf(attempt, csrf)
    if attempt.step == "recovery_codes":
        # The enrolment's form sent again (a reload of the codes' page, a phone bringing back a tab
        # it had put away): the login goes on, the codes are not shown twice. It was "Cette étape
        # de la connexion est terminée", a login given up that was still going on (an outside audit).
        return Screen("recovery_codes_done", attempt.csrf)
    account_id = attempt.account_id
    if account_id is None or attempt.step not in ("enrol", "otp", "lost_email"):
        raise step_over(attempt)
    method: otp.Method = "totp"
    known = await otp.known_browser(ctx.settings, account_id, browser, now=clock.now())
    budget = code_budget(attempt, browser=known.key if known is not None else None)
    try:
        if attempt.step == "enrol" and attempt.new_factor_id is not None:
            await otp.verify_enrolment_code(
                ctx.settings, account_id, factor_id=attempt.new_factor_id, budget=budget, raw=code or ""
            )
        elif attempt.step == "lost_email":
            await otp.verify_email_code(ctx.settings, account_id, attempt_id=attempt.id, budget=budget, raw=code or "")
        else:
            method = await otp.verify_second_factor(
                ctx.settings, account_id, attempt_id=attempt.id, budget=budget, raw=code or ""
            )
    except TriesSpent as exc:
        await tell_of_a_lock(ctx, account_id, exc)
        # The attempt is over (its other buttons too), not the account: a new login may try again.
        with contextlib.suppress(LoginFailed):  # a concurrent try of the attempt moved it already
            await take_step(attempt.id, from_step=attempt.step, to="spent")
        raise LoginFailed(f"{exc.detail} {TRIES_SPENT}".strip(), title="Trop de codes erronés") from exc
    except CodeRefused as exc:
        await tell_of_a_lock(ctx, account_id, exc)
        return await current_screen(ctx, cookie, error=exc.detail)
    if attempt.step == "lost_email":
        factor_id = await otp.start_enrolment(ctx.settings, account_id)
        await update_attempt(attempt.id, step="enrol", new_factor_id=factor_id)
        return Redirect("/login/otp")
    if attempt.step == "enrol" and attempt.new_factor_id is not None:
        replaced = await otp.activate_factor(account_id, attempt.new_factor_id, replacing=attempt.recovering)
        codes = await otp.issue_recovery_codes(ctx.settings, account_id)
        await update_attempt(attempt.id, step="recovery_codes")
        if replaced:
            await notify(ctx, account_id, subject="Votre second facteur a été remplacé", text=FACTOR_REPLACED)
        # (After the activation, which forgot the account's browsers when it replaced a factor: then
        # this browser gets a new token, and a copy of its cookie taken before is a stranger's: a review.)
        cookie_now = await otp.remember_browser(
            ctx.settings, account_id, browser, known=None if replaced else known, attempt_id=attempt.id, now=clock.now()
        )
        return Screen("recovery_codes", attempt.csrf, codes=codes, known_browser=cookie_now)
    if method == "recovery":
        await notify(ctx, account_id, subject="Un code de secours a été utilisé", text=RECOVERY_USED)
    cookie_now = await otp.remember_browser(
        ctx.settings, account_id, browser, known=known, attempt_id=attempt.id, now=clock.now()
    )
    return dataclasses.replace(await _after_second_factor(ctx, attempt), known_browser=cookie_now)


async def acknowledge_recovery_codes(ctx: LoginContext, cookie: str | None, *, csrf: str | None) -> Redirect:
    """The person has noted their recovery codes: the login goes on (consent or back to the app)."""
    attempt = await load(cookie)
    check_csrf(attempt, csrf)
    if attempt.step != "recovery_codes":
        raise step_over(attempt)
    return await _after_second_factor(ctx, attempt)


async def request_email_code(
    ctx: LoginContext, cookie: str | None, *, csrf: str | None, browser: str | None = None
) -> Screen:
    """Send a one-time code by e-mail for this login attempt (rate-limited), and show the code form.
    ``browser``: the browser's known-browser cookie (then the account's lock does not hold it back)."""
    attempt = await load(cookie)
    check_csrf(attempt, csrf)
    if attempt.account_id is None or attempt.step not in ("otp", "lost_email"):
        raise step_over(attempt)
    refused = await try_email_code(ctx, attempt, account_id=attempt.account_id, browser=browser)
    if refused is not None:
        return await current_screen(ctx, cookie, unsent=refused)
    return await current_screen(ctx, cookie, info="Un code vous a été envoyé par e-mail. Il est valable 10 minutes.")


# The lost-factor page when its first code could not be sent (GET /login/otp?notice=unsent).
CODE_NOT_SENT = (
    "Aucun code n'a pu vous être envoyé pour l'instant (trop de codes demandés cette heure-ci, trop d'essais, "
    "ou messagerie indisponible). Réessayez plus tard avec « Renvoyer un code »."
)


async def try_email_code(
    ctx: LoginContext, attempt: Attempt, *, account_id: UUID, browser: str | None = None
) -> str | None:
    """E-mail a one-time code unless none can be sent now (the hourly limit, the second factor's
    lock, the mail server): then why, for the page (the lost-factor way in lands on its page all the
    same, whose "send again" works later). ``browser``: the browser's known-browser cookie (then its
    own lock and hourly count hold it, not strangers')."""
    known = await otp.known_browser(ctx.settings, account_id, browser, now=clock.now())
    key = known.key if known is not None else None
    try:
        await otp.ensure_not_locked(account_id, browser=key)
        await send_email_code(ctx, attempt, account_id=account_id, browser=key)
    except CodeRefused as exc:
        log.warning("e-mail code not sent: %s", exc.detail)
        return exc.detail
    return None


async def send_email_code(ctx: LoginContext, attempt: Attempt, *, account_id: UUID, browser: str | None) -> None:
    """E-mail a one-time code to the account's address (the lost-factor way in); ``browser``: the
    known browser asking (its key), whose hourly count it spends."""
    email = (await spaces.get_account(account_id)).email
    if not email:
        raise LoginFailed("Aucune adresse e-mail n'est connue pour votre compte : ce moyen n'est pas disponible.")
    code = await otp.new_email_code(ctx.settings, attempt.id, account_id=account_id, browser=browser)
    try:
        await ctx.mailer.send(
            email,
            "Votre code de connexion à l'espace santé",
            text=f"Votre code de connexion est : {code}\n\nIl est valable 10 minutes et ne sert qu'une fois.\n"
            "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n",
            dev_note=f"code {code}",
        )
    except OSError as exc:
        log.error("e-mail code not sent: %s", type(exc).__name__)
        raise CodeRefused("L'e-mail n'a pas pu être envoyé. Réessayez dans un instant.") from exc


async def lost_factor(ctx: LoginContext, cookie: str | None, *, csrf: str | None) -> Redirect:
    """Lost phone and recovery codes: prove identity again at the provider, then with an e-mail code."""
    attempt = await load(cookie)
    check_csrf(attempt, csrf)
    if attempt.account_id is None or attempt.step != "otp":
        raise step_over(attempt)
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    url = await ctx.upstream.authorization_url(state, nonce, verifier=verifier, force_login=True)
    await update_attempt(
        attempt.id,
        step="upstream",
        recovering=True,
        upstream_state=state_key(ctx.settings, state),
        upstream_nonce=seal(ctx.settings, attempt.id, nonce),
        upstream_verifier=seal(ctx.settings, attempt.id, verifier),
    )
    return Redirect(url)


async def reopen(ctx: LoginContext, cookie: str | None, *, csrf: str | None, decision: str | None) -> Redirect:
    """Reopen the closed space (offered only once the second factor has passed), or leave it
    closed (``later``: the person goes on to the spaces they represent, and may reopen theirs from
    the app, ``POST /v1/spaces/{space}/reopen``); then go on."""
    attempt = await load(cookie)
    check_csrf(attempt, csrf)
    if attempt.step != "reopen" or attempt.account_id is None or attempt.space_id is None:
        raise step_over(attempt)
    if decision not in (None, "reopen", "later"):
        raise LoginFailed("Choisissez de rouvrir votre espace ou de continuer sans le rouvrir.")
    if decision != "later":
        await spaces.reopen_space(attempt.space_id)
    return await _go_on(ctx, attempt)


async def _after_second_factor(ctx: LoginContext, attempt: Attempt) -> Redirect:
    """The person has proven who they are: apply the provider's new claims, offer to reopen a
    closed space, then consent (third-party app) or back to the app."""
    if attempt.account_id is None:
        raise step_over(attempt)
    await _apply_pending_identity(ctx, attempt, account_id=attempt.account_id)
    # Not a space being erased: closed at its point of no return, it is never reopened (409 from the
    # API), and the login offered it all the same (a review).
    if (
        attempt.space_id is not None
        and await spaces.space_status(attempt.space_id) == "closed"
        and not await erasure_begun(attempt.space_id)
    ):
        await update_attempt(attempt.id, step="reopen")
        return Redirect("/login/otp")
    return await _go_on(ctx, attempt)


async def _apply_pending_identity(ctx: LoginContext, attempt: Attempt, *, account_id: UUID) -> None:
    pending = unseal(ctx.settings, attempt.id, attempt.pending_identity)
    if pending is None:
        return
    identity = msgspec.json.decode(pending, type=spaces.Identity)
    previous_email = await spaces.apply_identity_claims(account_id, identity)
    await update_attempt(attempt.id, pending_identity=None)
    if previous_email:
        # Said to the old address: if the change was not the person's doing, they learn it there.
        if identity.email:
            subject, text = "Votre adresse e-mail a changé", EMAIL_CHANGED
        else:
            subject, text = "Votre adresse e-mail a été retirée", EMAIL_REMOVED
        await send_owed_notice(ctx.mailer, account_id, previous_email, subject, text)


async def _go_on(ctx: LoginContext, attempt: Attempt) -> Redirect:
    client = await find_client(attempt.client_id)
    if client is None or attempt.account_id is None:
        raise LoginFailed("Cette application n'est plus enregistrée.")
    if not client.is_first_party:
        await update_attempt(attempt.id, step="consent")
        return Redirect("/login/consent")
    text = new_device(clock.now(), client.name)
    await notify(ctx, attempt.account_id, subject="Nouvelle connexion à votre espace santé", text=text)
    return await finish(ctx, attempt, client=client, kind="session", grant_id=None, space_id=None)
