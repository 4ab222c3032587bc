"""The OAuth 2.0 token side: authorization codes, the token endpoint, refresh rotation, revocation.

Every token belongs to a grant row (``ens.spaces``): the phone app's session, created when its code
is exchanged, or a person's consent for an app, created on the consent page. Access tokens are
short-lived JWTs carrying the grant id; refresh tokens are opaque, stored hashed, and rotate on
every use. Presenting a refresh token that was already rotated revokes the grant (the whole chain)
— unless it comes within ``ENS_REFRESH_REUSE_INTERVAL`` seconds, so a phone that lost the response
may retry. A second use of an authorization code revokes the grant of the tokens the first produced
(only if the first use produced tokens: a failed exchange burns the code but leaves the grant alone).
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, NoReturn
from uuid import UUID

from authlib.oauth2.rfc7636 import create_s256_code_challenge

from ens.auth import client_keys
from ens.auth.clients import Client, find_client, secret_matches
from ens.auth.errors import OAuthError
from ens.auth.schemas import RevokeRequest, TokenRequest, TokenResponse
from ens.auth.tables import AuthorizationCode, RefreshToken
from ens.auth.tokens import AccessTokens
from ens.core import clock, keyring
from ens.core.clock import aware
from ens.core.db import Row, as_uuid, fetch, fetch_one, one_of, write_transaction
from ens.core.errors import Unauthorized
from ens.core.settings import Settings
from ens.spaces import service as spaces
from ens.spaces.caller import Caller
from ens.spaces.door.resolution import is_live, resolve_space
from ens.spaces.history import AppConnectionEnded, ConnectionEndReason

log = logging.getLogger("ens.auth.oauth")

CODE_TTL = timedelta(seconds=60)


def session_lifetime(settings: Settings) -> timedelta:
    """The longest a grant's tokens can work after it was made: its code exchanged at most
    :data:`CODE_TTL` later, its refresh chain lives ``ENS_REFRESH_TOKEN_MAX_AGE`` from then, and the
    access token of its last refresh ``ENS_ACCESS_TOKEN_TTL`` more."""
    return CODE_TTL + timedelta(seconds=settings.refresh_token_max_age + settings.access_token_ttl)


_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def _code_hash(settings_secret: str, code: str) -> str:
    return keyring.token_hash(settings_secret, "authorization-code:" + code)


def _code_hashes(settings_secret: str, code: str) -> tuple[str, ...]:
    """A code's hash under the current key, then under each key it replaced (what is looked up)."""
    return keyring.token_hashes(settings_secret, "authorization-code:" + code)


async def create_authorization_code(
    *,
    secret_key: str,
    client_id: str,
    redirect_uri: str,
    code_challenge: str,
    account_id: UUID,
    space_id: UUID | None,
    scopes: list[str],
    kind: Literal["session", "app", "professional"],
    grant_id: UUID | None,
    now: datetime | None = None,
) -> str:
    """A code valid 60 seconds, single use, stored hashed."""
    code = secrets.token_urlsafe(32)
    at = now or clock.now()
    await AuthorizationCode.insert(
        AuthorizationCode(
            code_hash=_code_hash(secret_key, code),
            client_id=client_id,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            account_id=account_id,
            space_id=space_id,
            scopes=" ".join(scopes),
            kind=kind,
            grant_id=grant_id,
            created_at=at,
            expires_at=at + CODE_TTL,
        )
    )
    return code


# How a client proves who it is at the token and revocation endpoints (RFC 8414 §2).
CLIENT_AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post", "private_key_jwt")


async def authenticate_client(
    settings: Settings, client_id: str | None, *, secret: str | None, assertion: Assertion | None = None
) -> Client:
    """RFC 6749 §2.3: public clients name themselves; confidential ones prove it with their secret,
    or (registered with their keys) with a JWT they signed (RFC 7523 §2.2, ``assertion``)."""
    if assertion is not None:
        return await _authenticate_by_assertion(settings, client_id, assertion)
    client = await find_client(client_id or "") if client_id else None
    if client is not None and not client.confidential and secret:
        raise OAuthError("invalid_client", "This client was registered without a secret: send none.", 401)
    if client is not None and client.jwks is not None:
        raise OAuthError(
            "invalid_client", "This client was registered with its keys: authenticate with a client_assertion.", 401
        )
    if client is None or not secret_matches(settings.secret_key, client, secret=secret):
        raise OAuthError("invalid_client", "Client authentication failed.", 401)
    return client


