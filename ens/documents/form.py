"""A ``multipart/form-data`` body read as it arrives: the ``file`` part's bytes are handed on chunk
by chunk, never gathered; the other parts (``metadata``) are small and kept.

python-multipart's push parser (the one Starlette uses) does the parsing: it is fed each chunk of
the body and calls back with the parts' headers and data. Litestar's own form handling reads the
whole body first.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import Message

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import DEFAULT_MAX_HEADER_SIZE, MultipartParser, parse_options_header

from ens.core.api import VISIBLE
from ens.core.errors import BadRequest, FieldError, Invalid

FILE_PART = "file"
METADATA_PART = "metadata"


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` body, or 400 when the body is not one."""
    media, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary", b"")
    if media != b"multipart/form-data" or not 1 <= len(boundary) <= 70:
        raise BadRequest(
            "The body must be multipart/form-data with a 'file' part and a 'metadata' part.",
            [FieldError("", "expected multipart/form-data with a boundary")],
        )
    return boundary


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    disposition: str = ""
    data: bytearray = field(default_factory=bytearray)


class StreamingForm:
    """Reads the body once; :meth:`file_chunks` yields the file's bytes while the rest is parsed.

    After it is exhausted: ``filename``, and ``fields`` (each other part's bytes, at most
    ``max_field_bytes`` each).
    """

    def __init__(self, body: AsyncIterator[bytes], boundary: bytes, *, max_field_bytes: int) -> None:
        self._body = body
        self._max_field = max_field_bytes
        self._part = _Part()
        self._file_data: list[bytes] = []
        self._ended = False
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._data,
                "on_part_end": self._end_part,
                "on_end": self._end,
            },
        )
        self.filename: str | None = None
        self.saw_file = False
        self.fields: dict[str, bytes] = {}

    # The parser's callbacks (synchronous: they only record) ------------------------------------

    def _begin(self) -> None:
        self._part = _Part()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._part.header_field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._part.header_value += data[start:end]

    def _header_end(self) -> None:
        if bytes(self._part.header_field).strip().lower() == b"content-disposition":
            self._part.disposition = self._part.header_value.decode("latin-1")
        self._part.header_field.clear()
        self._part.header_value.clear()

    def _headers_finished(self) -> None:
        kind, options = parse_options_header(self._part.disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if kind != b"form-data" or not name:
            raise BadRequest(
                "Each part needs a Content-Disposition: form-data with a name.", [FieldError("", "unnamed part")]
            )
        if name in self.fields or (name == FILE_PART and self.saw_file):
            raise Invalid(f"The part '{name}' is sent twice.", [FieldError(f"/{name}", "sent twice")])
        if name not in (FILE_PART, METADATA_PART):
            raise Invalid(
                f"Unknown part '{name}': the body has a 'file' part and a 'metadata' part.",
                [FieldError(f"/{name}", "unknown part")],
            )
        self._part.name = name
        if name == FILE_PART:
            self.saw_file = True
            raw = options.get(b"filename")
            self.filename = _extended_name(self._part.disposition) or (_name_of(raw) if raw is not None else None)

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._part.name == FILE_PART:
            self._file_data.append(data[start:end])
            return
        self._part.data += data[start:end]
        if len(self._part.data) > self._max_field:
            raise Invalid(
                f"The part '{self._part.name}' is larger than {self._max_field} bytes.",
                [FieldError(f"/{self._part.name}", f"at most {self._max_field} bytes")],
            )

    def _end_part(self) -> None:
        if self._part.name and self._part.name != FILE_PART:
            self.fields[self._part.name] = bytes(self._part.data)

    def _end(self) -> None:
        self._ended = True

    # Reading -----------------------------------------------------------------------------------

    async def file_chunks(self) -> AsyncIterator[bytes]:
        """The file part's bytes as they arrive; the whole body is read by the time it ends."""
        async for chunk in self._body:
            if not chunk:
                continue
            try:
                self._parser.write(chunk)
            except MultipartParseError as exc:
                raise _malformed(exc) from exc
            if self._file_data:
                pending, self._file_data = self._file_data, []
                for piece in pending:
                    if piece:
                        yield piece
        try:
            self._parser.finalize()
        except MultipartParseError as exc:
            raise _malformed(exc) from exc
        if not self._ended:
            raise BadRequest("The multipart body ends before its closing boundary.", [FieldError("", "truncated")])


def _malformed(exc: MultipartParseError) -> BadRequest:
    """The parser's refusal, said: a header line longer than it reads (a file name of thousands of
    characters, above all) was "malformed" like any broken body (an outside audit)."""
    if "header size" in str(exc):
        return BadRequest(
            f"A part's header line is longer than {DEFAULT_MAX_HEADER_SIZE} bytes: send a shorter file name.",
            [FieldError("", f"a part header longer than {DEFAULT_MAX_HEADER_SIZE} bytes")],
        )
    return BadRequest("The multipart body is malformed.", [FieldError("", "malformed multipart")])


def _extended_name(disposition: str) -> str | None:
    """A part's ``filename*`` (RFC 5987: ``UTF-8''r%C3%A9sum%C3%A9.pdf``), which some clients send for
    a name outside ASCII, alone or beside a plain ``filename`` it then takes precedence over (RFC
    6266 §4.3); python-multipart drops it (the name was stored as document.pdf: an outside audit).
    Read by the standard library's RFC 2231 parameters. One whose bytes are not of the charset it
    names, or of a charset Python does not know, names nothing, and a plain ``filename`` beside it
    is the name (RFC 6266 §4.3's fallback): it was stored with U+FFFD for each byte it could not
    read."""
    if "filename*" not in disposition.lower():
        return None
    header = Message()
    header["content-disposition"] = disposition
    for name, value in header.get_params(header="content-disposition", failobj=[]):
        if name.lower() == "filename" and isinstance(value, tuple):
            charset, _, text = value
            try:
                # The percent-decoded bytes (the library holds them as Latin-1 characters).
                name = text.encode("latin-1").decode(charset or "us-ascii")
            except (LookupError, UnicodeError):
                return None
            # One that shows nothing (a zero-width space) names nothing either: the plain name is
            # taken, where it became "document.pdf" (a review).
            return name if re.search(VISIBLE, name) else None
    return None


def _name_of(raw: bytes) -> str:
    """A part's file name: UTF-8 as RFC 7578 §4.2 says and browsers send; bytes that are no UTF-8
    are an older client's Latin-1 ("résumé.pdf" kept, not "r\ufffdsum\ufffd.pdf": an outside
    audit), which decodes any byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
