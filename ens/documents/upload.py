"""Adding a document: the body streamed from the request, through the multipart parser, the type
check, the hash and Tink's encryption, to the object store — never held whole in memory.

The content goes first to ``incoming/{upload id}``: its name (an HMAC of the content's hash) is
known only at the end. Then, in the transaction that inserts the row, under the space's document
lock: the quota is checked again, and the object moves to its name — or, when another document of
the space holds the same content, the new copy is dropped and the row shares the existing one.
The object is in place before the row commits; if the commit fails it is removed again, and if
the process dies first, the ledger of pending objects has both paths (``ens.documents.pending``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

import msgspec

from ens.core import clock, problems
from ens.core.api import validation_error
from ens.core.db import fetch, fetch_one, write_transaction
from ens.core.errors import (
    ERASED_MEANWHILE,
    DomainError,
    FieldError,
    Forbidden,
    Invalid,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from ens.core.local_time import EARLIEST_YEAR
from ens.core.mail import Mailer
from ens.core.strict_json import refuse_duplicate_members
from ens.core.text_direction import refuse_direction_controls
from ens.documents import pending
from ens.documents.catalogue import (
    EXTENSIONS,
    FORM_ALLOWANCE_BYTES,
    MAX_DOCUMENT_BYTES,
    MAX_METADATA_BYTES,
    SNIFF_BYTES,
    TYPES_BY_CODE,
    MediaType,
    named_format,
    sniff,
)
from ens.documents.encryption import BLOCK_BYTES, SpaceKey, stored_size
from ens.documents.form import METADATA_PART, StreamingForm, boundary_of
from ens.documents.keys import lock_space_documents, space_erased_meanwhile, space_key_for_writing
from ens.documents.masking import check_masking, hold_until
from ens.documents.notices import announce_document
from ens.documents.rows import Words, document_read, sealed, visible_row
from ens.documents.schemas import AddedByRole, DocumentMetadata, DocumentRead
from ens.documents.storage import BlobStore
from ens.documents.visibility import shown_to_holder_from, today_in_space, visible_to
from ens.spaces.door import SpaceAccess
from ens.spaces.matrix import access_matrix


class QuotaExceeded(DomainError):
    """The space's documents would take more than its quota (``ENS_DOCUMENT_QUOTA_BYTES``)."""

    kind = "quota-exceeded"


problems.register(problems.ProblemType("quota-exceeded", "quota-exceeded", 413, "Storage quota exceeded"))


@dataclass(frozen=True)
class Upload:
    """The request as the route hands it over: its body as it arrives, and two headers."""

    body: AsyncIterator[bytes]
    content_type: str | None
    content_length: int | None


@dataclass(frozen=True)
class Storage:
    """Where content goes and the limits on it (from the settings), and who tells the holder."""

    blobs: BlobStore
    secret: str
    quota_bytes: int
    mailer: Mailer


log = logging.getLogger("ens.documents")
_METADATA = msgspec.json.Decoder(DocumentMetadata)
# The care a document reports is the holder's, from their birth; before it, only the pregnancy's
# (a prenatal scan filed in the child's space): at most 300 days, a pregnancy past its term.
PRENATAL = timedelta(days=300)


