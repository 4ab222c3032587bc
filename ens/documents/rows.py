"""A document row as the API answers it, and the reads every service shares."""

from __future__ import annotations

import logging
from datetime import date
from uuid import UUID

import msgspec

from ens.core.clock import as_date, aware
from ens.core.db import Row, as_uuid, fetch_one, row_lock
from ens.core.errors import DomainError, NotFound
from ens.documents.catalogue import TYPES_BY_CODE
from ens.documents.encryption import SpaceKey, TamperedContent
from ens.documents.schemas import AddedByRole, DocumentAddedBy, DocumentRead
from ens.documents.visibility import released_for_holder, today_in_space, visible_to
from ens.spaces.door import SpaceAccess

COLUMNS = (
    "d.id, d.space_id, d.type_code, d.sealed, d.care_date, d.media_type, d.size, d.object_name, "
    "d.content_id, d.author_account_id, d.added_by_account_id, d.added_by_client_id, "
    "d.added_by_name, d.added_by_role, d.hidden_from_professionals, d.hidden_from_professionals_by_holder, "
    "d.hidden_from_representatives, "
    "d.hidden_from_holder, d.hidden_from_holder_until, d.created_at, d.updated_at"
)

NOT_FOUND = "No such document in this space."

log = logging.getLogger("ens.documents")


class WordsUnreadable(DomainError):
    """A document's sealed words do not verify: the documented 500 ``content-unreadable`` (its
    kind is registered in ``ens.documents.content``), never the words."""

    kind = "content-unreadable"


class Words(msgspec.Struct, array_like=True, frozen=True):
    """What a document says of itself in words, sealed in its row (``ens.documents.encryption``)."""

    title: str
    filename: str
    author: str


_WORDS = msgspec.msgpack.Decoder(Words)


def sealed(key: SpaceKey, document_id: UUID, words: Words) -> bytes:
    """The ``sealed`` column of a document's row."""
    return key.seal(msgspec.msgpack.encode(words), document_id=document_id)


def words_of(row: Row, key: SpaceKey) -> Words:
    """The words sealed in a document's row (selected with :data:`COLUMNS`). Words that do not
    verify (changed, cut short, copied from another row) are said as such, the document named in
    the operators' log: they were a 500 logged as an unhandled error that named neither."""
    document_id = as_uuid(row["id"])
    try:
        return _WORDS.decode(key.unseal(bytes(row["sealed"]), document_id=document_id))
    except TamperedContent:
        log.error(
            "document words unreadable",
            extra={
                "event": "document_words_unreadable",
                "space_id": str(key.space_id),
                "document_id": str(document_id),
            },
        )
        raise WordsUnreadable("A document's stored title, file name or author failed verification.") from None


UNREADABLE_WORDS = "Its stored title, file name or author failed verification; the operators' log names it."


def readable(row: Row, *, today: date, key: SpaceKey) -> DocumentRead | None:
    """:func:`document_read`, or ``None`` when the row's sealed words do not verify (logged by
    :func:`words_of`): a list or an export reads the other documents, and says which it could not."""
    try:
        return document_read(row, today=today, key=key)
    except WordsUnreadable:
        return None


def content_path(space_id: UUID, document_id: UUID) -> str:
    return f"/v1/spaces/{space_id}/documents/{document_id}/content"


def document_read(row: Row, *, today: date, key: SpaceKey) -> DocumentRead:
    """The document as the API shows it. A hold on the holder that has run out reads as none."""
    words = words_of(row, key)
    kind = TYPES_BY_CODE.get(row["type_code"])
    hidden = bool(row["hidden_from_holder"])
    until = as_date(row["hidden_from_holder_until"])
    still_hidden = not released_for_holder(hidden, until, today=today)
    role: AddedByRole = row["added_by_role"]
    return DocumentRead(
        id=as_uuid(row["id"]),
        type_code=row["type_code"],
        type_label=kind.label if kind else row["type_code"],
        title=words.title,
        date=as_date(row["care_date"]) or date.min,
        media_type=row["media_type"],
        filename=words.filename,
        size=int(row["size"]),
        author=words.author,
        added_by=DocumentAddedBy(role=role, name=row["added_by_name"], client_id=row["added_by_client_id"]),
        hidden_from_professionals=bool(row["hidden_from_professionals"]),
        hidden_from_representatives=bool(row["hidden_from_representatives"]),
        hidden_from_holder=still_hidden,
        hidden_from_holder_until=until if still_hidden else None,
        content_url=content_path(as_uuid(row["space_id"]), as_uuid(row["id"])),
        created_at=aware(row["created_at"]),
        updated_at=aware(row["updated_at"]),
    )


async def visible_row(access: SpaceAccess, document_id: UUID, *, for_change: bool = False) -> Row:
    """The document's row if the caller may see it; 404 otherwise, exactly as if it did not exist.
    ``for_change``: locked until the caller's write transaction ends (PostgreSQL), so that a
    change checks its If-Match against the row as the change before it left it: read unlocked,
    two PATCHes (or a PATCH and a DELETE) with the same If-Match both passed it (an outside audit)."""
    seen = visible_to(access, today=today_in_space(access))
    row = await fetch_one(
        f"SELECT {COLUMNS} FROM documents d WHERE d.space_id = {{}} AND d.id = {{}}"
        + seen.sql
        + (row_lock("UPDATE") if for_change else ""),
        access.space_id,
        document_id,
        *seen.args,
    )
    if row is None:
        raise NotFound(NOT_FOUND)
    return row
