"""Notices owed until sent: a document shown to its holder, an emergency access opened. The row says
so, from the transaction that makes it so (a flag: ``documents.release_notice_due``,
``emergency_accesses.notice_due``); the request that caused it tells at once, and ``ens notify``
tells what is still owed. Both go through :class:`OwedNotice`, the one way such a notice is told:
claim (the flag cleared, in a transaction of its own: the request and ``ens notify``, or two runs
of ``ens notify``, never both take it), tell (the e-mails, outside any transaction), and owed
again when the mail server took it for none of its recipients.

``ens notify`` finds the due rows across spaces, on purpose, through the partial index on the flag
(``WHERE <flag>``): at tens of millions of rows it holds only the few notices still owed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ens.core.db import Row, as_uuid, fetch, write_transaction
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
    # Owed: set by the write that makes it so, cleared by the claim.
    flag: str
    # The column the flag's partial index orders by: the due rows come in its order.
    order: str
    # What else ens notify reads of each due notice (", p.x AS y"), and the joins that gives them.
    reads: str = ""
    joins: str = ""

    async def tell_if_owed(
        self, space_id: UUID, item_id: UUID, tell: Tell, *, reads: str = "id", ready_by: datetime | None = None
    ) -> bool:
        """Claim the notice if it is owed and, with ``ready_by``, its ``order`` column is not past
        that; then ``tell`` (given the row as the claim read it: its ``reads`` columns). Owed again
        when the mail server took it for none of its recipients (unless a write said meanwhile that
        it is not owed). Whether anyone was told."""
        ready, ready_args = (f" AND {self.order} <= {{}}", [ready_by]) if ready_by is not None else ("", [])
        async with write_transaction():
            claimed = await fetch(
                f"UPDATE {self.table} SET {self.flag} = FALSE WHERE space_id = {{}} AND id = {{}} AND {self.flag}"
                f"{ready} RETURNING {reads}",
                space_id,
                item_id,
                *ready_args,
            )
        if not claimed:
            return False
        told = await tell(claimed[0])
        if told.recipients and not told.reached:
            # No one reached (the mail server failing): owed again, for the next run.
            async with write_transaction():
                await fetch(
                    f"UPDATE {self.table} SET {self.flag} = TRUE WHERE space_id = {{}} AND id = {{}} "
                    f"AND NOT {self.flag}{ready}",
                    space_id,
                    item_id,
                    *ready_args,
                )
            return False
        return told.reached > 0

    async def tell_all_owed(self, announce: Announce, *, ready_by: datetime | None = None) -> int:
        """``ens notify``: ``announce`` each notice still owed (with ``ready_by``, those whose
        ``order`` column is not past it), given its space and its row (``space_id``, ``id``,
        ``order`` and the ``reads``); a space that is gone is skipped. How many ``announce`` said
        were told to at least one person."""
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
                f"WHERE {a}.{self.flag}{ready}{since} ORDER BY {a}.{self.order}, {a}.id LIMIT {{}}",
                *([ready_by] if ready_by is not None else []),
                *(after or ()),
                _BATCH,
            )
            for row in due:
                space = await spaces.get(as_uuid(row["space_id"]))
                if space is not None and await announce(space, row):
                    announced += 1
            if len(due) < _BATCH:
                return announced
            after = (due[-1][self.order], as_uuid(due[-1]["id"]))
