"""Documents as FHIR R4 ``DocumentReference`` resources, in the space's export: the type (LOINC),
the date, the author, and the content as an attachment by URL (by default the file is not inlined:
a 20 MiB PDF stays where it is, and reading it is an access like any other) or, when the export
carries the files (``documents=embedded``), by URL and ``data`` (base64, streamed by the export: see
:func:`documents_with_content`). Who added it (the API's
``addedBy``: role, name, app) is ENS's ``urn:ens:fhir:recorded-by`` extension, as a vaccination's
recorder; a document hidden from professionals carries
``urn:ens:fhir:hidden-from-professionals``. Built on the datatypes every
capability shares (``ens.core.fhir``): the Patient is ``urn:uuid:<space id>``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from uuid import UUID

from ens.core.db import Row, as_uuid, fetch, fetch_one
from ens.core.errors import NotFound
from ens.core.fhir import (
    LOINC,
    Attachment,
    CodeableConcept,
    Coding,
    Element,
    Extension,
    OperationOutcome,
    OperationOutcomeIssue,
    Period,
    Reference,
    Resource,
    encode,
    item_meta,
    patient_reference,
    recorded_by,
)
from ens.documents.catalogue import TYPES_BY_CODE
from ens.documents.content import whole_content
from ens.documents.encryption import SpaceKey
from ens.documents.keys import key_of_documents
from ens.documents.rows import COLUMNS, UNREADABLE_WORDS, readable
from ens.documents.schemas import DocumentRead
from ens.documents.storage import BlobStore
from ens.documents.visibility import Viewer, visible_for

# Documents are read for the export in batches of this many rows (keyset on the list's order).
BATCH = 500

# The holder hid the document from professionals (the API's ``hiddenFromProfessionals``): FHIR R4
# has no security label that says "not to health professionals", so it is ENS's extension.
HIDDEN_FROM_PROFESSIONALS_EXTENSION = "urn:ens:fhir:hidden-from-professionals"


class Content(Element, kw_only=True):
    attachment: Attachment


class Context(Element, kw_only=True):
    period: Period | None = None


class DocumentReference(Resource, tag=True, kw_only=True):
    """The part of FHIR R4's DocumentReference ENS fills."""

    extension: list[Extension] = []
    status: str
    type: CodeableConcept
    subject: Reference
    date: str
    author: list[Reference] = []
    description: str | None = None
    content: list[Content]
    context: Context | None = None


def document_reference_of(
    document: DocumentRead, *, space_id: UUID, public_url: str, data: str | None = None
) -> DocumentReference:
    """One document as a DocumentReference; its attachment's URL is the content's, absolute when
    ``public_url`` is given, and its ``data`` is ``data`` (the export's place for the content)."""
    kind = TYPES_BY_CODE.get(document.type_code)
    day = document.date.isoformat()
    added = document.added_by
    extensions = [recorded_by(added.role, added.name, added.client_id)]
    if document.hidden_from_professionals:
        extensions.append(Extension(url=HIDDEN_FROM_PROFESSIONALS_EXTENSION, value_boolean=True))
    return DocumentReference(
        id=str(document.id),
        meta=item_meta(document.hidden_from_representatives, document.updated_at),
        extension=extensions,
        status="current",
        type=CodeableConcept(
            coding=[Coding(system=LOINC, code=document.type_code, display=kind.display if kind else None)],
            text=document.type_label,
        ),
        subject=patient_reference(space_id),
        date=document.created_at.isoformat(),
        author=[Reference(display=document.author)] if document.author else [],
        description=document.title,
        content=[
            Content(
                attachment=Attachment(
                    content_type=document.media_type,
                    data=data,
                    url=public_url.rstrip("/") + document.content_url,
                    size=document.size,
                    title=document.filename,
                    creation=day,
                )
            )
        ],
        context=Context(period=Period(start=day, end=day)),
    )