@dataclass(frozen=True)
class Assertion:
    """The form's ``client_assertion_type`` and ``client_assertion`` (RFC 7521 §4.2)."""

    type: str | None
    value: str | None


def assertion_of(form: TokenRequest | RevokeRequest) -> Assertion | None:
    """The client assertion a form carries, if it carries either part of one."""
    if form.client_assertion_type is None and form.client_assertion is None:
        return None
    return Assertion(type=form.client_assertion_type, value=form.client_assertion)


async def _authenticate_by_assertion(settings: Settings, client_id: str | None, assertion: Assertion) -> Client:
    if assertion.type is None:
        raise OAuthError("invalid_request", "client_assertion_type is required with client_assertion (RFC 7521).")
    if assertion.type != client_keys.ASSERTION_TYPE:
        raise OAuthError(
            "invalid_client", f"client_assertion_type must be {client_keys.ASSERTION_TYPE} (RFC 7523 §2.2).", 401
        )
    if not assertion.value:
        raise OAuthError("invalid_request", "client_assertion is required with client_assertion_type (RFC 7521).")
    claimed = client_keys.claimed_client(assertion.value)
    if client_id and claimed is not None and claimed != client_id:
        raise OAuthError("invalid_client", "client_assertion's sub is not the client_id sent beside it.", 401)
    named = client_id or claimed
    client = await find_client(named) if named else None
    if client is None or client.jwks is None:
        raise OAuthError("invalid_client", "Client authentication failed: no app registered with keys by that id.", 401)
    try:
        await client_keys.verify_assertion(
            assertion.value,
            client_id=client.client_id,
            jwks=client.jwks,
            issuer=settings.public_url,
            now=clock.now(),
        )
    except client_keys.AssertionRefused as exc:
        raise OAuthError("invalid_client", str(exc), 401) from exc
    return client


async def token(
    settings: Settings,
    tokens: AccessTokens,
    *,
    form: TokenRequest,
    basic: tuple[str, str] | None,
    request_id: str,
    now: datetime | None = None,
) -> TokenResponse:
    """``POST /oauth/token``: ``authorization_code`` or ``refresh_token``. ``request_id`` names the
    request in a space's history, should it end an app's connection (a code or refresh token used
    twice)."""
    client = await _client_of_request(settings, form, basic)
    if not form.grant_type:
        raise OAuthError("invalid_request", "grant_type is required.")
    if form.grant_type == "authorization_code":
        return await _exchange_code(
            settings, tokens, client=client, form=form, request_id=request_id, now=now or clock.now()
        )
    if form.grant_type == "refresh_token":
        if not form.refresh_token:
            raise OAuthError("invalid_request", "refresh_token is required.")
        return await _refresh(
            settings,
            tokens,
            client=client,
            refresh_token=form.refresh_token,
            scope=form.scope,
            request_id=request_id,
            now=now or clock.now(),
        )
    raise OAuthError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token.")


async def _client_of_request(
    settings: Settings, form: TokenRequest | RevokeRequest, basic: tuple[str, str] | None
) -> Client:
    """The client a token or revocation request comes from, authenticated one way only."""
    assertion = assertion_of(form)
    if assertion is not None and (basic is not None or form.client_secret is not None):
        raise OAuthError(
            "invalid_request", "Authenticate the client one way: a client_assertion, Basic or client_secret."
        )
    client_id, secret = _credentials(basic, form.client_id, form.client_secret)
    return await authenticate_client(settings, client_id, secret=secret, assertion=assertion)


def _credentials(
    basic: tuple[str, str] | None, client_id: str | None, client_secret: str | None
) -> tuple[str | None, str | None]:
    """The client's id and secret, from its Basic credentials or from the body: one method only
    (RFC 6749 §2.3: a client MUST NOT use more than one), and a ``client_id`` in the body beside
    Basic credentials names the same client."""
    if basic is None:
        return client_id, client_secret
    if client_secret is not None:
        raise OAuthError(
            "invalid_request", "Authenticate the client one way: Basic credentials or client_secret, not both."
        )
    if client_id and client_id != basic[0]:
        raise OAuthError("invalid_request", "client_id differs from the Basic credentials.")
    return basic


