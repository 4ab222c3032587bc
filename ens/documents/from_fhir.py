"""Documents from an export that carries their files (``GET .../export?documents=embedded``), for
the space import (``ens.overview.space_import``).

Each ``DocumentReference`` is checked as an upload is: its metadata by the upload's own rules
(``parse_metadata``: the type, the day of care, the title, the author, who may hide it), its file's
bytes (PDF, JPEG or PNG, recognised from them, at most 20 MiB, the size and type the attachment
states). A reference without its file (an export of ``documents=linked``) is not imported, and the
answer says so. What the export writes and ENS would not keep is refused, as for every other kind.

The store and the database do not commit together, and the import is one transaction: each file
is first written, encrypted, to ``incoming/`` with both its paths in the ledger of pending objects
(:func:`stage`), before that transaction begins; in it, under the space's document lock, the quota
is checked again and the file moves to its name, or shares the copy the space holds (:func:`store`);
after it, the ledger is settled either way (:func:`settle`), as an upload does
(``ens.documents.upload``). The file's bytes are held once at a time, a document's at most.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import msgspec

from ens.core import clock
from ens.core.errors import FieldError, Invalid, PayloadTooLarge, UnsupportedMediaType
from ens.core.fhir import LOINC, is_restricted, names_of, unwritten
from ens.documents import pending
from ens.documents.catalogue import MAX_DOCUMENT_BYTES, SNIFF_BYTES, MediaType
from ens.documents.encryption import BLOCK_BYTES, SpaceKey
from ens.documents.fhir import HIDDEN_FROM_PROFESSIONALS_EXTENSION, Content, DocumentReference
from ens.documents.masking import check_masking
from ens.documents.schemas import DocumentMetadata
from ens.documents.storage import BlobStore
from ens.documents.upload import QuotaExceeded, check_format, insert_document, parse_metadata, take_content
from ens.spaces.door import SpaceAccess

log = logging.getLogger("ens.documents")

# Where each field of the upload's metadata, and its file, is read in a DocumentReference.
FHIRPATHS = {
    "metadata/typeCode": "type.coding",
    "metadata/title": "description",
    "metadata/date": "context.period.start",
    "metadata/author": "author.display",
    "metadata/hiddenFromProfessionals": f"extension('{HIDDEN_FROM_PROFESSIONALS_EXTENSION}')",
    "metadata/hiddenFromRepresentatives": "meta.security",
    "file": "content.attachment",
}

LINKED = (
    "exported with documents=linked: the Bundle names each file by its URL, not its content; export with "
    "documents=embedded to move the files too, or add each document again (POST .../documents)"
)

_WRITTEN = names_of(DocumentReference) | {"resourceType"}
_ONE_ITEM = {"content": names_of(Content)}
# What the export writes of the file (``ens.documents.fhir``): a ``hash`` that does not match it,
# or any other part, had been taken without a word (an outside audit of data portability).
_ATTACHMENT_WRITTEN = frozenset({"contentType", "data", "url", "size", "title", "creation"})


@dataclass(frozen=True)
class Carried:
    """A DocumentReference carrying its file, checked: what the import stores of it."""

    metadata: DocumentMetadata
    filename: str | None
    media: MediaType
    size: int


def carried_document(access: SpaceAccess, resource: Mapping[str, Any], *, today: date) -> Carried | None:
    """What the import stores of ``resource``, or ``None`` when it carries no file (a linked
    export's). Raises ``Invalid`` (pointers as the upload's: ``/metadata/typeCode``, ``/file``) or,
    for a flag the caller may not set, ``Forbidden``."""
    attachment = _attachment(resource)
    if attachment.get("data") is None:
        return None
    lost = unwritten("DocumentReference", resource, _WRITTEN, _ONE_ITEM)
    lost += [
        f"DocumentReference.content[0].attachment.{name}" for name in attachment if name not in _ATTACHMENT_WRITTEN
    ]
    if resource.get("status") != "current":
        lost.append("DocumentReference.status (an export's documents are current)")
    if lost:
        raise Invalid(
            "The DocumentReference holds what ENS does not keep.",
            [FieldError("", f"{path}: not kept by ENS (its export does not write it)") for path in lost],
        )
    metadata = parse_metadata(msgspec.json.encode(_metadata_of(resource)), today=today, born=access.space.birthdate)
    check_masking(
        access,
        professionals=metadata.hidden_from_professionals,
        representatives=metadata.hidden_from_representatives,
        holder=None,
        holder_until=None,
        creating=True,
    )
    filename = attachment.get("title")
    try:
        content = file_of(resource)
        media = check_format(content[:SNIFF_BYTES], filename if isinstance(filename, str) else None)
    except (PayloadTooLarge, UnsupportedMediaType) as exc:
        # The upload's 413 and 415 are about a body; here the body is a Bundle, and this entry breaks a rule.
        raise Invalid(exc.detail, exc.errors) from None
    stated = attachment.get("contentType")
    if stated is not None and stated != media:
        raise Invalid(
            f"The file's bytes are {media}, not what the attachment says.",
            [FieldError("/file", f"its bytes are {media}, its contentType says {str(stated)[:40]}")],
        )
    if attachment.get("size") is not None and attachment["size"] != len(content):
        raise Invalid(
            "The file is not the size the attachment states (the Bundle was cut or changed).",
            [FieldError("/file", f"{len(content)} bytes, its size says {str(attachment['size'])[:20]}")],
        )
    return Carried(metadata, filename if isinstance(filename, str) else None, media, len(content))


def _attachment(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    content = resource.get("content")
    first = content[0] if isinstance(content, list) and content else {}
    attachment = first.get("attachment")
    if not isinstance(attachment, dict):
        raise Invalid("A DocumentReference has its content's attachment.", [FieldError("/file", "no attachment")])
    return attachment


def _metadata_of(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The upload's metadata part that ``resource`` stands for (checked by the upload's rules)."""
    coding = [c for c in (resource.get("type") or {}).get("coding") or [] if c.get("system") == LOINC]
    period = (resource.get("context") or {}).get("period") or {}
    author = next((a.get("display") for a in resource.get("author") or []), None)
    hidden = any(
        e.get("url") == HIDDEN_FROM_PROFESSIONALS_EXTENSION and e.get("valueBoolean") is True
        for e in resource.get("extension") or []
    )
    metadata = {
        "typeCode": coding[0].get("code") if coding else None,
        "title": resource.get("description"),
        "date": period.get("start"),
        "author": author,
    }
    # Sent only when set: whoever may not hide may still import what is not hidden.
    if hidden:
        metadata["hiddenFromProfessionals"] = True
    if is_restricted(resource):
        metadata["hiddenFromRepresentatives"] = True
    return metadata


