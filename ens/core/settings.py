"""The service's configuration: one frozen struct, read from the environment once.

Only this module (and ``piccolo_conf.py``, through it) reads ``os.environ``.
"""

from __future__ import annotations

import email.utils
import ipaddress
import os
import unicodedata
from collections.abc import Mapping
from email.headerregistry import Address
from typing import Annotated, Literal
from urllib.parse import urlsplit

import idna
import msgspec

FRANCECONNECT_SCOPES = "openid given_name family_name birthdate gender birthplace birthcountry email preferred_username"
DEV_SECRET_KEY = "dev-only-secret-key-never-use-in-production-0123456789"
DEV_OIDC_CLIENT_SECRET = "ens-dev-secret-0123456789abcdef0123456789"
DEV_PRO_OIDC_CLIENT_SECRET = "ens-pro-dev-secret-0123456789abcdef01234567"
# Pro Santé Connect's scopes: ``openid`` and ``scope_all`` (every claim the professional's card gives).
PRO_SANTE_CONNECT_SCOPES = "openid scope_all"
DEFAULT_DATABASE_URL = "sqlite:///./var/ens.sqlite"
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")

# The ranges of the numbers: msgspec refuses any other at start, and ``from_env`` names the variable
# (a negative ENS_MAX_BODY_BYTES was taken, then every request with a body was 413: an audit).
# Durations have a ceiling too: one no date can hold (99999999999999 s) started the service, then
# answered 500 wherever it was added to a date (a review).
DAY = 24 * 3600
TEN_YEARS = 3653 * DAY
Positive = Annotated[int, msgspec.Meta(ge=1)]
ZeroIsOff = Annotated[int, msgspec.Meta(ge=0)]  # 0 turns the thing off, or waits for nothing
UpToADay = Annotated[int, msgspec.Meta(ge=1, le=DAY)]  # seconds
UpToADayOrOff = Annotated[int, msgspec.Meta(ge=0, le=DAY)]  # seconds; 0: off, or none
UpToTenYears = Annotated[int, msgspec.Meta(ge=1, le=TEN_YEARS)]  # seconds
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0, le=DAY)]