async def _exchange_code(
    settings: Settings, tokens: AccessTokens, *, client: Client, form: TokenRequest, request_id: str, now: datetime
) -> TokenResponse:
    if not form.code:
        raise OAuthError("invalid_request", "code is required.")
    if not form.redirect_uri:
        # Every authorization request names one (ens.auth.login.provider), so its code needs it back.
        raise OAuthError("invalid_request", "redirect_uri is required (RFC 6749 §4.1.3).")
    if not form.code_verifier:
        # A request missing a parameter, checked before the code is burnt: the app can send it again.
        raise OAuthError("invalid_request", "code_verifier is required (RFC 7636 §4.5).")
    if not _VERIFIER.fullmatch(form.code_verifier):
        # No verifier has that shape: no guess at the right one, so nothing to burn the code for
        # (an outside audit); the app sends the request again with its own.
        raise OAuthError(
            "invalid_request", "code_verifier is malformed: 43 to 128 of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)."
        )
    # Under the current key, or one it replaced: a login that ended as ENS_SECRET_KEY changed gave
    # the app a code hashed under the old key (a review of the rotation).
    hashes = _code_hashes(settings.secret_key, form.code)
    failure: OAuthError | None = None
    grant_id: UUID | None = None
    row: Row | None = None
    # One transaction: the code is burnt whatever the outcome (single use), and the session grant the
    # first use creates is recorded with it, so a concurrent second use sees it and revokes it.
    async with write_transaction():
        # Only its own client burns a code: another (the public app needs no secret) presenting a
        # confidential app's code it saw is refused without spending it.
        rows = await fetch(
            f"UPDATE authorization_codes SET used_at = {{}} WHERE {one_of('code_hash', hashes)} AND used_at IS NULL "
            "AND client_id = {} RETURNING *",
            now,
            *hashes,
            client.client_id,
        )
        if rows:
            row = rows[0]
            code_hash = str(row["code_hash"])
            failure = _code_refusal(row, client, form=form, now=now)
            if failure is None:
                grant_id = _uuid_or_none(row["grant_id"])
                if row["kind"] != "session" and (
                    grant_id is None or not await spaces.grant_is_live(grant_id, as_uuid(row["account_id"]))
                ):
                    # Revoked between the consent and this exchange (by the person, or by a new
                    # consent for the same app): no tokens that look alive and are refused.
                    failure = OAuthError("invalid_grant", "This authorization was revoked before the code was used.")
            if failure is None:
                if row["kind"] == "session":
                    grant_id = await spaces.create_session_grant(
                        as_uuid(row["account_id"]), client.client_id, client_name=client.name, label=None
                    )
                    await fetch(
                        "UPDATE authorization_codes SET grant_id = {} WHERE code_hash = {}", grant_id, code_hash
                    )
            if failure is not None:
                # A failed exchange (say, someone who saw the code but lacks the PKCE verifier) burns
                # the code, but the code forgets its grant: the legitimate app's later attempt is a
                # second use that must not revoke the person's consent.
                await fetch("UPDATE authorization_codes SET grant_id = NULL WHERE code_hash = {}", code_hash)
    if row is None:
        await _second_use(hashes, client, request_id=request_id)
        raise OAuthError("invalid_grant", "The authorization code is invalid, expired or already used.")
    if failure is not None:
        raise failure
    assert grant_id is not None
    return await _issue(
        settings,
        tokens,
        grant_id=grant_id,
        account_id=as_uuid(row["account_id"]),
        client=client,
        kind=row["kind"],
        space_id=_uuid_or_none(row["space_id"]),
        scopes=str(row["scopes"]).split(),
        chain_started_at=now,
        now=now,
    )


def _code_refusal(row: Row, client: Client, *, form: TokenRequest, now: datetime) -> OAuthError | None:
    if aware(row["expires_at"]) <= now:
        return OAuthError("invalid_grant", "The authorization code has expired.")
    if row["client_id"] != client.client_id:
        return OAuthError("invalid_grant", "The authorization code was issued to another client.")
    if form.redirect_uri != row["redirect_uri"]:
        return OAuthError("invalid_grant", "redirect_uri differs from the authorization request's.")
    if not hmac.compare_digest(create_s256_code_challenge(form.code_verifier or ""), row["code_challenge"]):
        return OAuthError("invalid_grant", "code_verifier does not match the code_challenge.")
    return None