def parse_metadata(raw: bytes | None, *, today: date, born: date | None) -> DocumentMetadata:
    """The ``metadata`` part, checked; errors point into it (``/metadata/typeCode``). ``born``: the
    holder's birthdate (the space's), before which no care is dated but a pregnancy's."""
    if raw is None:
        raise Invalid("The 'metadata' part is required.", [FieldError("/metadata", "required")])
    try:
        metadata = _METADATA.decode(raw)
    except msgspec.ValidationError as exc:
        error = validation_error(exc)
        raise Invalid(f"metadata: {error.detail}", [FieldError("/metadata" + error.pointer, error.detail)]) from exc
    except msgspec.DecodeError as exc:
        raise Invalid("The 'metadata' part is not JSON.", [FieldError("/metadata", "not JSON")]) from exc
    try:
        # A member named twice is refused, as in every JSON body: msgspec kept the last
        # ("hiddenFromRepresentatives": false, then true, stored hidden: an outside audit).
        refuse_duplicate_members(raw)
    except Invalid as exc:
        raise Invalid(exc.detail, [FieldError("/metadata" + e.pointer, e.detail) for e in exc.errors]) from None
    errors: list[FieldError] = []
    if metadata.type_code not in TYPES_BY_CODE:
        errors.append(FieldError("/metadata/typeCode", "unknown document type (GET /v1/document-types)"))
    if metadata.date > today or metadata.date.year < EARLIEST_YEAR:
        errors.append(FieldError("/metadata/date", f"between {EARLIEST_YEAR} and today"))
    elif born is not None and metadata.date < born - PRENATAL:
        # As every dated item of the space (measures, vaccinations, the profile): a report dated
        # decades before its holder was born was stored (an audit).
        errors.append(FieldError("/metadata/date", f"before the holder's birth (more than {PRENATAL.days} days)"))
    if metadata.hidden_from_holder_until is not None and metadata.hidden_from_holder_until <= today:
        errors.append(FieldError("/metadata/hiddenFromHolderUntil", "a day after today"))
    # A title or an author displays in the order it was written: "Résultat \u202eevitagén" read
    # "Résultat négative" (an outside audit), as the directives already refuse.
    nested: list[FieldError] = []
    refuse_direction_controls(metadata, errors=nested)
    errors += [FieldError("/metadata" + error.pointer, error.detail) for error in nested]
    if errors:
        raise Invalid("The document's metadata breaks a rule; nothing was stored.", errors)
    return metadata


def _base_name(name: str | None) -> str:
    """A file's name without folders, control or format characters, surrounding spaces and dots
    (a leading one hides a file; trailing ones no file system keeps: "bilan.pdf." was offered as
    "bilan.pdf..pdf"). A name that is then only an extension (".pdf", zero-width spaces before it)
    is none: it was offered as "pdf.pdf" (an outside audit)."""
    base = re.split(r"[/\\]", name or "")[-1]
    base = "".join(c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] != "C")
    base = base.strip().rstrip(" .")
    unhidden = base.lstrip(".")
    return "" if unhidden != base and "." not in unhidden else unhidden


def clean_filename(name: str | None, media: MediaType) -> str:
    """The file's name as the download will offer it: no folders, no control characters, 255 at most."""
    base = _base_name(name)
    if base and named_format(base) is None:
        # A name that claims no format of the three (x.html, a.pdf.exe, scan) is offered with the
        # one its bytes are: saved, a PNG named x.html opened as a web page (an outside audit).
        base += EXTENSIONS[media][0]
    if len(base) > 255:
        # Cut from the stem: the extension the download offers stays (a 300-character name lost it).
        stem, dot, extension = base.rpartition(".")
        base = (
            f"{stem[: 255 - len(extension) - 1]}.{extension}" if dot and stem and len(extension) <= 16 else base[:255]
        )
    return base or f"document{EXTENSIONS[media][0]}"


# What a space's documents may take in all, as a multiple of the quota (below).
QUOTA_CEILING = 2


async def room_left(access: SpaceAccess, *, quota: int, today: date) -> int:
    """How many bytes the caller may still upload. The quota counts the space's documents the caller
    sees (their sizes as uploaded): a document held back from them, or hidden from them, does not
    count for them — a 413 on a space that looks near empty told a parent that a professional held
    documents back, and how large (an outside audit). So that what is hidden from each uploader
    does not let the space grow without bound, all its documents together may take at most
    :data:`QUOTA_CEILING` times the quota; past that the same 413, without sizes, is all they learn."""
    visible = visible_to(access, today=today)
    row = await fetch_one(
        f"""SELECT COALESCE(SUM(d.size), 0) AS total,
                   COALESCE(SUM(CASE WHEN TRUE{visible.sql} THEN d.size ELSE 0 END), 0) AS seen
            FROM documents d WHERE d.space_id = {{}}""",
        *visible.args,
        access.space_id,
    )
    total, seen = (int(row["total"]), int(row["seen"])) if row else (0, 0)
    return min(quota - seen, QUOTA_CEILING * quota - total)


def check_format(head: bytes, filename: str | None) -> MediaType:
    media = sniff(head)
    if media is None:
        raise UnsupportedMediaType(
            "The file is not a PDF, JPEG or PNG (its first bytes say so, whatever its name).",
            [FieldError("/file", "not a PDF, JPEG or PNG file")],
        )
    # Read on the name as it will be stored: "scan.pdf " or "scan.pdf\u200b" (zero-width space)
    # claimed no format raw, then was stored as scan.pdf over PNG bytes (a review).
    claimed = named_format(_base_name(filename))
    if claimed is not None and claimed != media:
        raise Invalid(
            # Not the name itself: it may say the diagnosis, and refusals are logged and kept.
            f"The file's bytes are {media}, not what its name says ({claimed}).",
            [FieldError("/file", f"its bytes are {media}, its name says {claimed}")],
        )
    return media


