"""Tables of the login and the OAuth 2.0 server: clients, login attempts, second factors, codes, tokens.

API processes keep no state of their own: everything a login needs between two requests lives here.
"""

from __future__ import annotations

from piccolo.columns import UUID, BigInt, Boolean, Bytea, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class OAuthClient(Table, tablename="oauth_clients"):
    """A labelled app registered with ``ens apps register`` (the first-party ``ens-mobile`` is built in)."""

    client_id = Varchar(length=128, primary_key=True)
    name = Varchar(length=255)
    publisher = Varchar(length=255, null=True, default=None)
    kind = Varchar(length=16)
    label_status = Varchar(length=32)
    redirect_uris = Text()
    allowed_scopes = Text()
    confidential = Boolean(default=False)
    secret_hash = Varchar(length=128, null=True, default=None)
    # A confidential app that signs its requests (ens.auth.client_keys): its public JWK Set, no secret.
    jwks = Text(null=True, default=None)
    created_at = Timestamptz()
    disabled_at = Timestamptz(null=True, default=None)


class ClientAssertion(Table, tablename="client_assertions"):
    """A signed client assertion taken (a hash of its client and ``jti``), kept until it expires:
    none is taken twice (``ens.auth.client_keys``)."""

    key_hash = Varchar(length=64, primary_key=True)
    expires_at = Timestamptz()


class LoginAttempt(Table, tablename="login_attempts"):
    """One login in a browser, from ``/oauth/authorize`` to the redirect back to the app."""

    id = UUID(primary_key=True)
    client_id = Varchar(length=128)
    redirect_uri = Text()
    client_state = Text(null=True, default=None)
    code_challenge = Varchar(length=128)
    scopes = Text()
    # A keyed hash of the ``state`` sent to the provider; the nonce and the verifier sealed until
    # the provider answers, then emptied (ens.auth.login.attempt.seal).
    upstream_state = Varchar(length=64)
    upstream_nonce = Varchar(length=255)
    upstream_verifier = Varchar(length=255)
    # The hash of the random token the browser's login cookie holds for this attempt (its forms'
    # token is derived from the token too): the row never gives the cookie (ens.auth.login.attempt).
    browser_key = Varchar(length=64)
    step = Varchar(length=32)
    recovering = Boolean(default=False)
    account_id = UUID(null=True, default=None)
    space_id = UUID(null=True, default=None)
    id_token = Text(null=True, default=None)  # sealed
    new_factor_id = UUID(null=True, default=None)
    # The provider's claims, applied to the account only once the second factor has passed (sealed).
    pending_identity = Text(null=True, default=None)
    created_at = Timestamptz()
    expires_at = Timestamptz()


class OtpFactor(Table, tablename="otp_factors"):
    """A TOTP seed (encrypted at rest). ``last_step`` is the last accepted time step: replays are refused."""

    id = UUID(primary_key=True)
    account_id = UUID()
    status = Varchar(length=16)
    seed = Bytea()
    last_step = BigInt(null=True, default=None)
    created_at = Timestamptz()
    activated_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class OtpGuard(Table, tablename="otp_guards"):
    """Wrong-code counter and lock of a person's second factor, shared by every process: the backstop
    against guessing over many login attempts (``ENS_OTP_ACCOUNT_MAX_FAILURES``)."""

    account_id = UUID(primary_key=True)
    failures = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)


class OtpBudget(Table, tablename="otp_budgets"):
    """The codes one way in has tried: a login attempt (its id), or a signed-in session renewing its
    recovery codes (its grant's id). Past ``ENS_OTP_MAX_FAILURES`` it takes no more, without locking
    the account; kept until ``expires_at``, as long as that way in can live."""

    id = UUID(primary_key=True)
    failures = Integer(default=0)
    expires_at = Timestamptz()


class KnownBrowser(Table, tablename="known_browsers"):
    """A browser that has passed the person's second factor (its cookie, hashed with the account):
    its wrong codes count on its own lock here, not on the account's (``ens.auth.otp.lock``)."""

    key_hash = Varchar(length=64, primary_key=True)
    account_id = UUID()
    failures = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)
    expires_at = Timestamptz()
    # Back since its first login: the account's cap evicts once-seen rows (cookie-less clients') first.
    seen_again = Boolean(default=False)


class RecoveryCode(Table, tablename="recovery_codes"):
    id = UUID(primary_key=True)
    account_id = UUID()
    code_hash = Varchar(length=64)
    created_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class EmailCode(Table, tablename="email_codes"):
    """A code sent by e-mail, bound to one login attempt, stored hashed, single use."""

    id = UUID(primary_key=True)
    attempt_id = UUID()
    account_id = UUID()
    code_hash = Varchar(length=64)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    # The known browser that asked for it (a ``known_browsers`` key), whose hourly limit it counts on.
    browser_key = Varchar(length=64, null=True, default=None)


class AuthorizationCode(Table, tablename="authorization_codes"):
    code_hash = Varchar(length=64, primary_key=True)
    client_id = Varchar(length=128)
    redirect_uri = Text()
    code_challenge = Varchar(length=128)
    account_id = UUID()
    space_id = UUID(null=True, default=None)
    scopes = Text()
    kind = Varchar(length=16)
    grant_id = UUID(null=True, default=None)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class RefreshToken(Table, tablename="refresh_tokens"):
    """One link of a refresh-token chain; the chain is the grant's (``grant_id``)."""

    id = UUID(primary_key=True)
    token_hash = Varchar(length=64)
    grant_id = UUID()
    account_id = UUID()
    client_id = Varchar(length=128)
    kind = Varchar(length=16)
    space_id = UUID(null=True, default=None)
    scopes = Text()
    chain_started_at = Timestamptz()
    created_at = Timestamptz()
    rotated_at = Timestamptz(null=True, default=None)
    replaced_by = UUID(null=True, default=None)


class OwedSecurityNotice(Table, tablename="owed_security_notices"):
    """A security notice the mail server did not take when it happened (a new device, a recovery
    code used, a factor replaced...): ``ens notify`` sends it until it goes (:mod:`ens.auth.login.notices`).
    ``lease_until``: until when a run's claim on it holds (null: unclaimed)."""

    id = UUID(primary_key=True)
    account_id = UUID()
    to_address = Varchar(length=320)
    subject = Varchar(length=200)
    body = Text()
    created_at = Timestamptz()
    lease_until = Timestamptz(null=True, default=None)


AUTH_TABLES: list[type[Table]] = [
    OAuthClient,
    ClientAssertion,
    LoginAttempt,
    OtpFactor,
    OtpGuard,
    OtpBudget,
    KnownBrowser,
    RecoveryCode,
    EmailCode,
    AuthorizationCode,
    RefreshToken,
    OwedSecurityNotice,
]