async def _second_use(hashes: tuple[str, ...], client: Client, *, request_id: str) -> None:
    """RFC 6749 §4.1.2: a code used twice revokes the tokens issued for it, when its own client
    presents it again: another client (the public app, which needs no secret) presenting a
    confidential app's code it saw is no sign of theft of that app's code, and revoked the person's
    connection of that app (an outside audit).

    A used code keeps a ``grant_id`` only if its first use succeeded (see :func:`_exchange_code`).
    """
    row = await fetch_one(
        f"SELECT grant_id, used_at, client_id FROM authorization_codes WHERE {one_of('code_hash', hashes)}", *hashes
    )
    if row is None or row["client_id"] != client.client_id:
        return
    if row["used_at"] is not None and row["grant_id"] is not None:
        log.warning("authorization code used twice; its grant is revoked", extra={"grant_id": str(row["grant_id"])})
        await spaces.revoke_grant(as_uuid(row["grant_id"]), noted=_ended_at_refresh(request_id, "code_reused"))


async def _refresh(
    settings: Settings,
    tokens: AccessTokens,
    *,
    client: Client,
    refresh_token: str,
    scope: str | None,
    request_id: str,
    now: datetime,
) -> TokenResponse:
    """A new access token and the next refresh token of the chain. The refresh token keeps the
    authorization's scope (RFC 6749 §6); the access token has the ``scope`` asked, within it (an
    app asking for less got it all: an outside audit), or all of it when none is asked. A ``scope``
    beyond it is refused."""
    found, hashes = _refresh_token_is(settings, refresh_token)
    row = await fetch_one(f"SELECT * FROM refresh_tokens WHERE {found}", *hashes)
    if row is None or row["client_id"] != client.client_id:
        raise OAuthError("invalid_grant", "The refresh token is invalid.")
    grant_id, account_id = as_uuid(row["grant_id"]), as_uuid(row["account_id"])
    granted = str(row["scopes"]).split()
    asked = set((scope or "").split())
    if not asked <= set(granted):
        if row["rotated_at"] is not None:
            # An old token of the chain is a reuse whatever else the request asks (it was told
            # invalid_scope, and the chain lived on: an outside audit); never a retry to forgive,
            # since a refresh asking for more rotates nothing.
            await _revoke_reused_chain(grant_id, request_id=request_id)
        raise OAuthError("invalid_scope", "A refresh cannot widen the scope the person granted.")
    child_id = uuid.uuid4()
    refusal: OAuthError | None = None
    response: TokenResponse | None = None
    reused = lapsed = False
    # One transaction: the rotation names its successor (replaced_by) in the same conditional UPDATE
    # and the successor is inserted before commit, so a concurrent refresh that loses the race always
    # judges the token the winner issued, never a row read before the race.
    async with write_transaction():
        rotated = await fetch(
            "UPDATE refresh_tokens SET rotated_at = {}, replaced_by = {} WHERE id = {} AND rotated_at IS NULL "
            "RETURNING id",
            now,
            child_id,
            row["id"],
        )
        if rotated or await _forgiven_retry(settings, row["id"], new_child_id=child_id, now=now):
            refusal, lapsed = await _chain_refusal(settings, row, grant_id=grant_id, account_id=account_id, now=now)
            if refusal is None:
                response = await _issue(
                    settings,
                    tokens,
                    grant_id=grant_id,
                    account_id=account_id,
                    client=client,
                    kind=row["kind"],
                    space_id=_uuid_or_none(row["space_id"]),
                    scopes=granted,
                    chain_started_at=aware(row["chain_started_at"]),
                    now=now,
                    refresh_id=child_id,
                    access_scopes=[name for name in granted if name in asked] or None,
                )
        else:
            reused = True
    if response is not None:
        return response
    if reused:
        # Revoked after the transaction: raising inside it would roll the revocation back.
        await _revoke_reused_chain(grant_id, request_id=request_id)
    if lapsed:
        # After it too: the revocation takes the space's row first, which the rotation's lock on the
        # refresh token would otherwise precede (an erasure takes the space, then the tokens).
        await spaces.revoke_grant(grant_id, noted=_ended_at_refresh(request_id, "right_lapsed"))
    assert refusal is not None
    raise refusal


async def _revoke_reused_chain(grant_id: UUID, *, request_id: str) -> NoReturn:
    """A refresh token used again: its whole chain (the session, or the app's connection) is revoked."""
    log.warning("refresh token reused; its chain is revoked", extra={"grant_id": str(grant_id)})
    await spaces.revoke_grant(grant_id, noted=_ended_at_refresh(request_id, "refresh_token_reused"))
    raise OAuthError("invalid_grant", "The refresh token was already used; this session is revoked.")


