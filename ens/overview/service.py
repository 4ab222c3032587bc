"""The home-screen summary of a space, gathered from every capability's service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from uuid import UUID

import msgspec

from ens.core import clock
from ens.core.api import require_if_match
from ens.core.db import Row, as_uuid, fetch, fetch_one, fetch_scalars, row_lock, write_transaction
from ens.core.errors import Conflict, NotFound
from ens.core.local_time import zone_of
from ens.core.mail import Mailer
from ens.documents.keys import destroy_space_key
from ens.documents.service import documents_scalars, documents_summary, sweep_space_files
from ens.documents.storage import BlobStore
from ens.overview.schemas import HolderSummary, SpaceStatusRead, SpaceSummary
from ens.records.summary import records_scalars, records_summary
from ens.spaces import service as spaces
from ens.spaces.adulthood import adulthood_soon
from ens.spaces.door import SPACE_REF_COLUMNS, SpaceAccess, adulthood, erasure_begun, space_ref
from ens.spaces.history import account_name
from ens.spaces.pro_access import pending_requests
from ens.spaces.rights import Action
from ens.spaces.service import public_kind as _public_kind
from ens.vaccination.service import due_counts
from ens.vitals.service import bmi_of, latest_values

log = logging.getLogger("ens.overview")


async def space_summary(access: SpaceAccess) -> SpaceSummary:
    """Holder and status; each capability adds its part of the summary as it lands."""
    space = access.space
    # As every other part: only to a caller whose profession reads the measures (every one does
    # today; the matrix is data, and a profession left without them must not read them here).
    latest = await latest_values(space.id, with_hidden=access.sees_confidential) if access.reads("vitals") else []
    # The records' and the documents' counts, and the access requests awaiting an answer (to whoever
    # reads them: not a professional): one statement.
    requests = (
        {"access_requests": pending_requests(space.id, with_hidden=access.sees_confidential)}
        if access.reads("access-requests")
        else {}
    )
    counts = await fetch_scalars(
        {
            **records_scalars(space.id, with_hidden=access.sees_confidential, reads=access.reads),
            **documents_scalars(access),
            **requests,
        }
    )
    minor = space.holder_account_id is None and space.birthdate is not None
    return SpaceSummary(
        id=space.id,
        holder=HolderSummary(
            given_name=space.given_name, family_name=space.family_name, birthdate=space.birthdate, sex=space.sex
        ),
        status=space.status,
        timezone=space.timezone,
        role=access.role,
        representative_kind=_public_kind(access.kind) if access.role == "representative" else None,
        rights=access.rights(),
        adulthood_on=adulthood(space).astimezone(zone_of(space.timezone)).date() if minor else None,
        adulthood_soon=minor and adulthood_soon(space, clock.now()),
        vitals=latest,
        bmi=bmi_of(latest, birthdate=space.birthdate),
        records=records_summary(counts, timezone=space.timezone),
        documents=documents_summary(counts),
        vaccination=await due_counts(access) if access.reads("vaccination") else None,
        pending_access_requests=int(counts["access_requests"]) if requests else None,
    )


async def close_or_erase(
    access: SpaceAccess, *, erase: bool, mailer: Mailer, blobs: BlobStore, if_match: str | None = None
) -> None:
    """Close the space, or erase it: files live outside the database, so an erase destroys the
    space's data key first, closes the space and records the erasure (committed together: its
    point of no return, from which its files can never be decrypted again and the erasure is
    finished whatever happens, :func:`finish_erasures`), removes its objects from the store, then
    deletes every row (``ens.spaces.service``, which knows no files), then sweeps the store once
    more for an upload that committed in between. The close, and the erase's point of no return,
    are decided with the ``If-Match`` under the space's lock (:func:`_as_it_is`); an erasure past it
    sent again finishes, whatever its ``If-Match`` (the space, closed, has no tag any more)."""
    if erase:
        access.require(Action.ERASE)
        async with _as_it_is(access, if_match, erasing=True) as held:
            await destroy_space_key(held.space_id)
            await spaces.begin_erasure(held)
        await sweep_space_files(held.space_id, blobs)
        await spaces.close_or_erase_space(held, erase=True, mailer=mailer)
        await sweep_space_files(held.space_id, blobs)
        return
    async with _as_it_is(access, if_match) as held:
        await spaces.close_or_erase_space(held, erase=False, mailer=mailer)


async def finish_erasures(blobs: BlobStore, mailer: Mailer, *, begun_before: datetime) -> int:
    """``ens purge``: finish the erasures that passed their point of no return before
    ``begun_before`` and failed after it (the database or the store lost between the steps):
    their objects, their rows, the other parent's notice, their record finished, as the request
    would have. How many. Read from the partial index of the unfinished ones (none, most days).
    One that fails is left for the next run, in the log: it raised out of the run, and the erasures
    after it, and the rest of ``ens purge``, waited every day behind it (a review)."""
    finished = 0
    rows = await fetch(
        "SELECT erased_space_id, erased_by_account_id, erased_by_client_id, acting_as, request_id "
        "FROM space_erasures WHERE finished_at IS NULL AND erased_at < {} ORDER BY erased_at LIMIT 1000",
        begun_before,
    )
    for row in rows:
        space_id = as_uuid(row["erased_space_id"])
        try:
            finished += await _finish_erasure(space_id, row, blobs, mailer)
        except Exception as exc:
            log.error(
                "an erasure past its point of no return could not be finished; the next run tries again",
                extra={"event": "erasure_not_finished", "space_id": str(space_id), "reason": type(exc).__name__},
            )
    return finished


async def _finish_erasure(space_id: UUID, row: Row, blobs: BlobStore, mailer: Mailer) -> int:
    """One erasure of :func:`finish_erasures`: 1 when finished here, 0 when it was meanwhile."""
    account_id = as_uuid(row["erased_by_account_id"])
    await sweep_space_files(space_id, blobs)
    space = await fetch_one(f"SELECT {SPACE_REF_COLUMNS} FROM spaces WHERE id = {{}}", space_id)
    if space is None:
        return 0
    try:
        await spaces.erase_and_tell(
            space_ref(space),
            account_id=account_id,
            client_id=str(row["erased_by_client_id"]),
            acting_as=str(row["acting_as"]),
            request_id=str(row["request_id"]),
            actor_name=await account_name(account_id),
            mailer=mailer,
        )
    except NotFound:
        return 0  # erased meanwhile, by the same request sent again: its record is finished
    await sweep_space_files(space_id, blobs)
    return 1


@asynccontextmanager
async def _as_it_is(access: SpaceAccess, if_match: str | None, *, erasing: bool = False) -> AsyncIterator[SpaceAccess]:
    """A write transaction holding the space's row (``FOR UPDATE``: the space's writes wait, each
    row's foreign key taking a share of that lock; SQLite's writers queue anyway), in which the
    change to the whole space (closing, erasing, reopening) is made; ``access`` with the space as
    it is now. Its ``If-Match`` is compared there: with the space's summary (GET /v1/spaces/{space})
    as this caller reads it, a closed space having none (its GET is 410), so no tag, not even *,
    matches it. Compared before the transaction, a change committed in between (a measure, a name)
    was closed or erased unseen under a tag that no longer matched it."""
    async with write_transaction():
        row = await fetch_one(
            f"SELECT {SPACE_REF_COLUMNS} FROM spaces WHERE id = {{}}{row_lock('UPDATE')}", access.space_id
        )
        if row is None:
            raise NotFound("No such space.")
        held = replace(access, space=space_ref(row))
        if if_match is not None and not (erasing and await erasure_begun(held.space_id)):
            current = None if held.space.status == "closed" else msgspec.json.encode(await space_summary(held))
            require_if_match(if_match, current)
        yield held


async def reopen_space(access: SpaceAccess, *, if_match: str | None = None) -> SpaceStatusRead:
    """Reopen a closed space with everything it held, its documents too; not one being erased (409:
    its data key is destroyed already; its erasure is finished by sending it again, or by ``ens purge``)."""
    async with _as_it_is(access, if_match) as held:
        if await erasure_begun(held.space_id):
            raise Conflict(
                "This space is being erased: its erasure passed its point of no return and cannot be undone. "
                "Send the erasure again to finish it now (DELETE with erase=true); otherwise the service "
                "finishes it within a day."
            )
        await spaces.reopen_space(held.space_id)
    return SpaceStatusRead(id=access.space_id, status="open")
