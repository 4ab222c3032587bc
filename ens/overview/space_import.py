"""The space import (``POST /v1/spaces/{space}/import``): an export's Bundle into an empty space.

In three steps, so that a slow client never holds a write open (on SQLite every write of the
service waits for it; on PostgreSQL every space's change feed does, ``ens.vitals.feed``):

1. The body is received whole, with its own size limit (``ENS_IMPORT_MAX_BYTES``, far above the
   normal body limit) and the usual wait between its parts (``ENS_BODY_IDLE_SECONDS``), into an
   anonymous temporary file, encrypted (Tink's streaming AEAD) under a key made for this import and
   held only in memory (``ens.core.spool``): never held whole in memory, never in plaintext on disk,
   and no transaction is open meanwhile. Every body takes that path, a small one too: it costs a
   fraction of a millisecond (measured there), and one path is the one the tests exercise.
2. It is read once (ijson's C parser over that file) without writing anything: a body that is no
   JSON, an entry without a resource, a measure or vaccination ENS cannot map, a measure hidden by
   whoever may not hide, are refused here. What the measures need of the ``Device``s is kept (what
   identifies each one, at most :data:`MAX_DEVICES`), nothing else.
3. It is read again and every item goes through its capability's own service, as if typed or sent
   again: the same checks and rules. This is one transaction (with the request's access-history
   row), whose work depends on the body's size only, and which may last ``ENS_IMPORT_MAX_SECONDS``
   at most: a refused entry, or an import past that time, leaves the space as it was.

"Empty" is judged on what the caller sees (:func:`_holds_what_caller_sees`): a representative does
not learn from a 409 that the holder hid something from them. What they do not see stays, untouched,
beside what they import; nothing imported can meet it (see the function).

Imported measures name the import as their source (``Import FHIR``) and keep the source they had
as a tag (``urn:ens:fhir:original-source``) and their hidden flag; each keeps its former id as its
``clientRecordId`` (not the writing app's own id and version, ``identifier`` and ``meta.versionId``:
they are that app's, and meant something only under its key, which an import does not write as),
and the value as it was sent (``urn:ens:fhir:original-quantity``) when that converts to the
canonical ``valueQuantity`` (else the entry is refused: :func:`_as_sent`). The holder's identity is
the space's own (the ``Patient`` is not imported); advance directives and the trusted person are the
holder's own signed acts and are left to do again (the answer says so); a ``Device`` no measure
names is listed as not imported. A vaccination a professional had validated comes in as the
importer's (declared), its note saying who had validated it (:func:`ens.vaccination.fhir.vaccination_of`).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from contextlib import aclosing, contextmanager
from dataclasses import dataclass
from typing import IO, Any
from zoneinfo import ZoneInfo

import asyncpg
import ijson
import msgspec

from ens.core.api import ReadStruct, pointer_token, validation_error
from ens.core.db import fetch_scalars, limit_statements, serialise, write_transaction
from ens.core.errors import ERASED_MEANWHILE, Conflict, DomainError, FieldError, Invalid, NotFound, PayloadTooLarge
from ens.core.fhir import UCUM, check_id_and_meta, is_restricted
from ens.core.local_time import zone_of
from ens.core.spool import EncryptedSpool
from ens.core.text_direction import refuse_direction_controls
from ens.documents import from_fhir as documents
from ens.documents.catalogue import MAX_DOCUMENT_BYTES
from ens.documents.keys import lock_space_documents, space_erased_meanwhile, space_key_for_writing
from ens.documents.service import any_document_seen
from ens.documents.upload import QuotaExceeded, Storage, room_left
from ens.documents.visibility import today_in_space
from ens.records.fhir import FHIRPATHS as RECORD_FHIRPATHS
from ens.records.fhir import NOT_IMPORTED, import_record, is_trusted_person
from ens.records.summary import any_record_seen
from ens.spaces.door import SpaceAccess
from ens.spaces.rights import Action
from ens.vaccination.fhir import IMMUNIZATION_FHIRPATHS, vaccination_of
from ens.vaccination.schemas import VaccinationCreate
from ens.vaccination.service import any_vaccination_seen, record_vaccination
from ens.vitals.catalogue import BLOOD_PRESSURE, BY_CODE
from ens.vitals.fhir import (
    DEVICE_FHIRPATHS,
    ORIGINAL_SOURCE_TAG,
    SOURCE_TAG,
    ObservationRefused,
    device_item,
    device_reference,
    fhirpath_of,
    measurement_of,
    tag_in,
)
from ens.vitals.fhir.to_fhir import ORIGINAL_QUANTITY_EXTENSION
from ens.vitals.ingest import MAX_BATCH, Imported, record_measurements
from ens.vitals.rules import Canonical, check_values
from ens.vitals.schemas import Components
from ens.vitals.schemas import Device as DeviceItem
from ens.vitals.service import any_measure_seen

# What the body is read by; the event loop serves other requests between reads.
READ_SIZE = 64 * 1024
# What it is read by inside a long text (a document's file in base64, documents=embedded: a piece
# without a quote), and so ijson's buffer: the parser scans a text again from its start at each
# read, and 64 KiB pieces made one reading of a 20 MiB file cost 2 s (1 MiB ones, 0.16 s).
LONG_READ_SIZE = 1024 * 1024
# The Devices a Bundle may hold: what identifies each (three strings of at most 255 characters,
# and a digest of its fullUrl) is kept until the measures naming it are read, about 1 kB each.
MAX_DEVICES = 10_000
# The documents carrying their files a Bundle may hold: what the import stores of each (about
# 500 bytes: its checked metadata, then where its file waits) is kept until its transaction ends,
# and each file is written to the store before it. Without a bound, 1 GiB of tiny documents kept
# about 2 GiB (a review); a space's documents are hundreds, a few thousand for a long illness.
MAX_DOCUMENTS = 10_000
# The items other than measures and Devices (records, vaccinations, documents): what tells two
# apart (a digest of each one's fullUrl, ~100 bytes) is kept for the first reading; without a
# bound, a Bundle of small entries kept more than its own size (a review). A booklet holds
# hundreds of entries, the records a few hundred more.
MAX_ITEMS = 50_000
UNUSED_DEVICE = (
    "named by no Observation, or giving no manufacturer, model or identifier: ENS keeps what identifies a device "
    "with the measures it took"
)
# The Bundle's Patient: listed among what is not imported (it was dropped without a word: an outside audit).
PATIENT_NOT_IMPORTED = (
    "the holder's identity is the space's own, from their sign-in: the Bundle's Patient is not imported"
)


class NotImported(ReadStruct):
    resource_type: str
    count: int
    reason: str


class KeptWithout(ReadStruct):
    """An entry imported without one of its parts, which today's checks refuse (an older export's
    value: ``ens.records.fhir.from_fhir._LEFT_OUT_WHEN_REFUSED``). ``pointer``: the entry's
    resource in the Bundle; ``detail``: the element, by FHIRPath, and the rule it breaks (never its
    value: it stays in the Bundle sent)."""

    pointer: str
    detail: str


class ImportResult(ReadStruct):
    # Per resource type, how many items the space now holds from the Bundle.
    imported: dict[str, int]
    not_imported: list[NotImported]
    # The items imported without a part of them, each said (never one left out in silence).
    kept_without: list[KeptWithout]


async def _received(chunks: AsyncIterator[bytes], *, limit: int) -> EncryptedSpool:
    """The whole body, encrypted in an anonymous temporary file under a key of its own held only in
    memory (:class:`~ens.core.spool.EncryptedSpool`); 413 past ``limit`` bytes. (The wait between
    two parts is the app's, ``ENS_BODY_IDLE_SECONDS``: 408.) On any failure the file is closed."""
    spool = EncryptedSpool()
    size = 0
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"An import holds at most {limit} bytes (ENS_IMPORT_MAX_BYTES).")
            spool.write(chunk)
        spool.finish()
    except BaseException:
        spool.close()
        raise
    return spool


