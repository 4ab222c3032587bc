"""A professional a parent authorised on a child's space is authorised no later than the child's
18th birthday (``ens.spaces.professionals.decision_end``). Before, the authorisation ran its year
whatever the child's age, and kept reading the young adult's space after they took it over (a
review). The authorisations given so far by an account that was then a parent of that space are
cut to that day, once; no index, no column."""

from ens.core.db import Index, data_migration, fetch, write_transaction

ID = "2026-12-12T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "professionals authorised by a parent: until the 18th birthday at the latest"

INDEXES: list[Index] = []

# The authorisations a parent of the space decided, still running: few (a child's space, a year).
_PARENTS_DECISIONS = """
SELECT sp.id AS entry_id, sp.until, s.id, s.status, s.timezone, s.birthdate, s.sex, s.given_name,
       s.family_name, s.holder_account_id
FROM space_professionals sp JOIN spaces s ON s.id = sp.space_id
WHERE sp.status = 'authorised' AND s.birthdate IS NOT NULL AND sp.until IS NOT NULL
  AND EXISTS (SELECT 1 FROM representatives r
              WHERE r.space_id = sp.space_id AND r.account_id = sp.decided_by AND r.kind = 'parent')
"""


async def cut_to_adulthood() -> int:
    """Each such authorisation ends no later than the child's 18th birthday; how many were cut."""
    from ens.core.clock import aware
    from ens.spaces.door import adulthood, space_ref

    cut = 0
    async with write_transaction():
        for row in await fetch(_PARENTS_DECISIONS):
            space = space_ref(row)
            ends = adulthood(space)
            if aware(row["until"]) > ends:
                await fetch(
                    "UPDATE space_professionals SET until = {} WHERE space_id = {} AND id = {}",
                    ends,
                    space.id,
                    row["entry_id"],
                )
                cut += 1
    return cut


forwards = data_migration(ID, "spaces", description=DESCRIPTION, run=cut_to_adulthood)
