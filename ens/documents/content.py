"""A document's content: the whole file or one byte range (RFC 9110 §14), decrypted block by block
as it is sent. Only the blocks the range covers are read and decrypted, and a block is sent only
once Tink has verified it; a block that does not verify ends the answer there (before its first
byte when it is the first block: an error answer; later, the connection is cut, and the client,
who was told the length, sees the download fail) and is reported to the operators. A document
removed while it is read is no such failure: its read ends as a 404 (before the first byte) or
short, and the log says so at INFO."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

from ens.core import problems
from ens.core.db import Row, as_uuid, fetch_one
from ens.core.errors import DomainError, NotFound, RangeNotSatisfiable
from ens.documents.encryption import BLOCK_BYTES, CIPHER_BLOCK_BYTES, SpaceKey, TamperedContent, block_count
from ens.documents.keys import key_of_documents
from ens.documents.rows import visible_row, words_of
from ens.documents.storage import BlobStore
from ens.spaces.door import SpaceAccess

log = logging.getLogger("ens.documents")


class ContentUnreadable(DomainError):
    """The stored content is missing or failed verification: nothing of it is served."""

    kind = "content-unreadable"


problems.register(
    problems.ProblemType("content-unreadable", "content-unreadable", 500, "The document's content cannot be read")
)

_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")
# A position of more digits than this is past the end of any file (at most 20 MiB): read as this,
# never an int() of thousands of digits (a 500 once).
_BEYOND_DIGITS = 18
# Blocks read from the store in one request while a file streams out (16 x 64 KiB: 1 MiB held).
READ_AHEAD_BLOCKS = 16
# A download still running this long after the door decided is asked again, before its next
# read-ahead, whether its reader may still read the document (:func:`document_content`): most
# downloads end sooner and pay nothing for it.
RECHECK_SECONDS = 1.0


@dataclass(frozen=True)
class Content:
    """What the route sends: the headers' facts and the bytes, as they are decrypted."""

    media_type: str
    filename: str
    size: int
    etag: str
    start: int
    end: int  # excluded
    partial: bool
    chunks: AsyncGenerator[bytes, None]

    @property
    def status(self) -> int:
        return 206 if self.partial else 200


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range ``header`` asks for, as ``(start, end excluded)``; ``None`` for the whole file
    (no header, several ranges or a form this server ignores, as RFC 9110 §14.2 allows). A range
    starting past the end is 416. The list's empty elements are none (RFC 9110 §5.6.1: a recipient
    accepts them): "bytes=0-3, " was answered the whole file (an outside audit)."""
    if header is None:
        return None
    unit, equals, ranges = header.strip().partition("=")
    elements = [element.strip(" \t") for element in ranges.split(",")]
    named = [element for element in elements if element]
    if not equals or len(named) != 1:
        return None
    match = _RANGE.fullmatch(f"{unit}={named[0]}")
    if match is None or (not match.group(1) and not match.group(2)):
        return None
    first, last = _position(match.group(1)), _position(match.group(2))
    if first is None:  # the last N bytes
        assert last is not None
        if last == 0:
            raise RangeNotSatisfiable("An empty suffix range selects nothing.", size=size)
        return max(0, size - last), size
    if last is not None and last < first:
        return None  # syntactically invalid (last before first): ignored
    if first >= size:
        raise RangeNotSatisfiable(f"The document has {size} bytes.", size=size)
    # A last position at or past the end selects the rest (RFC 9110 §14.1.2), however many digits
    # it has: one of more than 18 was ignored and the whole file answered 200 (an audit).
    return first, min(last + 1, size) if last is not None else size


def _position(digits: str) -> int | None:
    """A range's position (``None``: not given), one too long to be a file's read as past every end."""
    if not digits:
        return None
    return int(digits) if len(digits) <= _BEYOND_DIGITS else 10**_BEYOND_DIGITS


def etag_of_document(object_name: str) -> str:
    """The content's validator: its object's name (a keyed hash of the content, per space)."""
    return f'"{object_name[:32]}"'


async def document_content(
    access: SpaceAccess,
    document_id: UUID,
    *,
    range_header: str | None,
    if_range: str | None,
    blobs: BlobStore,
    secret: str,
) -> Content:
    """The document's bytes (or the range asked for), verified block by block."""
    row = await visible_row(access, document_id)
    size = int(row["size"])
    etag = etag_of_document(row["object_name"])
    wanted = byte_range(range_header, size) if if_range is None or if_range.strip() == etag else None
    start, end = wanted or (0, size)
    key = await key_of_documents(access.space_id, secret)
    path = blobs.object_path(access.space_id, row["object_name"])
    content_id = UUID(str(row["content_id"]))

    async def still_readable() -> bool:
        # The door's question again (a professional blocked, a representative's right ended, an
        # app disconnected), then the document's (hidden from the caller's kind, removed).
        if not await access.still_reaches():
            return False
        try:
            await visible_row(access, document_id)
        except NotFound:
            return False
        return True

    blocks = _Blocks(
        blobs,
        key,
        path=path,
        content_id=content_id,
        size=size,
        document_id=document_id,
        still_readable=still_readable,
    )
    first = start // BLOCK_BYTES
    last = (end - 1) // BLOCK_BYTES
    head = await blocks.plaintext(first)  # a first block that does not verify is an error answer
    return Content(
        media_type=row["media_type"],
        filename=words_of(row, key).filename,
        size=size,
        etag=etag,
        start=start,
        end=end,
        partial=wanted is not None,
        chunks=blocks.stream(head, first=first, last=last, start=start, end=end),
    )