def _ended_at_refresh(request_id: str, reason: ConnectionEndReason) -> AppConnectionEnded:
    """The space's history row of an app's connection the service ended at a token request (refused:
    ``invalid_grant``, 400): a code or refresh token presented a second time, or a refresh on a
    connection the right it was made under no longer holds."""
    return AppConnectionEnded(action="POST /oauth/token", request_id=request_id, outcome=400, reason=reason)


async def _forgiven_retry(settings: Settings, token_id: object, *, new_child_id: UUID, now: datetime) -> bool:
    """The token was already rotated: is this a retry to forgive (inside the caller's transaction)?

    Forgiven only within ``ENS_REFRESH_REUSE_INTERVAL`` of the rotation and only if the token it
    produced was never used (the phone lost the answer); that token dies now and ``new_child_id``
    takes its place. Anything else is a reuse.
    """
    interval = settings.refresh_reuse_interval
    if interval <= 0:
        return False
    # Read the rotation under the row's lock (a no-op UPDATE waits for a concurrent rotation or retry
    # to commit, and returns what it wrote), not from the row read before the race.
    rows = await fetch(
        "UPDATE refresh_tokens SET replaced_by = replaced_by WHERE id = {} RETURNING rotated_at, replaced_by",
        token_id,
    )
    if not rows or rows[0]["rotated_at"] is None or rows[0]["replaced_by"] is None:
        return False
    if now - aware(rows[0]["rotated_at"]) > timedelta(seconds=interval):
        return False
    killed = await fetch(
        "UPDATE refresh_tokens SET rotated_at = {} WHERE id = {} AND rotated_at IS NULL RETURNING id",
        now,
        rows[0]["replaced_by"],
    )
    if not killed:
        return False  # the successor was used: the old token is being replayed
    await fetch("UPDATE refresh_tokens SET replaced_by = {} WHERE id = {}", new_child_id, token_id)
    return True


async def _chain_refusal(
    settings: Settings, row: Row, *, grant_id: UUID, account_id: UUID, now: datetime
) -> tuple[OAuthError | None, bool]:
    """Why the chain gives no tokens now, if it does not; and whether the app's connection is to end
    for good (the caller revokes it, after its transaction)."""
    if not await spaces.grant_is_live(grant_id, account_id):
        return OAuthError("invalid_grant", "This session or app authorization has been revoked."), False
    if row["kind"] == "app" and not await _opens_its_space(row, grant_id=grant_id, account_id=account_id, now=now):
        # The door would refuse its tokens (the representative who connected it lost their right:
        # an end, the child's 18th birthday): the authorization ends here, for good.
        refusal = OAuthError("invalid_grant", "This app's authorization no longer opens its space; connect it again.")
        return refusal, True
    if aware(row["chain_started_at"]) + timedelta(seconds=settings.refresh_token_max_age) <= now:
        return OAuthError("invalid_grant", "The session is too old; sign in again."), False
    return None, False


async def _issue(
    settings: Settings,
    tokens: AccessTokens,
    *,
    grant_id: UUID,
    account_id: UUID,
    client: Client,
    kind: str,
    space_id: UUID | None,
    scopes: list[str],
    chain_started_at: datetime,
    now: datetime,
    refresh_id: UUID | None = None,
    access_scopes: list[str] | None = None,
) -> TokenResponse:
    """Tokens for the grant; ``refresh_id``: the id the rotation already named (``replaced_by``).
    The refresh token has ``scopes``, the access token ``access_scopes`` (a part of them a refresh
    asked for) or the same."""
    access_scopes = access_scopes or scopes
    caller = Caller(
        kind="app" if kind == "app" else "professional" if kind == "professional" else "person",
        account_id=account_id,
        client_id=client.client_id,
        grant_id=grant_id,
        scopes=frozenset(access_scopes),
        space_id=space_id if kind == "app" else None,
    )
    refresh_token = secrets.token_urlsafe(32)
    refresh_id = refresh_id or uuid.uuid4()
    async with write_transaction():
        await RefreshToken.insert(
            RefreshToken(
                id=refresh_id,
                token_hash=keyring.token_hash(settings.secret_key, "refresh:" + refresh_token),
                grant_id=grant_id,
                account_id=account_id,
                client_id=client.client_id,
                kind=kind,
                space_id=space_id,
                scopes=" ".join(scopes),
                chain_started_at=chain_started_at,
                created_at=now,
            )
        )
        await spaces.touch_grant(grant_id, now)
    return TokenResponse(
        access_token=tokens.issue(caller),
        token_type="Bearer",  # noqa: S106 — the RFC 6749 token type, not a secret
        expires_in=tokens.ttl,
        refresh_token=refresh_token,
        scope=" ".join(access_scopes),
        space=str(space_id) if kind == "app" and space_id else None,
    )


