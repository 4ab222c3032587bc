"""Shared API pieces: the base Structs, pages, the limit and cursor parameters, signed cursors,
JSON Pointers and ETags."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import Enum
from functools import cache, lru_cache
from types import UnionType
from typing import Annotated, Any, Generic, Literal, TypeVar, Union, get_args, get_origin
from uuid import UUID

import msgspec
from anyio import to_thread
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from litestar import Request, Response
from litestar.datastructures import ResponseHeader
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler
from litestar.params import HeaderParameter, QueryParameter

from ens.core import keyring
from ens.core.errors import (
    BadRequest,
    FieldError,
    Invalid,
    NotAcceptable,
    PreconditionFailed,
    UnsupportedContentCoding,
)
from ens.core.slow_clients import announces_body

# Declared on a route (or a controller) that needs no token: ``opt=PUBLIC``.
PUBLIC_OPT = "public"
PUBLIC: dict[str, bool] = {PUBLIC_OPT: True}


def get_and_head(path: str | None = None, *, operation_id: str, **kwargs: Any) -> HTTPRouteHandler:
    """A GET route that answers HEAD too (RFC 9110 §9.1: every general-purpose server supports
    both): the same handler behind the same door, writing its own history row ("HEAD …", a read),
    its answer's status and headers (ETag, Content-Length, a 304 on ``If-None-Match``) those of the
    GET; the server sends no body (uvicorn drops it, as litestar's test client does). The HEAD
    operation is left out of the OpenAPI document (:func:`ens.core.openapi.drop_head_twins`), whose
    description says every GET answers it. Not for a streamed answer (the export), which a HEAD
    would build whole to send none of it."""
    return HTTPRouteHandler(
        path, http_method=[HttpMethod.GET, HttpMethod.HEAD], operation_id=_HeadTwinIds(operation_id), **kwargs
    )


class _HeadTwinIds:
    """The operation ids of a GET and its HEAD: ``listVitals`` and ``headListVitals`` (litestar
    refuses one id for two operations, before the HEAD's is dropped from the document)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, handler: HTTPRouteHandler, method: Any, components: Any) -> str:
        return self.name if method != HttpMethod.HEAD else "head" + self.name[:1].upper() + self.name[1:]

    def __str__(self) -> str:
        return self.name


DEFAULT_LIMIT = 50
MAX_LIMIT = 500


_NUL_IN_FIELD = "Field `{}` contains a NUL character"
# The C0 and C1 control characters but tab, line feed and carriage return: no person types one,
# and a PDF drops them, printing other words than stored (an outside audit: an escape sequence in a
# contact's name, a U+0001 in an e-mail address were stored).
_CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_IN_FIELD = "Field `{}` contains a control character (U+{:04X})"


def _refused_text(value: str, wire_name: str) -> None:
    """Raise for a text that :func:`refuse_nul` found holding NUL or a control character."""
    if "\x00" in value:
        raise ValueError(_NUL_IN_FIELD.format(wire_name))
    found = _CONTROL.search(value)
    assert found is not None
    raise ValueError(_CONTROL_IN_FIELD.format(wire_name, ord(found.group())))


@cache
def _text_fields(cls: type[msgspec.Struct]) -> tuple[tuple[str, str], ...]:
    """(attribute, wire name) of the fields of ``cls`` that can hold text (or a list of it)."""
    found = []
    for field in msgspec.structs.fields(cls):
        if any(_holds_text(t) for t in _members(field.type)):
            found.append((field.name, field.encode_name))
    return tuple(found)


def _members(annotation: Any) -> list[Any]:
    args = get_args(annotation)
    if get_origin(annotation) is Annotated:
        return _members(args[0])
    if args and get_origin(annotation) in (Union, UnionType):
        return [m for arg in args for m in _members(arg)]
    return [annotation]


def _holds_text(annotation: Any) -> bool:
    if annotation is str or annotation is Any:  # a Literal never matches a text holding NUL
        return True
    return get_origin(annotation) is list and any(_holds_text(m) for a in get_args(annotation) for m in _members(a))


def refuse_nul(body: msgspec.Struct) -> None:
    """No text the API accepts holds a NUL character: PostgreSQL cannot store one, and no person
    types one; nor another control character but tab, line feed and carriage return. Raised as
    ``ValueError``; :func:`field_error` locates it at the field (422).

    Only the fields that can hold text are looked at (found once per class): this runs for every
    item of a batch."""
    for name, wire_name in _text_fields(type(body)):
        value = getattr(body, name)
        # isprintable() (C, no regex) is true of nearly every text: only then is the pattern read.
        if type(value) is str:
            if "\x00" in value or (not value.isprintable() and _CONTROL.search(value)):
                _refused_text(value, wire_name)
        elif type(value) is list:
            for item in value:
                if type(item) is str and ("\x00" in item or (not item.isprintable() and _CONTROL.search(item))):
                    _refused_text(item, wire_name)


# The end of a whole-value pattern: Python's ``$`` also matches before a final newline (msgspec checks
# patterns with ``re.search``: "10003826475\n" passed an 11-digit one), JSON Schema's does not; with
# the lookahead both mean the very end. Digits are written [0-9]: ``\d`` takes any script's digits.
END = r"(?!\n)$"
# A text a person must fill in holds one visible character: not only spaces, nor only invisible
# format characters (zero-width spaces and joiners, direction marks and isolates, word joiner, BOM,
# the combining grapheme joiner, the Arabic letter mark), nor only blanks that are letters or
# symbols to Unicode (Hangul fillers, the Mongolian vowel separator, Khmer's inherent vowels, the
# blank Braille pattern), which ``\S`` took for visible (outside reviews: a condition labelled
# "\u200b\u200b" was stored, a child named "\u2800", an emergency given "\u200b" for reason).
# Nor only combining marks, which show on a letter and alone on none (a name of U+0301 was taken
# as filled in: an outside audit): the diacritical marks' blocks, their extension and supplement,
# those for symbols, and the half marks. Nor only the soft hyphen (shown where a line breaks inside
# a word), variation selectors and Mongolian's free ones (they choose how the character before them
# is drawn), or the interlinear annotation marks: a child named "\u00ad" was made (a review). Nor
# only noncharacters (U+FDD0 to U+FDEF, U+FFFE, U+FFFF: never a character to show, drawn as a
# missing glyph), which a condition's label was (an outside audit of the records). (Those
# of the supplementary planes, selectors and tags, still pass: a JSON Schema pattern has no portable
# way to write a character past U+FFFF in a class.)
# Inside a character class: the characters above that show nothing (format characters, blanks,
# the soft hyphen, selectors), also refused inside an e-mail address; then the combining marks.
SHOWS_NOTHING = (
    r"\u00ad\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u2069\u2800\u3164"
    r"\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\ufdd0-\ufdef\ufffe\uffff"
)
_COMBINING_MARKS = r"\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
VISIBLE = f"[^\\s{SHOWS_NOTHING}{_COMBINING_MARKS}]"
# One e-mail address: parts between dots of something with no space, no "@", and none of the
# characters that show nothing: "luc@x.fr" and a zero-width space was stored, and answered as the
# address it is not; "luc@x..fr" and "luc@x.fr." too (an outside audit). Combining marks stay: an
# accented local part may come decomposed. Two addresses ("a@x.fr, b@y.fr") are none.
_EMAIL_PART = f"[^@\\s.{SHOWS_NOTHING}]+"
EMAIL_ADDRESS = f"^{_EMAIL_PART}(\\.{_EMAIL_PART})*@{_EMAIL_PART}(\\.{_EMAIL_PART})+{END}"


# True while a body is converted whose JSON text shows that none of its strings holds a NUL or
# another control character (:func:`holds_no_control_character`): refuse_nul would find nothing in
# any of its Structs, and costs ~0.5 us each (a batch of measures converts two or three a measure).
_TEXTS_CLEAN: ContextVar[bool] = ContextVar("texts_clean", default=False)


@contextmanager
def texts_known_clean() -> Iterator[None]:
    """Structs converted inside skip :func:`refuse_nul`: for a body that
    :func:`holds_no_control_character` only."""
    token = _TEXTS_CLEAN.set(True)
    try:
        yield
    finally:
        _TEXTS_CLEAN.reset(token)


def holds_no_control_character(json_text: bytes) -> bool:
    """Whether no string of this JSON text can hold what :func:`refuse_nul` refuses (NUL, C0 but
    tab, line feed and carriage return, DEL, C1). A character below U+0020 is never raw in a JSON
    string (msgspec refuses the text), so only an escape writes one: there is no backslash. DEL is
    byte 7F; U+0080 to U+009F are C2 80 to C2 9F in UTF-8 (which msgspec checks): there is no C2
    byte at all (nor, then, U+00A0 to U+00BF, whose texts are checked one by one as before)."""
    return b"\\" not in json_text and b"\x7f" not in json_text and b"\xc2" not in json_text


class Struct(msgspec.Struct, forbid_unknown_fields=True, rename="camel", kw_only=True):
    """Every request body: camelCase on the wire, unknown fields refused, no NUL in any text."""

    def __post_init__(self) -> None:
        if not _TEXTS_CLEAN.get():
            refuse_nul(self)


class ReadStruct(msgspec.Struct, rename="camel", kw_only=True, omit_defaults=False):
    """Response bodies (unknown fields are irrelevant on output)."""


class ProtocolStruct(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Bodies whose names a standard fixes (OAuth 2.0 forms and answers, HTML forms): spelt as the
    standard spells them, and unknown parameters ignored, as RFC 6749 §3.1 requires."""

    def __post_init__(self) -> None:
        refuse_nul(self)


T = TypeVar("T")


class Page(msgspec.Struct, Generic[T], rename="camel", kw_only=True):
    items: list[T]
    next_cursor: str | None = None


# ---------------------------------------------------------------------------------------------
# Cursors: opaque to clients, signed so a forged or edited one is refused, bound to one listing.


class Cursors:
    """A listing's place, given to the client as an opaque cursor: encrypted and authenticated
    (AES-SIV, RFC 5297, under one key, the listing's purpose — its space, its filters — as
    associated data). Deterministic: one place is one cursor, so a page's body, and its ETag, stay
    the same while nothing changes. Signed only, as they were until 2026-12-04, cursors could be
    read: a representative's change-feed cursor, on SQLite the space's counter, told how many
    measures hidden from them were written, and when (an outside audit). Those signed cursors are
    still taken, for the phones that hold one, until they expire."""

    def __init__(self, secret_key: str) -> None:
        self._secret = secret_key
        # Issued under the current key; one issued before ENS_SECRET_KEY changed is still taken.
        self._aeads = [AESSIV(keyring.derive_key(key, "cursors", length=64)) for key in keyring.secrets_of(secret_key)]
        self._ids = keyring.derive_key(secret_key, "opaque-ids", length=32)

    def opaque_id(self, kind: str, number: int) -> UUID:
        """A row known by a number (the access history's, a sequence over every space) as an
        opaque UUID, as the API's identifiers are: a keyed hash, stable for the row, which does
        not tell the number (how many rows the whole service wrote before it: an outside audit)."""
        digest = hashlib.blake2b(f"{kind}:{number}".encode(), key=self._ids, digest_size=16).digest()
        return UUID(bytes=digest, version=4)

    def encode(self, purpose: str, position: list[Any]) -> str:
        return _b64(self._aeads[0].encrypt(msgspec.json.encode(position), [purpose.encode()]))

    def decode(self, purpose: str, cursor: str) -> list[Any]:
        if "." in cursor:
            payload = self._signed(purpose, cursor)
        else:
            try:
                blob = _unb64(cursor)
            except (ValueError, binascii.Error) as exc:
                raise BadRequest("The cursor is malformed.", [FieldError("/cursor", "malformed")]) from exc
            payload = self._opened(blob, purpose)
        try:
            position = msgspec.json.decode(payload)
        except msgspec.DecodeError:
            position = None
        if not isinstance(position, list):
            raise BadRequest("The cursor is malformed.", [FieldError("/cursor", "malformed")])
        return position

    def place(self, purpose: str, cursor: str, read: Callable[[list[Any]], T]) -> T:
        """The place ``read`` makes of a cursor's position; one it cannot make (a part missing, of
        the wrong type, or beyond its column: :func:`cursor_int`) is 400, as a malformed cursor.
        A cursor is authenticated, but a key ENS_SECRET_KEY replaced still opens one while it is in
        ENS_PREVIOUS_SECRET_KEYS, and whoever holds that key (it may have leaked) writes any position
        in it: parsed unchecked, it was an error 500 (a review of the rotation)."""
        position = self.decode(purpose, cursor)
        try:
            return read(position)
        except (IndexError, TypeError, ValueError, OverflowError, OSError) as exc:
            raise BadRequest("The cursor is malformed.", [FieldError("/cursor", "malformed")]) from exc

    def _opened(self, blob: bytes, purpose: str) -> bytes:
        for aead in self._aeads:
            try:
                return aead.decrypt(blob, [purpose.encode()])
            except (InvalidTag, ValueError):
                continue
        raise BadRequest("The cursor is not one this listing issued.", [FieldError("/cursor", "invalid")])

    def _signed(self, purpose: str, cursor: str) -> bytes:
        """A cursor issued before they were encrypted: its position, readable, and its MAC."""
        try:
            payload_part, mac_part = cursor.split(".", 1)
            payload, mac = _unb64(payload_part), _unb64(mac_part)
        except (ValueError, binascii.Error) as exc:
            raise BadRequest("The cursor is malformed.", [FieldError("/cursor", "malformed")]) from exc
        if not keyring.verify(self._secret, f"cursor:{purpose}", payload=payload, mac=mac):
            raise BadRequest("The cursor is not one this listing issued.", [FieldError("/cursor", "invalid")])
        return payload


def time_and_id(position: list[Any]) -> tuple[datetime, UUID]:
    """A ``[time, id]`` position (ISO 8601, a UUID: a keyset's), the time aware (naive: UTC)."""
    at, row_id = position
    moment = datetime.fromisoformat(str(at))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), UUID(str(row_id))


def cursor_int(value: Any, *, bits: int = 64) -> int:
    """An integer part of a cursor's position, within a signed integer column of ``bits`` (beyond
    it, the database refuses the statement: a 500); :class:`ValueError` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError("not an integer")
    number = int(value)
    if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
        raise ValueError("beyond its column")
    return number


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


def quality_values(header: str) -> tuple[tuple[str, float], ...]:
    """The values of an ``Accept``-style header (RFC 9110 §12.4.2), lowercased, each with its
    quality (``q``: 1 when absent); empty elements skipped (§5.6.1); none at all when the header is
    malformed (an element of parameters alone, a ``q`` that is no qvalue), which the callers then
    disregard, as §12.5.1 allows (``*/*;q=`` was read as "nothing acceptable": 406 on the FHIR door,
    a review). Parsing them at every request cost ~8 us of a
    1-item page; a client sends the same header every time, so short ones are remembered (a client
    sending long, ever-different ones would otherwise hold memory and push everyone else's out)."""
    if len(header) > _REMEMBERED_HEADER_LENGTH:
        return _quality_values(header)
    return _remembered_quality_values(header)


_REMEMBERED_HEADER_LENGTH = 256


def _quality_values(header: str) -> tuple[tuple[str, float], ...]:
    values: list[tuple[str, float]] = []
    for part in header.split(","):
        value, *params = (piece.strip() for piece in part.split(";"))
        if not value:
            if any(params):
                return ()  # parameters of nothing
            continue
        quality = 1.0
        for param in params:
            name, _, given = param.partition("=")
            if name.strip().lower() == "q":
                if not _QVALUE.fullmatch(given.strip()):
                    return ()
                quality = float(given)
        values.append((value.lower(), quality))
    return tuple(values)


# RFC 9110 §12.4.2: 0 to 1, at most three decimals.
_QVALUE = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")


_remembered_quality_values = lru_cache(maxsize=256)(_quality_values)


# On a route that answers by :func:`preferred`: a cache keeps one answer per Accept (RFC 9110 §12.5.5).
VARY_ACCEPT = [ResponseHeader(name="Vary", value="Accept", description="The representation follows the Accept header")]


def _quality_of(ranges: tuple[tuple[str, float], ...], candidate: str) -> float:
    """The quality the most specific range matching ``candidate`` gives it (0 when none does)."""
    kind = candidate.split("/")[0] + "/*"
    for pattern in (candidate, kind, "*/*"):
        matches = [quality for media, quality in ranges if media == pattern]
        if matches:
            return max(matches)
    return 0.0


def preferred(accept: str | None, offered: Sequence[str]) -> str:
    """The offered media type an ``Accept`` header ranks highest (RFC 9110 §12.5.1: the most
    specific matching range gives each its quality); the first offered on a tie, without a header,
    or with a malformed one (disregarded). One that admits none of them is 406 naming them (§15.5.7):
    asked the measures for ``application/pdf``, the route answered JSON the client would take for
    what it asked. Litestar's own negotiation copies its parsed header on every call (measured
    ~10 us a request)."""
    if not accept:
        return offered[0]
    ranges = quality_values(accept)
    if not ranges:
        return offered[0]
    best, best_quality = offered[0], 0.0
    for candidate in offered:
        quality = _quality_of(ranges, candidate)
        if quality > best_quality:
            best, best_quality = candidate, quality
    if best_quality == 0:
        raise NotAcceptable(f"This route answers {', '.join(offered)}; the Accept header admits none of them.")
    return best


def accepts_any(accept: str | None, offered: Sequence[str]) -> bool:
    """Whether an ``Accept`` header (none accepts everything) gives one of ``offered`` a quality
    above 0."""
    ranges = quality_values(accept or "")
    if not ranges:  # none, empty or malformed: disregarded
        return True
    return any(_quality_of(ranges, candidate) > 0 for candidate in offered)


SinceParam = Annotated[
    str | None,
    QueryParameter(
        required=False,
        max_length=64,
        description="RFC 3339 instant with an offset, or a date (its midnight in the space's time zone); "
        "inclusive; years 1900 to 2199",
    ),
]
UntilParam = Annotated[
    str | None,
    QueryParameter(
        required=False,
        max_length=64,
        description="RFC 3339 instant with an offset, or a date (its midnight in the space's time zone); "
        "exclusive; years 1900 to 2199",
    ),
]


def check_span(since: Any | None, until: Any | None) -> None:
    """``since`` (included) before ``until`` (excluded), when both are given: inverted or equal
    bounds are a mistake told as one, not an empty answer taken for no data."""
    if since is not None and until is not None and since >= until:
        raise BadRequest("since must be before until.", [FieldError("/since", "must be before until")])


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}.", [FieldError("/limit", f"between 1 and {MAX_LIMIT}")])
    return limit


Position = tuple[str, ...]


def position_at(moment: datetime, ident: object) -> Position:
    """A sort position from a moment and an id, whose order as strings is theirs (UTC, microseconds
    always written)."""
    return (moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"), str(ident))


def page_of(
    entries: Sequence[tuple[Position, T]],
    cursors: Cursors,
    purpose: str,
    *,
    limit: int | None,
    cursor: str | None,
    descending: bool = False,
) -> Page[T]:
    """A page of a listing short by nature, read whole (an account's devices, a space's
    representatives, apps or professionals, the app catalogue): each item with its position, unique
    in the listing, which orders it (``descending``: the highest first). The cursor is the signed
    position of the page's last item: the next page starts after it, whatever was added or removed
    meanwhile."""
    size = check_limit(limit)
    ordered = sorted(entries, key=lambda entry: entry[0], reverse=descending)
    if cursor:
        after = tuple(str(part) for part in cursors.decode(purpose, cursor))
        ordered = [entry for entry in ordered if (entry[0] < after if descending else entry[0] > after)]
    page = ordered[:size]
    next_cursor = cursors.encode(purpose, list(page[-1][0])) if len(ordered) > size else None
    return Page(items=[item for _, item in page], next_cursor=next_cursor)


# ---------------------------------------------------------------------------------------------
# ETags: strong validators over the exact representation sent.


# In a handler's opt: the query parameters it reads as one value (ens.app.doors.note_what_routes_read_once).
READ_ONCE_KEY = "ens.read_once"
# In the opt of a handler under /v1: every query parameter it reads (a name it does not read is refused).
READS_KEY = "ens.reads"
# The one name any /v1 route takes without reading it: a browser's cache-buster (``?_=1733300000``).
CACHE_BUSTER = "_"


def unknown_query_parameters(request: Request[Any, Any, Any]) -> list[str]:
    """The query parameters a route under /v1 does not read (``?types=weight`` for ``?type=``:
    ignored, it answered every type, and the client believed it had filtered). Routes elsewhere
    (FHIR's, whose clients send ``_format`` or ``_pretty`` and expect them ignored; OAuth's, which
    RFC 6749 §3.1 asks to ignore what they do not know) keep no list and refuse nothing."""
    if not request.scope["query_string"]:
        return []
    reads = request.route_handler.opt.get(READS_KEY)
    if reads is None:
        return []
    return [name for name in request.query_params if name not in reads and name != CACHE_BUSTER]


def repeated_query_parameters(request: Request[Any, Any, Any]) -> list[str]:
    """The query parameters the route reads as one value that the request names more than once
    (``?erase=true&erase=false``: litestar kept the last, which was not the client's choice). A
    name the route does not read stays ignored (a cache-buster ``_``), and a list takes several."""
    if not request.scope["query_string"]:
        return []
    once = request.route_handler.opt.get(READ_ONCE_KEY, frozenset())
    query = request.query_params
    return [name for name in query if name in once and len(query.getall(name)) > 1]


def etag_of(body: bytes) -> str:
    return '"' + _b64(hashlib.sha256(body).digest()[:16]) + '"'


def etag_matches(header: str | None, etag: str, *, weak: bool) -> bool:
    """Whether ``header`` (a list of entity tags, or ``*``) names ``etag``.

    ``If-None-Match`` compares weakly (a ``W/`` tag matches its strong twin, RFC 9110 §13.1.2);
    ``If-Match`` strongly (§13.1.1): a weak tag never matches, since it cannot promise the
    representation is byte for byte the one the client changed.
    """
    if header is None:
        return False
    header = header.strip()
    if header == "*":
        return True
    for tag in (tag.strip() for tag in header.split(",")):
        if tag.startswith("W/"):
            if weak and tag[2:] == etag:
                return True
        elif tag == etag:
            return True
    return False


IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        required=False,
        description="The ETag of the version the change is based on (strong comparison: 412 when stale)",
    ),
]


def with_etag(read: msgspec.Struct | bytes, *, status: int = 200) -> Response[bytes]:
    """``read`` as JSON (or the JSON bytes its GET sends) with the ETag its GET answers (the same
    bytes, hence the same tag), so a client can change it again without reading it first."""
    body = read if isinstance(read, bytes) else msgspec.json.encode(read)
    return Response(body, media_type="application/json", status_code=status, headers={"ETag": etag_of(body)})


PDF = "application/pdf"


async def printed(
    request: Request[Any, Any, Any],
    *,
    purpose: str,
    drawn_from: Sequence[object],
    draw: Callable[[], bytes],
    filename: str,
) -> Response[bytes]:
    """A printed document (a PDF), or 304 when ``If-None-Match`` names it, known before it is drawn
    by what it is drawn from (``drawn_from``: what it shows, the day it is printed on). Its bytes
    differ from one print to the next (the PDF's creation time, its /ID), so their hash matched no
    later print and ``If-None-Match`` was 304 only within the second (an outside audit of the
    records): the tag is weak (the same document, not the same bytes), and a match costs no
    drawing, which takes seconds for the longest. Drawn in a thread: shaped text at its longest
    held up every other request of the process."""
    opaque = etag_of_versions(purpose, drawn_from)
    etag = "W/" + opaque
    if etag_matches(request.headers.get("if-none-match"), opaque, weak=True):
        return Response(b"", status_code=304, headers={"ETag": etag})
    body = await to_thread.run_sync(draw)
    return Response(
        body, media_type=PDF, headers={"ETag": etag, "Content-Disposition": f'inline; filename="{filename}"'}
    )


def require_if_match(if_match: str | None, current: bytes | None) -> None:
    """Raise 412 when ``If-Match`` is given and does not match the current representation."""
    if if_match is None:
        return
    if current is None or not etag_matches(if_match, etag_of(current), weak=False):
        raise PreconditionFailed("The resource has changed since it was read (If-Match does not match).")


UnversionedIfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        required=False,
        description="This resource has no GET of its own, hence no ETag: only * holds (412 for any entity tag)",
    ),
]


