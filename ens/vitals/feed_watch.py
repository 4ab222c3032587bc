"""A warning when a long write transaction holds back every space's change feed (PostgreSQL).

The feed shows a change once every transaction older than it has ended (``ens.vitals.feed``). A
write left open (a stuck import, ``ens partition`` on a big table, a psql session in BEGIN) keeps
the changes of every space written after it out of the feed until it ends: phones sync nothing
new, silently. Each server process looks every ``interval`` seconds for the oldest transaction of
the PostgreSQL server that holds a transaction id; past ``ENS_FEED_HOLD_WARN_SECONDS`` it logs
``feed_held_back`` (process id, application name, state, how long), once per transaction: what an
operator's alerting watches. Never the statement's text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from ens.core.db import current, fetch_one, is_postgres
from ens.core.periodic import Every

log = logging.getLogger("ens.vitals")

# The oldest running transaction that holds an id (a write), or prepared transaction (two-phase
# commit, which holds its id until committed): the feed's horizon is its id. PostgreSQL shows the
# transactions of other roles' sessions only to a role with ``pg_read_all_stats`` (README).
_OLDEST_WRITE = """
SELECT pid, application_name, state, started, extract(epoch FROM clock_timestamp() - started) AS open_seconds
FROM (SELECT pid, application_name, state, xact_start AS started
      FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND xact_start IS NOT NULL
      UNION ALL
      SELECT 0, 'prepared transaction ' || gid, 'prepared', prepared FROM pg_prepared_xacts) AS writes
ORDER BY started
LIMIT 1
"""


@dataclass(frozen=True)
class HeldBack:
    pid: int
    application_name: str
    state: str
    started: datetime
    open_seconds: float


async def oldest_write() -> HeldBack | None:
    """The oldest write transaction running on the database server, or ``None`` (SQLite: none can
    hold another writer's changes back, there is one writer at a time)."""
    if not is_postgres(current()):
        return None
    row = await fetch_one(_OLDEST_WRITE)
    if row is None:
        return None
    return HeldBack(
        pid=int(row["pid"]),
        application_name=str(row["application_name"] or ""),
        state=str(row["state"] or ""),
        started=row["started"],
        open_seconds=float(row["open_seconds"]),
    )


class FeedWatch:
    """Started by each server process (``ens.app.lifespan``); ``warn_seconds`` 0 turns it off."""

    def __init__(self, warn_seconds: int) -> None:
        self.warn_seconds = warn_seconds
        self.interval = max(1.0, warn_seconds / 4)
        self._every = Every(self.interval, self.check, log=log, failure="the change feed's horizon could not be read")
        self._warned: tuple[int, datetime] | None = None

    async def check(self) -> HeldBack | None:
        """One look: the transaction holding the feed back past the limit (warned once), or ``None``."""
        held = await oldest_write()
        if held is None or held.open_seconds < self.warn_seconds:
            return None
        if (held.pid, held.started) != self._warned:
            self._warned = (held.pid, held.started)
            log.warning(
                "a write transaction open for %d s holds back every space's change feed",
                int(held.open_seconds),
                extra={
                    "event": "feed_held_back",
                    "pid": held.pid,
                    "application_name": held.application_name,
                    "state": held.state,
                    "open_seconds": int(held.open_seconds),
                },
            )
        return held

    async def start(self) -> None:
        if self.warn_seconds > 0 and is_postgres(current()):
            self._every.start()

    async def stop(self) -> None:
        await self._every.stop()
