"""A document's notice to the holder (for a child's space no one holds, the parents, unless it is
hidden from them), owed when a professional adds a document the holder sees, releases one held back
from them, or when the day a document was held until comes: the document's ``release_notice_due``
says it is owed. It is set in the transaction that makes the document visible, so neither a mail
server down at that moment nor a process that stops right after the commit loses the notice: the
request tells at once (:func:`announce_document`), and ``ens notify`` tells what is still owed —
once, whoever runs it and however often."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ens.core import clock
from ens.core.db import as_uuid, fetch, write_transaction
from ens.core.mail import Mailer
from ens.spaces.door import SpaceRef
from ens.spaces.notifications import SpacesReadOnce, notify_holder

_BATCH = 500


async def announce_document(
    mailer: Mailer, space_id: UUID, document_id: UUID, *, at: datetime, space: SpaceRef
) -> bool:
    """Tell of the document if its notice is owed and it is shown to the holder by ``at``; whether
    anyone was told. Claimed before the mail goes (a second run, or the request and a run at once,
    tell no one twice); owed again when the mail server took it for none of its recipients. A
    closed space's stays owed (told once it is reopened), unclaimed."""
    if space.status != "open":
        return False
    async with write_transaction():
        # Whether it is hidden from the representatives is read as the row says it then.
        claimed = await fetch(
            "UPDATE documents SET release_notice_due = FALSE WHERE space_id = {} AND id = {} "
            "AND release_notice_due AND shown_to_holder_at <= {} RETURNING hidden_from_representatives",
            space_id,
            document_id,
            at,
        )
    if not claimed:
        return False
    told = await notify_holder(
        space, "document_added", mailer, hidden_from_representatives=bool(claimed[0]["hidden_from_representatives"])
    )
    if told.recipients and not told.reached:
        # No one reached (the mail server failing): owed again, unless the document was held back
        # again meanwhile.
        async with write_transaction():
            await fetch(
                "UPDATE documents SET release_notice_due = TRUE WHERE space_id = {} AND id = {} "
                "AND NOT release_notice_due AND shown_to_holder_at <= {}",
                space_id,
                document_id,
                at,
            )
        return False
    return told.reached > 0


async def send_release_notices(mailer: Mailer, *, now: datetime | None = None) -> int:
    """Tell the holders of the documents whose notice is owed: held until a day that has come, or
    not told when added or released (the mail server down, the process stopped); how many documents
    were announced (to at least one person: a notice the mail server failed for entirely is owed
    again at the next run)."""
    at = now or clock.now()
    announced = 0
    spaces = SpacesReadOnce()
    after: tuple[datetime, UUID] | None = None
    while True:
        # Across spaces on purpose (the partial index holds only the few documents still due); in
        # order, from where the last batch ended: a notice owed again (the mail server failing) waits
        # for the next run instead of being tried again and again in this one.
        since = " AND (d.shown_to_holder_at, d.id) > ({}, {})" if after else ""
        due = await fetch(
            "SELECT d.space_id, d.id, d.shown_to_holder_at FROM documents d "
            f"WHERE d.release_notice_due AND d.shown_to_holder_at <= {{}}{since} "
            "ORDER BY d.shown_to_holder_at, d.id LIMIT {}",
            at,
            *(after or ()),
            _BATCH,
        )
        for row in due:
            space_id = as_uuid(row["space_id"])
            space = await spaces.get(space_id)
            if space is not None and await announce_document(mailer, space_id, as_uuid(row["id"]), at=at, space=space):
                announced += 1
        if len(due) < _BATCH:
            return announced
        after = (due[-1]["shown_to_holder_at"], as_uuid(due[-1]["id"]))