async def document_references(
    space_id: UUID, viewer: Viewer, *, public_url: str, secret: str, left_out: list[UUID]
) -> AsyncIterator[Sequence[DocumentReference]]:
    """Every document ``viewer`` sees, newest care first, as DocumentReferences, a batch at a time;
    one whose sealed words do not verify is left out, its id added to ``left_out`` (:func:`left_out_outcome`)."""
    async for rows, key in _rows(space_id, viewer, secret=secret):
        batch = []
        for row in rows:
            document = readable(row, today=viewer.today, key=key)
            if document is None:
                left_out.append(as_uuid(row["id"]))
            else:
                batch.append(document_reference_of(document, space_id=space_id, public_url=public_url))
        yield batch


def left_out_outcome(left_out: Sequence[UUID]) -> OperationOutcome:
    """What an export says of the documents it left out (:func:`document_references`), as its last
    document entry: one damaged row made the whole export stop half-way, and the person could
    take none of their data with them. An import passes it by (``notImported``)."""
    return OperationOutcome(
        id=str(uuid.uuid4()),
        issue=[
            OperationOutcomeIssue(
                severity="error",
                code="processing",
                diagnostics=f"Document {document_id} is not in this export: {UNREADABLE_WORDS}",
            )
            for document_id in left_out
        ],
    )


async def documents_with_content(
    space_id: UUID,
    viewer: Viewer,
    *,
    public_url: str,
    secret: str,
    blobs: BlobStore,
    data: str,
    left_out: list[UUID],
) -> AsyncIterator[tuple[DocumentReference, AsyncGenerator[bytes, None]]]:
    """Every document ``viewer`` sees, as :func:`document_references`, one at a time, each with its
    attachment's ``data`` set to ``data`` (the place the caller streams the file at) and the file's
    bytes, verified as they come (:func:`whole_content`). Each document is read again, by the one
    rule of who sees it, just before its file: the files stream at the reader's pace, and one the
    holder hid from the representatives after the list was read went to one of them (a review). A
    document removed (or hidden from ``viewer``) since the list was read is left out, as if the
    export had read it a moment later."""
    seen = visible_for(viewer)
    # The list in keyset order, its ids only: each document is read whole just before its file.
    async for rows, key in _rows(space_id, viewer, secret=secret, columns=_LISTED):
        for listed in rows:
            row = await fetch_one(
                f"SELECT {COLUMNS} FROM documents d WHERE d.space_id = {{}} AND d.id = {{}}" + seen.sql,
                space_id,
                listed["id"],
                *seen.args,
            )
            if row is None:
                continue
            document = readable(row, today=viewer.today, key=key)
            if document is None:
                left_out.append(as_uuid(row["id"]))
                continue
            try:
                chunks = await whole_content(row, key=key, blobs=blobs)
            except NotFound:
                continue
            yield document_reference_of(document, space_id=space_id, public_url=public_url, data=data), chunks


_LISTED = "d.id, d.care_date, d.created_at"


async def _rows(
    space_id: UUID, viewer: Viewer, *, secret: str, columns: str = COLUMNS
) -> AsyncIterator[tuple[list[Row], SpaceKey]]:
    """The rows of every document ``viewer`` sees, newest care first, a batch at a time, with the
    space's key (opened once, for the first batch)."""
    seen = visible_for(viewer)
    after = ""
    key: SpaceKey | None = None
    position: tuple[object, ...] = ()
    while True:
        rows = await fetch(
            f"SELECT {columns} FROM documents d WHERE d.space_id = {{}}"
            + seen.sql
            + after
            + " ORDER BY d.care_date DESC, d.created_at DESC, d.id DESC LIMIT {}",
            space_id,
            *seen.args,
            *position,
            BATCH,
        )
        if not rows:
            return
        key = key or await key_of_documents(space_id, secret)
        yield rows, key
        if len(rows) < BATCH:
            return
        last = rows[-1]
        after = " AND (d.care_date, d.created_at, d.id) < ({}, {}, {})"
        position = (last["care_date"], last["created_at"], last["id"])


def as_json(resource: DocumentReference) -> bytes:
    return encode(resource)