@dataclass
class _Received:
    """What the stream learnt about the file by its end."""

    size: int = 0
    media: MediaType | None = None
    sha256: bytes = b""
    metadata: DocumentMetadata | None = None


async def _encrypted_blocks(
    form: StreamingForm,
    key: SpaceKey,
    *,
    access: SpaceAccess,
    content_id: UUID,
    room: int,
    today: date,
    received: _Received,
) -> AsyncIterator[bytes]:
    """The file's blocks, encrypted, as its bytes arrive. Raises (and so aborts the upload) as soon
    as something is wrong: the type, the size, the quota, metadata sent before the file."""
    digest = hashlib.sha256()
    pending = bytearray()
    index = 0
    async for chunk in form.file_chunks():
        if received.metadata is None and METADATA_PART in form.fields:
            received.metadata = parse_metadata(form.fields[METADATA_PART], today=today, born=access.space.birthdate)
            _check_callers_metadata(access, received.metadata)
        received.size += len(chunk)
        if received.size > MAX_DOCUMENT_BYTES:
            raise PayloadTooLarge(
                f"A document is at most {MAX_DOCUMENT_BYTES} bytes.", [FieldError("/file", "larger than 20 MiB")]
            )
        if received.size > room:
            raise QuotaExceeded(
                "This space's documents would pass its storage quota: remove some first.",
                [FieldError("/file", "over the space's quota")],
            )
        digest.update(chunk)
        pending += chunk
        if received.media is None and len(pending) >= SNIFF_BYTES:
            received.media = check_format(bytes(pending[:SNIFF_BYTES]), form.filename)
        while len(pending) > BLOCK_BYTES:
            block = bytes(pending[:BLOCK_BYTES])
            del pending[:BLOCK_BYTES]
            yield key.encrypt_block(block, content_id=content_id, index=index, last=False)
            index += 1
    if not form.saw_file:
        raise Invalid("The 'file' part is required.", [FieldError("/file", "required")])
    if received.size == 0:
        raise UnsupportedMediaType("The file is empty.", [FieldError("/file", "empty")])
    if received.media is None:
        received.media = check_format(bytes(pending), form.filename)
    received.sha256 = digest.digest()
    yield key.encrypt_block(bytes(pending), content_id=content_id, index=index, last=True)


def _author(access: SpaceAccess, metadata: DocumentMetadata, *, professional: bool) -> str:
    """Who wrote the document: a professional's identity; else who the metadata names; else the
    person adding it, or the app."""
    if professional:
        return access.actor_name or ""
    own = access.client_name if access.role == "app" else access.actor_name
    return metadata.author or own or ""


def _added_by(access: SpaceAccess) -> AddedByRole:
    return access.role


def _check_callers_metadata(access: SpaceAccess, metadata: DocumentMetadata) -> None:
    """What the caller may say of the document they add: its type (a professional's, by the access
    matrix) and whom it is hidden from. Checked as soon as the metadata is in, before the file when
    it comes first: a flag not the caller's was refused only once 20 MiB had been stored (an
    outside audit)."""
    _check_professional_type(access, metadata.type_code)
    check_masking(
        access,
        professionals=metadata.hidden_from_professionals,
        representatives=metadata.hidden_from_representatives,
        holder=metadata.hidden_from_holder,
        holder_until=metadata.hidden_from_holder_until,
        creating=True,
    )


def _check_professional_type(access: SpaceAccess, type_code: str) -> None:
    """A professional adds only the document types their profession may (the access matrix)."""
    matrix = access_matrix()
    if access.role == "professional" and not matrix.may_document(access.profession or "", type_code, write=True):
        raise Forbidden(
            f"A {matrix.label(access.profession)} may not add this type of document (the access matrix).",
            [FieldError("/metadata/typeCode", "not a type this profession adds")],
        )


