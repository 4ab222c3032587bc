"""OAuth clients: the built-in phone app ``ens-mobile`` and the labelled apps registered by operators."""

from __future__ import annotations

import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from ens.auth.schemas import AppRead
from ens.auth.tables import OAuthClient
from ens.core import clock, keyring
from ens.core.db import Row, fetch, fetch_one
from ens.core.errors import Conflict, FieldError, Invalid
from ens.core.scopes import SCOPES
from ens.spaces.caller import SPACE_SCOPE

MOBILE_CLIENT_ID = "ens-mobile"
MOBILE_CLIENT_NAME = "Application ENS"
MOBILE_REDIRECT_URI = "fr.ens.app:/oauth2redirect"
# RFC 8252 §7.3: any port on the IPv4 loopback, path /callback.
_LOOPBACK = re.compile(r"http://127\.0\.0\.1:(\d{1,5})/callback")

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

    @property
    def is_first_party(self) -> bool:
        return self.kind == "first_party"

    def accepts_redirect(self, uri: str) -> bool:
        """Exact match with a registered URI; for ens-mobile also any loopback port (RFC 8252)."""
        if uri in self.redirect_uris:
            return True
        if self.is_first_party:
            match = _LOOPBACK.fullmatch(uri)
            return match is not None and 0 < int(match.group(1)) < 65536
        return False


MOBILE_CLIENT = Client(
    client_id=MOBILE_CLIENT_ID,
    name=MOBILE_CLIENT_NAME,
    publisher=None,
    kind="first_party",
    label_status="first_party",
    redirect_uris=(MOBILE_REDIRECT_URI,),
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
    )


async def find_client(client_id: str) -> Client | None:
    """The client named ``client_id``, or ``None`` (unknown or disabled)."""
    if client_id == MOBILE_CLIENT_ID:
        return MOBILE_CLIENT
    row = await fetch_one("SELECT * FROM oauth_clients WHERE client_id = {} AND disabled_at IS NULL", client_id[:128])
    return _client_of(row) if row else None


def secret_matches(secret_key: str, client: Client, *, secret: str | None) -> bool:
    if not client.confidential:
        return True
    if client.secret_hash is None or not secret:
        return False
    return hmac.compare_digest(keyring.token_hash(secret_key, "client:" + secret), client.secret_hash)


def _check_redirect_uri(uri: str) -> None:
    parts = urlsplit(uri)
    if parts.fragment or not parts.scheme:
        raise Invalid(f"redirect URI {uri!r} must be absolute and without fragment")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "[::1]"):
        raise Invalid(f"redirect URI {uri!r} must use https (plain http only on the loopback)")


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
) -> RegisteredApp:
    """Register a labelled app; the client secret (confidential apps) is returned once, stored hashed."""
    errors = [FieldError("/scope", f"unknown scope {s!r}") for s in scopes if not SCOPES.is_app_scope(s)]
    if not scopes:
        errors.append(FieldError("/scope", "at least one scope"))
    if not redirect_uris:
        errors.append(FieldError("/redirectUri", "at least one redirect URI"))
    if errors:
        raise Invalid("The app registration is invalid.", errors)
    for uri in redirect_uris:
        _check_redirect_uri(uri)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40] or "app"
    client_id = f"{slug}-{secrets.token_hex(4)}"
    secret = secrets.token_urlsafe(32) if confidential else None
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