def file_of(resource: Mapping[str, Any]) -> bytes:
    """The file ``resource`` carries (its attachment's ``data``, base64), at most 20 MiB."""
    data = _attachment(resource).get("data")
    if not isinstance(data, str):
        # (It was refused as "at most 20 MiB", which sent the person looking for a large file.)
        raise Invalid(
            "The attachment's data is not base64 text.", [FieldError("/file", "its data is base64 text, a string")]
        )
    if len(data) > 4 * (-(-MAX_DOCUMENT_BYTES // 3)):
        raise PayloadTooLarge(
            f"A document is at most {MAX_DOCUMENT_BYTES} bytes.", [FieldError("/file", "larger than 20 MiB")]
        )
    try:
        content = base64.b64decode(data, validate=True)
    except binascii.Error:
        raise Invalid("The attachment's data is not base64.", [FieldError("/file", "not base64")]) from None
    if len(content) > MAX_DOCUMENT_BYTES:  # the text's bound above lets one byte more through
        raise PayloadTooLarge(
            f"A document is at most {MAX_DOCUMENT_BYTES} bytes.", [FieldError("/file", "larger than 20 MiB")]
        )
    if not content:
        raise UnsupportedMediaType("The file is empty.", [FieldError("/file", "empty")])
    return content


@dataclass
class Staged:
    """A file written, encrypted, to ``incoming`` before the import's transaction."""

    carried: Carried
    content_id: UUID
    incoming: str
    target: str
    key: SpaceKey  # the space's, which encrypted it: its row's words are sealed under it too
    moved: bool = False


async def stage(space_id: UUID, content: bytes, carried: Carried, *, key: SpaceKey, blobs: BlobStore) -> Staged:
    """Write ``content`` encrypted to ``incoming/``, its paths first noted in the ledger (in a
    transaction of their own: no import's transaction is open)."""
    content_id = uuid.uuid4()
    incoming = blobs.incoming_path(space_id, content_id)
    target = blobs.object_path(space_id, key.object_name(hashlib.sha256(content).digest()))
    await pending.record(space_id, incoming, target)
    try:
        await blobs.put_stream(incoming, _encrypted(content, key, content_id))
    except BaseException:
        await blobs.delete(incoming)
        await pending.clear(space_id, incoming, target)
        raise
    return Staged(carried, content_id, incoming, target, key)


async def _encrypted(content: bytes, key: SpaceKey, content_id: UUID) -> AsyncIterator[bytes]:
    last = max(0, (len(content) - 1) // BLOCK_BYTES)
    for index in range(last + 1):
        block = content[index * BLOCK_BYTES : (index + 1) * BLOCK_BYTES]
        yield key.encrypt_block(block, content_id=content_id, index=index, last=index == last)


async def store(access: SpaceAccess, staged: Staged, *, blobs: BlobStore, room: int) -> None:
    """In the import's transaction, under the space's document lock: the document's row, its file
    moved to its name (or sharing the copy the space holds). ``room``: what the caller may still
    add (``room_left``, read under that lock, less what this import stored before)."""
    space_id = access.space_id
    if staged.carried.size > room:
        raise QuotaExceeded("This space's documents would pass its storage quota: the import keeps nothing.")
    name = staged.target.rsplit("/", 1)[-1]
    shared_id, staged.moved = await take_content(
        space_id,
        name,
        incoming=staged.incoming,
        target=staged.target,
        content_id=staged.content_id,
        size=staged.carried.size,
        blobs=blobs,
    )
    carried = staged.carried
    await insert_document(
        access,
        uuid.uuid4(),
        key=staged.key,
        metadata=carried.metadata,
        filename=carried.filename,
        media=carried.media,
        size=carried.size,
        name=name,
        shared_id=shared_id,
        now=clock.now(),
    )


async def settle(space_id: UUID, staged: list[Staged], *, blobs: BlobStore, committed: bool) -> None:
    """After the import's transaction: the ledger cleared of what its rows name, every other copy
    deleted (when it did not commit, every copy no document names). Never raises: after a commit
    the import is done (a 500 there told a client that had everything imported to try again, and
    its retry was 409: a review), and after a failure its own refusal is the answer; a copy the
    store or the database did not let go stays in the ledger, and ``ens purge`` settles it."""
    for item in staged:
        try:
            if committed and item.moved:
                await pending.clear(space_id, item.incoming, item.target)
                continue
            await blobs.delete(item.incoming)
            if committed:
                await pending.clear(space_id, item.target)
            else:
                await pending.settle(space_id, item.target, blobs)
            await pending.clear(space_id, item.incoming)
        except Exception as exc:
            log.warning(
                "imported file's copy not settled",
                extra={"event": "import_copy_left", "space_id": str(space_id), "error": type(exc).__name__},
            )
