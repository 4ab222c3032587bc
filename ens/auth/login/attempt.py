"""The login attempt: one database row (API processes are stateless), bound to the browser by a cookie.

What the login needs from the app, what the browser sees next (a :class:`Screen` or a
:class:`Redirect`), and the attempt's life: load it, move it a step, finish it with one
authorization code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlencode
from uuid import UUID

from cryptography.exceptions import InvalidTag

from ens.auth import oauth, otp
from ens.auth.clients import Client
from ens.auth.errors import LoginFailed, error_description
from ens.auth.login.pages import ConsentView
from ens.auth.upstream import Upstream
from ens.core import clock, keyring
from ens.core.db import Row, as_uuid, fetch, fetch_one, write_transaction
from ens.core.mail import Mailer
from ens.core.settings import Settings

log = logging.getLogger("ens.auth.login")

ATTEMPT_TTL = timedelta(minutes=30)

# An attempt that spent its codes (``ENS_OTP_MAX_FAILURES``) ends at step ``spent``: the account is
# not locked, the person starts a new login, through the identity provider again.
TRIES_SPENT = (
    "Trop de codes erronés pour cette connexion : elle est annulée. Recommencez depuis l'application ; "
    "vous repasserez par votre service d'identité."
)
# A lost-factor recovery that replaced the account's factor ends every other attempt under way
# (ens.auth.otp.activate_factor) at step ``superseded``: a phone that may be stolen signs in no more.
FACTOR_REPLACED_MEANWHILE = (
    "Le second facteur de ce compte a été remplacé pendant cette connexion : elle est annulée. "
    "Recommencez depuis l'application."
)
STEP_OVER = "Cette étape de la connexion est terminée. Recommencez depuis l'application."


def step_over(attempt: Attempt, otherwise: str = STEP_OVER) -> LoginFailed:
    """What a page or a button of a step the attempt is no longer at answers: why it ended when
    it ended early, else ``otherwise``."""
    if attempt.step == "spent":
        return LoginFailed(TRIES_SPENT, title="Trop de codes erronés")
    if attempt.step == "superseded":
        return LoginFailed(FACTOR_REPLACED_MEANWHILE, title="Second facteur remplacé")
    return LoginFailed(otherwise)


@dataclass
class LoginContext:
    """What the login needs from the app: settings, the upstream providers (people's, and
    professionals' when one is configured), the mailer."""

    settings: Settings
    upstream: Upstream
    mailer: Mailer
    pro_upstream: Upstream | None = None


@dataclass(frozen=True)
class Redirect:
    url: str
    # The browser's token of the attempt its login pages serve next, put first in its cookie (a
    # login starts, or the provider sent the browser back for it); ``None``: the cookie stays as is.
    browser_token: str | None = None
    # The browser's whole cookie, when the step chose which of its logins it keeps (a new login:
    # :func:`cookie_with_new_attempt`); ``None``: ``browser_token`` first, then the others it held.
    cookie: str | None = None
    # The browser has just passed the second factor: its known-browser token, for its cookie
    # (:mod:`ens.auth.otp.browsers`).
    known_browser: str | None = None


ScreenKind = Literal[
    "enrol", "otp", "lost_email", "recovery_codes", "recovery_codes_done", "reopen", "consent", "logout"
]


@dataclass(frozen=True)
class Screen:
    kind: ScreenKind
    csrf: str
    error: str | None = None  # a refused code, said at the code's field
    info: str | None = None
    # Why no code could be sent by e-mail: said at the top of the page, not at the field (nothing
    # typed is wrong).
    unsent: str | None = None
    email_hint: str | None = None
    codes: list[str] = field(default_factory=list)
    enrolment: otp.Enrolment | None = None
    consent: ConsentView | None = None
    known_browser: str | None = None  # as :attr:`Redirect.known_browser`
    app_name: str | None = None  # the application the login opens (the code page says it)


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
    step: str
    recovering: bool
    account_id: UUID | None
    space_id: UUID | None
    id_token: str | None
    new_factor_id: UUID | None
    pending_identity: str | None = None
    # The token of the browser's cookie that opened the attempt (:func:`browser_attempts`): not in
    # the row, which keeps its hash.
    browser_token: str = ""

    @property
    def csrf(self) -> str:
        """The token of the attempt's forms, derived from the browser's (none without it)."""
        return csrf_of(self.browser_token) if self.browser_token else ""

    @classmethod
    def of(cls, row: Row, *, browser_token: str = "") -> Attempt:
        return cls(
            id=as_uuid(row["id"]),
            client_id=row["client_id"],
            redirect_uri=row["redirect_uri"],
            client_state=row["client_state"],
            code_challenge=row["code_challenge"],
            scopes=str(row["scopes"]).split(),
            upstream_state=row["upstream_state"],
            upstream_nonce=row["upstream_nonce"],
            upstream_verifier=row["upstream_verifier"],
            step=row["step"],
            recovering=bool(row["recovering"]),
            account_id=as_uuid(row["account_id"]) if row["account_id"] else None,
            space_id=as_uuid(row["space_id"]) if row["space_id"] else None,
            id_token=row["id_token"],
            new_factor_id=as_uuid(row["new_factor_id"]) if row["new_factor_id"] else None,
            pending_identity=row["pending_identity"],
            browser_token=browser_token,
        )


# What the attempt's row keeps of the secrets it reads back (the provider's nonce and PKCE verifier
# until the provider answers, its ID token until the logout, the claims waiting for the second
# factor): sealed with AES-GCM under a key of their own, bound to the attempt's id. The provider's
# ``state`` it looks an attempt up by is kept as a keyed hash. A copy of the table (a backup, a
# replica's disk) gives no login in flight: the browser holds it by a token the row keeps only the
# hash of (:func:`browser_key`), its forms' token derived from the same (:func:`csrf_of`).
_SEAL_PURPOSE = "login-attempt"


def seal(settings: Settings, attempt_id: UUID, text: str) -> str:
    blob = keyring.encrypt(settings.secret_key, _SEAL_PURPOSE, plaintext=text.encode(), associated=attempt_id.bytes)
    return base64.urlsafe_b64encode(blob).decode()


def unseal(settings: Settings, attempt_id: UUID, sealed: str | None) -> str | None:
    """The secret :func:`seal` kept; ``None`` when there is none, or none readable (sealed under
    another ``ENS_SECRET_KEY``, or by no one: the login then starts again)."""
    if not sealed:
        return None
    try:
        blob = base64.urlsafe_b64decode(sealed.encode())
        return keyring.decrypt(settings.secret_key, _SEAL_PURPOSE, blob=blob, associated=attempt_id.bytes).decode()
    except (binascii.Error, ValueError, InvalidTag):
        return None


def state_key(settings: Settings, state: str) -> str:
    """What the row keeps of a ``state`` sent to the provider, to find the attempt by."""
    return keyring.token_hash(settings.secret_key, state)


def state_keys(settings: Settings, state: str) -> tuple[str, ...]:
    """The hashes a row may keep of ``state``: under the current key, then under each key it
    replaced (a login at the provider when ENS_SECRET_KEY changed comes back to find its attempt)."""
    return keyring.token_hashes(settings.secret_key, state)


def error_redirect(redirect_uri: str, error: str, *, description: str, state: str | None, issuer: str) -> Redirect:
    """Back to the app with ``?error=...`` (RFC 6749 §4.1.2.1), keeping its ``state``, naming the
    issuer (RFC 9207)."""
    params = {"error": error, "error_description": error_description(description)}
    if state is not None:
        params["state"] = state
    params["iss"] = issuer
    return Redirect(redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(params))


# What a provider's own error tells the app (RFC 6749 §4.1.2.1): that it was down, so the app may
# offer to try again, or that the login did not happen (the person cancelled, or it refused).
_PROVIDER_DOWN = frozenset({"server_error", "temporarily_unavailable"})


def provider_refusal(attempt: Attempt, error: str, *, issuer: str) -> Redirect:
    """Back to the app after the identity provider answered ``?error=``: ``server_error`` and
    ``temporarily_unavailable`` as they came (every error was ``access_denied``, and the app could
    not tell a refusal from a provider down: an outside audit), any other ``access_denied``. The
    provider's code goes to the log, among the codes it may send, nothing else of its answer."""
    known = error if error in _PROVIDER_DOWN or error in _PROVIDER_REFUSALS else "other"
    log.warning("identity provider answered an error", extra={"event": "provider_error", "reason": known})
    down = error in _PROVIDER_DOWN
    return error_redirect(
        attempt.redirect_uri,
        error if down else "access_denied",
        description="the identity provider is unavailable" if down else "the identity provider refused",
        state=attempt.client_state,
        issuer=issuer,
    )


_PROVIDER_REFUSALS = frozenset(
    {"access_denied", "login_required", "consent_required", "interaction_required", "invalid_request"}
)


# A browser runs a few logins at once (two tabs, two apps): its cookie holds a token for each, the
# one its pages serve first, "token.token.token" (one cookie for all: a second login replaced the
# first's, whose provider's answer then found "another browser", an outside audit).
ATTEMPTS_A_BROWSER_KEEPS = 3

# A token is 32 random bytes (URL-safe base64). The cookie named the attempts' ids, which are the
# rows' keys, with the forms' token beside them in clear: a read of the table (a backup, a replica's
# disk) rebuilt the cookie of a login in flight and finished its enrolment, seeing the new TOTP seed
# and the recovery codes (an outside security audit). The row keeps a hash of the token, and the
# forms' token is derived from it: neither can be rebuilt from the table. (256 random bits need no
# key to hash; each use has its own prefix, so one hash says nothing of the other.)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def new_browser_token() -> str:
    """A new login's token, for the browser's cookie."""
    return secrets.token_urlsafe(32)


def browser_key(token: str) -> str:
    """What the attempt's row keeps of the browser's token (``login_attempts.browser_key``)."""
    return hashlib.sha256(b"ens login browser:" + token.encode()).hexdigest()


def csrf_of(token: str) -> str:
    """The token of the attempt's forms, derived from the browser's (and so in no row)."""
    return hashlib.sha256(b"ens login form:" + token.encode()).hexdigest()


def browser_tokens(cookie: str | None) -> list[str]:
    """The tokens the browser's cookie holds, the one its pages serve first."""
    parts = (cookie or "").split(".")[:ATTEMPTS_A_BROWSER_KEEPS]
    return [part for part in parts if _TOKEN.fullmatch(part)]


def cookie_naming(token: str, cookie: str | None) -> str:
    """The cookie with ``token`` first, then the others it held (the oldest dropped)."""
    others = [other for other in browser_tokens(cookie) if other != token]
    return ".".join([token, *others][:ATTEMPTS_A_BROWSER_KEEPS])


# A login past the provider: the provider answered for it (its step moved on, or it went back there
# to prove the person again for a lost factor: it has their account), and it still serves, running
# or holding the provider's ID token a logout ends (or waiting for the logout's return).
PAST_THE_PROVIDER = "(step <> 'upstream' OR account_id IS NOT NULL) AND (expires_at > {} OR id_token IS NOT NULL)"


async def cookie_with_new_attempt(token: str, cookie: str | None) -> str:
    """The cookie of a browser starting a login: its ``token`` first, then the others ``cookie``
    holds, as many as fit. When they do not all fit, the first pushed out are those no longer past
    the provider (gone, over, or still at the provider), the oldest first; a login past it goes last.

    Opening ``/oauth/authorize`` is a top-level navigation, which another site can make the browser
    do (the ``SameSite=Lax`` cookie goes with it and is set by its answer): three of them pushed the
    oldest logins out, the one the person was finishing among them (their code refused, then "cette
    étape est terminée"; a signed-in browser had nothing left to sign out of: an outside audit).
    """
    others = [other for other in browser_tokens(cookie) if other != token]
    room = ATTEMPTS_A_BROWSER_KEEPS - 1
    if len(others) > room:
        past = {attempt.browser_token for attempt in await browser_attempts(cookie, PAST_THE_PROVIDER, clock.now())}
        while len(others) > room:
            dispensable = [other for other in others if other not in past]
            others.remove((dispensable or others)[-1])  # the cookie names the oldest last
    return ".".join([token, *others])


def opened_by(cookie: str | None, row: Row) -> str | None:
    """The token of ``cookie`` that opens the attempt ``row``; ``None``: another browser's."""
    return next((token for token in browser_tokens(cookie) if browser_key(token) == row["browser_key"]), None)


async def browser_attempts(cookie: str | None, condition: str, *args: Any) -> list[Attempt]:
    """The attempts the browser's cookie holds that meet ``condition``, in the cookie's order."""
    keys = {browser_key(token): token for token in browser_tokens(cookie)}
    if not keys:
        return []
    rows = await fetch(
        f"SELECT * FROM login_attempts WHERE browser_key IN ({', '.join('{}' for _ in keys)}) AND {condition}",
        *keys,
        *args,
    )
    order = list(keys.values())
    found = [Attempt.of(row, browser_token=keys[row["browser_key"]]) for row in rows]
    return sorted(found, key=lambda attempt: order.index(attempt.browser_token))


async def load(cookie: str | None) -> Attempt:
    """The browser's login attempt its pages serve, still running: the first its cookie names that
    the provider answered (a login started meanwhile, still at the provider, put first by the
    authorization request, took the pages from one at its code, whose form was then refused: an
    outside audit); else the first."""
    if not browser_tokens(cookie):
        raise LoginFailed("Aucune connexion en cours dans ce navigateur. Recommencez depuis l'application.")
    running = await browser_attempts(cookie, "expires_at > {}", clock.now())
    if not running:
        raise LoginFailed("Votre connexion a expiré. Recommencez depuis l'application.", title="Connexion expirée")
    return next((attempt for attempt in running if attempt.step != "upstream"), running[0])


def code_budget(attempt: Attempt, *, browser: str | None = None) -> otp.TryBudget:
    """The attempt's own wrong-code budget (its row outlives the attempt, so it never starts afresh);
    ``browser``: the known browser it runs in, whose lock its tries count on."""
    return otp.TryBudget(attempt.id, keep=ATTEMPT_TTL, browser=browser)


def check_csrf(attempt: Attempt, csrf: str | None) -> None:
    """The form's token must be the attempt's: a form posted from elsewhere stops here."""
    if not csrf or not attempt.csrf or not hmac.compare_digest(csrf.encode(), attempt.csrf.encode()):
        raise LoginFailed("Le formulaire n'est plus valable. Rechargez la page.", 403)


_COLUMNS = {
    "step",
    "pending_identity",
    "account_id",
    "space_id",
    "id_token",
    "new_factor_id",
    "recovering",
    "upstream_state",
    "upstream_nonce",
    "upstream_verifier",
}


# The steps an attempt ends at: none is ever left (a factor replacement's ``superseded`` included).
_ENDS = "('done', 'spent', 'superseded')"


async def update_attempt(attempt_id: UUID, **values: Any) -> None:
    """Move the attempt on: set some of its columns (only those a step may change). A new step is
    never taken from an end: an attempt a factor replacement ended while this request ran (read
    before it) stays ended, and this request is refused with why (an outside audit)."""
    assert set(values) <= _COLUMNS
    assignments = ", ".join(f"{name} = {{}}" for name in values)
    if "step" not in values:
        await fetch(f"UPDATE login_attempts SET {assignments} WHERE id = {{}}", *values.values(), attempt_id)
        return
    moved = await fetch(
        f"UPDATE login_attempts SET {assignments} WHERE id = {{}} AND step NOT IN {_ENDS} RETURNING id",
        *values.values(),
        attempt_id,
    )
    if not moved:
        raise await _ended(attempt_id)


async def _ended(attempt_id: UUID) -> LoginFailed:
    """Why an attempt could not move on: the end it reached, in the words its pages use."""
    row = await fetch_one("SELECT step FROM login_attempts WHERE id = {}", attempt_id)
    if row is not None and row["step"] == "spent":
        return LoginFailed(TRIES_SPENT, title="Trop de codes erronés")
    if row is not None and row["step"] == "superseded":
        return LoginFailed(FACTOR_REPLACED_MEANWHILE, title="Second facteur remplacé")
    return LoginFailed("Cette connexion est déjà terminée.")


async def take_step(attempt_id: UUID, *, from_step: str | None, to: str) -> None:
    """Move the attempt from ``from_step`` (``None``: any step but an end, ``done``, ``spent`` or
    ``superseded``) to ``to``, atomically: of two requests that both read the earlier step, the
    second is refused here, not run twice; an attempt a factor replacement ended meanwhile stays
    ended (it was taken to ``done`` and given a code: an outside audit)."""
    condition = f"step NOT IN {_ENDS}" if from_step is None else "step = {}"
    moved = await fetch(
        f"UPDATE login_attempts SET step = {{}} WHERE id = {{}} AND {condition} RETURNING id",
        to,
        attempt_id,
        *([] if from_step is None else [from_step]),
    )
    if not moved:
        raise await _ended(attempt_id)


async def finish(
    ctx: LoginContext,
    attempt: Attempt,
    *,
    client: Client,
    kind: Literal["session", "app", "professional"],
    grant_id: UUID | None,
    space_id: UUID | None,
) -> Redirect:
    """End the attempt with one authorization code, sent back to the app's redirect URI."""
    assert attempt.account_id is not None
    # One transaction: a factor replacement (ens.auth.otp.activate_factor) either ended the attempt
    # before (no code), or waits for this one and expires the code it sees.
    async with write_transaction():
        await take_step(attempt.id, from_step=None, to="done")  # one authorization code per attempt
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
    # RFC 9207: the app checks who answered (an app talking to two authorization servers is not
    # sent one's code for the other's).
    params["iss"] = ctx.settings.public_url
    separator = "&" if "?" in attempt.redirect_uri else "?"
    return Redirect(attempt.redirect_uri + separator + urlencode(params))
