"""Notices owed until sent: a document shown to its holder, an emergency access opened. The row says
so, from the transaction that makes it so (a flag: ``documents.release_notice_due``,
``emergency_accesses.notice_due``); the request that caused it tells at once, and ``ens notify``
tells what is still owed. Both go through :class:`OwedNotice`, the one way such a notice is told:
claim, tell, settle.

- **Claim: a lease.** The claimant writes until when its claim holds (the row's lease column,
  :data:`NOTICE_LEASE` from now), in a transaction of its own; the flag stays set. No one else
  takes the notice while the lease lives: the claim is one conditional ``UPDATE``, which on
  PostgreSQL waits for a concurrent claimant's commit and then reads the row again (and sees its
  lease), and on SQLite runs under the write lock. The request and ``ens notify``, or two runs of
  ``ens notify``, never send it twice while the lease lives.
- **Tell**: the e-mails, outside any transaction.
- **Settle**: told, or no one to tell (every recipient turned that notice off): no longer owed.
  The mail server took it for none of its recipients: owed again at once (the lease given back),
  for the next run. Only the claimant's own lease is settled: a write that says anew whether the
  notice is owed (a document held back, then released again) clears the lease, and the older
  claim's settling then changes nothing.

A process that stops after its claim and before settling (killed, the machine gone) leaves the
flag set and the lease running: once the lease has passed, the notice is due again, and the next
``ens notify`` sends it. Before, the claim cleared the flag, and such a notice was lost for good.
The price: one that stops between the mail server's answer and the settling is sent again once
the lease has passed (twice, rather than never, for a notice the holder must get).

``ens notify`` finds the due rows across spaces, on purpose, through the partial index on the flag
(``WHERE <flag>``): at tens of millions of rows it holds only the few notices still owed, the ones
under a lease with them (their lease is read from those few rows).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ens.core import clock
from ens.core.db import Row, as_uuid, fetch, write_transaction
from ens.core.mail import Mailer
from ens.core.owed_mail import NOTICE_LEASE
from ens.spaces.door import SpaceRef
from ens.spaces.notifications import SpacesReadOnce, Told

# ens notify reads the due notices this many at a time.
_BATCH = 500

Tell = Callable[[Row], Awaitable[Told]]
Announce = Callable[[SpaceRef, Row], Awaitable[bool]]


@dataclass(frozen=True)
class OwedNotice:
    """A kind of notice owed until sent, as its table records it."""

    table: str
    # The alias ens notify's statement gives the table.
    alias: str
    # Owed: set by the write that makes it so, cleared once told.
    flag: str
    # Until when a claim holds (null: unclaimed).
    lease: str
    # The column the flag's partial index orders by: the due rows come in its order.
    order: str
    # What else ens notify reads of each due notice (", p.x AS y"), and the joins that gives them.
    reads: str = ""
    joins: str = ""

    async def tell_if_owed(
        self, space_id: UUID, item_id: UUID, tell: Tell, *, reads: str = "id", ready_by: datetime | None = None
    ) -> bool:
        """Claim the notice if it is owed and unclaimed (or its claim's lease has passed), and, with
        ``ready_by``, its ``order`` column is not past that; then ``tell`` (given the row as the
        claim read it: its ``reads`` columns), and settle. Whether anyone was told."""
        now = clock.now()
        until = now + NOTICE_LEASE
        ready, ready_args = (f" AND {self.order} <= {{}}", [ready_by]) if ready_by is not None else ("", [])
        async with write_transaction():
            claimed = await fetch(
                f"UPDATE {self.table} SET {self.lease} = {{}} WHERE space_id = {{}} AND id = {{}} AND {self.flag} "
                f"AND ({self.lease} IS NULL OR {self.lease} <= {{}}){ready} RETURNING {reads}",
                until,
                space_id,
                item_id,
                now,
                *ready_args,
            )
        if not claimed:
            return False
        told = await tell(claimed[0])
        # No one reached (the mail server failing): owed again, for the next run.
        owed_again = told.recipients > 0 and told.reached == 0
        async with write_transaction():
            # Our own claim only (its lease, to the microsecond: a later claim's ends later).
            await fetch(
                f"UPDATE {self.table} SET {self.flag} = {{}}, {self.lease} = NULL "
                f"WHERE space_id = {{}} AND id = {{}} AND {self.lease} = {{}}",
                owed_again,
                space_id,
                item_id,
                until,
            )
        return told.reached > 0

    async def tell_all_owed(self, announce: Announce, mailer: Mailer, *, ready_by: datetime | None = None) -> int:
        """``ens notify``: ``announce`` each notice still owed and not under a live claim (with
        ``ready_by``, those whose ``order`` column is not past it), given its space and its row
        (``space_id``, ``id``, ``order`` and the ``reads``); a space that is gone is skipped. Once
        ``mailer`` has stopped (the mail server unreachable), none more: the rest stay owed, for
        the next run. How many ``announce`` said were told to at least one person."""
        announced = 0
        spaces = SpacesReadOnce()
        after: tuple[datetime, UUID] | None = None
        a = self.alias
        while True:
            # In order, from where the last batch ended: a notice owed again (the mail server
            # failing) waits for the next run instead of being tried again and again in this one.
            ready = f" AND {a}.{self.order} <= {{}}" if ready_by is not None else ""
            since = f" AND ({a}.{self.order}, {a}.id) > ({{}}, {{}})" if after else ""
            due = await fetch(
                f"SELECT {a}.space_id, {a}.id, {a}.{self.order}{self.reads} FROM {self.table} {a}{self.joins} "
                f"WHERE {a}.{self.flag} AND ({a}.{self.lease} IS NULL OR {a}.{self.lease} <= {{}}){ready}{since} "
                f"ORDER BY {a}.{self.order}, {a}.id LIMIT {{}}",
                clock.now(),
                *([ready_by] if ready_by is not None else []),
                *(after or ()),
                _BATCH,
            )
            for row in due:
                if mailer.stopped:
                    return announced
                space = await spaces.get(as_uuid(row["space_id"]))
                if space is not None and await announce(space, row):
                    announced += 1
            if len(due) < _BATCH:
                return announced
            after = (due[-1][self.order], as_uuid(due[-1]["id"]))
