"""``ens documents check``: the document store and the ``documents`` rows compared.

Nothing else compares them: an object the store lost (a restore from an older copy, a bucket's
lifecycle rule) is found only when someone reads it, and an object no row names that the ledger
does not hold (``ens.documents.pending``: left before the ledger existed, or outside it) is never
removed.

Both sides are walked once, streamed, in the order of the spaces' ids: the store's listing (its
objects grouped by their space's prefix ``spaces/{id}/``, :meth:`BlobStore.listed_in_order`) and
the rows by their primary key ``(space_id, id)``, :data:`ROW_BATCH` at a time (an index range a
batch; the statement names ``space_id``, as every one on health data does). What is held at a
time is one space's objects and rows, whatever the number of documents.

The two walks are not one snapshot: a document added or removed while they run could look like a
problem. So each problem is read again before it is said: a row's object is asked for by its own
request (and the row read again by its key), and an object no row named is looked up by its name
(index ``documents_space_object``) and in the ledger. An object written less than the ledger's
:data:`~ens.documents.pending.GRACE` ago is left alone, whatever its path (an upload under way may
own it), and so is one the ledger holds (``ens purge`` settles it). A stray is deleted only when asked, each under the
space's document lock by :func:`ens.documents.pending.delete_stray`.

What is said of a problem is the space's id, the document's id and the object's path (the
space's id and a keyed hash): never a title, a file name or anything else of the document.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from ens.core import clock
from ens.core.db import as_uuid, fetch, fetch_one
from ens.documents import pending
from ens.documents.encryption import stored_size
from ens.documents.storage import BlobStore, StoredObject

_T = TypeVar("_T")

# Rows read in one statement (one batch of the primary key's range).
ROW_BATCH = 1000

_NIL = UUID(int=0)
_OBJECT_NAME = re.compile("[0-9a-f]{64}")
_SPACES = "spaces/"


@dataclass(frozen=True)
class MissingObject:
    """A document whose object is not in the store."""

    space_id: UUID
    document_id: UUID
    path: str


@dataclass(frozen=True)
class WrongSize:
    """A document whose object is not the size its content makes (cut short, or another object)."""

    space_id: UUID
    document_id: UUID
    path: str
    size: int
    expected: int


@dataclass(frozen=True)
class StrayObject:
    """An object no document names, not in the ledger, older than its grace. ``deleted``: ``None``
    when not asked to; ``False`` when, under the lock, a document or the ledger held it by then."""

    space_id: UUID
    path: str
    size: int
    deleted: bool | None


@dataclass(frozen=True)
class UnknownObject:
    """An object under ``spaces/``, older than the grace, where this service puts nothing (never
    deleted here)."""

    path: str


Finding = MissingObject | WrongSize | StrayObject | UnknownObject


@dataclass
class Tally:
    """What a check counted, kept up to date as it goes."""

    documents: int = 0
    objects: int = 0
    missing: int = 0
    wrong_size: int = 0
    strays: int = 0
    deleted: int = 0
    kept: int = 0  # strays a document or the ledger held by the time they were to be deleted
    unknown: int = 0
    young: int = 0
    in_ledger: int = 0
    erasing: int = 0  # documents of a space whose erasure is under way or left to ``ens purge``

    @property
    def problems(self) -> int:
        """What is still wrong: documents without their whole object, strays left, unknown objects."""
        return self.missing + self.wrong_size + (self.strays - self.deleted - self.kept) + self.unknown


@dataclass(frozen=True)
class _Row:
    document_id: UUID
    object_name: str
    size: int


async def check_store(
    blobs: BlobStore,
    *,
    tally: Tally,
    delete_strays: bool = False,
    now: datetime | None = None,
    batch: int = ROW_BATCH,
) -> AsyncIterator[Finding]:
    """Compare the store with the rows (module docstring), yielding each problem as it is found and
    counting in ``tally``; with ``delete_strays`` each stray is deleted (or kept, under the lock)
    before it is yielded. ``now`` is the time the grace counts back from."""
    young_after = (now or clock.now()) - pending.GRACE
    objects = _object_groups(blobs)
    rows = _row_groups(batch)
    stored = await anext(objects, None)
    named = await anext(rows, None)
    while stored is not None or named is not None:
        if stored is not None and stored[0] is None:
            for found in stored[1]:
                tally.objects += 1
                if found.written_at > young_after:
                    tally.young += 1
                else:
                    tally.unknown += 1
                    yield UnknownObject(found.path)
            stored = await anext(objects, None)
            continue
        space_ids = [group[0] for group in (stored, named) if group is not None and group[0] is not None]
        space_id = min(space_ids)
        here: list[StoredObject] = []
        if stored is not None and stored[0] == space_id:
            here = stored[1]
            stored = await anext(objects, None)
        documents: list[_Row] = []
        if named is not None and named[0] == space_id:
            documents = named[1]
            named = await anext(rows, None)
        tally.objects += len(here)
        tally.documents += len(documents)
        async for finding in _compare_space(
            blobs, space_id, here, documents, tally=tally, delete_strays=delete_strays, young_after=young_after
        ):
            yield finding


async def _compare_space(
    blobs: BlobStore,
    space_id: UUID,
    objects: list[StoredObject],
    documents: list[_Row],
    *,
    tally: Tally,
    delete_strays: bool,
    young_after: datetime,
) -> AsyncIterator[Finding]:
    """One space: each document's object there and of its size; each object named, held or young."""
    by_path = {found.path: found for found in objects}
    named_paths = set()
    for row in documents:
        path = blobs.object_path(space_id, row.object_name)
        named_paths.add(path)
        found = by_path.get(path)
        if found is not None and found.size == stored_size(row.size):
            continue
        # Read again, by the row's key and the object's own request: the walks are not one moment.
        problem = await _confirmed_problem(blobs, space_id, row.document_id)
        if isinstance(problem, _Erasing):
            tally.erasing += 1
        elif isinstance(problem, MissingObject):
            tally.missing += 1
            yield problem
        elif isinstance(problem, WrongSize):
            tally.wrong_size += 1
            yield problem
    candidates = []
    for found in objects:
        if found.path in named_paths:
            continue
        if found.written_at > young_after:
            tally.young += 1
        elif not _ours(space_id, found.path):
            tally.unknown += 1
            yield UnknownObject(found.path)
        else:
            candidates.append(found)
    if not candidates:
        return
    ledger = {
        str(row["path"])
        for row in await fetch("SELECT path FROM document_pending_objects WHERE space_id = {}", space_id)
    }
    for found in candidates:
        if found.path in ledger:
            tally.in_ledger += 1
            continue
        if await _named_now(space_id, found.path):
            continue  # a document added since the rows were read names it
        tally.strays += 1
        deleted = None
        if delete_strays:
            deleted = await pending.delete_stray(space_id, found.path, blobs)
            if deleted:
                tally.deleted += 1
            else:
                tally.kept += 1
        yield StrayObject(space_id, found.path, found.size, deleted)