def require_unversioned(if_match: str | None) -> None:
    """``If-Match`` on a resource that has no GET of its own, hence no ETag (a session, an app's
    grant, a representation): only ``*`` holds (the resource exists, which the caller checks
    first: a missing one stays a 404); an entity tag cannot match any version (RFC 9110 §13.1.1)."""
    if if_match is not None and if_match.strip() != "*":
        raise PreconditionFailed("This resource has no version (no ETag) to compare: send If-Match: * or none.")


def pointer_token(name: str) -> str:
    """One reference token of a JSON Pointer (RFC 6901: ``~`` and ``/`` escaped)."""
    return "/" + name.replace("~", "~0").replace("/", "~1")


# msgspec's own messages name the field whole (a field's name may hold a backtick); a __post_init__'s
# "Field `name` <what is wrong>" names it, then says what is wrong.
_FIELD_IN_MESSAGE = re.compile(r"(Object contains unknown field|Object missing required field) `(.+)`()")
_FIELD_REFUSED = re.compile(r"(Field) `([^`]+)`(.*)")


# msgspec's refusal of a text that does not match its pattern quotes the pattern (a line of
# escapes): each pattern a body uses is said in words (:func:`said`).
_PLAIN: dict[str, str] = {}


def said(pattern: str, words: str) -> str:
    """``pattern``, whose refusal says ``words`` rather than the pattern."""
    _PLAIN[f"Expected `str` matching regex {pattern!r}"] = words
    return pattern


