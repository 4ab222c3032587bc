"""Each space's data key: made the first time the space stores a document, kept wrapped, destroyed
first when the space is erased (``ens.documents.encryption`` says how)."""

from __future__ import annotations

import logging
from uuid import UUID

from cryptography.exceptions import InvalidTag

from ens.core import clock, keyring
from ens.core.db import current, fetch, fetch_one, is_postgres, write_transaction
from ens.core.errors import ERASED_MEANWHILE, DomainError, NotFound
from ens.documents.encryption import WRAP_PURPOSE, SpaceKey, new_wrapped_key, open_key

log = logging.getLogger("ens.documents")


class DocumentsUnopenable(DomainError):
    """The space's data key does not open under ``ENS_SECRET_KEY`` nor a key it replaced: none of its
    documents can be read (the documented 500 ``content-unreadable``, registered with its
    kind in ``ens.documents.content``)."""

    kind = "content-unreadable"


async def rewrap_space_keys(secret: str) -> tuple[int, int]:
    """Every space's data key wrapped again under the current ENS_SECRET_KEY (``ens keys rotate``;
    the files stay as they are): how many were wrapped under a key it replaced, and how many no
    configured key opens (left as they are)."""
    return await keyring.reseal_column(secret, WRAP_PURPOSE, table="document_keys", key="space_id", column="wrapped")


async def space_keys_open(secret: str) -> bool | None:
    """Whether the configured keys open the spaces' data keys (a few of them: ``ens serve`` asks
    before it starts); ``None`` when no space holds a document yet."""
    return await keyring.column_opens(secret, WRAP_PURPOSE, table="document_keys", key="space_id", column="wrapped")


async def space_key(space_id: UUID, secret: str) -> SpaceKey | None:
    """The space's data key, or ``None`` when the space never stored a document."""
    row = await fetch_one("SELECT wrapped FROM document_keys WHERE space_id = {}", space_id)
    return open_key(secret, space_id, bytes(row["wrapped"])) if row else None


async def _opened_key(space_id: UUID, secret: str) -> SpaceKey | None:
    """:func:`space_key`, for a request: a key that does not open is said, to the caller and in
    the operators' log, as what it is. It was a bare 500 logged as an unhandled ``InvalidTag``, as
    any fault (an outside audit: a server restarted with another key)."""
    try:
        return await space_key(space_id, secret)
    except InvalidTag:
        log.error(
            "document key does not open",
            extra={
                "event": "document_key_unopenable",
                "space_id": str(space_id),
                "hint": "ENS_SECRET_KEY is not the key that wrapped it, nor is any of ENS_PREVIOUS_SECRET_KEYS",
            },
        )
        raise DocumentsUnopenable(
            "This space's documents cannot be opened with the service's key; nothing of them is served."
        ) from None


async def key_of_documents(space_id: UUID, secret: str) -> SpaceKey:
    """The data key of a space whose documents were just read: a space holding a document has one,
    unless an erasure destroyed it meanwhile (then the space is gone: 404)."""
    found = await _opened_key(space_id, secret)
    if found is None:
        raise NotFound(ERASED_MEANWHILE)
    return found


async def space_key_for_writing(space_id: UUID, secret: str) -> SpaceKey:
    """The space's data key, made now if it has none (two first uploads at once agree on one): in a
    transaction apart from the request's act, which its access-history row waits for."""
    found = await _opened_key(space_id, secret)
    if found is not None:
        return found
    async with write_transaction(apart=True):
        await fetch(
            "INSERT INTO document_keys (space_id, wrapped, created_at) VALUES ({}, {}, {}) "
            "ON CONFLICT (space_id) DO NOTHING",
            space_id,
            new_wrapped_key(secret, space_id),
            clock.now(),
        )
    made = await _opened_key(space_id, secret)
    if made is None:
        # Made, then destroyed before it was read again: only an erasure destroys a space's key.
        raise NotFound(ERASED_MEANWHILE)
    return made


async def space_erased_meanwhile(space_id: UUID, *, key_made: bool) -> bool:
    """Whether an erasure of the space began while a writer of its documents was at work: the
    space's row is gone, or (``key_made``: the writer had the space's key) its key is, which an
    erasure destroys first, before its files and then its rows."""
    if not await fetch("SELECT 1 AS x FROM spaces WHERE id = {}", space_id):
        return True
    return key_made and not await fetch("SELECT 1 AS x FROM document_keys WHERE space_id = {}", space_id)


async def lock_space_documents(space_id: UUID) -> None:
    """Serialise the writers of one space's documents until the transaction ends (the key's row
    is the lock on PostgreSQL; SQLite's write transactions are serialised already): the quota
    and whether another row holds the same content are decided by one writer at a time.

    The space's row is taken first (``FOR KEY SHARE``, what the foreign key of the writer's rows
    takes anyway), then the key's: an erasure takes them in that order too (the space's row ``FOR
    UPDATE``, then it deletes the key). A writer holding the key's row and then inserting a row that
    names the space waited on the erasure, which waited on it: PostgreSQL ended one of them after a
    second (a review found it; ``tests/spaces/test_an_erasure_beside_writes.py``). Taken first, the
    erasure waits for the writer's commit, or the writer for the erasure's."""
    if is_postgres(current()):
        await fetch("SELECT id FROM spaces WHERE id = {} FOR KEY SHARE", space_id)
        await fetch("SELECT space_id FROM document_keys WHERE space_id = {} FOR UPDATE", space_id)


async def destroy_space_key(space_id: UUID) -> None:
    """Delete the space's data key, committed: nothing encrypted under it can be read again."""
    async with write_transaction():
        await fetch("DELETE FROM document_keys WHERE space_id = {}", space_id)