@dataclass(frozen=True)
class _Erasing:
    """A document of a space whose erasure is under way (its key destroyed): no problem of the store."""


async def _confirmed_problem(
    blobs: BlobStore, space_id: UUID, document_id: UUID
) -> MissingObject | WrongSize | _Erasing | None:
    """The document's problem as it is now: ``None`` when its row is gone or its object is whole,
    :class:`_Erasing` when its space is being erased."""
    row = await fetch_one(
        "SELECT object_name, size FROM documents WHERE space_id = {} AND id = {}", space_id, document_id
    )
    if row is None:
        return None
    if not await fetch("SELECT 1 AS x FROM document_keys WHERE space_id = {}", space_id):
        # Its key destroyed: the space's erasure is under way, or left for ``ens purge`` to finish
        # (the key goes first, then the objects, then the rows). Nothing of it can be read again.
        return _Erasing()
    path = blobs.object_path(space_id, str(row["object_name"]))
    expected = stored_size(int(row["size"]))
    size = await blobs.size(path)
    if size is None:
        return MissingObject(space_id, document_id, path)
    if size != expected:
        return WrongSize(space_id, document_id, path, size, expected)
    return None


async def _named_now(space_id: UUID, path: str) -> bool:
    if "/objects/" not in path:
        return False
    return bool(
        await fetch(
            "SELECT 1 AS x FROM documents WHERE space_id = {} AND object_name = {} LIMIT 1",
            space_id,
            path.rsplit("/", 1)[-1],
        )
    )


