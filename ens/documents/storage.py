"""Where documents' encrypted content lives: a local folder or S3-compatible storage, through one
library, obstore, whose async API streams both the same way.

Why obstore: one ``ObjectStore`` interface over the local file system and S3 (and GCS, Azure),
async calls that take an async iterator to upload (in parts, one at a time) and
ranged reads, implemented in Rust (object_store, the Apache Arrow project's crate) so that bytes
are not copied through Python more than once. fsspec/s3fs and aioboto3 cover one backend each well
and the other through a different code path; a folder behind ``aiofiles`` would be a second
implementation to test.

Every object of a space lives under ``spaces/{space_id}/``: its documents' content under
``objects/`` (named by :meth:`ens.documents.encryption.SpaceKey.object_name`), uploads in progress
under ``incoming/``. Erasing a space removes the whole prefix.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
import stat
import tempfile
import time
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

import obstore
import obstore.exceptions
from obstore.store import LocalStore, S3Store

from ens.core.settings import ConfigurationError, Settings

# An upload is written in parts, one at a time, so it holds one part in memory whatever the file's
# size: 5 MiB on S3 (its smallest multipart part but the last), 1 MiB in a folder.
S3_PART_BYTES = 5 * 1024 * 1024
FOLDER_PART_BYTES = 1024 * 1024

# /ready checks the store at most this often in a process (a load balancer probes every process,
# every few seconds); a probe in between is given the last answer.
READY_CHECK_EVERY = timedelta(seconds=5)
# ... and waits this long at most: S3 that does not answer is retried by obstore for minutes.
READY_TIMEOUT_S = 3.0
# The empty prefix /ready lists on S3: one small request that needs the bucket, and the
# credentials, as every upload does.
_READY_PREFIX = "ready-probe/"

log = logging.getLogger("ens.documents.storage")


# What one request of a listing returns at most: S3's own page (ListObjectsV2's MaxKeys default).
LIST_PAGE = 1000


@dataclass(frozen=True)
class StoredObject:
    """One object as a listing sees it: its path in the store, its size, when it was last written."""

    path: str
    size: int
    written_at: datetime


class ShortObject(ValueError):
    """A stored object shorter than its document says: changed or lost in part."""


class BlobStore:
    """The object store of the process, and where each space's objects go in it."""

    def __init__(self, store: Any, *, description: str, part_bytes: int, folder: Path | None = None) -> None:
        self._store = store
        self.description = description
        self._part_bytes = part_bytes
        # A folder keeps the directories its objects were in (S3 has none): named by the space's id.
        self._folder = folder
        # /ready's last check: when (time.monotonic()), and what it found (None: usable).
        self._checked_at: float | None = None
        self._unusable: str | None = None
        # A folder's check in its thread, kept while it runs: one that hangs (a disk that does not
        # answer) is not started again beside it (a review: each probe left one more thread stuck,
        # until the threads every drawing and file read need were all taken).
        self._folder_probe: asyncio.Future[str | None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> BlobStore:
        url = settings.blob_url or (Path(settings.var_dir).resolve() / "blobs").as_uri()
        parts = urlsplit(url)
        if parts.scheme == "file":
            folder = Path(unquote(parts.path))
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                # One line naming the variable and the folder: the traceback said neither (its
                # message withheld, ens.core.log), and a command called it an unreachable database.
                raise ConfigurationError(_unusable(folder, exc)) from None
            return cls(
                LocalStore(prefix=folder, mkdir=True),
                description=f"folder {folder}",
                part_bytes=FOLDER_PART_BYTES,
                folder=folder,
            )
        prefix = parts.path.strip("/") or None
        config: dict[str, Any] = {"region": settings.s3_region}
        if settings.s3_endpoint:
            config["endpoint"] = settings.s3_endpoint
        if settings.s3_access_key_id:
            config["access_key_id"] = settings.s3_access_key_id
        if settings.s3_secret_access_key:
            config["secret_access_key"] = settings.s3_secret_access_key
        client_options = {"allow_http": True} if (settings.s3_endpoint or "").startswith("http://") else None
        store = S3Store(parts.netloc, prefix=prefix, config=config, client_options=client_options)  # type: ignore[arg-type]
        described = f"bucket {parts.netloc}" + (f", prefix {prefix}" if prefix else "")
        return cls(store, description=described, part_bytes=S3_PART_BYTES)

    def check_writable(self) -> None:
        """``ens serve`` at start: a folder it cannot write (a read-only disk, another owner) stops it
        in one line, rather than every upload failing later."""
        if self._folder is None:
            return
        try:
            with tempfile.TemporaryFile(dir=self._folder):
                pass
        except OSError as exc:
            raise ConfigurationError(_unusable(self._folder, exc)) from None

    async def unusable(self) -> str | None:
        """``/ready``: why the store cannot be used now, in words that name no path (``its folder is
        missing``), or ``None``. Cheap: a folder's state and a one-byte file written and removed
        (an unnamed one: nothing is left behind), or on S3 the listing of an empty prefix (no
        write: requests cost there), within :data:`READY_TIMEOUT_S`. At most once every
        :data:`READY_CHECK_EVERY`: a probe in between, or while a check runs, is given the last
        answer. A change of answer is logged, once."""
        now = time.monotonic()
        if self._checked_at is not None and now - self._checked_at < READY_CHECK_EVERY.total_seconds():
            return self._unusable
        self._checked_at = now  # the probes meanwhile are given the last answer
        try:
            found = await asyncio.wait_for(self._check(), READY_TIMEOUT_S)
        except TimeoutError:
            found = f"no answer within {READY_TIMEOUT_S:g} s"
        self._checked_at = time.monotonic()
        if found != self._unusable:
            if found is None:
                log.warning("document store usable again", extra={"store": self.description})
            else:
                log.error("document store not usable", extra={"store": self.description, "failure": found})
        self._unusable = found
        return found

    async def _check(self) -> str | None:
        if self._folder is not None:
            if self._folder_probe is not None and not self._folder_probe.done():
                return "no answer from its folder since an earlier check"
            self._folder_probe = asyncio.ensure_future(asyncio.to_thread(_folder_unusable, self._folder))
            # Shielded: the probe's time limit ends the wait, not the check (a thread runs on).
            return await asyncio.shield(self._folder_probe)
        try:
            await obstore.list_with_delimiter_async(self._store, _READY_PREFIX)
        except Exception as exc:  # whatever S3, the network or the credentials answered
            return f"S3 failed ({store_failure(exc) or type(exc).__name__})"
        return None

    # Where things go ---------------------------------------------------------------------------

    @staticmethod
    def space_prefix(space_id: UUID) -> str:
        return f"spaces/{space_id}/"

    @staticmethod
    def object_path(space_id: UUID, name: str) -> str:
        return f"spaces/{space_id}/objects/{name}"

    @staticmethod
    def incoming_path(space_id: UUID, upload_id: UUID) -> str:
        return f"spaces/{space_id}/incoming/{upload_id}"

    # What it does ------------------------------------------------------------------------------

    async def put_stream(self, path: str, chunks: AsyncIterable[bytes]) -> int:
        """Write the object from ``chunks`` as they come (an error raised by ``chunks`` aborts the
        upload and is raised here); its size in bytes."""
        written = 0

        async def counted() -> Any:
            nonlocal written
            async for chunk in chunks:
                written += len(chunk)
                yield chunk

        await obstore.put_async(self._store, path, counted(), chunk_size=self._part_bytes, max_concurrency=1)
        return written

    async def put(self, path: str, data: bytes) -> None:
        await obstore.put_async(self._store, path, data)

    async def read_range(self, path: str, *, start: int, end: int) -> bytes:
        """Bytes ``start`` (included) to ``end`` (excluded) of the object; :class:`ShortObject` when the
        object ends before ``start`` (cut short: the store's own error says nothing of it)."""
        try:
            return bytes(await obstore.get_range_async(self._store, path, start=start, end=end))
        except obstore.exceptions.BaseError:
            size = await self.size(path)
            if size is not None and size <= start:
                raise ShortObject(f"the object has {size} bytes; {start} and on were asked") from None
            raise

    async def read(self, path: str) -> bytes:
        result = await obstore.get_async(self._store, path)
        return bytes(await result.bytes_async())

    async def size(self, path: str) -> int | None:
        """The object's size, or ``None`` when there is no such object."""
        try:
            meta = await obstore.head_async(self._store, path)
        except FileNotFoundError:
            return None
        return int(meta["size"])

    async def rename(self, source: str, target: str) -> None:
        await obstore.rename_async(self._store, source, target, overwrite=True)

    async def delete(self, path: str) -> None:
        """Remove the object; one already gone is not an error."""
        try:
            await obstore.delete_async(self._store, path)
        except FileNotFoundError:
            pass

    async def paths_under(self, prefix: str) -> list[str]:
        found: list[str] = []
        async for batch in obstore.list(self._store, prefix):
            found.extend(str(meta["path"]) for meta in batch)
        return found

    async def listed_in_order(self, prefix: str) -> AsyncIterator[StoredObject]:
        """Every object under ``prefix``, streamed (never the whole listing in memory), so that the
        objects of one directory-like prefix (a space's ``spaces/{id}/``) come together and those
        prefixes in the order of their names. On S3 that is ListObjectsV2's own order (keys in
        binary order), a page of :data:`LIST_PAGE` at a time, obstore following the continuation
        tokens. In a folder obstore's listing is in no stated order (a directory walk), so the
        folder is walked here, each directory's names sorted: what is held is the names of one
        directory at a time, ``spaces/`` being the largest (one name a space with documents)."""
        if self._folder is None:
            async for page in obstore.list(self._store, prefix, chunk_size=LIST_PAGE):
                for meta in page:
                    yield StoredObject(str(meta["path"]), int(meta["size"]), meta["last_modified"])
            return
        async for found in _walk_folder(self._folder, prefix.strip("/")):
            yield found

    async def delete_under(self, prefix: str) -> int:
        """Remove every object whose path starts with ``prefix``, and in a folder the directories
        that held them (a space's directory names the space); how many objects there were."""
        paths = await self.paths_under(prefix)
        for start in range(0, len(paths), 1000):
            await obstore.delete_async(self._store, paths[start : start + 1000])
        if self._folder is not None:
            await asyncio.to_thread(_remove_empty_directories, self._folder / prefix)
        return len(paths)


# How obstore's message names the system's failure under a folder store: "kind: StorageFull".
_OS_ERROR_KIND = re.compile(r"\bkind: ([A-Za-z]+)")


def store_failure(exc: BaseException) -> str | None:
    """What failed, when ``exc`` (or what it was raised from) is the document store's error and not an object
    that is missing: the system's name for it under a folder store (``StorageFull``,
    ``ReadOnlyFilesystem``, ``PermissionDenied``...: Rust's ``io::ErrorKind``, which names no path or
    data, so that it can be logged), else the error's class (S3 unreachable: ``GenericError``).
    ``None`` for any other error."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, obstore.exceptions.BaseError) and not isinstance(current, FileNotFoundError):
            kind = _OS_ERROR_KIND.search(str(current))
            return kind.group(1) if kind else type(current).__name__
        # Its explicit causes only: an error raised while handling a store's failure is its own.
        current = current.__cause__
    return None


def _folder_unusable(folder: Path) -> str | None:
    """What keeps documents from being kept in ``folder`` or read from it, or ``None``: missing (a
    volume not mounted, the folder removed: uploads would make it anew, beside none of the documents),
    not a folder, or not readable and writable (another owner, a read-only or full disk)."""
    try:
        mode = os.stat(folder).st_mode
    except FileNotFoundError:
        return "its folder is missing"
    except OSError as exc:
        return f"its folder cannot be reached ({exc.strerror or type(exc).__name__})"
    if not stat.S_ISDIR(mode):
        return "its path is not a folder"
    try:
        with os.scandir(folder) as entries:
            next(entries, None)
        with tempfile.TemporaryFile(dir=folder) as probe:
            probe.write(b"\0")
            probe.flush()
    except OSError as exc:
        return f"its folder cannot be read or written ({exc.strerror or type(exc).__name__})"
    return None


def _unusable(folder: Path, exc: OSError) -> str:
    return f"ENS_BLOB_URL names the folder {folder}, which cannot be written ({exc.strerror or type(exc).__name__})"


async def _walk_folder(
    root: Path, relative: str, above: frozenset[tuple[int, int]] = frozenset()
) -> AsyncIterator[StoredObject]:
    """The files under ``root / relative``, depth first, each directory's names in sorted order;
    each directory read in a thread (a slow disk does not hold the event loop). A directory that
    is one of those above it (a link looping back, which only an operator makes) is an OSError
    naming it (ELOOP), which ``ens documents check`` says in one line: followed, it recursed until
    a traceback (a review)."""
    directory = root / relative
    identity = await asyncio.to_thread(_identity, directory)
    if identity in above:
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(directory))
    entries = await asyncio.to_thread(_sorted_entries, directory)
    for name, is_directory, size, mtime in entries:
        path = f"{relative}/{name}" if relative else name
        if is_directory:
            async for found in _walk_folder(root, path, above | {identity}):
                yield found
        else:
            yield StoredObject(path, size, datetime.fromtimestamp(mtime, UTC))


def _identity(directory: Path) -> tuple[int, int]:
    """The directory's device and inode, its link followed (none yet: a pair no directory has)."""
    try:
        info = directory.stat()
    except (FileNotFoundError, NotADirectoryError):
        return (-1, -1)
    return (info.st_dev, info.st_ino)


def _sorted_entries(directory: Path) -> list[tuple[str, bool, int, float]]:
    """A directory's entries (name, is a directory, size, last written), sorted by name; none when
    it is missing (nothing stored under it yet, or removed meanwhile)."""
    found = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                try:
                    # Links followed, as obstore's own folder store does.
                    if entry.is_dir():
                        found.append((entry.name, True, 0, 0.0))
                    elif entry.is_file():
                        info = entry.stat()
                        found.append((entry.name, False, info.st_size, info.st_mtime))
                except FileNotFoundError:
                    continue  # removed while the directory was read
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(found)


def _remove_empty_directories(top: Path) -> None:
    """``top`` and the directories below it, deepest first, each only if empty (an object written
    there meanwhile keeps its directory)."""
    if not top.is_dir():
        return
    for directory, _, _ in sorted(os.walk(top), key=lambda entry: len(entry[0]), reverse=True):
        try:
            os.rmdir(directory)
        except OSError:
            pass