async def whole_content(row: Row, *, key: SpaceKey, blobs: BlobStore) -> AsyncGenerator[bytes, None]:
    """The whole content of the document of ``row`` (selected with ``COLUMNS``), verified block
    by block, 1 MiB read at a time (the export that carries the files), as a download streams it:
    a file is never held whole (held whole, 20 MiB stayed pinned for as long as a client took to
    read it: a review). Its first block is read before this answers: a document removed by then is
    ``NotFound`` here, and left out; removed while it streams, it ends the stream there, as a
    download's does."""
    size = int(row["size"])
    document_id = as_uuid(row["id"])
    path = blobs.object_path(key.space_id, row["object_name"])
    blocks = _Blocks(blobs, key, path=path, content_id=as_uuid(row["content_id"]), size=size, document_id=document_id)
    head = await blocks.plaintext(0)
    return blocks.stream(head, first=0, last=block_count(size) - 1, start=0, end=size)


@dataclass
class _Blocks:
    blobs: BlobStore
    key: SpaceKey
    path: str
    content_id: UUID
    size: int
    document_id: UUID
    # Asked before a read-ahead once RECHECK_SECONDS have passed since it last said yes (a download);
    # none for the export, which asks its own question before each file.
    still_readable: Callable[[], Awaitable[bool]] | None = None

    def _end_of(self, index: int) -> int:
        """Where block ``index`` ends in the object."""
        count = block_count(self.size)
        plain_length = BLOCK_BYTES if index < count - 1 else self.size - index * BLOCK_BYTES
        return index * CIPHER_BLOCK_BYTES + plain_length + CIPHER_BLOCK_BYTES - BLOCK_BYTES

    async def plaintext(self, index: int) -> bytes:
        async for _, plain in self.verified(index, index):
            return plain
        raise AssertionError("a block was asked for and none was read")

    async def verified(self, first: int, last: int) -> AsyncIterator[tuple[int, bytes]]:
        """Blocks ``first`` to ``last``, read in one request, each given as soon as it is verified."""
        count = block_count(self.size)
        index = first
        try:
            stored = await self.blobs.read_range(self.path, start=first * CIPHER_BLOCK_BYTES, end=self._end_of(last))
            for index in range(first, last + 1):
                offset = (index - first) * CIPHER_BLOCK_BYTES
                ciphertext = stored[offset : offset + self._end_of(index) - index * CIPHER_BLOCK_BYTES]
                last_block = index == count - 1
                yield (
                    index,
                    self.key.decrypt_block(ciphertext, content_id=self.content_id, index=index, last=last_block),
                )
        except (TamperedContent, FileNotFoundError, ValueError) as exc:
            if isinstance(exc, FileNotFoundError) and not await self._still_stored():
                # The document was removed while it was read (its last copy went with it): no
                # tampering, nothing lost. Before the first byte a 404, as the document is now;
                # later the answer ends short of its length, as a cut download does.
                log.info(
                    "document removed during its download",
                    extra={
                        "event": "document_removed_during_download",
                        "space_id": str(self.key.space_id),
                        "document_id": str(self.document_id),
                    },
                )
                raise NotFound("No such document in this space.") from exc
            # Operators must know (a changed or lost object); the log names no content.
            log.error(
                "document content unreadable",
                extra={
                    "event": "document_content_unreadable",
                    "space_id": str(self.key.space_id),
                    "document_id": str(self.document_id),
                    "block": index,
                    "reason": type(exc).__name__,
                },
            )
            raise ContentUnreadable(
                "The document's stored content failed verification; nothing of it is served."
            ) from exc

    async def _still_stored(self) -> bool:
        """Whether a document of the space still holds this content (its object should exist)."""
        row = await fetch_one(
            "SELECT 1 AS held FROM documents WHERE space_id = {} AND content_id = {} LIMIT 1",
            self.key.space_id,
            self.content_id,
        )
        return row is not None

    async def stream(self, head: bytes, *, first: int, last: int, start: int, end: int) -> AsyncGenerator[bytes, None]:
        """The bytes ``start`` to ``end`` of blocks ``first`` to ``last`` (the first one already read),
        the rest read ``READ_AHEAD_BLOCKS`` at a time (one request to the store per 1 MiB).

        A reader who may no longer read the document gets nothing more: a download that began
        before the holder hid the document from professionals, or blocked the professional reading
        it, ran to its end, 20 MiB at a phone's pace (an outside audit); it now ends there, short of
        its length, as a download cut ends."""
        base = first * BLOCK_BYTES
        yield head[start - base : min(end - base, len(head))]
        asked = time.monotonic()
        for group in range(first + 1, last + 1, READ_AHEAD_BLOCKS):
            if self.still_readable is not None and time.monotonic() - asked >= RECHECK_SECONDS:
                if not await self.still_readable():
                    log.info(
                        "download stopped: its reader may no longer read the document",
                        extra={
                            "event": "document_download_stopped",
                            "space_id": str(self.key.space_id),
                            "document_id": str(self.document_id),
                        },
                    )
                    raise NotFound("The document is no longer yours to read: its download stops here.")
                asked = time.monotonic()
            async for index, plain in self.verified(group, min(group + READ_AHEAD_BLOCKS - 1, last)):
                yield plain[: min(end - index * BLOCK_BYTES, len(plain))]