async def take_content(
    space_id: UUID, name: str, *, incoming: str, target: str, content_id: UUID, size: int, blobs: BlobStore
) -> tuple[UUID, bool]:
    """In the transaction that inserts a document's row, under the space's document lock: the
    content the row names (another document's, when the space holds the same already) and whether
    the new copy at ``incoming`` was moved to its name ``target`` (else it is to be deleted).

    The same content held already, its object is asked for (one request to the store, on this
    path only): one the store lost or cut short (a restore from an older copy, a bucket rule) is
    replaced by the new copy, and the documents naming it are given the new copy's content id (its
    blocks are bound to it). Kept, the lost one made the new document unreadable too, and every
    later try (an outside audit)."""
    same = await fetch_one(
        "SELECT content_id FROM documents WHERE space_id = {} AND object_name = {} LIMIT 1", space_id, name
    )
    if same is not None and await blobs.size(target) == stored_size(size):
        return UUID(str(same["content_id"])), False
    await blobs.rename(incoming, target)
    if same is not None:
        log.warning(
            "lost document content restored by an upload of the same file",
            extra={"event": "document_content_restored", "space_id": str(space_id)},
        )
        await fetch(
            "UPDATE documents SET content_id = {} WHERE space_id = {} AND object_name = {}", content_id, space_id, name
        )
    return content_id, True


async def insert_document(
    access: SpaceAccess,
    document_id: UUID,
    *,
    key: SpaceKey,
    metadata: DocumentMetadata,
    filename: str | None,
    media: MediaType,
    size: int,
    name: str,
    shared_id: UUID,
    now: datetime,
) -> None:
    """The row of a document the caller adds (an upload, an import), its file stored at ``name``
    under the content ``shared_id``: in the caller's transaction, under the space's document lock."""
    professional = _added_by(access) == "professional"
    await fetch(
        """INSERT INTO documents (space_id, id, type_code, sealed, care_date, media_type, size,
           object_name, content_id, author_account_id, added_by_account_id, added_by_client_id,
           added_by_name, added_by_role, hidden_from_professionals, hidden_from_professionals_by_holder,
           hidden_from_representatives, hidden_from_holder, hidden_from_holder_until, shown_to_holder_at,
           release_notice_due, created_at, updated_at)
           VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {},
           {})""",
        access.space_id,
        document_id,
        metadata.type_code,
        sealed(
            key,
            document_id,
            Words(
                title=metadata.title,
                filename=clean_filename(filename, media),
                author=_author(access, metadata, professional=professional),
            ),
        ),
        metadata.date,
        media,
        size,
        name,
        shared_id,
        access.caller.account_id if professional else None,
        access.caller.account_id if access.is_person or professional else None,
        access.caller.client_id,
        access.client_name if access.role == "app" else access.actor_name,
        _added_by(access),
        bool(metadata.hidden_from_professionals),
        bool(metadata.hidden_from_professionals) and access.is_adult_holder,
        bool(metadata.hidden_from_representatives),
        bool(metadata.hidden_from_holder),
        metadata.hidden_from_holder_until if metadata.hidden_from_holder else None,
        shown_to_holder_from(
            bool(metadata.hidden_from_holder),
            metadata.hidden_from_holder_until,
            timezone=access.space.timezone,
            now=now,
        ),
        # Owed: told now (by the upload, after the commit), or on the day it is held until; or by
        # ens notify, should the mail server fail or the process stop first.
        (professional and not metadata.hidden_from_holder)
        or (bool(metadata.hidden_from_holder) and metadata.hidden_from_holder_until is not None),
        now,
        now,
    )


async def upload_document(access: SpaceAccess, upload: Upload, *, storage: Storage) -> DocumentRead:
    """Store a document sent as ``multipart/form-data`` (a ``file`` part, a ``metadata`` part).

    The upload runs in several transactions and writes to the object store between them, so an
    erasure of the space can come in between: whatever fails then (its incoming object removed,
    SQLite's foreign key naming no table, the key gone) is the erasure's 404, not a fault."""
    progress = _Progress()
    try:
        return await _upload_document(access, upload, storage=storage, progress=progress)
    except DomainError:
        raise
    except Exception as exc:
        if await space_erased_meanwhile(access.space_id, key_made=progress.key_made):
            # What the upload wrote after the erasure's sweep (its incoming object) goes too.
            await storage.blobs.delete_under(storage.blobs.space_prefix(access.space_id))
            raise NotFound(ERASED_MEANWHILE) from exc
        raise


@dataclass
class _Progress:
    key_made: bool = False


