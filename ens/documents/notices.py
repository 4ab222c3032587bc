"""``ens notify``'s part for documents: a document a professional held back from the holder until a
day is announced to the holder (for a child's space no one holds, the parents, unless it is hidden
from them) on that day, as a released one is when the professional releases it — once, whoever runs
the job and however often."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ens.core import clock
from ens.core.db import as_uuid, fetch, fetch_one, write_transaction
from ens.core.mail import Mailer
from ens.spaces.door import SpaceRef, space_ref
from ens.spaces.notifications import notify_holder

_BATCH = 500


async def send_release_notices(mailer: Mailer, *, now: datetime | None = None) -> int:
    """Tell the holders of the documents whose day has come; how many documents were announced (to
    at least one person: a notice the mail server failed for entirely is due again at the next run)."""
    at = now or clock.now()
    announced = 0
    spaces: dict[UUID, SpaceRef | None] = {}  # a space read once, however many of its documents are due
    while True:
        # Across spaces on purpose (the partial index holds only the few documents still due).
        due = await fetch(
            "SELECT d.space_id, d.id FROM documents d WHERE d.release_notice_due AND d.shown_to_holder_at <= {} "
            "ORDER BY d.shown_to_holder_at LIMIT {}",
            at,
            _BATCH,
        )
        for row in due:
            space_id, document_id = as_uuid(row["space_id"]), as_uuid(row["id"])
            async with write_transaction():
                # Claimed before the mail goes: a second run (or a release by hand meanwhile) tells no one twice.
                # Whether it is hidden from the representatives is read as the row says it then.
                claimed = await fetch(
                    "UPDATE documents SET release_notice_due = FALSE "
                    "WHERE space_id = {} AND id = {} AND release_notice_due RETURNING hidden_from_representatives",
                    space_id,
                    document_id,
                )
            if not claimed:
                continue
            if space_id not in spaces:
                found = await fetch_one("SELECT * FROM spaces WHERE id = {}", space_id)
                spaces[space_id] = space_ref(found) if found is not None else None
            space = spaces[space_id]
            if space is not None and space.status == "open":
                told = await notify_holder(
                    space,
                    "document_added",
                    mailer,
                    hidden_from_representatives=bool(claimed[0]["hidden_from_representatives"]),
                )
                if told.recipients and not told.reached:
                    # No one reached (the mail server failing): the notice is due again at the next
                    # run, unless the document was held back again meanwhile.
                    async with write_transaction():
                        await fetch(
                            "UPDATE documents SET release_notice_due = TRUE WHERE space_id = {} AND id = {} "
                            "AND NOT release_notice_due AND shown_to_holder_at <= {}",
                            space_id,
                            document_id,
                            at,
                        )
                    continue
                if told.reached:
                    announced += 1
        if len(due) < _BATCH:
            return announced