def _ours(space_id: UUID, path: str) -> bool:
    """A path this service writes: ``spaces/{id}/objects/{name}`` (a hex HMAC-SHA256) or
    ``spaces/{id}/incoming/{id}``. Nothing else is ever deleted here: a folder store's half-written
    file (obstore's ``{path}#{n}``, which its own requests cannot name) among others."""
    rest = path.removeprefix(BlobStore.space_prefix(space_id))
    kind, _, name = rest.partition("/")
    if kind == "objects":
        return _OBJECT_NAME.fullmatch(name) is not None
    if kind == "incoming":
        try:
            return str(UUID(name)) == name
        except ValueError:
            return False
    return False


def _space_of(path: str) -> UUID | None:
    """The space a path is under, when it is under one (``spaces/{id}/...``, the id as we write it)."""
    if not path.startswith(_SPACES):
        return None
    segment, slash, _ = path[len(_SPACES) :].partition("/")
    try:
        space_id = UUID(segment)
    except ValueError:
        return None
    return space_id if slash and str(space_id) == segment else None


async def _object_groups(blobs: BlobStore) -> AsyncIterator[tuple[UUID | None, list[StoredObject]]]:
    """The store's objects under ``spaces/``, a space's together, the spaces in ascending order;
    an object under no space's prefix alone, with ``None``."""

    async def each() -> AsyncIterator[tuple[UUID | None, StoredObject]]:
        async for found in blobs.listed_in_order(_SPACES):
            yield _space_of(found.path), found

    async for group in _by_space(each(), "the store's listing"):
        yield group


async def _row_groups(batch: int) -> AsyncIterator[tuple[UUID, list[_Row]]]:
    """The documents' rows, a space's together, the spaces in ascending order: the primary key's
    range, ``batch`` rows a statement (the nil pair is below every id this service makes)."""

    async def each() -> AsyncIterator[tuple[UUID | None, _Row]]:
        after: tuple[Any, Any] = (_NIL, _NIL)
        while True:
            rows = await fetch(
                "SELECT space_id, id, object_name, size FROM documents WHERE (space_id, id) > ({}, {}) "
                "ORDER BY space_id, id LIMIT {}",
                *after,
                batch,
            )
            for row in rows:
                yield as_uuid(row["space_id"]), _Row(as_uuid(row["id"]), str(row["object_name"]), int(row["size"]))
            if len(rows) < batch:
                return
            after = (rows[-1]["space_id"], rows[-1]["id"])

    async for space_id, held in _by_space(each(), "the documents' rows"):
        assert space_id is not None  # every row names its space
        yield space_id, held


async def _by_space(
    items: AsyncIterator[tuple[UUID | None, _T]], walk: str
) -> AsyncIterator[tuple[UUID | None, list[_T]]]:
    """Consecutive ``items`` of one space together, the spaces checked to come in ascending order
    (:class:`OutOfOrder`, naming the ``walk``); an item of no space alone, with ``None``."""
    current: UUID | None = None
    held: list[_T] = []
    async for space_id, item in items:
        if space_id is None:
            yield None, [item]
            continue
        if space_id != current:
            if held:
                yield current, held
            _check_order(current, space_id, walk)
            current, held = space_id, []
        held.append(item)
    if held:
        yield current, held


class OutOfOrder(RuntimeError):
    """A walk did not come in the order of the spaces' ids: comparing on would report falsely."""


def _check_order(last: UUID | None, space_id: UUID, walk: str) -> None:
    if last is not None and space_id <= last:
        raise OutOfOrder(f"{walk} came out of order (space {space_id} after {last}): nothing more is compared")
