"""Request rate limits that hold across processes (issue 16, point 4).

Three limits, per minute, each configurable (0 turns one off): every request made on behalf of an
account (its sessions, and the apps it connected: ``ENS_RATE_LIMIT_ACCOUNT_PER_MINUTE``), every
request of one grant (one phone session, or one app on one space:
``ENS_RATE_LIMIT_GRANT_PER_MINUTE``), and the login and OAuth endpoints per client address, before
anyone is known (``ENS_RATE_LIMIT_ADDRESS_PER_MINUTE``). Past a limit: 429, problem+json,
``Retry-After`` the seconds left in the minute.

How it stays off the request path: each process counts in memory and, once a second, adds its
counts to the shared table ``rate_counters`` in one statement, which answers each key's total over
every process. A key this process counts a tenth of its limit for between two flushes is added to
the table at once, on the request path, and its total learnt (one statement every tenth of a limit,
for the busiest keys only). A request is refused when the total last learnt, plus what this process
is sending to the table, plus what it counted since, reaches the limit, compared and counted with no
wait in between: one process holds a limit exactly, and a burst spread over several passes it only
by what the others counted and have not added yet (a tenth of it each, about). Before, each process
decided on the total of the last flush and compared a count read before a wait: one ``ens serve``
let all 80 concurrent requests of a limit of 20 through, and two processes each a whole limit (an
outside audit of several processes). Windows are fixed minutes (a burst across a minute's boundary
can pass twice the limit; the next minute catches up). ``ens purge`` removes windows older than an
hour.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from ens.core.db import delete_in_batches, fetch, values_insert_sql
from ens.core.errors import RateLimited
from ens.core.periodic import Every
from ens.core.remembered import Remembered

log = logging.getLogger("ens.security")

WINDOW_S = 60
FLUSH_EVERY_S = 1.0
_KEYS_PER_STATEMENT = 300
_COLUMNS = ("key", "window_start", "hits")
_UPSERT = "ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_counters.hits + excluded.hits RETURNING key, hits"


@dataclass(frozen=True)
class Limits:
    account: int
    grant: int
    address: int

    def of(self, kind: str) -> int:
        return int(getattr(self, kind))


class RateLimiter:
    """One per process (built by ``ens.app``); started and stopped with the app's lifespan."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.window = self._now_window()
        self.local: dict[str, int] = {}  # counted here since the last flush, this window
        self.known: dict[str, int] = {}  # totals the table last gave, this window
        self.sending: dict[str, int] = {}  # counted here, on their way to the table (this window)
        self.warned: set[str] = set()
        self._lock = asyncio.Lock()
        self._adding = asyncio.Lock()
        self._turning = asyncio.Lock()
        self._every = Every(FLUSH_EVERY_S, self.flush, log=log, failure="rate counters not flushed")
        self._limit_of = {kind: limits.of(kind) for kind in _WORDS}

    @staticmethod
    def _now_window() -> int:
        return int(time.time() // WINDOW_S)

    async def check(self, keys: Iterable[tuple[str, str]]) -> None:
        """Count one request for each (kind, id); 429 if one is past its limit."""
        await self.check_keys([(kind, f"{kind}:{ident}") for kind, ident in keys])

    async def check_keys(self, keys: Sequence[tuple[str, str]]) -> None:
        """:meth:`check` with each key already written (``kind:id``, see :func:`caller_keys`).

        Every wait comes first (a new window's flush, the keys counted here past a tenth of their
        limit added to the table); then, with none until they are counted, each key is compared
        with everything this process knows of it: the table's total, what it is sending there,
        what it counted since. Compared across a wait, a burst of concurrent requests each saw
        the count as it was before the wait, and all passed (80 of a limit of 20 on one process:
        an outside audit)."""
        window = self._now_window()
        if window != self.window:
            await self._turn(window)
        for kind, key in keys:
            limit = self._limit_of[kind]
            if limit > 0 and self.local.get(key, 0) >= max(1, limit // 10):
                # One add at a time: the requests of a burst wait here for the total it learns.
                async with self._adding:
                    if self.local.get(key, 0) >= max(1, limit // 10):
                        await self._add_now(key)
        for kind, key in keys:
            limit = self._limit_of[kind]
            if limit > 0 and self.known.get(key, 0) + self.sending.get(key, 0) + self.local.get(key, 0) >= limit:
                retry = WINDOW_S - int(time.time()) % WINDOW_S
                if key not in self.warned:
                    self.warned.add(key)
                    log.warning("rate limit reached", extra={"event": "rate_limited", "limit": kind})
                raise RateLimited(
                    f"Too many requests ({limit} a minute for one {_WORDS[kind]}); try again in {retry} s.",
                    retry_after=retry,
                )
        counts = self.local
        for kind, key in keys:
            if self._limit_of[kind] > 0:
                counts[key] = counts.get(key, 0) + 1

    async def _turn(self, window: int) -> None:
        """The minute turned: the last one's counts flushed, then this process starts ``window``
        afresh, once. The requests that came as it turned wait for that one turn; each turned it
        again after its own wait, dropping the totals the flush before it had learnt, and every
        request of a burst at the turn passed (80 of a limit of 20: an outside review)."""
        async with self._turning:
            if window == self.window:
                return  # turned by a request that came with this one
            await self.flush()
            self.window, self.local, self.known, self.sending, self.warned = window, {}, {}, {}, set()

    async def _add_now(self, key: str) -> None:
        """This process's count of ``key`` since the last flush, added to the table now (taken out
        of ``local`` first, so no flush adds it again); the total over every process learnt."""
        await self._send([(key, self.local.pop(key, 0))], self.window * WINDOW_S)

    async def flush(self) -> None:
        """Add this process's counts to the shared table; learn every touched key's total."""
        async with self._lock:
            if not self.local:
                return
            pending, self.local = self.local, {}
            await self._send(list(pending.items()), self.window * WINDOW_S)

    async def _send(self, items: Sequence[tuple[str, int]], window_start: int) -> None:
        """``items`` (counts taken out of ``local``) added to the table, a statement a chunk of keys,
        and the totals it answers learnt; what a failed statement did not send is kept."""
        sent = 0
        try:
            for start in range(0, len(items), _KEYS_PER_STATEMENT):
                chunk = items[start : start + _KEYS_PER_STATEMENT]
                sql = values_insert_sql("rate_counters", _COLUMNS, rows=len(chunk), suffix=_UPSERT)
                values = [value for key, count in chunk for value in (key, window_start, count)]
                async with self._sending(dict(chunk)):
                    rows = await fetch(sql, *values)
                sent = start + len(chunk)
                self._learn(window_start, rows)
        except BaseException:
            self._keep(items[sent:], window_start)
            raise

    @asynccontextmanager
    async def _sending(self, counts: dict[str, int]) -> AsyncIterator[None]:
        """``counts`` are on their way to the table: still counted by this process's checks."""
        sending = self.sending
        for key, count in counts.items():
            sending[key] = sending.get(key, 0) + count
        try:
            yield
        finally:
            for key, count in counts.items():
                left = sending.get(key, 0) - count
                if left > 0:
                    sending[key] = left
                else:
                    sending.pop(key, None)

    def _keep(self, items: Sequence[tuple[str, int]], window_start: int) -> None:
        """Counts whose statement failed (its connection lost, a database restarting) or was
        cancelled: this process's own again, for the next add or flush. Dropped, they let a key
        past its limit by as many (20 more requests after 2, of a limit of 20: a review). One the
        table took before its answer was lost is then counted twice, on the safe side."""
        if self.window * WINDOW_S != window_start:
            return  # the minute has turned: its counts limit nothing now
        local = self.local
        for key, count in items:
            local[key] = local.get(key, 0) + count

    def _learn(self, window_start: int, rows: Sequence[Any]) -> None:
        """The totals over every process the table answered, for this window (never lowered: an
        answer read before another may arrive after it)."""
        if self.window * WINDOW_S != window_start:
            return
        known = self.known
        for row in rows:
            key, hits = str(row["key"]), int(row["hits"])
            if hits > known.get(key, 0):
                known[key] = hits

    async def start(self) -> None:
        # A failed flush keeps its counts: the next one retries.
        self._every.start()

    async def stop(self) -> None:
        await self._every.stop()
        try:
            await self.flush()
        except Exception:
            log.exception("rate counters not flushed at shutdown")


_WORDS = {"account": "account", "grant": "session or app", "address": "client address"}


async def purge_old_windows(*, older_than_s: int = 3600) -> int:
    """Windows past an hour (``ens purge``)."""
    # Counted, not read back: after a busy day the windows are many (500,000 held 145 MB as rows).
    # In batches along the index by window (m2026_12_26_0917): at the country's scale a day is tens of
    # millions of windows, which one DELETE read the whole table for, in one transaction that held
    # every space's change feed back as long as it ran (an outside audit).
    return await delete_in_batches("rate_counters", "window_start", int(time.time()) - older_than_s)


# The login's and OAuth's endpoints, limited per client address (no one is known there yet).
_ADDRESS_LIMITED = ("/oauth/", "/login/", "/dev-idp/")


class RateLimitMiddleware:
    """After the bearer token is read: an account's and a grant's requests; the login's and OAuth's
    per client address."""

    def __init__(self, app: Any, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter
        # The keys of the callers seen lately, by the caller object the token cache hands out for
        # every request of a token (ens.auth.tokens): writing them was most of this check's cost.
        # Each entry keeps its caller alive, so an id here is never another object's.
        self._keys: Remembered[int, tuple[Any, tuple[tuple[str, str], ...]]] = Remembered(4096)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            user = scope.get("user")
            known = self._keys.get(id(user))
            if known is not None and known[0] is user:
                await self.limiter.check_keys(known[1])
            elif (keys := caller_keys(user)) is not None:
                self._keys.put(id(user), (user, keys))
                await self.limiter.check_keys(keys)
            elif str(scope.get("path", "")).startswith(_ADDRESS_LIMITED):
                client = scope.get("client") or ("unknown", 0)
                await self.limiter.check((("address", str(client[0])),))
        await self.app(scope, receive, send)


def caller_keys(user: Any) -> tuple[tuple[str, str], ...] | None:
    """The account's and the grant's keys of a signed-in caller; ``None`` for anyone else."""
    account, grant = getattr(user, "account_id", None), getattr(user, "grant_id", None)
    if account is None or grant is None:
        return None
    return (("account", f"account:{account}"), ("grant", f"grant:{grant}"))
