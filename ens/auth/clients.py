"""OAuth clients: the built-in phone app ``ens-mobile`` and the labelled apps registered by operators."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from ens.auth.client_keys import public_key_set
from ens.auth.schemas import AppRead
from ens.auth.tables import OAuthClient
from ens.core import clock, keyring
from ens.core.db import Row, fetch, fetch_one, row_lock
from ens.core.errors import Conflict, FieldError, Invalid
from ens.core.scopes import SCOPES
from ens.spaces.caller import PROFESSIONAL_SCOPE, SPACE_SCOPE
from ens.spaces.history import operator_text_refused

MOBILE_CLIENT_ID = "ens-mobile"
MOBILE_CLIENT_NAME = "Application ENS"
MOBILE_REDIRECT_URI = "fr.ens.app:/oauth2redirect"
# RFC 8252 §7.3: the phone app's loopback listeners, on whatever port the system gives them.
MOBILE_LOOPBACK_URIS = ("http://127.0.0.1/callback", "http://[::1]/callback")
# An http URI on a loopback IP literal: host, port if any, the rest. Only the literals: "localhost"
# may resolve elsewhere, or be answered by another program's listener (RFC 8252 §8.3).
_LOOPBACK_URI = re.compile(r"http://(127\.0\.0\.1|\[::1\])(?::([0-9]{1,5}))?([/?#].*)?", re.DOTALL)

ClientKind = Literal["first_party", "device", "professional"]


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    publisher: str | None
    kind: ClientKind
    label_status: str
    redirect_uris: tuple[str, ...]
    allowed_scopes: frozenset[str]
    confidential: bool
    secret_hash: str | None = None
    jwks: str | None = None  # a confidential app that signs its requests: its public keys (client_keys)

    @property
    def is_first_party(self) -> bool:
        return self.kind == "first_party"

    def accepts_redirect(self, uri: str) -> bool:
        """Exact match with a registered URI; on a loopback IP literal, exact but for the port.

        RFC 8252 §7.3: a native app's loopback listener gets its port from the system at each
        login, so ``http://127.0.0.1:{any port}/cb`` and ``http://[::1]:{any port}/cb`` match a
        registered URI that differs only by its port; scheme, host, path and query stay exact.
        """
        if uri in self.redirect_uris:
            return True
        portless = loopback_without_port(uri)
        return portless is not None and any(loopback_without_port(r) == portless for r in self.redirect_uris)


def loopback_without_port(uri: str) -> str | None:
    """``uri`` with its port taken out, if it is an http URI on 127.0.0.1 or [::1]; else ``None``.

    Only a plain authority qualifies (no user information); a port, when present, is 1 to 65535 in
    decimal digits. Everything after the authority is kept as written, so the comparison stays exact.
    """
    match = _LOOPBACK_URI.fullmatch(uri)
    if match is None:
        return None
    host, port, rest = match.group(1, 2, 3)
    if port is not None and not 0 < int(port) < 65536:
        return None
    return f"http://{host}{rest or ''}"


MOBILE_CLIENT = Client(
    client_id=MOBILE_CLIENT_ID,
    name=MOBILE_CLIENT_NAME,
    publisher=None,
    kind="first_party",
    label_status="first_party",
    redirect_uris=(MOBILE_REDIRECT_URI, *MOBILE_LOOPBACK_URIS),
    allowed_scopes=frozenset({SPACE_SCOPE}),
    confidential=False,
)


@dataclass(frozen=True)
class RegisteredApp:
    client_id: str
    client_secret: str | None


def _client_of(row: Row) -> Client:
    return Client(
        client_id=str(row["client_id"]),
        name=str(row["name"]),
        publisher=row["publisher"] if isinstance(row["publisher"], str) else None,
        kind=row["kind"],
        label_status=str(row["label_status"]),
        redirect_uris=tuple(str(row["redirect_uris"]).split()),
        allowed_scopes=frozenset(str(row["allowed_scopes"]).split()),
        confidential=bool(row["confidential"]),
        secret_hash=row["secret_hash"] if isinstance(row["secret_hash"], str) else None,
        jwks=row["jwks"] if isinstance(row["jwks"], str) else None,
    )


async def held_enabled(client_id: str) -> bool:
    """Inside the write transaction that gives a registered app a connection (a consent, a
    professional's sign-in): whether the app is still enabled, its row held until commit. A disable
    (``ens.auth.client_admin``, which takes the row to change it) then waits for the connection
    and ends it, or this sees it disabled: read before the transaction, a consent in flight left a
    live grant the disable never saw (a review)."""
    if client_id == MOBILE_CLIENT_ID:
        return True
    row = await fetch_one(
        "SELECT 1 AS enabled FROM oauth_clients WHERE client_id = {} AND disabled_at IS NULL" + row_lock("SHARE"),
        client_id[:128],
    )
    return row is not None


async def find_client(client_id: str) -> Client | None:
    """The client named ``client_id``, or ``None`` (unknown or disabled)."""
    if client_id == MOBILE_CLIENT_ID:
        return MOBILE_CLIENT
    row = await fetch_one("SELECT * FROM oauth_clients WHERE client_id = {} AND disabled_at IS NULL", client_id[:128])
    return _client_of(row) if row else None


def secret_matches(secret_key: str, client: Client, *, secret: str | None) -> bool:
    if not client.confidential:
        # A public client was given no secret: one presented anyway is a way of authenticating it
        # is not registered for (RFC 6749 §5.2), never taken as proof (an outside audit).
        return not secret
    if client.secret_hash is None or not secret:
        return False
    # Under the current key, or one it replaced: an app's secret outlives a change of ENS_SECRET_KEY.
    return keyring.hash_matches(secret_key, "client:" + secret, client.secret_hash)


def _check_redirect_uri(uri: str) -> None:
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in uri):
        # The URIs are stored space-separated: one holding a space would be read back as two,
        # the second never checked (an outside audit).
        raise Invalid(f"redirect URI {uri!r} holds a space or a control character")
    try:
        parts = urlsplit(uri)
    except ValueError as exc:
        raise Invalid(f"redirect URI {uri!r} is not a URI") from exc
    if parts.fragment or not parts.scheme:
        raise Invalid(f"redirect URI {uri!r} must be absolute and without fragment")
    scheme = parts.scheme.lower()
    if scheme == "http" and loopback_without_port(uri) is None:
        raise Invalid(
            f"redirect URI {uri!r} must use https; plain http only on a loopback IP literal, "
            "http://127.0.0.1 or http://[::1] (RFC 8252 §7.3; localhost is refused, §8.3)"
        )
    if scheme == "https" and not parts.hostname:
        raise Invalid(f"redirect URI {uri!r} names no host")
    if scheme not in ("http", "https") and ("." not in scheme or parts.netloc or not parts.path.startswith("/")):
        # javascript:, data:, file:, ftp: and any other scheme a browser or the system would act on
        raise Invalid(
            f"redirect URI {uri!r} must be https, http on a loopback IP literal, or a native app's "
            "private-use scheme in reverse domain form, as com.example.app:/callback (RFC 8252 §7.1)"
        )


async def register_app(
    secret_key: str,
    *,
    name: str,
    redirect_uris: list[str],
    scopes: list[str],
    kind: Literal["device", "professional"] = "device",
    confidential: bool = False,
    publisher: str | None = None,
    label_status: str = "labelled",
    client_id: str | None = None,
    jwks: str | None = None,
) -> RegisteredApp:
    """Register a labelled app; the client secret (confidential apps) is returned once, stored hashed.
    With ``jwks`` (a JWK Set's JSON: its public keys), a confidential app that signs its token
    requests instead (:mod:`ens.auth.client_keys`), given no secret.

    The client id is made from the name, unless ``client_id`` names it (the demo's app, which the
    grant the demo seeds names)."""
    key_set = public_key_set(jwks) if jwks is not None else None
    confidential = confidential or key_set is not None
    if kind == "professional":
        # A professional's software acts for the professional in person (the access matrix): one scope.
        errors = [
            FieldError("/scope", f"a professional software's only scope is {PROFESSIONAL_SCOPE!r}, not {s!r}")
            for s in scopes
            if s != PROFESSIONAL_SCOPE
        ]
    else:
        errors = [FieldError("/scope", f"unknown scope {s!r}") for s in scopes if not SCOPES.is_app_scope(s)]
    if not scopes:
        errors.append(FieldError("/scope", "at least one scope"))
    if not redirect_uris:
        errors.append(FieldError("/redirectUri", "at least one redirect URI"))
    # Kept in 255-character columns (a longer one was a database error on PostgreSQL).
    name, publisher = name.strip(), (publisher.strip() or None) if publisher is not None else None
    errors += [
        refused
        for pointer, text, required in (("/name", name, True), ("/publisher", publisher or "", False))
        if (refused := operator_text_refused(pointer, text, required=required)) is not None
    ]
    if errors:
        raise Invalid("The app registration is invalid.", errors)
    for uri in redirect_uris:
        _check_redirect_uri(uri)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40] or "app"
    client_id = client_id or f"{slug}-{secrets.token_hex(4)}"
    secret = secrets.token_urlsafe(32) if confidential and key_set is None else None
    if await find_client(client_id) is not None:
        raise Conflict("client id collision; try again")
    await OAuthClient.insert(
        OAuthClient(
            client_id=client_id,
            name=name,
            publisher=publisher,
            kind=kind,
            label_status=label_status,
            redirect_uris=" ".join(redirect_uris),
            allowed_scopes=" ".join(sorted(set(scopes))),
            confidential=confidential,
            secret_hash=keyring.token_hash(secret_key, "client:" + secret) if secret else None,
            jwks=key_set,
            created_at=clock.now(),
        )
    )
    return RegisteredApp(client_id=client_id, client_secret=secret)


async def list_catalogue() -> list[AppRead]:
    """The labelled apps a person can connect, by name."""
    rows = await fetch(
        "SELECT * FROM oauth_clients WHERE disabled_at IS NULL AND label_status = 'labelled' ORDER BY name"
    )
    return [
        AppRead(
            client_id=client.client_id,
            name=client.name,
            publisher=client.publisher,
            kind=client.kind,
            label_status=client.label_status,
            scopes=sorted(client.allowed_scopes),
        )
        for client in map(_client_of, rows)
    ]