class ConfigurationError(ValueError):
    """A setting is missing or malformed; the service refuses to start."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    env: Literal["dev", "prod"] = "prod"
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = DEV_SECRET_KEY
    # The keys secret_key replaced, newest first, separated by commas: what they sealed, hashed or
    # signed is still read (ens.core.keyring, "Rotation"); nothing new is made under them.
    previous_secret_keys: str = ""
    public_url: str = "http://127.0.0.1:8000"
    oidc_issuer: str | None = None
    oidc_client_id: str = "ens-dev"
    oidc_client_secret: str = DEV_OIDC_CLIENT_SECRET
    oidc_scopes: str = FRANCECONNECT_SCOPES
    oidc_acr: str = "eidas1"
    oidc_encryption_key: str | None = None
    # The professionals' provider (Pro Santé Connect-like): its own issuer, client and level.
    pro_oidc_issuer: str | None = None
    pro_oidc_client_id: str = "ens-pro-dev"
    pro_oidc_client_secret: str = DEV_PRO_OIDC_CLIENT_SECRET
    pro_oidc_scopes: str = PRO_SANTE_CONNECT_SCOPES
    pro_oidc_acr: str = "eidas1"
    smtp_url: str | None = None
    # The e-mails' sender, "Name <address>" or an address; unset: :data:`MAIL_FROM_NAME` at
    # ne-pas-repondre@ the public URL's host (:attr:`mail_sender`).
    mail_from: str | None = None
    var_dir: str = "./var"
    # At most 5 minutes: within it, a replayed old refresh token whose successor was never used gets a
    # new pair instead of ending the chain (API.md: a reuse revokes it), the window a thief of the old
    # token has; a phone retrying a lost answer does so within seconds (it was up to a day: an audit).
    refresh_reuse_interval: Annotated[int, msgspec.Meta(ge=0, le=300)] = 0
    access_token_ttl: UpToADay = 600
    refresh_token_max_age: UpToTenYears = 30 * 24 * 3600
    max_body_bytes: Positive = 2 * 1024 * 1024
    # The space import (POST .../import) receives its Bundle whole first, with its own limit, then
    # writes it in one transaction that may last at most import_max_seconds.
    # 2 GiB: a holder's export with the documents' files (ENS_DOCUMENT_QUOTA_BYTES, a third more in
    # base64) and the rest comes back whole.
    import_max_bytes: Positive = 2 * 1024 * 1024 * 1024
    import_max_seconds: PositiveSeconds = 300.0
    tombstone_retention_days: Annotated[int, msgspec.Meta(ge=1, le=3653)] = 90
    # How long an Idempotency-Key's claim outlives a request that never finished (its process died);
    # longer than the slowest request.
    idempotency_lease_seconds: UpToADay = 60
    # A request body's parts must arrive within this many seconds of each other (else 408); 0: off.
    body_idle_seconds: UpToADayOrOff = 30
    db_pool_size: Positive = 10
    # On SIGTERM ``ens serve`` lets the requests in flight finish for this many seconds at most,
    # then cancels them and stops cleanly (its last rate counts added, its pool closed); under
    # systemd's TimeoutStopSec (90 s by default), which kills it without either.
    shutdown_grace_seconds: UpToADay = 30
    # How long ``ens serve`` keeps a client's idle connection open for its next request. Longer
    # than the idle time a client's pool or a proxy's upstream pool reuses a connection after
    # (httpx 5 s, AWS ALB 60 s, nginx's upstream keepalive 60 s): uvicorn's own 5 s met httpx's
    # 5 s, and a request sent on a connection the server was closing at that moment was lost
    # ("Server disconnected without sending a response": most likely the one request a
    # `make load` run lost).
    keep_alive_seconds: UpToADay = 75
    # A write transaction open longer than this holds back every space's change feed: logged as
    # ``feed_held_back`` (PostgreSQL; ens.vitals.feed_watch); 0: not watched.
    feed_hold_warn_seconds: UpToADayOrOff = 60
    log_level: str = "INFO"
    # Login safety nets; benchmarks raise them so that repeated logins are not throttled.
    # Wrong codes one login attempt (or one signed-in session renewing its recovery codes) may type;
    # then it is over, the account is not locked (ens.auth.otp.budget).
    otp_max_failures: int = 5
    # Wrong codes over every attempt before the account's second factor locks, for
    # otp_lock_seconds (doubled at each further lock): the backstop against brute force.
    otp_account_max_failures: Positive = 30
    otp_lock_seconds: UpToADay = 15 * 60
    email_codes_per_hour: Positive = 5
    # How long discovery and JWKS documents of the upstream provider are kept before refetching.
    oidc_cache_ttl: UpToADayOrOff = 3600
    # Requests a minute (ens.core.limits), over every process; 0 turns one off. An account: its
    # sessions and the apps it connected; a grant: one session, or one app on one space; an
    # address: the login's and OAuth's endpoints, before anyone is known.
    rate_limit_account_per_minute: ZeroIsOff = 1200
    rate_limit_grant_per_minute: ZeroIsOff = 600
    rate_limit_address_per_minute: ZeroIsOff = 300
    # The peers whose X-Forwarded-For / X-Forwarded-Proto ``ens serve`` believes (the reverse proxy
    # ending TLS in front of it): addresses or networks, comma-separated, ``*`` for any, ``none`` to
    # believe no one. The client address the per-address limit counts is taken from there.
    forwarded_allow_ips: str = "127.0.0.1,::1"
    # Documents: where their encrypted content lives (``file:///absolute/path`` or
    # ``s3://bucket/prefix``); empty means ``{var_dir}/blobs``. S3-compatible storage is reached at
    # ``s3_endpoint`` (empty: AWS itself) with these credentials.
    blob_url: str = ""
    s3_endpoint: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    # What one space's documents may take in all (their size as uploaded), 1 GiB by default.
    document_quota_bytes: Positive = 1024 * 1024 * 1024

    @property
    def previous_keys(self) -> tuple[str, ...]:
        """ENS_PREVIOUS_SECRET_KEYS, newest first."""
        return tuple(key.strip() for key in self.previous_secret_keys.split(",") if key.strip())

    def trusted_proxies(self) -> list[str]:
        """``forwarded_allow_ips`` as a list (empty: no proxy is believed); each entry is checked."""
        value = self.forwarded_allow_ips.strip()
        if value.lower() == "none":
            return []
        if value == "*":
            return ["*"]
        entries = [entry.strip() for entry in value.split(",")]
        for entry in entries:
            try:
                # Strict, as uvicorn reads it: 10.0.0.1/8 (host bits set) would be a literal there that
                # never matches, so the real proxy would not be believed and every client would be
                # counted as the proxy's address.
                ipaddress.ip_network(entry, strict=True)
            except ValueError:
                raise ConfigurationError(
                    "ENS_FORWARDED_ALLOW_IPS must list addresses or networks (10.0.0.0/8, not 10.0.0.1/8), "
                    f"or be * alone, or none; got {entry!r}"
                ) from None
        return entries

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

    @property
    def uses_dev_idp(self) -> bool:
        """The embedded provider serves logins only in dev and only when no real issuer is set."""
        return self.is_dev and self.oidc_issuer is None

    @property
    def effective_oidc_issuer(self) -> str:
        return self.oidc_issuer or f"{self.public_url}/dev-idp"

    @property
    def uses_dev_pro_idp(self) -> bool:
        """The embedded provider's test professionals: only in dev and without ``ENS_PRO_OIDC_ISSUER``."""
        return self.is_dev and self.pro_oidc_issuer is None

    @property
    def effective_pro_oidc_issuer(self) -> str | None:
        """The professionals' provider; ``None`` in production without one (professionals cannot log in)."""
        if self.pro_oidc_issuer:
            return self.pro_oidc_issuer
        return f"{self.public_url}/dev-pro-idp" if self.is_dev else None

    @property
    def mail_sender(self) -> tuple[str, str]:
        """The e-mails' sender: its name and its address, which is the envelope's sender too. Unset,
        at the service's own domain, the public URL's host (``localhost`` for a loopback address or
        an IP in development): a fixed ``ne-pas-repondre@ens.example``, a domain reserved for
        examples that has no mail server, sent every message of every deployment from it, which a
        relay checking the sender's domain, SPF or DMARC refuses (an outside audit of the e-mails)."""
        if self.mail_from is not None:
            sender = parse_sender(self.mail_from)
            if sender is None:
                raise ConfigurationError(MAIL_FROM_REFUSED)
            return sender
        host = (urlsplit(self.public_url).hostname or "").rstrip(".")
        try:
            ipaddress.ip_address(host)
            host = "localhost"
        except ValueError:
            host = ascii_domain(host) or "localhost"
        return MAIL_FROM_NAME, f"ne-pas-repondre@{host}"

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @classmethod
    def env_from_env(cls, environ: Mapping[str, str] | None = None) -> str:
        """Only ``ENS_ENV`` (``prod`` unless set): development commands check it before anything else."""
        env = os.environ if environ is None else environ
        return env.get("ENS_ENV") or "prod"

    @classmethod
    def database_url_from_env(cls, environ: Mapping[str, str] | None = None) -> str:
        """Only the database URL (for ``piccolo_conf``, which must not refuse to load)."""
        env = os.environ if environ is None else environ
        return env.get("ENS_DATABASE_URL") or DEFAULT_DATABASE_URL

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build the settings from ``ENS_*`` variables; ``overrides`` win (used by tests)."""
        env = os.environ if environ is None else environ
        raw: dict[str, object] = {}
        for field in msgspec.structs.fields(cls):
            value = env.get(f"ENS_{field.name.upper()}")
            if value is not None and value != "":
                raw[field.name] = value
        raw.update(overrides)
        try:
            settings = msgspec.convert(raw, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise ConfigurationError(_naming_the_variable(str(exc), raw)) from exc
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse configurations that would be unsafe in production."""
        if self.env == "prod":
            if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32:
                raise ConfigurationError("ENS_SECRET_KEY must be set to at least 32 random characters")
            if any(key == DEV_SECRET_KEY or len(key) < 32 for key in self.previous_keys):
                # A short or public key read as a previous one would let anyone forge what it signs.
                raise ConfigurationError(
                    "ENS_PREVIOUS_SECRET_KEYS must list keys of at least 32 random characters, separated by "
                    "commas (the development key is not one)"
                )
            if self.oidc_issuer is None:
                raise ConfigurationError("ENS_OIDC_ISSUER must be set outside development")
            _check_issuer("ENS_OIDC_ISSUER", self.oidc_issuer)
            if self.pro_oidc_issuer:
                _check_issuer("ENS_PRO_OIDC_ISSUER", self.pro_oidc_issuer)
            parts = urlsplit(self.public_url)
            if parts.scheme != "https" or not parts.netloc:
                # Over http, the metadata would advertise http endpoints (tokens and codes in clear)
                # and the login cookie would be sent without Secure.
                raise ConfigurationError(
                    "ENS_PUBLIC_URL must be an https:// URL outside development (the address people and apps "
                    f"reach, TLS ended in front of ens serve); got {self.public_url!r}"
                )
            if self.oidc_client_secret == DEV_OIDC_CLIENT_SECRET:
                raise ConfigurationError(
                    "ENS_OIDC_CLIENT_SECRET must be set outside development: the secret the identity provider "
                    "gave for ENS_OIDC_CLIENT_ID, not the development default"
                )
            if self.pro_oidc_issuer and self.pro_oidc_client_secret == DEV_PRO_OIDC_CLIENT_SECRET:
                raise ConfigurationError(
                    "ENS_PRO_OIDC_CLIENT_SECRET must be set with ENS_PRO_OIDC_ISSUER outside development: the "
                    "secret the professionals' identity provider gave for ENS_PRO_OIDC_CLIENT_ID"
                )
            if not self.smtp_url:
                # Without it, e-mails (live login codes among them) would be written to var/outbox.
                raise ConfigurationError(
                    "ENS_SMTP_URL must be set outside development (smtp://, smtp+starttls:// or smtps://): "
                    "login codes are sent by e-mail"
                )
            if not self.blob_url and not os.path.isabs(self.var_dir):
                # The default folder, ./var/blobs, is relative to the folder each process starts in:
                # ens serve from / (systemd's default) kept the documents in /var/blobs, and a cron
                # command started elsewhere looked for them in its own (an outside audit as the operator).
                raise ConfigurationError(
                    "ENS_BLOB_URL must be set outside development (file:///absolute/path or s3://bucket/prefix), "
                    f"or ENS_VAR_DIR an absolute folder: the documents would be under {self.var_dir!r}, relative "
                    "to the folder each process starts in"
                )
            if self.s3_endpoint is not None:
                endpoint = urlsplit(self.s3_endpoint)
                https = endpoint.scheme == "https" and endpoint.hostname
                if not https and not (endpoint.scheme == "http" and endpoint.hostname in _LOOPBACK_HOSTS):
                    # The objects are encrypted, but their names (space ids), sizes and requests would
                    # cross in clear, and anyone on the path could delete them (an outside audit).
                    raise ConfigurationError(
                        "ENS_S3_ENDPOINT must be an https:// URL outside development, or http:// on this "
                        f"machine's loopback (http://127.0.0.1:9000); got {self.s3_endpoint!r}"
                    )
            smtp = urlsplit(self.smtp_url)
            if smtp.scheme not in ("smtps", "smtp+starttls") and smtp.hostname not in _LOOPBACK_HOSTS:
                # One-time codes would cross the network in clear to the relay (an outside audit).
                raise ConfigurationError(
                    "ENS_SMTP_URL must use TLS outside development (smtps:// or smtp+starttls://), unless it names "
                    "a relay on this machine (smtp://127.0.0.1): login codes travel in it"
                )
        if not self.database_url.startswith(("sqlite://", "postgres://", "postgresql://")):
            raise ConfigurationError("ENS_DATABASE_URL must be sqlite:///path or postgresql://...")
        if self.blob_url and not self.blob_url.startswith(("file:///", "s3://")):
            raise ConfigurationError("ENS_BLOB_URL must be file:///absolute/path or s3://bucket/prefix")
        if self.blob_url.startswith("s3://") and not urlsplit(self.blob_url).netloc:
            raise ConfigurationError("ENS_BLOB_URL must name the bucket: s3://bucket/prefix")
        if self.idempotency_lease_seconds < 3:
            raise ConfigurationError("ENS_IDEMPOTENCY_LEASE_SECONDS must be at least 3 (it is renewed every third)")
        if not 1 <= self.otp_max_failures < self.otp_account_max_failures:
            # An attempt allowed as many tries as the account's lock takes could lock it on its own.
            raise ConfigurationError(
                "ENS_OTP_MAX_FAILURES must be at least 1 and below ENS_OTP_ACCOUNT_MAX_FAILURES "
                "(one login attempt must not be able to lock the account)"
            )
        self.trusted_proxies()  # refuses a malformed list at start
        self.mail_sender  # refuses an ENS_MAIL_FROM that is no address at start  # noqa: B018
        if self.log_level.upper() not in LOG_LEVELS:
            raise ConfigurationError(f"ENS_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}; got {self.log_level!r}")
        if self.import_max_bytes < -(-4 * self.document_quota_bytes // 3):
            # An export with the documents' files carries them in base64: a space filled to its
            # quota could leave, and never come back in (the promise of moving a space).
            raise ConfigurationError(
                "ENS_IMPORT_MAX_BYTES must be at least 4/3 of ENS_DOCUMENT_QUOTA_BYTES "
                f"({-(-4 * self.document_quota_bytes // 3)} bytes with {self.document_quota_bytes}), with room "
                "for the rest of a space: a full space's export carries its documents' files in base64"
            )
        if self.oidc_acr not in ("eidas1", "eidas2", "eidas3"):
            raise ConfigurationError("ENS_OIDC_ACR must be eidas1, eidas2 or eidas3")
        if self.pro_oidc_acr not in ("eidas1", "eidas2", "eidas3"):
            raise ConfigurationError("ENS_PRO_OIDC_ACR must be eidas1, eidas2 or eidas3")


MAIL_FROM_NAME = "Espace santé"
MAIL_FROM_REFUSED = (
    "ENS_MAIL_FROM must be one e-mail address, alone or as Name <address> (Espace santé "
    "<ne-pas-repondre@sante.example.fr>)"
)


def parse_sender(value: str) -> tuple[str, str] | None:
    """``ENS_MAIL_FROM`` as a name (perhaps empty) and one address, ``None`` when it is not one
    address (none, two, one without its domain, a control character)."""
    if any(unicodedata.category(char) == "Cc" for char in value) or len(email.utils.getaddresses([value])) != 1:
        return None
    name, address = email.utils.parseaddr(value)
    local, at, domain = address.rpartition("@")
    if not at or not local or "@" in local or "." not in domain.strip(".") or any(c.isspace() for c in address):
        return None
    domain = ascii_domain(domain) or ""
    if not domain:
        return None
    address = f"{local}@{domain}"
    try:
        # As the mailer makes the From header of it: one it refuses (a local part outside ASCII,
        # "ne..pas@", ".np@") passed here, and then every message raised as it was made, past every
        # caller (a review).
        Address(display_name=name, addr_spec=address)
    except ValueError:
        return None
    return name, address


def ascii_domain(domain: str) -> str | None:
    """``domain`` as every mail server reads it: a domain of accented letters (santé.fr) in its ASCII
    form (IDNA, ``xn--sant-epa.fr``); ``None`` when no DNS name can be it (a label over 63
    characters, a character no domain may hold). As written, it was the envelope's sender, which a
    mail server without SMTPUTF8 refuses, every message with it (an earlier session's note)."""
    if domain.isascii():
        return domain  # as it was: a server reads it (a name IDNA refuses, "mail_1.fr", included)
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        return None


# Where plain http stays on this machine (a relay, a provider's local end): nothing crosses a network.
_LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def _check_issuer(variable: str, issuer: str) -> None:
    """Outside development an identity provider is reached over https (or on this machine's loopback):
    over http, its discovery document, its signing keys and the token endpoint (ENS's client secret
    in each request) cross the network in clear, and whoever is on the path can hand ENS keys of
    their own and sign anyone in. An http issuer started the service (an outside audit), as did one
    without a scheme or host, which failed only at the first login."""
    parts = urlsplit(issuer)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        return
    raise ConfigurationError(
        f"{variable} must be an https:// URL outside development (the provider's issuer, as its discovery "
        f"document states it), or http:// on this machine's loopback; got {issuer!r}"
    )


def _naming_the_variable(message: str, raw: Mapping[str, object]) -> str:
    """msgspec's ``Expected `int` >= 1 - at `$.max_body_bytes``` as ``ENS_MAX_BODY_BYTES: expected
    `int` >= 1, got '-1'``: the variable a person sets and what it holds, not the struct's field.
    (Only numbers and ``ENS_ENV`` can be refused here: no secret is repeated.)"""
    said, _, field = message.rpartition(" - at `$.")
    name = field.removesuffix("`")
    if not said or name not in raw:
        return f"invalid configuration: {message}"
    if name == "env":
        return f"ENS_ENV must be dev or prod, got {str(raw[name])!r}"
    said = said.removesuffix(", got `str`")
    return f"ENS_{name.upper()}: {said[:1].lower()}{said[1:]}, got {str(raw[name])!r}"
