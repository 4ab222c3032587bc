"""A document's notice to the holder (for a child's space no one holds, the parents, unless it is
hidden from them), owed when a professional adds a document the holder sees, releases one held back
from them, or when the day a document was held until comes: the document's ``release_notice_due``
says it is owed. It is set in the transaction that makes the document visible, so neither a mail
server down at that moment nor a process that stops right after the commit loses the notice: the
request tells at once (:func:`announce_document`), and ``ens notify`` tells what is still owed —
once, whoever runs it and however often. Claimed, told and settled as every owed notice is
(:class:`ens.core.owed_mail.OwedNotice`: a claim is a lease, ``release_notice_lease_until``, so a process
that stops after its claim leaves the notice to the next run)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ens.core import clock
from ens.core.db import Row, as_uuid
from ens.core.mail import Mailer
from ens.core.owed_mail import OwedNotice, Told
from ens.spaces.door import SpaceRef
from ens.spaces.notifications import notify_holder
from ens.spaces.owed_notices import announce_all_owed

# The partial index documents_release_notice_due (shown_to_holder_at) WHERE release_notice_due
# holds the few documents still owed their notice.
RELEASE_NOTICE = OwedNotice(
    "documents",
    alias="d",
    lease="release_notice_lease_until",
    order="shown_to_holder_at",
    flag="release_notice_due",
    told="release_notice_told",
)


async def announce_document(
    mailer: Mailer, space_id: UUID, document_id: UUID, *, at: datetime, space: SpaceRef
) -> bool:
    """Tell of the document if its notice is owed and it is shown to the holder by ``at``; whether
    anyone was told. Claimed before the mail goes (a second run, or the request and a run at once,
    tell no one twice); owed again to those of its recipients the mail server failed for. A
    closed space's stays owed (told once it is reopened), unclaimed."""
    if space.status != "open":
        return False

    async def tell(claimed: Row, told_before: frozenset[str]) -> Told:
        # Whether it is hidden from the representatives is read as the row says it at the claim.
        hidden = bool(claimed["hidden_from_representatives"])
        return await notify_holder(
            space, "document_added", mailer, hidden_from_representatives=hidden, told_before=told_before
        )

    return await RELEASE_NOTICE.tell_if_owed(
        (space_id, document_id), tell, reads="hidden_from_representatives", ready_by=at
    )


async def send_release_notices(mailer: Mailer, *, now: datetime | None = None) -> int:
    """Tell the holders of the documents whose notice is owed: held until a day that has come, or
    not told when added or released (the mail server down, the process stopped); how many documents
    were announced (to at least one person: a notice the mail server failed for entirely is owed
    again at the next run)."""
    at = now or clock.now()

    async def announce(space: SpaceRef, row: Row) -> bool:
        return await announce_document(mailer, space.id, as_uuid(row["id"]), at=at, space=space)

    return await announce_all_owed(RELEASE_NOTICE, announce, mailer, ready_by=at)