class _Reader:
    """The received body as the file ijson reads, decrypted from its start. Each read lets the
    event loop run first: parsing a large body must not keep other requests waiting."""

    def __init__(self, plaintext: IO[bytes]) -> None:
        self._plaintext = plaintext
        self._in_text = False

    async def read(self, size: int = -1) -> bytes:
        await asyncio.sleep(0)
        wanted = LONG_READ_SIZE if self._in_text else READ_SIZE
        piece = self._plaintext.read(wanted if size < 0 else min(size, wanted))
        self._in_text = bool(piece) and b'"' not in piece
        return piece


# The body's shape, read once before anything else (ijson's basic_parse: no paths built, nothing
# kept but the open containers). ijson's readings by path build each event's path, whose length
# grows with the depth: a body of 200 kB nesting 100,000 arrays took the process past 23 GB (an
# outside audit). An export nests about ten levels.
MAX_DEPTH = 64
# One entry: ijson builds it whole in memory, its small values ~30 times their size (an entry of
# 45 MB of empty objects took 1.25 GB), its text about once; an export's largest, a version of the
# advance directives, holds a few hundred values and a few thousand characters, and its longest
# text is a document's file in base64 (documents=embedded): 20 MiB make 26.7 MiB.
MAX_ENTRY_VALUES = 20_000
MAX_ENTRY_TEXT = 4 * (-(-MAX_DOCUMENT_BYTES // 3)) + 1024 * 1024
# An object's members, each one's name kept to find a name given twice. A FHIR element's name is
# short (R4's longest is under 50 characters); JSON in FHIR has no maps of free keys. The names count
# toward their entry's text, or toward what lies outside the entries.
MAX_MEMBERS = 10_000
MAX_NAME = 256
# Top-level members ijson builds whole (``_top_level``): a string each, or no export.
_TOP_LEVEL_SCALARS = {"resourceType": "not Bundle", "type": "not collection"}
# A \u escape of a surrogate (D800-DFFF): a whole pair (group ``pair``), or half of one without its
# other half, which yajl reads as "?", changing the text without a word (an outside audit). An
# escape after an odd number of backslashes is text ("\\uD800").
_SURROGATE_ESCAPE = re.compile(
    rb"\\u[dD](?:(?P<pair>[89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})|[89a-fA-F][0-9a-fA-F]{2})"
)
# Bytes an escape's decision may need after where it begins: a pair.
_PAIR = 12


class _SurrogateScan:
    """The body's pieces, as they are read, looked at for half of a surrogate pair.

    An escape may straddle two pieces, and whether one is escaped depends on the backslashes before
    it: the end of each piece whose matches are not yet decided is carried into the next, cut after
    no backslash, its leading escaped backslashes (``\\\\``) dropped two by two."""

    def __init__(self) -> None:
        self._carry = b""

    def feed(self, piece: bytes) -> None:
        """The next piece of the body (``b""`` at its end)."""
        text = self._carry + piece
        decided = len(text) - _PAIR if piece else len(text)
        at = end = 0
        while match := _SURROGATE_ESCAPE.search(text, at):
            run = match.start()
            while run > end and text[run - 1] == 0x5C:
                run -= 1
            if (match.start() - run) % 2:  # an escaped backslash, then text
                at = match.start() + 1
                continue
            if match.end() > decided:
                cut = run
                break
            if match["pair"] is None:
                raise Invalid(
                    "The body holds half of a UTF-16 surrogate pair (a \\uD800-\\uDFFF escape without its other half).",
                    [FieldError("", "half of a UTF-16 surrogate pair")],
                )
            at = end = match.end()
        else:
            cut = max(decided, end)
            while cut > end and text[cut - 1] == 0x5C:
                cut -= 1
        carry = text[cut:]
        backslashes = len(carry) - len(carry.lstrip(b"\\"))
        self._carry = carry[backslashes - backslashes % 2 :]


class _LongText:
    """How far the body has run since its last quote not after a backslash: a text's length at
    least, checked as the body is read, before the parser holds it. The parser builds a text whole
    before the shape's reading sees it: a Bundle of one 2 GiB string held it twice over before it
    was refused (a review). An escaped backslash before a closing quote (``\\"``) only makes the run
    look longer, up to the next quote; a backslash ending one piece escapes a quote beginning the
    next. Between two entries, nothing an export writes runs so long without a quote."""

    def __init__(self) -> None:
        self._run = 0
        self._escaping = False  # the last piece ended with a backslash

    def feed(self, piece: bytes) -> None:
        first = next((m.start() for m in _UNESCAPED_QUOTE.finditer(piece) if m.start() or not self._escaping), None)
        if self._run + (len(piece) if first is None else first) > MAX_ENTRY_TEXT:
            raise Invalid(
                "The body holds a text longer than an export's.",
                [FieldError("", f"a text of more than {MAX_ENTRY_TEXT} characters")],
            )
        if first is None:
            self._run += len(piece)
        else:
            last = piece.rfind(b'"')
            while last > 0 and piece[last - 1] == 0x5C:
                last = piece.rfind(b'"', 0, last)
            self._run = len(piece) - max(last, first) - 1
        self._escaping = piece.endswith(b"\\")


# A quote no backslash stands before (in its piece).
_UNESCAPED_QUOTE = re.compile(rb'(?<!\\)"')


class _ScannedReader(_Reader):
    """The shape's reader: each piece read is also scanned (:class:`_SurrogateScan`, :class:`_LongText`)."""

    def __init__(self, plaintext: IO[bytes]) -> None:
        super().__init__(plaintext)
        self._scan = _SurrogateScan()
        self._long = _LongText()

    async def read(self, size: int = -1) -> bytes:
        piece = await super().read(size)
        self._long.feed(piece)
        self._scan.feed(piece)
        return piece


@dataclass
class _Open:
    """An open object (``names``: its members' names so far) or array (``names`` None) of the
    shape's reading, and the place of the value it is at (a member's name, an element's index)."""

    names: set[str] | None
    at: str | int = -1


def _pointer(levels: list[_Open]) -> str:
    return "".join(pointer_token(str(level.at)) for level in levels)


class _Shape:
    """What the shape's reading follows: the open containers, and the entry being read. Each entry,
    and what lies outside the entries, has its budget of values and characters (ijson builds an
    entry whole; nothing else is built but ``resourceType`` and ``type``, which must be strings)."""

    def __init__(self) -> None:
        self.stack: list[_Open] = []
        # Values and characters spent outside the entries, and in the one being read; whether the
        # second level is the entries.
        self.outside = [0, 0]
        self.budget = self.outside
        self.entries = False

    def _spend(self, values: int, text: int) -> None:
        budget = self.budget
        budget[0] += values
        budget[1] += text
        if budget[0] > MAX_ENTRY_VALUES or budget[1] > MAX_ENTRY_TEXT:
            entry = self.stack[1].at if budget is not self.outside else None
            where, what = (
                ("", "What the body holds outside its entries")
                if entry is None
                else (f"/entry/{entry}", f"entry {entry}")
            )
            raise Invalid(
                f"{what} is larger than an export's entries.",
                [FieldError(where, f"more than {MAX_ENTRY_VALUES} values or {MAX_ENTRY_TEXT} characters")],
            )

    def value(self, text: str | None = None, *, container: bool = False, null: bool = False) -> None:
        """A value begins (a container, a ``null``, or another scalar: ``text`` when a string)."""
        stack = self.stack
        if not stack:
            if not container:
                raise Invalid("The body is not a FHIR Bundle.", [FieldError("/resourceType", "not Bundle")])
        elif (top := stack[-1]).names is None:
            top.at = int(top.at) + 1
            if self.entries and len(stack) == 2:
                self.budget = [0, 0]
        elif len(stack) == 1:
            self._top_level_value(str(top.at), container=container)
        if null:
            # FHIR's JSON has no null (an element has a value or is left out; ENS's export writes
            # none), and the mappings read one as absent: Practitioner.address [null] was no address,
            # a null in any list they read was skipped, in silence (an outside audit).
            raise Invalid(
                "The body holds a null: FHIR's JSON gives an element a value or leaves it out.",
                [FieldError(_pointer(stack), "null: give a value, or leave the element out")],
            )
        self._spend(1, 0 if text is None else len(text))

    def _top_level_value(self, name: str, *, container: bool) -> None:
        if name in _TOP_LEVEL_SCALARS and container:
            raise Invalid(
                "The body is not a FHIR Bundle: import what GET .../export gives.",
                [FieldError(f"/{name}", _TOP_LEVEL_SCALARS[name])],
            )
        if name == "entry" and not container:
            # ("entry": null too: it was taken as no entry, 201 and nothing imported.)
            raise Invalid("A Bundle's entry is a list.", [FieldError("/entry", "not a list")])

    def opens(self, names: set[str] | None) -> None:
        stack = self.stack
        if not stack and names is None:
            raise Invalid("The body is not a FHIR Bundle.", [FieldError("/resourceType", "not Bundle")])
        if len(stack) == 1 and stack[0].at == "entry":
            if names is not None:
                raise Invalid("A Bundle's entry is a list.", [FieldError("/entry", "not a list")])
            self.entries = True
        self.value(container=True)
        if len(stack) >= MAX_DEPTH:
            raise Invalid(
                "The body nests arrays or objects deeper than a FHIR Bundle does.",
                [FieldError(_pointer(stack), f"more than {MAX_DEPTH} levels")],
            )
        stack.append(_Open(names=names))

    def closes(self) -> None:
        closed = self.stack.pop()
        empty = not closed.names if closed.names is not None else closed.at == -1
        if empty and self.stack and not (len(self.stack) == 1 and self.stack[0].at == "entry"):
            # FHIR's JSON has no empty object or list either (ele-1: an element has a value or
            # children), and the mappings read one as absent: Practitioner.address [{}] was no
            # address, in silence. (A Bundle's own "entry": [] stays an import of nothing.)
            kind = "object" if closed.names is not None else "list"
            raise Invalid(
                f"The body holds an empty {kind}: FHIR's JSON leaves an element with nothing in it out.",
                [FieldError(_pointer(self.stack), f"an empty {kind}: give what it holds, or leave the element out")],
            )
        if len(self.stack) == 1:
            self.budget, self.entries = self.outside, False

    def member(self, name: str) -> None:
        top = self.stack[-1]
        assert top.names is not None
        if len(name) > MAX_NAME:
            raise Invalid(
                "An object of the body names a member longer than FHIR's names.",
                [FieldError(_pointer(self.stack[:-1]), f"a member's name over {MAX_NAME} characters")],
            )
        top.at = name
        if name in top.names:
            # Other JSON readers keep one of the two: what a proxy checked would not be what is imported.
            raise Invalid(
                "An object of the body gives a member twice.", [FieldError(_pointer(self.stack), "given twice")]
            )
        if len(top.names) >= MAX_MEMBERS:
            raise Invalid(
                "An object of the body has too many members.", [FieldError(_pointer(self.stack), f"past {MAX_MEMBERS}")]
            )
        top.names.add(name)
        self._spend(0, len(name))


async def _check_shape(spool: EncryptedSpool) -> None:
    """Refuse, before any other reading, a body nesting deeper than :data:`MAX_DEPTH`, an object
    giving a member's name twice, an entry larger than an export makes, a lone surrogate escape."""
    shape = _Shape()
    try:
        with spool.plaintext() as plaintext:
            async for event, value in ijson.basic_parse_async(
                _ScannedReader(plaintext), use_float=True, buf_size=LONG_READ_SIZE
            ):
                if event == "map_key":
                    shape.member(value)
                elif event == "start_map":
                    shape.opens(set())
                elif event == "start_array":
                    shape.opens(None)
                elif event in ("end_map", "end_array"):
                    shape.closes()
                else:
                    shape.value(value if isinstance(value, str) else None, null=event == "null")
    except ijson.JSONError as exc:
        raise _not_json(exc) from None


def _not_json(exc: Exception) -> Invalid:
    """The parser's refusal, its first line only (the rest quotes the body and points at it)."""
    first = (str(exc).splitlines() or [""])[0].strip()
    return Invalid("The body is not a FHIR Bundle in JSON.", [FieldError("", first[:200] or "not JSON")])


async def _entries(spool: EncryptedSpool) -> AsyncGenerator[tuple[int, Any, str, dict[str, Any]], None]:
    """Each entry of the Bundle: its index, ``fullUrl``, resource type and resource."""
    index = -1
    try:
        with spool.plaintext() as plaintext:
            async for entry in ijson.items_async(
                _Reader(plaintext), "entry.item", use_float=True, buf_size=LONG_READ_SIZE
            ):
                index += 1
                resource = entry.get("resource") if isinstance(entry, dict) else None
                if not isinstance(resource, dict):
                    raise Invalid("Each entry holds a resource.", [FieldError(f"/entry/{index}", "no resource")])
                yield index, entry.get("fullUrl"), _kind_of(index, entry, resource), resource
    except ijson.JSONError as exc:
        raise _not_json(exc) from None
    if index < 0 and await _top_level(spool, "entry") not in (None, []):
        raise Invalid("A Bundle's entry is a list.", [FieldError("/entry", "not a list")])


# A resource type's name as FHIR spells them (Observation, DocumentReference): one that is no name
# was listed under notImported as what it was ("", or a text of any length).
_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{0,63}")


def _kind_of(index: int, entry: Mapping[str, Any], resource: Mapping[str, Any]) -> str:
    """The type of the resource of entry ``index``, once what every entry shares is of the types
    FHIR gives it — the one place every reading of the Bundle checks them: its ``fullUrl`` a string
    (one of another type skipped the check of two entries under one fullUrl), its resource's type a
    name, its ``id`` and ``meta`` (:func:`ens.core.fhir.check_id_and_meta`: a "restricted" label
    malformed imported the item visible to the representatives), and an Observation's ``device``
    (:func:`ens.vitals.fhir.device_reference`: a reference of another type brought the measure in
    without its device). Each was read as absent, in silence (an outside audit); 422 at the entry."""
    if "fullUrl" in entry and not isinstance(entry["fullUrl"], str):
        raise Invalid(
            f"entry {index}: its fullUrl is not a string.",
            [FieldError(f"/entry/{index}/fullUrl", "a string: the entry's URI (urn:uuid:<id>)")],
        )
    kind = resource.get("resourceType")
    if not isinstance(kind, str) or not _RESOURCE_TYPE.fullmatch(kind):
        raise Invalid(
            f"entry {index}: its resourceType names no FHIR resource type.",
            [FieldError(f"/entry/{index}/resource/resourceType", "a FHIR resource type, such as Observation")],
        )
    errors: list[FieldError] = []
    check_id_and_meta(resource, errors)
    if kind == "Observation":
        device_reference(resource, errors)
    if errors:
        raise Invalid(
            f"entry {index}: {errors[0].pointer} is not of the type FHIR gives it; nothing was stored.",
            [FieldError(f"/entry/{index}/resource", f"{error.pointer}: {error.detail}") for error in errors],
        )
    return kind


async def _top_level(spool: EncryptedSpool, key: str) -> Any:
    """The body's first top-level member ``key`` (``None`` when it has none, or is no JSON object).
    An export names its ``resourceType`` and ``type`` first: the reading stops there."""
    try:
        with spool.plaintext() as plaintext:
            async for value in ijson.items_async(_Reader(plaintext), key, use_float=True, buf_size=LONG_READ_SIZE):
                return value
    except ijson.JSONError as exc:
        raise _not_json(exc) from None
    return None


async def _refuse_unless_a_collection(spool: EncryptedSpool) -> None:
    """What the export makes: a FHIR ``Bundle`` of type ``collection``. Anything else — another
    resource, a list, an export wrapped in another object — would have imported nothing, or whatever
    its ``entry`` held, and answered 201: a client moving a space would have believed it done (an
    outside review, 2026-12-02)."""
    kind = await _top_level(spool, "resourceType")
    if kind != "Bundle":
        raise Invalid(
            "The body is not a FHIR Bundle: import what GET .../export gives.",
            [FieldError("/resourceType", "not Bundle")],
        )
    if (bundle_type := await _top_level(spool, "type")) != "collection":
        raise Invalid(
            f"A Bundle of type {bundle_type!r} is not an export: import a Bundle of type 'collection'.",
            [FieldError("/type", "not collection")],
        )


# By resource type, where each field of what ENS makes of it was read (field, or field/part, to FHIRPath).
_FHIRPATHS = {
    **RECORD_FHIRPATHS,
    "Immunization": IMMUNIZATION_FHIRPATHS,
    "Device": DEVICE_FHIRPATHS,
    "DocumentReference": documents.FHIRPATHS,
}


def _located(exc: Invalid, index: int, kind: str) -> Invalid:
    """A refusal of what ENS made of entry ``index`` (its pointers name ENS's fields: ``/since``),
    told in the Bundle's terms: at the entry's resource, the element's FHIRPath in the detail
    (``Condition.onsetDateTime: before 1900``), as a measure's refusal is."""
    where = f"/entry/{index}/resource"
    errors = [FieldError(where, f"{_fhirpath(kind, e.pointer)}: {e.detail}") for e in exc.errors]
    return Invalid(f"entry {index}: {exc.detail}", errors or [FieldError(where, f"{kind}: {exc.detail}")])


def _fhirpath(kind: str, pointer: str) -> str:
    tokens = [t for t in pointer.split("/") if t]
    paths = _FHIRPATHS.get(kind, {})
    path = paths.get("/".join(tokens[:2])) or (paths.get(tokens[0]) if tokens else None)
    return f"{kind}.{path}" if path else kind


@contextmanager
def _refusals(index: int, kind: str) -> Iterator[None]:
    """A refusal of the entry at ``index``, located at ``/entry/<index>/resource``."""
    where = f"/entry/{index}/resource"
    try:
        yield
    except ObservationRefused as exc:
        raise Invalid(f"entry {index}: {exc}", [FieldError(where, str(exc))]) from None
    except msgspec.ValidationError as exc:
        raise _located(Invalid(str(exc), [validation_error(exc)]), index, kind) from None
    except Invalid as exc:
        raise _located(exc, index, kind) from None
    except (AttributeError, TypeError, KeyError, ValueError):
        # A resource whose parts are not of the types FHIR gives them (a string where an object
        # goes...): the mappings read FHIR JSON, not any JSON.
        detail = f"not a {kind} as FHIR R4 shapes it (an element of another type than FHIR gives it)"
        raise Invalid(f"entry {index}: {detail}", [FieldError(where, detail)]) from None


def _name_key(full_url: str) -> bytes:
    """What a Device is kept under: a digest of its ``fullUrl`` (of any length), 16 bytes."""
    return hashlib.blake2b(full_url.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _device_named(resource: dict[str, Any]) -> bytes | None:
    """The key of the Device an Observation names (``device.reference``), if it names one (a
    ``device`` of another type was refused as the entry was read: :func:`_kind_of`)."""
    reference = device_reference(resource, [])
    return _name_key(reference) if reference is not None else None


_ORIGINAL = f"extension('{ORIGINAL_QUANTITY_EXTENSION}')"


# A measure's free texts, left out when a direction control is in them, as a record's optional
# parts are (``ens.records.fhir.from_fhir._LEFT_OUT_WHEN_REFUSED``); in any other text it refuses it.
_MEASURE_TEXTS = frozenset({"note", "measurementLocation"})


def _measure(resource: dict[str, Any], zone: ZoneInfo) -> tuple[dict[str, Any], list[str]]:
    """The ingestion's item for an exported Observation, in the value and unit it was first sent,
    and what it is kept without (each the element's FHIRPath and the rule it breaks). A text holding
    a direction control is refused as a route's strict reading refuses it (``ens.core.strict_json``):
    the import took them unchecked (an outside audit)."""
    item = measurement_of(resource, device=None, zone=zone, with_identity=False)
    _as_sent(item, resource)
    errors: list[FieldError] = []
    refuse_direction_controls(item, errors=errors)
    left_out: list[str] = []
    for error in errors:
        field = error.pointer.strip("/").partition("/")[0]
        where = fhirpath_of(f"/measurements/0/{field}", resource)
        if field not in _MEASURE_TEXTS:
            raise _refused(where, error.detail)
        item.pop(field, None)
        left_out.append(f"{where}: {error.detail}")
    return item, left_out


_OTHER_MEASURE = re.compile(r"/measurements/([0-9]+)")


def _refused(where: str, what: str) -> ObservationRefused:
    """A refusal of the original-quantity extension, its FHIRPath in the detail."""
    return ObservationRefused([FieldError(where, f"{where}: {what}")])


def _sent_quantity(element: Mapping[str, Any], where: str) -> tuple[Any, str] | None:
    """The quantity of the original-quantity extension of ``element`` (an Observation or one of its
    components), if it has one: a number and its UCUM unit."""
    for extension in element.get("extension") or []:
        if isinstance(extension, dict) and extension.get("url") == ORIGINAL_QUANTITY_EXTENSION:
            quantity = extension.get("valueQuantity")
            if not isinstance(quantity, dict):
                raise _refused(f"{where}.{_ORIGINAL}", "a valueQuantity is required")
            value, unit = quantity.get("value"), quantity.get("code", quantity.get("unit"))
            if quantity.get("system", UCUM) != UCUM or not isinstance(unit, str):
                raise _refused(f"{where}.{_ORIGINAL}", f"a unit of {UCUM} is required")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _refused(f"{where}.{_ORIGINAL}", "a number is required")
            return value, unit
    return None


def _as_sent(item: dict[str, Any], resource: Mapping[str, Any]) -> None:
    """Put back in ``item`` the value as it was first sent (the API's ``originalValue`` and
    ``originalUnit``, exported in the extension :data:`ORIGINAL_QUANTITY_EXTENSION`), so that the
    measure reads after the move as before: a glucose typed 1.05 g/L stays so, not 105 mg/dL.

    Only when the original converts, by the ingestion's own rules, to the canonical value the
    Observation states (``valueQuantity``, every FHIR reader's value): the ingestion then stores the
    same canonical value from it. An original that does not is refused (422), not ignored: the two
    say different things (the Bundle was edited), and keeping either one silently could keep the
    wrong one. A canonical value the ingestion refuses is left to it (its own refusal)."""
    vital = BY_CODE[item["type"]]
    where = "Observation"
    if vital.code == BLOOD_PRESSURE:
        sent: dict[str, tuple[Any, str]] = {}
        for index, component in enumerate(resource.get("component") or []):
            codes = {c.get("code") for c in (component.get("code") or {}).get("coding") or [] if isinstance(c, dict)}
            part = next((p for p in vital.components if p.loinc in codes), None)
            quantity = _sent_quantity(component, f"Observation.component[{index}]")
            if part is not None and quantity is not None:
                sent[part.code] = quantity
        if not sent:
            return
        units = {unit for _, unit in sent.values()}
        if set(sent) != {p.code for p in vital.components} or len(units) != 1:
            raise _refused(f"Observation.component.{_ORIGINAL}", "both components, in one unit, or neither")
        unit = units.pop()
        original = {code: value for code, (value, _) in sent.items()}
        stated = _canonical(vital, item["unit"], components=item.get("components"))
        given = _canonical(vital, unit, components=original)
        where = f"Observation.component.{_ORIGINAL}"
        if stated is not None and (
            given is None or (given.systolic, given.diastolic) != (stated.systolic, stated.diastolic)
        ):
            raise _refused(where, _DIFFERENT.format(unit=unit))
        if stated is not None:
            item["components"], item["unit"] = original, unit
        return
    quantity = _sent_quantity(resource, where)
    if quantity is None:
        return
    value, unit = quantity
    stated = _canonical(vital, item["unit"], value=item.get("value"))
    given = _canonical(vital, unit, value=value)
    if stated is not None and (given is None or given.value != stated.value):
        raise _refused(f"{where}.{_ORIGINAL}", _DIFFERENT.format(unit=unit))
    if stated is not None:
        item["value"], item["unit"] = value, unit


_DIFFERENT = (
    "the value sent in {unit} does not convert to the valueQuantity: correct one of them, or remove the extension"
)


def _canonical(vital: Any, unit: Any, *, value: Any = None, components: Any = None) -> Canonical | None:
    """The canonical value of a measure by the ingestion's rules, ``None`` when they refuse it."""
    errors: list[FieldError] = []
    try:
        parts = Components(**components) if isinstance(components, dict) else None
    except TypeError:
        return None
    if not isinstance(unit, str) or (
        value is not None and (isinstance(value, bool) or not isinstance(value, int | float))
    ):
        return None
    canonical = check_values(vital, unit, value=value, components=parts, prefix="", errors=errors)
    return None if errors else canonical


# What a booklet entry may come in without when today's checks refuse the text an older export
# holds (control characters, refused since 79750cd; direction controls, since 096b7fa...): its
# details, as the records' optional parts (``ens.records.fhir.from_fhir._LEFT_OUT_WHEN_REFUSED``).
# The vaccine, its date and dose are what the entry is, and still refuse it.
_VACCINATION_LEFT_OUT_WHEN_REFUSED = frozenset({"lotNumber", "administeredBy", "location", "note"})


def _vaccination(resource: dict[str, Any]) -> tuple[VaccinationCreate, list[FieldError]]:
    """The booklet's entry for an exported Immunization, and what it is kept without (each
    refusal, its pointer into the entry as the booklet's route would say it)."""
    body = vaccination_of(resource)
    left_out: list[FieldError] = []
    while True:
        try:
            entry = msgspec.convert(body, VaccinationCreate)
        except msgspec.ValidationError as exc:
            errors = [validation_error(exc)]
        else:
            # As a route's strict reading would (ens.core.strict_json): the import took them unchecked.
            errors = []
            refuse_direction_controls(entry, errors=errors)
            if not errors:
                return entry, left_out
        fields = [error.pointer.strip("/").partition("/")[0] for error in errors]
        if not all(f in _VACCINATION_LEFT_OUT_WHEN_REFUSED and isinstance(body.get(f), str) for f in fields):
            raise Invalid("Not a vaccination ENS can keep: " + errors[0].detail, errors)
        for field, error in zip(fields, errors, strict=True):
            body[field] = None  # one part fewer each time: this ends
            left_out.append(error)


class _Devices:
    """What identifies each Device of the Bundle, by its ``fullUrl``: all the measures need of it."""

    def __init__(self) -> None:
        self.items: dict[bytes, dict[str, str]] = {}
        self.unnamed = 0  # Devices without a fullUrl: no measure can name them
        self.used: set[bytes] = set()
        # Devices named by a measure before the Bundle gave them: the first entry naming each.
        self.awaited: dict[bytes, int] = {}

    def keep(self, index: int, full_url: Any, item: dict[str, str]) -> None:
        """Keep ``item``, what identifies the Device at entry ``index``, under its ``fullUrl``."""
        if not isinstance(full_url, str):
            self.unnamed += 1
            return
        key = _name_key(full_url)
        if key in self.items:
            raise Invalid(
                f"entry {index}: two Devices have the fullUrl of this one.",
                [FieldError(f"/entry/{index}/fullUrl", "the fullUrl of another Device of the Bundle")],
            )
        if len(self.items) == MAX_DEVICES:
            raise Invalid(
                f"entry {index}: an import holds at most {MAX_DEVICES} Devices.",
                [FieldError(f"/entry/{index}", f"at most {MAX_DEVICES} Devices")],
            )
        self.items[key] = item
        self.awaited.pop(key, None)

    def expect(self, index: int, key: bytes | None) -> None:
        """The measure at entry ``index`` names the Device of ``key`` (if any): the Bundle must give it."""
        if key is None or key in self.items or key in self.awaited:
            return
        if len(self.awaited) == MAX_DEVICES:
            raise Invalid(
                f"entry {index}: an import holds at most {MAX_DEVICES} Devices.",
                [FieldError(f"/entry/{index}/resource", f"Observation.device: at most {MAX_DEVICES} Devices")],
            )
        self.awaited[key] = index

    def check_every_one_given(self) -> None:
        """Refuse a measure naming a Device the Bundle does not give: imported without it, the app
        that took it would have been dropped without a word (an outside audit)."""
        if self.awaited:
            index = min(self.awaited.values())
            raise Invalid(
                f"entry {index}: the measure names a Device the Bundle does not hold.",
                [
                    FieldError(
                        f"/entry/{index}/resource", "Observation.device: no Device of the Bundle has this fullUrl"
                    )
                ],
            )

    def named(self, key: bytes | None) -> dict[str, str] | None:
        """What identifies the Device of ``key``, if it says anything of it: one giving no
        manufacturer, model or identifier is kept with no measure (the answer counts it among the
        Devices not imported; the ingestion refuses a device that names nothing)."""
        item = self.items.get(key) if key is not None else None
        if not item or key is None:
            return None
        self.used.add(key)
        return item

    @property
    def unused(self) -> int:
        return self.unnamed + len(self.items) - len(self.used)


# Where each kind the export writes names the person it is about: the Bundle's Patient.
_ABOUT = {
    "Observation": "subject",
    "Condition": "subject",
    "MedicationStatement": "subject",
    "DocumentReference": "subject",
    "Immunization": "patient",
    "AllergyIntolerance": "patient",
    "FamilyMemberHistory": "patient",
    "RelatedPerson": "patient",
    "Consent": "patient",
    "Device": "patient",
}
_NOT_THE_PATIENT = "not the Bundle's Patient"


class _Holder:
    """The Bundle's one ``Patient`` (its ``fullUrl``, or ``Patient/<its id>`` as FHIR resolves a
    relative reference inside a Bundle), and what the entries say they are about.

    An export is one person's: an item naming another Patient than the Bundle's is someone else's,
    and the import had taken it as the importer's without a word (two family members' exports
    merged into one Bundle came in as one person's: an outside audit). An item naming no one is the
    space's own, as on ``/fhir``. The Patient may come after the items, or not at all (entries
    taken out of an export): until it comes, the references met are kept, two at most (its
    ``fullUrl`` and ``Patient/<id>``), a third one refused at once; a Bundle without its Patient
    whose items name two is refused too (two people's items)."""

    def __init__(self) -> None:
        self.given = False
        self.known_as: frozenset[str] = frozenset()
        # The references met before the Patient: where each was first, in what kind of entry.
        self.awaited: dict[str, tuple[int, str]] = {}

    def patient(self, index: int, full_url: Any, resource: Mapping[str, Any]) -> None:
        """The Patient at entry ``index``: the one the items must name."""
        if self.given:
            raise Invalid(
                f"entry {index}: a Bundle holds one Patient, its holder; this is a second one.",
                [FieldError(f"/entry/{index}", "a second Patient: an export holds one")],
            )
        own_id = resource.get("id")
        names = (full_url, f"Patient/{own_id}" if isinstance(own_id, str) else None)
        self.given, self.known_as = True, frozenset(name for name in names if isinstance(name, str))
        strangers = [where for reference, where in self.awaited.items() if reference not in self.known_as]
        if strangers:
            self._refuse(*min(strangers))
        self.awaited = {}

    def names(self, index: int, kind: str, resource: Mapping[str, Any]) -> None:
        """The entry at ``index`` (a ``kind``) must be about the Bundle's Patient, or no one."""
        element = _ABOUT.get(kind)
        about = resource.get(element) if element is not None else None
        if about is None:
            return
        reference = about.get("reference") if isinstance(about, dict) else None
        if not isinstance(reference, str):
            self._refuse(index, kind, detail=f"{kind}.{element}: a reference to the Bundle's Patient, or none")
        elif self.given:
            if reference not in self.known_as:
                self._refuse(index, kind)
        elif reference not in self.awaited:
            if len(self.awaited) == 2:
                self._refuse(index, kind)
            self.awaited[reference] = (index, kind)

    def check_one_person(self) -> None:
        """A Bundle without its Patient: its items must name one person (or no one)."""
        if not self.given and len(self.awaited) > 1:
            self._refuse(*max(self.awaited.values()))

    def _refuse(self, index: int, kind: str, *, detail: str | None = None) -> None:
        if detail is None:
            detail = f"{kind}.{_ABOUT[kind]}: {_NOT_THE_PATIENT}"
        raise Invalid(
            f"entry {index}: the item is about someone other than the Bundle's Patient; nothing was stored.",
            [FieldError(f"/entry/{index}/resource", detail)],
        )


async def _checked(access: SpaceAccess, spool: EncryptedSpool) -> tuple[_Devices, dict[int, documents.Carried]]:
    """The first reading (no transaction, nothing written): the Bundle's shape, what can be checked
    of each entry without the database, the Devices, and the documents carrying their files (by
    their entry's index)."""
    await _check_shape(spool)
    await _refuse_unless_a_collection(spool)
    devices = _Devices()
    carried: dict[int, documents.Carried] = {}
    today = today_in_space(access)
    # The entries imported one by one (not the measures: each keeps its former id as its
    # clientRecordId, and two of one id are refused as they are written, :func:`_written`): the
    # same fullUrl twice would be stored twice. Few per space, their digests kept for this reading only.
    seen: set[bytes] = set()
    holder = _Holder()
    async with aclosing(_entries(spool)) as entries:
        async for index, full_url, kind, resource in entries:
            if kind == "Patient":
                holder.patient(index, full_url, resource)
            holder.names(index, kind, resource)
            if kind == "Device":
                with _refusals(index, kind):
                    item = device_item(resource)
                    # The ingestion's bounds (what is kept stays small), and its strict reading's texts.
                    errors: list[FieldError] = []
                    refuse_direction_controls(msgspec.convert(item, DeviceItem), errors=errors)
                    if errors:
                        raise Invalid("Not a Device ENS can keep: a text holds a direction control.", errors)
                devices.keep(index, full_url, item)
                continue
            if kind != "Observation" and isinstance(full_url, str):
                if (key := _name_key(full_url)) in seen:
                    raise Invalid(
                        f"entry {index}: another entry of the Bundle has its fullUrl.",
                        [FieldError(f"/entry/{index}/fullUrl", "the fullUrl of another entry of the Bundle")],
                    )
                if len(seen) == MAX_ITEMS:
                    raise Invalid(
                        f"entry {index}: an import holds at most {MAX_ITEMS} items other than measures.",
                        [FieldError(f"/entry/{index}", f"at most {MAX_ITEMS} items other than measures")],
                    )
                seen.add(key)
            with _refusals(index, kind):
                if kind == "Observation":
                    _measure(resource, zone_of(access.space.timezone))
                    devices.expect(index, _device_named(resource))
                    if is_restricted(resource):
                        # Hiding is the holder's alone, here as for every other hideable item: a
                        # parent's import must not hide measures from the other parent for good.
                        access.require(Action.HIDE_FROM_REPRESENTATIVES)
                elif kind == "Immunization":
                    _vaccination(resource)
                elif kind == "DocumentReference":
                    document = documents.carried_document(access, resource, today=today)
                    if document is not None and len(carried) == MAX_DOCUMENTS:
                        # Said at the entry by _refusals, which names it.
                        raise Invalid(
                            f"an import holds at most {MAX_DOCUMENTS} documents with their files.",
                            [FieldError("", f"at most {MAX_DOCUMENTS} documents")],
                        )
                    if document is not None:
                        carried[index] = document
    devices.check_every_one_given()
    holder.check_one_person()
    return devices, carried


async def _staged(
    access: SpaceAccess, spool: EncryptedSpool, carried: dict[int, documents.Carried], storage: Storage
) -> dict[int, documents.Staged]:
    """The files the Bundle carries, each written encrypted to the store before the import's
    transaction (:func:`ens.documents.from_fhir.stage`), by their entry's index. Refused first when
    they would not fit in the caller's quota (checked again in the transaction)."""
    if not carried:
        return {}
    room = await room_left(access, quota=storage.quota_bytes, today=today_in_space(access))
    if sum(document.size for document in carried.values()) > room:
        raise QuotaExceeded("The Bundle's documents would pass this space's storage quota: nothing was kept.")
    key = await space_key_for_writing(access.space_id, storage.secret)
    staged: dict[int, documents.Staged] = {}
    try:
        async with aclosing(_entries(spool)) as entries:
            async for index, _full_url, _kind, resource in entries:
                if index in carried:
                    content = documents.file_of(resource)
                    staged[index] = await documents.stage(
                        access.space_id, content, carried[index], key=key, blobs=storage.blobs
                    )
    except BaseException:
        await documents.settle(access.space_id, list(staged.values()), blobs=storage.blobs, committed=False)
        raise
    return staged


async def _holds_what_caller_sees(access: SpaceAccess) -> bool:
    """Whether the space holds an item the caller sees: a measure (or the deletion of one their
    feed shows), a vaccination, a record, a document — each capability's own rule of who sees what.

    Not ``ens.spaces.service.holds_data`` (any row, which the claim at 18 keeps): a representative
    told 409 on a space that looks empty to them, 201 on one truly empty, would learn that the
    holder hid something from them (CSP R1111-50; L1111-5 on a minor's space); a holder, that a
    professional holds a document back. Bookkeeping rows (the feed's and the booklet's counters, the
    documents' key, views and pending objects) are no items: hidden items' writes leave them too.

    What the caller does not see stays beside what they import, and nothing imported meets it: the
    measures are written as this import's own writer (``ens.vitals.ingest.import_writer``), a
    vaccination beside a hidden one of the same day is recorded as theirs (the booklet's rule), and
    directives, the trusted person and the doctor, which they see, make the space not empty. One
    rule stays the contacts' own, as on their route: ten at most, hidden ones counted — its refusal
    does not say why (``ens.records.emergency_contacts``)."""
    row = await fetch_scalars(
        {
            "measures": any_measure_seen(access),
            "vaccinations": any_vaccination_seen(access),
            "records": any_record_seen(access),
            "documents": any_document_seen(access),
        }
    )
    return any(bool(value) for value in row.values())


async def import_bundle(
    access: SpaceAccess, chunks: AsyncIterator[bytes], *, max_bytes: int, max_seconds: float, storage: Storage
) -> ImportResult:
    """Import an exported Bundle into the caller's empty space, all of it or nothing. ``storage``:
    where the documents' files go, when the Bundle carries them.

    An erasure of the space may come in while the import writes files before its transaction:
    whatever fails then is the erasure's 404, as for an upload, and what the import wrote after
    the erasure's sweep goes too (it was a 500 on SQLite: a review)."""
    # Checked before the body is received (a body that could not be imported), and again in the
    # transaction, which decides.
    await _refuse_unless_empty(access)
    try:
        return await _imported(access, chunks, max_bytes=max_bytes, max_seconds=max_seconds, storage=storage)
    except DomainError:
        raise
    except Exception as exc:
        if await space_erased_meanwhile(access.space_id, key_made=False):
            await storage.blobs.delete_under(storage.blobs.space_prefix(access.space_id))
            raise NotFound(ERASED_MEANWHILE) from exc
        raise


async def _imported(
    access: SpaceAccess, chunks: AsyncIterator[bytes], *, max_bytes: int, max_seconds: float, storage: Storage
) -> ImportResult:
    with await _received(chunks, limit=max_bytes) as spool:
        devices, carried = await _checked(access, spool)
        staged = await _staged(access, spool, carried, storage)
        deadline = _Deadline(max_seconds)
        committed = False
        try:
            async with write_transaction():
                # PostgreSQL ends a statement (a wait for a lock included) that would outlast the
                # import's time; between statements, the import looks at the time itself.
                await limit_statements(max_seconds)
                # The body is in, and its files staged, long after the door: asked again here.
                await access.readmit()
                # Two imports at once (a client retrying a slow one) would both find the space empty.
                await serialise(f"import:{access.space_id}")
                await _refuse_unless_empty(access)
                imported, left, kept_without = await _written(
                    access, spool, devices, staged, storage, deadline=deadline
                )
            committed = True
        except asyncpg.QueryCanceledError:
            raise deadline.passed() from None
        finally:
            await documents.settle(access.space_id, list(staged.values()), blobs=storage.blobs, committed=committed)
    if devices.unused:
        left["Device"] = devices.unused
    known = {
        **NOT_IMPORTED,
        "DocumentReference": documents.LINKED,
        "Device": UNUSED_DEVICE,
        "Patient": PATIENT_NOT_IMPORTED,
        "OperationOutcome": "the export's note of the documents it could not read: nothing to import",
    }
    reasons = {kind: known.get(kind, "not a kind of item ENS keeps") for kind in left}
    return ImportResult(
        imported=dict(sorted(imported.items())),
        not_imported=[NotImported(resource_type=k, count=n, reason=reasons[k]) for k, n in sorted(left.items())],
        kept_without=[KeptWithout(pointer=e.pointer, detail=e.detail) for e in kept_without],
    )


async def _refuse_unless_empty(access: SpaceAccess) -> None:
    if await _holds_what_caller_sees(access):
        raise Conflict("A space receives an import only while it is empty.")


class _Deadline:
    """How long the import's transaction may last (``ENS_IMPORT_MAX_SECONDS``), from now.

    Once the body is on hand its writes depend on its size only, at most ``ENS_IMPORT_MAX_BYTES``;
    this bounds the rest (a slow database, waits for locks), so that a transaction holding every
    space's change feed (PostgreSQL), or every write (SQLite), ends whatever happens. Not by
    cancelling the task: a transaction cancelled as it begins would stay open (piccolo's)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._at = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self._at:
            raise self.passed()

    def passed(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"This import took longer than the {self.seconds:g} s an import may write for "
            "(ENS_IMPORT_MAX_SECONDS): nothing was kept."
        )


async def _written(
    access: SpaceAccess,
    spool: EncryptedSpool,
    devices: _Devices,
    staged: dict[int, documents.Staged],
    storage: Storage,
    *,
    deadline: _Deadline,
) -> tuple[Counter[str], Counter[str], list[FieldError]]:
    """The last reading, in the import's transaction: every item through its capability's
    service (a document's file is in the store already: ``staged``). How many items of each kind
    were imported, how many were left, and what items were kept without (at their entry)."""
    room = 0
    if staged:
        # Read once, under the space's document lock, which the transaction keeps: only this
        # import's documents take room meanwhile (a SUM a document made 10,000 documents 10^8 rows).
        await lock_space_documents(access.space_id)
        room = await room_left(access, quota=storage.quota_bytes, today=today_in_space(access))
    imported: Counter[str] = Counter()
    left: Counter[str] = Counter()
    kept_without: list[FieldError] = []
    measures: list[dict[str, Any]] = []
    origins: list[Imported] = []
    positions: list[int] = []  # each pending measure's entry in the Bundle
    import_id = uuid.uuid4()

    async def flush() -> None:
        if not measures:
            return
        try:
            result = await record_measurements(access, measures, imported=origins, import_id=import_id)
        except Invalid as exc:
            # The ingestion names /measurements/<k>/<field>: the k-th pending measure's entry.
            # A detail naming another item (the same record id as /measurements/<j>) names its entry:
            # the ingestion's pointers are in no Bundle. The record id is the former id.
            def in_bundle(match: re.Match[str]) -> str:
                return f"/entry/{positions[int(match.group(1))]}"

            located = []
            for error in exc.errors:
                parts = error.pointer.split("/")
                entry = positions[int(parts[2])] if len(parts) > 2 and parts[2].isdigit() else positions[0]
                path = "Observation.id" if parts[-1] == "clientRecordId" else fhirpath_of(error.pointer)
                detail = _OTHER_MEASURE.sub(in_bundle, error.detail)
                located.append(FieldError(f"/entry/{entry}/resource", f"{path}: {detail}"))
            raise Invalid(f"entry {located[0].pointer.split('/')[2]}: {exc.detail}", located) from None
        # The import writes as a writer of its own (nothing earlier meets its records): a record it
        # finds already there is an earlier batch's measure of the same id. Within a batch the
        # ingestion refuses it; across batches it was "unchanged", and the second measure, of another
        # value, was dropped while the answer counted it imported (an outside audit of the import).
        again = next((k for k, item in enumerate(result.items) if item.result == "unchanged"), None)
        if again is not None:
            where = f"/entry/{positions[again]}/resource"
            raise Invalid(
                f"entry {positions[again]}: another Observation of the Bundle has its id; nothing was stored.",
                [FieldError(where, "Observation.id: the id of another Observation of the Bundle")],
            )
        imported["Observation"] += len(measures)
        measures.clear()
        origins.clear()
        positions.clear()

    async with aclosing(_entries(spool)) as entries:
        async for index, _full_url, kind, resource in entries:
            deadline.check()
            if kind == "Patient":
                left[kind] += 1  # the holder's identity is the space's own: said, not imported
                continue
            if kind == "Device":
                continue  # Devices go with their measures
            with _refusals(index, kind):
                if kind == "Observation":
                    item, texts_left = _measure(resource, zone_of(access.space.timezone))
                    kept_without += [FieldError(f"/entry/{index}/resource", detail) for detail in texts_left]
                    device = devices.named(_device_named(resource))
                    if device is not None:
                        item["device"] = dict(device)
                    # One without an id keeps its place in the Bundle, written as no FHIR id can be
                    # ("#5"): written "5", it met an Observation of id "5" as its duplicate (a review).
                    item["clientRecordId"] = str(resource.get("id") or f"#{index}")
                    source = tag_in(resource, ORIGINAL_SOURCE_TAG) or tag_in(resource, SOURCE_TAG)
                    measures.append(item)
                    positions.append(index)
                    origins.append(Imported(original_source=source, hidden=is_restricted(resource)))
                elif kind == "Immunization":
                    vaccination, details_left = _vaccination(resource)
                    await record_vaccination(access, vaccination)
                    imported[kind] += 1
                    if details_left:
                        kept_without += _located(Invalid("", details_left), index, kind).errors
                elif kind == "DocumentReference" and index in staged:
                    await documents.store(access, staged[index], blobs=storage.blobs, room=room)
                    room -= staged[index].carried.size
                    imported[kind] += 1
                elif kind == "DocumentReference":
                    left[kind] += 1
                elif kind == "Consent":
                    left["Consent"] += 1
                elif kind == "RelatedPerson" and is_trusted_person(resource):
                    left["TrustedPerson"] += 1
                elif kind == "Practitioner" and imported[kind]:
                    # The space has one médecin traitant: a second would replace the first without a
                    # word (an outside audit: the one with the RPPS and phone gave way to a bare name).
                    raise Invalid(
                        "A space has one médecin traitant: the Bundle names two.",
                        [FieldError("", "a second Practitioner: an export holds one")],
                    )
                elif (without := await import_record(access, resource, hidden=is_restricted(resource))) is None:
                    left[kind] += 1
                else:
                    imported[kind] += 1
                    if without:
                        kept_without += _located(Invalid("", without), index, kind).errors
            if len(measures) == MAX_BATCH:
                await flush()
    await flush()
    return imported, left, kept_without
