"""The whole space as one FHIR R4 ``Bundle`` of type ``collection``, written as it is read.

Each capability maps its own items (its ``fhir.py``); this module, the one place that may import
them all, puts them in order: the holder's ``Patient`` first, then the records, the vaccination
booklet, the documents (a DocumentReference each, the file attached by URL, and carried in it when
the scope has the documents' store: :func:`_with_content`, streamed), and the measures,
read in keyset batches (:func:`ens.vitals.fhir.observations`) and encoded batch by batch, so a
space of 500,000 measures is exported in the memory of one batch (``make bench`` measures it).
Every resource's ``fullUrl`` is ``urn:uuid:<its id>`` and every reference inside the Bundle uses
that name (:mod:`ens.core.fhir`).

A representative's export (or that of an app a representative connected) leaves out what the
holder hid from them (``access.sees_confidential``), as every other read of theirs does; nobody's
export holds a document a professional still holds back from the holder.
"""

from __future__ import annotations

import base64
import logging
import os
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from ens.core import clock
from ens.core.db import fetch_one
from ens.core.errors import Forbidden
from ens.core.fhir import Resource, encode, full_url
from ens.documents.fhir import document_references, documents_with_content, left_out_outcome
from ens.documents.storage import BlobStore
from ens.documents.visibility import export_viewer
from ens.records.fhir import directives_as_fhir, records_as_fhir
from ens.spaces.door import SPACE_REF_COLUMNS, SpaceRef, space_ref
from ens.spaces.fhir import patient_of
from ens.spaces.history import OperatorAction
from ens.vaccination.service import immunizations
from ens.vitals.fhir import observations

security_log = logging.getLogger("ens.security")


@dataclass(frozen=True)
class ExportScope:
    """Whose export: the space, and whether the caller sees the items hidden from representatives."""

    space: SpaceRef
    with_hidden: bool
    # ENS_SECRET_KEY: the documents' titles, file names and authors are sealed under the space's key.
    secret: str
    # ENS_PUBLIC_URL: documents are attached by URL (their content's, absolute when it is known).
    public_url: str = ""
    # The documents' store: given, each document's file is carried in the Bundle too (``data``).
    blobs: BlobStore | None = None
    # Whether the caller may still read the space, asked before each batch and each file: an export
    # lasts as long as its reader takes, and a representative whose right ended meanwhile (a court
    # measure ended, the 18th birthday) went on receiving files and measures (a review). None: an
    # operator's export.
    still_admitted: Callable[[], Awaitable[bool]] | None = None


@dataclass(frozen=True)
class WithContent:
    """One resource whose attachment's ``data`` is the string ``place``, to be replaced, as the
    entry is written, by ``chunks`` in base64: a file is never held whole."""

    resource: Resource
    place: str
    chunks: AsyncGenerator[bytes, None]


# A capability whose items are many adds a section: an async iterator of batches of resources, or
# of single resources whose content streams after them.
Section = Callable[[ExportScope], AsyncIterator[Sequence[Resource] | WithContent]]


async def _directives(scope: ExportScope) -> AsyncIterator[Sequence[Resource]]:
    # One version at a time: each is printed when its turn comes (seconds, for the longest).
    async for consent in directives_as_fhir(scope.space.id, timezone=scope.space.timezone):
        yield [consent]


async def _vaccination(scope: ExportScope) -> AsyncIterator[Sequence[Resource]]:
    yield await immunizations(scope.space.id, with_hidden=scope.with_hidden)


async def _vitals(scope: ExportScope) -> AsyncIterator[Sequence[Resource]]:
    async for batch in observations(scope.space.id, with_hidden=scope.with_hidden):
        yield batch


async def _documents(scope: ExportScope) -> AsyncIterator[Sequence[Resource] | WithContent]:
    # What the holder sees (nothing a professional still holds back from them); a representative's
    # export, what they see.
    viewer = export_viewer(timezone=scope.space.timezone, with_hidden=scope.with_hidden)
    space_id, public_url, secret = scope.space.id, scope.public_url, scope.secret
    left_out: list[uuid.UUID] = []
    if scope.blobs is None:
        async for batch in document_references(
            space_id, viewer, public_url=public_url, secret=secret, left_out=left_out
        ):
            yield batch
    else:
        # A place no text of the space holds: a fresh random name, of characters JSON writes as they are.
        place = f"ens-content-{uuid.uuid4().hex}"
        async for reference, chunks in documents_with_content(
            space_id, viewer, public_url=public_url, secret=secret, blobs=scope.blobs, data=place, left_out=left_out
        ):
            yield WithContent(reference, place, chunks)
    if left_out:
        yield [left_out_outcome(left_out)]


SECTIONS: tuple[Section, ...] = (_directives, _vaccination, _documents, _vitals)


def _entry(resource: Resource) -> bytes:
    return b'{"fullUrl":"' + full_url(resource.id).encode() + b'","resource":' + encode(resource) + b"}"


async def _with_content(item: WithContent) -> AsyncIterator[bytes]:
    """The entry of ``item``, its content in base64 where its place was: in pieces of 3 bytes'
    multiples, so that each piece's base64 follows the last one's without padding."""
    before, after = _entry(item.resource).split(b'"' + item.place.encode() + b'"')
    yield before + b'"'
    rest = b""
    async for chunk in item.chunks:
        held = rest + chunk
        whole = len(held) - len(held) % 3
        if whole:
            yield base64.b64encode(held[:whole])
        rest = held[whole:]
    yield base64.b64encode(rest) + b'"' + after


