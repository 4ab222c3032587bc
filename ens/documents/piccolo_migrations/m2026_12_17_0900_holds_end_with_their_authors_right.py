"""A document held back from the holder ends its hold no later than its author's authorisation
(``ens.documents.masking.hold_until``). Before, a hold without a day lasted until its author
released it, and after a revocation, a block or an expiry nobody could: the holder never saw their
own document (an outside audit). The holds made so far are brought under the rule, once: one whose
author has no running authorisation on the space is released now (the holder is told, as of any
release: ``release_notice_due``); another ends on the day its author's authorisation does, or on
its own day when that comes first. No index, no column."""

from ens.core.db import Index, data_migration, fetch, write_transaction

ID = "2026-12-17T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "documents held back from the holder: released, or until the author's authorisation ends"

INDEXES: list[Index] = []

# The documents held back now (few: a professional's rare announcement) and their author's running
# authorisation on the space, if any.
_HELD = """
SELECT d.space_id, d.id, d.hidden_from_holder_until, s.timezone,
       (SELECT sp.until FROM space_professionals sp
        WHERE sp.space_id = d.space_id AND sp.professional_id = d.author_account_id
          AND sp.status = 'authorised' AND sp.until > {}) AS authorised_until
FROM documents d JOIN spaces s ON s.id = d.space_id
WHERE d.hidden_from_holder
"""


async def bound_holds() -> tuple[int, int]:
    """Release the holds nobody could release, bound the others; how many of each."""
    from ens.core import clock
    from ens.core.clock import as_date, aware
    from ens.core.local_time import zone_of
    from ens.documents.visibility import shown_to_holder_from

    now = clock.now()
    released = bounded = 0
    async with write_transaction():
        for row in await fetch(_HELD, now):
            zone = zone_of(str(row["timezone"]))
            today = now.astimezone(zone).date()
            until = as_date(row["hidden_from_holder_until"])
            if until is not None and until <= today:
                continue  # shown already, on its day
            if row["authorised_until"] is None:
                await fetch(
                    "UPDATE documents SET hidden_from_holder = FALSE, hidden_from_holder_until = NULL, "
                    "shown_to_holder_at = {}, release_notice_due = TRUE, release_notice_lease_until = NULL, "
                    "updated_at = {} WHERE space_id = {} AND id = {}",
                    now,
                    now,
                    row["space_id"],
                    row["id"],
                )
                released += 1
                continue
            last = aware(row["authorised_until"]).astimezone(zone).date()
            if until is None or until > last:
                await fetch(
                    "UPDATE documents SET hidden_from_holder_until = {}, shown_to_holder_at = {}, "
                    "release_notice_due = TRUE, release_notice_lease_until = NULL WHERE space_id = {} AND id = {}",
                    last,
                    shown_to_holder_from(True, last, timezone=str(row["timezone"]), now=now),
                    row["space_id"],
                    row["id"],
                )
                bounded += 1
    return released, bounded


forwards = data_migration(ID, "documents", description=DESCRIPTION, run=bound_holds)
