"""Documents as FHIR R4 ``DocumentReference`` resources, for the space's export: the type (LOINC),
the date, the author, and the content as an attachment by URL (the file is not inlined: a 20 MiB
PDF stays where it is, and reading it is an access like any other).

References follow the export's convention: the Patient is ``urn:uuid:<space id>``.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from ens.core.db import fetch
from ens.documents.catalogue import TYPES_BY_CODE
from ens.documents.rows import COLUMNS, document_read
from ens.documents.schemas import DocumentRead
from ens.documents.service import LOINC
from ens.documents.visibility import today_in_space, visible_to
from ens.spaces.door import SpaceAccess


class _Element(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    pass


class Coding(_Element, kw_only=True):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class CodeableConcept(_Element, kw_only=True):
    coding: list[Coding] = []
    text: str | None = None


class Reference(_Element, kw_only=True):
    reference: str | None = None
    display: str | None = None


class Attachment(_Element, kw_only=True):
    content_type: str | None = None
    url: str | None = None
    size: int | None = None
    title: str | None = None
    creation: str | None = None


class Content(_Element, kw_only=True):
    attachment: Attachment


class Period(_Element, kw_only=True):
    start: str | None = None
    end: str | None = None


class Context(_Element, kw_only=True):
    period: Period | None = None


class DocumentReference(_Element, tag_field="resourceType", tag="DocumentReference", kw_only=True):
    id: str
    status: str
    type: CodeableConcept
    subject: Reference
    date: str
    author: list[Reference] = []
    description: str | None = None
    content: list[Content]
    context: Context | None = None


def document_reference_of(document: DocumentRead, *, space_id: UUID, public_url: str) -> DocumentReference:
    """One document as a DocumentReference; its attachment's URL is the content's, absolute."""
    kind = TYPES_BY_CODE.get(document.type_code)
    return DocumentReference(
        id=str(document.id),
        status="current",
        type=CodeableConcept(
            coding=[Coding(system=LOINC, code=document.type_code, display=kind.display if kind else None)],
            text=document.type_label,
        ),
        subject=Reference(reference=f"urn:uuid:{space_id}"),
        date=document.created_at.isoformat(),
        author=[Reference(display=document.author)] if document.author else [],
        description=document.title,
        content=[
            Content(
                attachment=Attachment(
                    content_type=document.media_type,
                    url=public_url.rstrip("/") + document.content_url,
                    size=document.size,
                    title=document.filename,
                    creation=document.date.isoformat(),
                )
            )
        ],
        context=Context(period=Period(start=document.date.isoformat(), end=document.date.isoformat())),
    )


async def documents_as_fhir(access: SpaceAccess, *, public_url: str) -> list[DocumentReference]:
    """Every document the caller sees, newest care first, as DocumentReferences."""
    today = today_in_space(access)
    seen = visible_to(access, today=today)
    rows = await fetch(
        f"SELECT {COLUMNS} FROM documents d WHERE d.space_id = {{}}"
        + seen.sql
        + " ORDER BY d.care_date DESC, d.created_at DESC, d.id DESC",
        access.space_id,
        *seen.args,
    )
    return [
        document_reference_of(document_read(row, today=today), space_id=access.space_id, public_url=public_url)
        for row in rows
    ]


def as_json(resource: DocumentReference) -> bytes:
    return msgspec.json.encode(resource)