async def export_bundle(
    scope: ExportScope, *, progress: Callable[[int], Awaitable[None] | None] | None = None
) -> AsyncGenerator[bytes, None]:
    """The Bundle's JSON in pieces (one entry per line); ``progress`` is told how many entries have
    been written after each piece (``ens export``)."""
    space = scope.space
    written = 0
    head = (
        b'{"resourceType":"Bundle","id":"'
        + str(uuid.uuid4()).encode()
        + b'","type":"collection","timestamp":"'
        + clock.now().isoformat().encode()
        + b'","entry":[\n'
    )
    records = await records_as_fhir(space.id, timezone=space.timezone, with_hidden=scope.with_hidden)
    # Asked once the records are read, before they are sent, as before each batch after them: a
    # right that ended meanwhile (a consent withdrawn, the space erased) was sent them.
    await _still_admitted(scope)
    first = [patient_of(space, general_practitioner=records.general_practitioner), *records.resources]
    yield head + b",\n".join(_entry(r) for r in first)
    written += len(first)
    await _tell(progress, written)
    for section in SECTIONS:
        async for batch in section(scope):
            await _still_admitted(scope)
            if isinstance(batch, WithContent):
                yield b",\n"
                async for piece in _with_content(batch):
                    yield piece
                written += 1
                await _tell(progress, written)
            elif batch:
                yield b",\n" + b",\n".join(_entry(r) for r in batch)
                written += len(batch)
                await _tell(progress, written)
    yield b"\n]}\n"


async def _still_admitted(scope: ExportScope) -> None:
    """Whether the caller may still read the space, asked before anything read is sent."""
    if scope.still_admitted is not None and not await scope.still_admitted():
        raise Forbidden("The right to read this space ended during the export: it stops here.")


async def _tell(progress: Callable[[int], Awaitable[None] | None] | None, written: int) -> None:
    if progress is not None:
        result = progress(written)
        if result is not None:
            await result


async def space_for_export(space_id: UUID) -> SpaceRef | None:
    """The space an operator exports (``ens export``), or ``None`` when there is none."""
    row = await fetch_one(f"SELECT {SPACE_REF_COLUMNS} FROM spaces WHERE id = {{}}", space_id)
    return space_ref(row) if row is not None else None


async def export_to_file(
    space: SpaceRef,
    path: Path,
    *,
    secret: str,
    public_url: str = "",
    blobs: BlobStore | None = None,
    progress: Callable[[int], Awaitable[None] | None] | None = None,
    before_first_byte: Callable[[], Awaitable[None]] | None = None,
) -> int:
    """Write the whole space's Bundle (hidden items included: the holder's own export) to ``path``,
    through a temporary file renamed at the end, so a file at ``path`` is always a whole export.
    Both are readable by their owner only (health data: mode 0600), the temporary one is made new
    (``FileExistsError`` if it is there: another export to that file is running, or a killed one
    left it) and is removed when the export fails. ``before_first_byte`` runs once the temporary
    file is made, before anything is read (the operator's row in the space's history). Answers the
    number of entries written. ``blobs``: the documents' files are carried in the Bundle too."""
    written = 0

    async def counted(entries: int) -> None:
        nonlocal written
        written = entries
        await _tell(progress, entries)

    partial = path.with_name(path.name + ".partial")
    made = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(made, "wb") as out:
            if before_first_byte is not None:
                await before_first_byte()
            scope = ExportScope(space=space, with_hidden=True, secret=secret, public_url=public_url, blobs=blobs)
            async for piece in export_bundle(scope, progress=counted):
                out.write(piece)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return written


async def operator_export(
    space: SpaceRef,
    path: Path,
    *,
    operator: str,
    reason: str,
    secret: str,
    public_url: str = "",
    blobs: BlobStore | None = None,
    progress: Callable[[int], Awaitable[None] | None] | None = None,
) -> int:
    """``ens export``: the whole space to ``path`` (:func:`export_to_file`), for a request the
    service handles. It reads all the person's health data: a row in the space's history says so
    (``operator``, the name it shows) before anything is read, and a second one, with the same
    request id, if the export then fails (no file was handed over: it read as done); the security
    log keeps ``reason`` (a request's reference: never in the history, where it could say something
    of the person). An export refused before it reads (its file busy) writes no row."""
    noted = OperatorAction("ens export", operator)
    fields = {"space_id": str(space.id), "operator": operator, "reason": reason, "request_id": noted.request_id}
    began = False

    async def record() -> None:
        nonlocal began
        await noted.record(space.id, outcome=200, resource_type="export")
        began = True
        security_log.warning("space exported by an operator", extra={"event": "operator_export", **fields})

    try:
        return await export_to_file(
            space,
            path,
            secret=secret,
            public_url=public_url,
            blobs=blobs,
            progress=progress,
            before_first_byte=record,
        )
    except BaseException as exc:  # stopped too (the operator's Ctrl-C cancels the task): not exported
        if began:
            await noted.record(space.id, outcome=500, resource_type="export")
            security_log.error(
                "operator export failed",
                extra={"event": "operator_export_failed", "error": type(exc).__name__, **fields},
            )
        raise