async def revoke(
    settings: Settings, tokens: AccessTokens, *, form: RevokeRequest, basic: tuple[str, str] | None, request_id: str
) -> None:
    """RFC 7009: revoking either token of a grant revokes the grant; unknown tokens are not an error.

    ``token_type_hint`` only says where to look first: a token not found there is looked for as the
    other type (§2.1). An access token that is authentic but expired still names its grant, which
    is revoked: its refresh token must not outlive the revocation the app asked for. A token issued
    to another client is refused (§2.1), ``invalid_grant`` (RFC 6749 §5.2: "issued to another
    client"), and revokes nothing.
    """
    client = await _client_of_request(settings, form, basic)
    if not form.token:
        raise OAuthError("invalid_request", "token is required (RFC 7009).")
    lookups = [_grant_of_access_token, _grant_of_refresh_token]
    if form.token_type_hint == "refresh_token":
        lookups.reverse()
    for lookup in lookups:
        found = await lookup(settings, tokens, token=form.token)
        if found is None:
            continue
        grant_id, issued_to = found
        if issued_to != client.client_id:
            raise OAuthError("invalid_grant", "This token was issued to another client; nothing was revoked.")
        # An app's connection so ended is a row in its space's history ("... s'est déconnectée").
        noted = AppConnectionEnded(action="POST /oauth/revoke", request_id=request_id, outcome=200)
        await spaces.revoke_grant(grant_id, noted=noted)
        return


async def _grant_of_access_token(settings: Settings, tokens: AccessTokens, *, token: str) -> tuple[UUID, str] | None:
    """The grant an access token of ours names, expired or not, and the client it was issued to;
    ``None`` if it is not one. The grant must be the token's person's and client's, as issued: a
    token signed under a replaced key (its holder may have had that key) naming a grant it was not
    issued for ends nothing (an outside audit)."""
    if token.count(".") != 2:
        return None
    try:
        caller = tokens.verify_any_age(token)
    except Unauthorized:
        return None  # an invalid token is simply not revoked (RFC 7009 §2.2)
    grant = await fetch_one("SELECT account_id, client_id FROM grants WHERE id = {}", caller.grant_id)
    if grant is None or as_uuid(grant["account_id"]) != caller.account_id or grant["client_id"] != caller.client_id:
        return None
    return caller.grant_id, caller.client_id


def _refresh_token_is(settings: Settings, token: str) -> tuple[str, tuple[str, ...]]:
    """The condition on ``refresh_tokens`` that finds ``token``'s row, and its arguments: its hash
    under the current key, or under a key it replaced (a chain begun before ENS_SECRET_KEY changed
    lives on; each rotation stores its successor under the current key)."""
    hashes = keyring.token_hashes(settings.secret_key, "refresh:" + token)
    return one_of("token_hash", hashes), hashes


async def _grant_of_refresh_token(settings: Settings, tokens: AccessTokens, *, token: str) -> tuple[UUID, str] | None:
    """The grant a refresh token belongs to (rotated or not) and its client; ``None`` if unknown."""
    found, hashes = _refresh_token_is(settings, token)
    row = await fetch_one(f"SELECT grant_id, client_id FROM refresh_tokens WHERE {found}", *hashes)
    if row is None:
        return None
    return as_uuid(row["grant_id"]), str(row["client_id"])


async def _opens_its_space(row: Row, *, grant_id: UUID, account_id: UUID, now: datetime) -> bool:
    """Whether the space door would let this app grant's tokens in now (its one decision)."""
    caller = Caller(
        kind="app",
        account_id=account_id,
        client_id=str(row["client_id"]),
        grant_id=grant_id,
        scopes=frozenset(str(row["scopes"]).split()),
        space_id=_uuid_or_none(row["space_id"]),
    )
    door_row, _, kind, _ = await resolve_space(caller, "me", now=now)
    return kind is not None and is_live(caller, door_row)


def _uuid_or_none(value: object) -> UUID | None:
    return None if value is None else as_uuid(value)
