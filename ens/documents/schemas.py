"""What the documents API takes and answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from msgspec import Meta

from ens.core.api import ONE_LINE, ReadStruct, Struct

Title = Annotated[str, Meta(min_length=1, max_length=255, pattern=ONE_LINE)]
TypeCode = Annotated[str, Meta(min_length=1, max_length=16, description="LOINC document code (GET /v1/document-types)")]
# The classes below have a field named ``date``: inside them, the type is spelt ``Day``.
Day = date
AddedByRole = Literal["holder", "representative", "app", "professional"]


class DocumentMetadata(Struct):
    """The ``metadata`` part of the upload (JSON)."""

    type_code: TypeCode
    title: Title
    date: Annotated[date, Meta(description="The day of the care the document reports")]
    # Who wrote the document, when it is not the person adding it (a scanned letter from a doctor).
    # A professional's documents take their identity instead.
    # Blank (nothing visible) is refused, as a title is: "   " was stored as the author (an audit).
    author: Annotated[str, Meta(min_length=1, max_length=255, pattern=ONE_LINE)] | None = None
    # Absent: not hidden. Each is sent only by who may set it (403 for anyone else, even false).
    hidden_from_professionals: bool | None = None
    hidden_from_representatives: bool | None = None
    hidden_from_holder: bool | None = None
    hidden_from_holder_until: Day | None = None


class DocumentUpdate(Struct):
    """``PATCH``: who the document is hidden from. Absent fields keep their value."""

    hidden_from_professionals: bool | None = None
    hidden_from_representatives: bool | None = None
    hidden_from_holder: bool | None = None
    hidden_from_holder_until: Day | None = None


class DocumentAddedBy(ReadStruct):
    role: AddedByRole
    name: str | None
    client_id: str


class DocumentRead(ReadStruct):
    id: UUID
    type_code: str
    type_label: str
    title: str
    date: date
    media_type: str
    filename: str
    size: int
    # Who wrote it: a professional's identity, else what the person adding it said (or their name).
    author: str
    added_by: DocumentAddedBy
    hidden_from_professionals: bool
    hidden_from_representatives: bool
    # Shown to the professionals who may set them, and to nobody else (a holder never sees a
    # document hidden from them; once released, both are false and null).
    hidden_from_holder: bool
    hidden_from_holder_until: Day | None
    content_url: str
    created_at: datetime
    updated_at: datetime


class UnreadableDocument(ReadStruct):
    """A document of the page whose stored title, file name or author failed verification (a row
    changed or damaged in the database): named by what is stored in clear, so that the rest of the
    list still reads. ``GET .../documents/{id}`` answers it 500 ``content-unreadable``."""

    id: UUID
    type_code: str
    date: Day
    detail: str


class DocumentPage(ReadStruct):
    items: list[DocumentRead]
    next_cursor: str | None = None
    # In the page's place among ``items`` (the cursor counts them): empty but for a damaged row.
    unreadable: list[UnreadableDocument] = []


class DocumentTypeRead(ReadStruct):
    code: str
    label: str
    system: str


class DocumentTypeList(ReadStruct):
    items: list[DocumentTypeRead]
    media_types: list[str]
    max_bytes: int


class DocumentsSummary(ReadStruct):
    """The home screen: how many documents the caller sees, and how many are new to them (added by
    someone else since they last listed the documents)."""

    count: int
    new: int
