"""The ledger of objects a dead process could leave behind (``document_pending_objects``).

The store and the database do not commit together. So before an object is written, or left where
a removed row named it, its path is recorded in a transaction of its own (or in the removal's);
once the object is settled — named by a committed row, or deleted — the record goes. What a
process that died in between leaves, ``ens purge`` settles a day later with the same rule:
under the space's document lock, an object some document names is kept, any other is deleted.

A transaction of its own is the request's bookkeeping, not its act (``write_transaction(apart=
True)``): the request's access-history row commits with the write that decides its answer (an
upload's document row), not with a note taken before its file streams in.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from ens.core import clock
from ens.core.db import fetch, write_transaction
from ens.documents.keys import lock_space_documents
from ens.documents.storage import BlobStore

# Older than this, a pending object's process is dead (an upload of 20 MiB takes minutes at most).
GRACE = timedelta(days=1)


async def record(space_id: UUID, *paths: str) -> None:
    """Note ``paths`` as pending, in the current transaction or in one of their own."""
    now = clock.now()
    async with write_transaction(apart=True):
        for path in paths:
            await fetch(
                "INSERT INTO document_pending_objects (space_id, path, since) VALUES ({}, {}, {}) "
                "ON CONFLICT (space_id, path) DO UPDATE SET since = EXCLUDED.since",
                space_id,
                path,
                now,
            )


async def clear(space_id: UUID, *paths: str) -> None:
    """The objects at ``paths`` are settled (in the current transaction, or one of their own)."""
    async with write_transaction(apart=True):
        for path in paths:
            await fetch("DELETE FROM document_pending_objects WHERE space_id = {} AND path = {}", space_id, path)


async def settle(space_id: UUID, path: str, blobs: BlobStore) -> None:
    """Under the space's document lock: delete the object unless a document names it, and clear it."""
    async with write_transaction(apart=True):
        await lock_space_documents(space_id)
        if not await _named(space_id, path):
            await blobs.delete(path)
        await fetch("DELETE FROM document_pending_objects WHERE space_id = {} AND path = {}", space_id, path)


async def delete_stray(space_id: UUID, path: str, blobs: BlobStore) -> bool:
    """``ens documents check --delete-strays``: an object found with no document naming it and not
    in the ledger, deleted by :func:`settle`'s rule under the same lock, unless by then a document
    names it or the ledger has it (an upload that began since: it settles its objects itself);
    whether it was deleted. Under the lock an upload's move and row are both committed or neither
    begun (it records the name first, committed, then moves the object under the lock), so a
    check racing an upload never deletes what a document is about to name."""
    async with write_transaction(apart=True):
        await lock_space_documents(space_id)
        if await _named(space_id, path) or await fetch(
            "SELECT 1 AS x FROM document_pending_objects WHERE space_id = {} AND path = {}", space_id, path
        ):
            return False
        await blobs.delete(path)
        return True


async def _named(space_id: UUID, path: str) -> bool:
    """Whether a document names the object at ``path`` (only an ``objects/`` path can be named)."""
    if "/objects/" not in path:
        return False
    name = path.rsplit("/", 1)[-1]
    return bool(
        await fetch("SELECT 1 AS x FROM documents WHERE space_id = {} AND object_name = {} LIMIT 1", space_id, name)
    )


# What ``ens purge`` reads of the ledger at a time: a store that lost its way for a day (every
# upload's object left pending) must not be read whole into one process's memory.
SETTLE_BATCH = 500


async def settle_abandoned(blobs: BlobStore, *, now: datetime | None = None, batch: int = SETTLE_BATCH) -> int:
    """``ens purge``: settle what dead processes left more than :data:`GRACE` ago, oldest first,
    ``batch`` records at a time (index ``document_pending_objects_since``); how many. Each record
    settled is gone from the ledger, so the next batch reads on from there; one the store refuses
    stops the run (raised), the rest left for the next. It read every record in one statement."""
    before = (now or clock.now()) - GRACE
    settled = 0
    while True:
        rows = await fetch(
            "SELECT space_id, path FROM document_pending_objects WHERE since < {} ORDER BY since LIMIT {}",
            before,
            batch,
        )
        for row in rows:
            await settle(UUID(str(row["space_id"])), str(row["path"]), blobs)
        settled += len(rows)
        if len(rows) < batch:
            return settled
