"""JSON request bodies read strictly: a wrong type is refused, never converted.

Litestar converts a handler's parameters, its ``data`` among them, with ``msgspec.convert(...,
strict=False)``: right for query strings and headers, which are text, but it made a body's
``"priority": "2"`` the number 2 and ``"hiddenFromRepresentatives": "true"`` true (an outside
review, 2026-12-02), where API.md asks a wrong type to be a 4xx that says what is wrong (the
measures, read by their own service, were strict already). The body is converted here, strictly,
into the handler's Struct, which litestar then takes as it is (a Struct passes ``convert`` through):
one conversion, not two. Its refusal is litestar's own for a body, so it is mapped to the same
422 with its JSON Pointer (``ens.app.exception_handlers``).
"""

from __future__ import annotations

import json
import re
from contextlib import nullcontext
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import SerializationException, ValidationException
from litestar.types import Empty

from ens.core.api import holds_no_control_character, pointer_token, texts_known_clean
from ens.core.errors import FieldError, Invalid, UnsupportedMediaType
from ens.core.text_direction import may_hold_direction_control, refuse_direction_controls


class StrictJSONRequest(Request[Any, Any, Any]):
    """The app's request class (``Litestar(request_class=...)``)."""

    def require_json(self) -> None:
        """415 unless the body says it is JSON (``application/json`` or a ``+json`` type, FHIR's
        ``application/fhir+json`` among them): also for the routes that read their body themselves."""
        media_type = self.content_type[0]
        if media_type != "application/json" and not media_type.endswith("+json"):
            # A JSON route took a form or text body too (an outside review: a measure posted as
            # text/plain was stored): what the client sent is not what it meant, or not a client.
            raise UnsupportedMediaType(f"The body must be JSON (Content-Type: application/json), not {media_type!r}.")

    async def json(self) -> Any:
        self.require_json()
        value = await self._decoded()
        field = self.route_handler.parsed_data_field
        target = field.annotation if field is not None else None
        if isinstance(target, type) and issubclass(target, msgspec.Struct) and not isinstance(value, target):
            # A body whose text holds no control character anywhere is converted without looking for
            # one in each of its texts (refuse_nul), which would find none.
            body = await self.body()
            clean = holds_no_control_character(body)
            with texts_known_clean() if clean else nullcontext():
                # What a Struct asks done to its body first (``prepare_json``: a measure's instant
                # cut to the microsecond, where msgspec would round it; a batch's items converted
                # in one call).
                prepare = getattr(target, "prepare_json", None)
                if prepare is not None:
                    value = prepare(value)
                try:
                    converted = msgspec.convert(value, target, strict=True)
                except msgspec.ValidationError as exc:
                    raise ValidationException("Validation failed", extra=[_as_litestar_says_it(str(exc))]) from None
            if may_hold_direction_control(body):
                errors: list[FieldError] = []
                refuse_direction_controls(converted, errors=errors)
                if errors:
                    raise Invalid(
                        "A text would display in another order than it is written; nothing was stored.", errors
                    )
            return converted
        return value

    async def _decoded(self) -> Any:
        """The body as litestar decodes it (kept for the request's other readers), but a number
        beyond a double is read as the infinity it rounds to (:data:`JSON`)."""
        if self._json is not Empty:
            return self._json
        if self._connection_state.json is not Empty:
            self._json = self._connection_state.json
            return self._json
        body = await self.body()
        try:
            value = JSON.decode(body or b"null")
        except msgspec.DecodeError as exc:
            raise SerializationException(_what_is_wrong(body, exc)) from exc
        if isinstance(value, dict | list):
            refuse_duplicate_members(body, value)
        self._json = self._connection_state.json = value
        return value


class _Twice(Exception):
    """An object of the body names a member twice."""