async def _upload_document(
    access: SpaceAccess, upload: Upload, *, storage: Storage, progress: _Progress
) -> DocumentRead:
    boundary = boundary_of(upload.content_type)
    if upload.content_length is not None and upload.content_length > MAX_DOCUMENT_BYTES + FORM_ALLOWANCE_BYTES:
        raise PayloadTooLarge(f"A document is at most {MAX_DOCUMENT_BYTES} bytes.", [FieldError("/file", "too large")])
    space_id = access.space_id
    # Named before anything is written. The space's key and the ledger are bookkeeping, apart from
    # the request's access-history row, which commits with the document's row below: it says 201
    # only for a document stored (joined to the ledger, it said so while the file was on its way,
    # and for good once sealed when the file never came: an outside audit).
    document_id = uuid.uuid4()
    access.names_new_item(document_id, "documents")
    today = today_in_space(access)
    room = await room_left(access, quota=storage.quota_bytes, today=today)
    if room <= 0:
        raise QuotaExceeded("This space's documents fill its storage quota: remove some first.")
    key = await space_key_for_writing(space_id, storage.secret)
    progress.key_made = True
    form = StreamingForm(upload.body, boundary, max_field_bytes=MAX_METADATA_BYTES)
    content_id = uuid.uuid4()
    incoming = storage.blobs.incoming_path(space_id, content_id)
    received = _Received()
    await pending.record(space_id, incoming)
    try:
        await storage.blobs.put_stream(
            incoming,
            _encrypted_blocks(
                form, key, access=access, content_id=content_id, room=room, today=today, received=received
            ),
        )
        metadata = received.metadata or parse_metadata(
            form.fields.get(METADATA_PART), today=today, born=access.space.birthdate
        )
        _check_callers_metadata(access, metadata)
    except BaseException:
        await storage.blobs.delete(incoming)
        await pending.clear(space_id, incoming)
        raise
    assert received.media is not None
    name = key.object_name(received.sha256)
    target = storage.blobs.object_path(space_id, name)
    now = clock.now()
    professional = _added_by(access) == "professional"
    try:
        await pending.record(space_id, target)
        async with write_transaction():
            # The file came in at the client's pace since the door: its decision is taken again.
            await access.readmit()
            await lock_space_documents(space_id)
            if metadata.hidden_from_holder:
                # Read under the space's decisions about professionals: a revocation that commits
                # meanwhile releases this document too, it does not miss it (a review).
                until = await hold_until(access, metadata.hidden_from_holder_until, creating=True)
                metadata = msgspec.structs.replace(metadata, hidden_from_holder_until=until)
            if received.size > await room_left(access, quota=storage.quota_bytes, today=today):
                raise QuotaExceeded("This space's documents would pass its storage quota: remove some first.")
            shared_id, moved = await take_content(
                space_id,
                name,
                incoming=incoming,
                target=target,
                content_id=content_id,
                size=received.size,
                blobs=storage.blobs,
            )
            await insert_document(
                access,
                document_id,
                key=key,
                metadata=metadata,
                filename=form.filename,
                media=received.media,
                size=received.size,
                name=name,
                shared_id=shared_id,
                now=now,
            )
            # The ledger keeps the incoming copy while it exists: kept when the same content was
            # there already, it is deleted after the commit, and only then cleared.
            await pending.clear(space_id, *((incoming, target) if moved else (target,)))
    except BaseException:
        # Not committed: the new copy goes (under the lock, the name only if no document names it).
        await storage.blobs.delete(incoming)
        await pending.settle(space_id, target, storage.blobs)
        await pending.clear(space_id, incoming)
        raise
    if not moved:
        try:
            await storage.blobs.delete(incoming)
            await pending.clear(space_id, incoming)
        except Exception:
            # The document is committed: the caller gets it. The copy stays in the ledger, and
            # ``ens purge`` deletes it a day later.
            log.warning(
                "duplicate upload copy not deleted", extra={"event": "upload_copy_left", "space_id": str(space_id)}
            )
    if professional and not metadata.hidden_from_holder:
        # The holder is told a professional added a document (no health data), unless they turned
        # it off; a document held back from them is not announced, nor to the parents one hidden from them.
        await announce_document(storage.mailer, space_id, document_id, at=clock.now(), space=access.space)
    # The caller always sees what they added (only a professional hides a document from the holder).
    return document_read(await visible_row(access, document_id), today=today, key=key)
