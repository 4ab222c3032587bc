"""``ens notify``'s walk over the notices owed on a space's rows (a document shown to its holder, an
emergency access opened: :class:`ens.core.owed_mail.OwedNotice`, whose doc says how each is
claimed, told and settled), each with its space.

The due rows are found across spaces, on purpose, through the partial index on the flag (``WHERE
<flag>``): at tens of millions of rows it holds only the few notices still owed, the ones under a
lease with them (their lease is read from those few rows).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from ens.core.db import Row, as_uuid
from ens.core.mail import Mailer
from ens.core.owed_mail import OwedNotice
from ens.spaces.door import SpaceRef
from ens.spaces.notifications import SpacesReadOnce

Announce = Callable[[SpaceRef, Row], Awaitable[bool]]


async def announce_all_owed(
    notice: OwedNotice, announce: Announce, mailer: Mailer, *, ready_by: datetime | None = None
) -> int:
    """``ens notify``: ``announce`` each notice of the kind ``notice`` still owed and not under a
    live claim (:meth:`OwedNotice.due`), given its space and its row; a space that is gone is
    skipped. How many ``announce`` said were told to at least one person."""
    announced = 0
    spaces = SpacesReadOnce()
    async for row in notice.due(mailer, ready_by=ready_by):
        space = await spaces.get(as_uuid(row["space_id"]))
        if space is not None and await announce(space, row):
            announced += 1
    return announced
