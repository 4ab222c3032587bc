"""A professional a representative authorised (a guardian, a family representative, a parent) is
authorised no longer than that representative's right (``ens.spaces.professionals.decision_end``):
until the end of their court measure at the latest, and ended with their right when an operator
ends it or a parent withdraws (``ens.spaces.representatives``). Before, only a parent's was cut,
to the 18th birthday: a guardian's authorisation ran its year after the measure ended, and the
adult who had regained their rights found a professional reading them whom they never chose (a
review). The running authorisations given so far are brought under the rule, once: one decided
under a right that has ended since ends now; one decided under a right still running ends no later
than it does. No index, no column."""

from ens.core.db import Index, data_migration, fetch, write_transaction

ID = "2026-12-21T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "professionals authorised by a representative: no longer than the representative's right"

INDEXES: list[Index] = []

# The running authorisations decided by someone other than the holder who is, or was, a
# representative of the space (few: a representative's decisions, a year at most), with the right
# they hold there now, if any.
_DECIDED_BY_A_REPRESENTATIVE = """
SELECT sp.space_id, sp.id, sp.until, sp.updated_at, r.until AS right_until, r.created_at AS right_created_at
FROM space_professionals sp JOIN spaces s ON s.id = sp.space_id
LEFT JOIN representatives r ON r.space_id = sp.space_id AND r.account_id = sp.decided_by AND r.revoked_at IS NULL
WHERE sp.status = 'authorised' AND sp.until > {} AND sp.decided_by IS NOT NULL
  AND (s.holder_account_id IS NULL OR sp.decided_by <> s.holder_account_id)
  AND EXISTS (SELECT 1 FROM representatives any_r
              WHERE any_r.space_id = sp.space_id AND any_r.account_id = sp.decided_by)
"""


async def bound_to_their_deciders_right() -> int:
    """Cut each such authorisation to the end of the right it was given under; how many were cut."""
    from ens.core import clock
    from ens.core.clock import aware

    now = clock.now()
    cut = 0
    async with write_transaction():
        for row in await fetch(_DECIDED_BY_A_REPRESENTATIVE, now):
            running = row["right_created_at"] is not None and aware(row["right_created_at"]) <= aware(row["updated_at"])
            if not running:
                ends = now  # the right it was given under has ended (a later one brings nothing back)
            elif row["right_until"] is not None and aware(row["right_until"]) < aware(row["until"]):
                ends = aware(row["right_until"])
            else:
                continue
            await fetch(
                "UPDATE space_professionals SET until = {}, updated_at = {} WHERE space_id = {} AND id = {}",
                ends,
                now,
                row["space_id"],
                row["id"],
            )
            cut += 1
    return cut


forwards = data_migration(ID, "spaces", description=DESCRIPTION, run=bound_to_their_deciders_right)