class _Members(list[tuple[str, Any]]):
    """An object's members in the order the body gives them (duplicates kept)."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _Twice
    return found


def refuse_duplicate_members(body: bytes, decoded: Any = None) -> None:
    """422 at the first object that names a member twice (its JSON Pointer and the name).

    JSON leaves a repeated name's meaning open (RFC 8259 §4): msgspec keeps the last, other readers
    the first, so what a proxy or a client's own check read would not be what is stored (an outside
    audit). msgspec cannot say. :func:`members_all_kept` answers for most bodies from what msgspec
    ``decoded``; for the others a second reader looks (Python's, ~2 µs a measure of a batch), and
    only a body that has one is read a third time, to say where."""
    if decoded is not None and members_all_kept(body, decoded):
        return
    try:
        json.loads(body, object_pairs_hook=_unique)
    except _Twice:
        pointer, name = _first_twice(json.loads(body, object_pairs_hook=_Members), "") or ("", "")
        raise Invalid(
            "An object of the body gives a member twice: JSON members are named once (RFC 8259).",
            [FieldError(pointer, f"gives {name!r} twice")],
        ) from None
    except (ValueError, RecursionError):
        # What msgspec read and this reader does not (an integer of thousands of digits, nesting
        # past Python's recursion): msgspec's reading stands, and the body's fields are checked.
        return


_ENCODE = msgspec.json.Encoder()


def members_all_kept(body: bytes, decoded: Any) -> bool:
    """Whether every member of the body's objects is in ``decoded`` (msgspec's reading, which keeps
    one member of each name), at a fifth of a second reader's cost: counting colons.

    Outside strings a colon is a member's separator and nothing else, and a string's colons are in
    its text as they are in the body as long as no escape ``\\u`` could write one otherwise; msgspec
    writes them as they are and escapes no colon. So without ``\\u`` in the body, its colons are
    one per member plus those in its strings, and ``decoded`` written again holds as many exactly
    when no member was dropped: a dropped member takes its separator away, and its strings' colons
    if any, never adds one. ``False`` when that cannot be said (a ``\\u``), not only for a duplicate."""
    if b"\\" in body and b"\\u" in body:  # (one byte is looked for at memchr's speed, two are not)
        return False
    return body.count(b":") == _ENCODE.encode(decoded).count(b":")


def _first_twice(value: Any, pointer: str) -> tuple[str, str] | None:
    """Where the first member named twice is, depth first in the body's order."""
    if isinstance(value, _Members):
        seen: set[str] = set()
        for name, _ in value:
            if name in seen:
                return pointer, name
            seen.add(name)
        children = list(value)
    elif isinstance(value, list):
        children = [(str(index), item) for index, item in enumerate(value)]
    else:
        return None
    for name, child in children:
        found = _first_twice(child, pointer + pointer_token(name))
        if found is not None:
            return found
    return None


def _what_is_wrong(body: bytes, exc: msgspec.DecodeError) -> str:
    """msgspec's reason, but for a string holding half of a UTF-16 surrogate pair (``"\\ud83d"``,
    its other half lost), which msgspec calls truncated input: the body is whole, a character in it
    is not (a second parser, which keeps such halves, reads it to the end)."""
    reason = str(exc)
    if reason.startswith("Input data was truncated"):
        try:
            json.loads(body)
        except ValueError:
            return reason
        return "JSON is malformed: a string holds half of a UTF-16 surrogate pair (\\ud800-\\udbff without its pair)"
    return reason


def _float(text: str) -> float:
    """A JSON number with a fraction or exponent: its double, ``inf`` past the largest one."""
    return float(text)


class _Reader:
    """JSON as the app reads a body: ``1e400`` is read as ``inf`` (msgspec alone refuses the whole
    body, naming no field: "Number out of range - at `$[...][1][...]`"), so that the field's own
    check refuses it where it stands (a measure's value: 422 at ``/measurements/1/value``, out of
    range). msgspec reads first on its own: the hook, a Python call for every number with a fraction,
    is taken only for a body that holds such a number (a batch of measures read ~12 % faster)."""

    _plain = msgspec.json.Decoder()
    _beyond_doubles = msgspec.json.Decoder(float_hook=_float)

    def decode(self, body: bytes) -> Any:
        try:
            return self._plain.decode(body)
        except msgspec.ValidationError as exc:
            if not str(exc).startswith("Number out of range"):
                raise
        return self._beyond_doubles.decode(body)


JSON = _Reader()


# msgspec's "<what> - at `$.<path>`", which litestar splits into a message and a key.
_AT = re.compile(r"`\$\.(.+)`$")


def _as_litestar_says_it(text: str) -> dict[str, str]:
    """The refusal as litestar reports a body's (its key the path under the body, ``data`` for the
    body itself), so that one mapping turns both into the same 422."""
    where = _AT.search(text)
    return {"key": where.group(1) if where else "data", "message": text.split(" - ", 1)[0], "source": "body"}
