"""Shared API pieces: the base Structs, pages, the limit and cursor parameters, signed cursors,
JSON Pointers and ETags."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from litestar.params import QueryParameter

from ens.core import keyring
from ens.core.errors import BadRequest, FieldError, Invalid, PreconditionFailed

# Declared on a route (or a controller) that needs no token: ``opt=PUBLIC``.
PUBLIC_OPT = "public"
PUBLIC: dict[str, bool] = {PUBLIC_OPT: True}

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Struct(msgspec.Struct, forbid_unknown_fields=True, rename="camel", kw_only=True):
    """Every request and response body: camelCase on the wire, unknown fields refused."""


class ReadStruct(msgspec.Struct, rename="camel", kw_only=True, omit_defaults=False):
    """Response bodies (unknown fields are irrelevant on output)."""


class ProtocolStruct(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Bodies whose names a standard fixes (OAuth 2.0 forms and answers, HTML forms): spelt as the
    standard spells them, and unknown parameters ignored, as RFC 6749 §3.1 requires."""


T = TypeVar("T")


class Page(msgspec.Struct, Generic[T], rename="camel", kw_only=True):
    items: list[T]
    next_cursor: str | None = None


# ---------------------------------------------------------------------------------------------
# Cursors: opaque to clients, signed so a forged or edited one is refused, bound to one listing.


class Cursors:
    def __init__(self, secret_key: str) -> None:
        self._secret = secret_key

    def encode(self, purpose: str, position: list[Any]) -> str:
        payload = msgspec.json.encode(position)
        mac = keyring.sign(self._secret, f"cursor:{purpose}", payload=payload)
        return _b64(payload) + "." + _b64(mac)

    def decode(self, purpose: str, cursor: str) -> list[Any]:
        try:
            payload_part, mac_part = cursor.split(".", 1)
            payload, mac = _unb64(payload_part), _unb64(mac_part)
        except (ValueError, binascii.Error) as exc:
            raise BadRequest("The cursor is malformed.", [FieldError("/cursor", "malformed")]) from exc
        if not keyring.verify(self._secret, f"cursor:{purpose}", payload=payload, mac=mac):
            raise BadRequest("The cursor is not one this listing issued.", [FieldError("/cursor", "invalid")])
        position = msgspec.json.decode(payload)
        if not isinstance(position, list):
            raise BadRequest("The cursor is malformed.", [FieldError("/cursor", "malformed")])
        return position


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# The one pair of list parameters every listing takes (API.md: default 50, max 500).
LimitParam = Annotated[
    int | None,
    QueryParameter(
        name="limit", required=False, ge=1, le=MAX_LIMIT, description=f"1 to {MAX_LIMIT}, default {DEFAULT_LIMIT}"
    ),
]
CursorParam = Annotated[
    str | None,
    QueryParameter(name="cursor", required=False, max_length=2048, description="nextCursor of the previous page"),
]


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}.", [FieldError("/limit", f"between 1 and {MAX_LIMIT}")])
    return limit


# ---------------------------------------------------------------------------------------------
# ETags: strong validators over the exact representation sent.


def etag_of(body: bytes) -> str:
    return '"' + _b64(hashlib.sha256(body).digest()[:16]) + '"'


def etag_matches(header: str | None, etag: str) -> bool:
    """``If-None-Match`` / ``If-Match`` semantics: a list of tags or ``*``."""
    if header is None:
        return False
    header = header.strip()
    if header == "*":
        return True
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in candidates


def require_if_match(if_match: str | None, current: bytes | None) -> None:
    """Raise 412 when ``If-Match`` is given and does not match the current representation."""
    if if_match is None:
        return
    if current is None or not etag_matches(if_match, etag_of(current)):
        raise PreconditionFailed("The resource has changed since it was read (If-Match does not match).")


def pointer_token(name: str) -> str:
    """One reference token of a JSON Pointer (RFC 6901: ``~`` and ``/`` escaped)."""
    return "/" + name.replace("~", "~0").replace("/", "~1")


def json_pointer(path: str) -> str:
    """msgspec's ``$.a[3].b`` path to a JSON Pointer ``/a/3/b``."""
    if not path or path == "$":
        return ""
    pointer = ""
    for match in re.finditer(r"\.([^.\[]+)|\[(\d+)\]|\[\"?'?([^\]]*?)'?\"?\]", path.removeprefix("$")):
        pointer += pointer_token(match.group(1) or match.group(2) or match.group(3) or "")
    return pointer


class ETagMiddleware:
    """Strong ETags on successful GETs, and 304 when ``If-None-Match`` names the current one."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        if_none_match = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"if-none-match"), None)
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def buffered(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                if message["status"] != 200:
                    start["passthrough"] = True
                    await send(message)
                    return
                start.update(message)
                return
            if start.get("passthrough"):
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            etag = etag_of(body)
            headers = [(k, v) for k, v in start.get("headers", []) if k != b"etag"]
            headers.append((b"etag", etag.encode()))
            if etag_matches(if_none_match, etag):
                kept = [(k, v) for k, v in headers if k not in (b"content-length", b"content-type")]
                await send({"type": "http.response.start", "status": 304, "headers": kept})
                await send({"type": "http.response.body", "body": b""})
                return
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffered)