_SHOWS = re.compile(VISIBLE)


def is_visible(text: str) -> bool:
    """Whether something of ``text`` shows (not only spaces, zero-width or filler characters).
    ASCII, nearly every text a device app sends, without the pattern: there it is what isspace() says."""
    if text.isascii():
        return bool(text) and not text.isspace()
    return _SHOWS.search(text) is not None


NOTHING_VISIBLE = "nothing visible (spaces or invisible characters only): give some text, or leave it out"
said(VISIBLE, NOTHING_VISIBLE)

# What ends a line or jumps on it, to Unicode and to a reader: line feed, carriage return, tab,
# vertical tab, form feed, next line (C1), and the line and paragraph separators.
_BREAKS = r"\n\r\t\x0b\x0c\x85\u2028\u2029"
# A name, a title, an address's line: one line holding something visible (:data:`VISIBLE`). A name
# with a line break in it was stored (an audit): printed on the directives, in a history sentence or
# a CSV cell it broke the line it stood in, and no one writes their name on two lines.
ONE_LINE = said(
    f"^[^{_BREAKS}]*{VISIBLE}[^{_BREAKS}]*{END}",
    "one line holding something visible: no line break or tab, not only spaces or invisible characters",
)


def _inner(annotation: Any) -> list[Any]:
    """The types a value of ``annotation`` may be: a union's members, an annotated type's own."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _inner(get_args(annotation)[0])
    if origin is Union or origin is UnionType:
        return [inner for member in get_args(annotation) for inner in _inner(member)]
    return [annotation]


_ITEMS = (list, set, frozenset, tuple, Sequence, AbstractSet)


def choices_of(within: Any, pointer: str) -> tuple[Any, ...] | None:
    """The values a field of type ``within`` at ``pointer`` may take (a ``Literal`` or an ``Enum``),
    in the order they are declared (msgspec's own description sorts them), or ``None`` when the
    pointer leads to no such field (or to a type not read here: an error's words are not worth a 500)."""
    try:
        found = _inner(within)
        for token in pointer.split("/")[1:] if pointer else []:
            step: list[Any] = []
            for kind in found:
                origin, args = get_origin(kind), get_args(kind)
                if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
                    fields = msgspec.structs.fields(kind)
                    step += [inner for f in fields if f.encode_name == token for inner in _inner(f.type)]
                elif origin in _ITEMS and args and token.isdigit():
                    step += _inner(args[0])
                elif origin in (dict, Mapping) and len(args) == 2:
                    step += _inner(args[1])
            found = step
    except (TypeError, ValueError, NameError):
        return None
    for kind in found:
        if get_origin(kind) is Literal:
            return get_args(kind)
        if isinstance(kind, type) and issubclass(kind, Enum):
            return tuple(member.value for member in kind)
    return None


def with_choices(detail: str, within: Any, pointer: str) -> str:
    """msgspec's "Invalid enum value 'x'" told the values the field takes (it named none), in
    their declared order."""
    if within is None or not detail.startswith("Invalid enum value"):
        return detail
    choices = choices_of(within, pointer)
    return f"{detail} (one of: {', '.join(str(c) for c in choices)})" if choices else detail


def field_error(message: str, path: str, *, within: Any = None) -> tuple[str, str]:
    """A msgspec validation message and its ``$...`` path as (JSON Pointer, detail); ``within``,
    the type decoded, tells a bad choice the field's choices.

    msgspec locates an unknown or missing field, or a field a ``__post_init__`` refused ("Field
    `name` <what is wrong>"), at the object that holds it; the field's own name is in the message,
    so the pointer goes one step further.
    """
    pointer = json_pointer(path)
    named = _FIELD_IN_MESSAGE.fullmatch(message) or _FIELD_REFUSED.fullmatch(message)
    if named is None:
        return pointer, with_choices(_PLAIN.get(message, message), within, pointer)
    kind, name, rest = named.groups()
    if kind == "Object missing required field":
        detail = "required"
    elif kind == "Object contains unknown field":
        detail = "unknown field"
    else:
        detail = rest.strip() or "invalid"
    return pointer + pointer_token(name), detail


def validation_error(exc: msgspec.ValidationError) -> FieldError:
    """msgspec's refusal ("<what> - at `$.<path>`") as a FieldError at its JSON Pointer."""
    message, at, path = str(exc).partition(" - at `")
    pointer, detail = field_error(message, path.removesuffix("`") if at else "$")
    return FieldError(pointer, detail)


def json_pointer(path: str) -> str:
    """msgspec's ``$.a[3].b`` path to a JSON Pointer ``/a/3/b``."""
    if not path or path == "$":
        return ""
    pointer = ""
    for match in re.finditer(r"\.([^.\[]+)|\[(\d+)\]|\[\"?'?([^\]]*?)'?\"?\]", path.removeprefix("$")):
        pointer += pointer_token(match.group(1) or match.group(2) or match.group(3) or "")
    return pointer


_VERSIONS = msgspec.json.Encoder()


def etag_of_versions(purpose: str, versions: Sequence[object]) -> str:
    """A strong validator from what determines a representation (its rows' ids and versions, the
    query) rather than from its bytes: hashing a 40 kB page cost ~20 us of the ~420 us it took.
    (Encoded with msgspec, not ``repr``: 1.6 against 7 us for a 100-item page, measured.)"""
    return etag_of(purpose.encode() + b"\n" + _VERSIONS.encode(versions))


class ETagMiddleware:
    """Strong ETags on successful GETs, and 304 when ``If-None-Match`` names the current one.

    A handler that knows a cheaper strong validator sets ``ETag`` itself (``etag_of_versions``, a
    document's content): its answer then passes as it is produced, never held (a file can be
    20 MiB); otherwise the validator is the hash of the body. A streamed answer (no
    ``Content-Length``: its size is not known before its end, like the FHIR export) passes through
    as it is produced, never held here, and has no ETag."""

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
                given = next((v.decode("latin-1") for k, v in message.get("headers", []) if k == b"etag"), None)
                if (
                    message["status"] in (200, 206)
                    and given is not None
                    and etag_matches(if_none_match, given, weak=True)
                ):
                    # The handler knew its validator: 304 without reading (or holding) its body. A
                    # range asked with a current tag is 304 too (RFC 9110 §13.2.2: If-None-Match
                    # is evaluated before Range).
                    start["not_modified"] = True
                    dropped = (b"content-length", b"content-type", b"content-range")
                    kept = [(k, v) for k, v in message.get("headers", []) if k not in dropped]
                    await send({"type": "http.response.start", "status": 304, "headers": kept})
                    await send({"type": "http.response.body", "body": b""})
                    return
                streamed = not any(k == b"content-length" for k, _ in message.get("headers", []))
                if message["status"] != 200 or given is not None or streamed:
                    # Not a 200, a validator given with a body that may be large (a file), or a body
                    # whose size is unknown: passed on as it comes.
                    start["passthrough"] = True
                    await send(message)
                    return
                start.update(message)
                return
            if start.get("not_modified"):
                return
            if start.get("passthrough"):
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            headers = list(start.get("headers", []))
            etag = etag_of(body)
            headers.append((b"etag", etag.encode()))
            if etag_matches(if_none_match, etag, weak=True):
                kept = [(k, v) for k, v in headers if k not in (b"content-length", b"content-type")]
                await send({"type": "http.response.start", "status": 304, "headers": kept})
                await send({"type": "http.response.body", "body": b""})
                return
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffered)


NUL_IN_ADDRESS = "The address contains a NUL character."


class EdgeMiddleware:
    """The first layer every request passes, for what is decided before anything reads the request,
    and what holds whatever answers it. One layer, not one each: every request passes it.

    - 400 for a path or query string that carries a NUL character. Bodies are checked field by field
      (:func:`refuse_nul`); a query parameter reaches handlers as a bare string, and PostgreSQL
      cannot even compare one that holds a NUL. A path that no route matches is answered before any
      middleware runs: the 404 (or 405) handler says 400 instead (``ens.app.exception_handlers``).
    - 415 for a body sent compressed (``Content-Encoding`` other than ``identity``): no route decodes
      one, and read as it came a gzip body was "The JSON body is malformed" (an outside audit), a
      form's file stored compressed.
    - A HEAD's answer goes out without its body, whatever serves the app: uvicorn drops it, an
      in-process client (httpx's ASGI transport) would not. Its headers are the GET's (a
      ``Content-Length`` the body would have had, RFC 9110 §9.3.2).
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            if (
                "\x00" in scope["path"]
                or b"%00" in scope.get("query_string", b"")
                or b"\x00" in scope.get("query_string", b"")
            ):
                # Raised, so the app's handlers answer it in the address's own language (problem+json,
                # an OperationOutcome on /fhir, RFC 6749 JSON at the token endpoints, a login page).
                raise BadRequest(NUL_IN_ADDRESS)
            for name, value in scope["headers"]:
                # Only for a body there is (a GET that names a coding sends none: a review).
                if (
                    name == b"content-encoding"
                    and value.strip().lower() not in (b"", b"identity")
                    and announces_body(scope)
                ):
                    raise UnsupportedContentCoding(
                        f"The body is sent with Content-Encoding: {value.decode('latin-1')}; send it uncompressed."
                    )
            if scope["method"] == "HEAD":
                await self.app(scope, receive, _without_body(send))
                return
        await self.app(scope, receive, send)


def _without_body(send: Any) -> Any:
    """``send``, each body of the answer sent empty (a HEAD's)."""

    async def without_body(message: Any) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            message = {**message, "body": b""}
        await send(message)

    return without_body
