"""Notices owed until told, and the one way each is told: claim, tell, settle (:class:`OwedNotice`).

Two shapes of owed notice share it:

- **A flag on the row the notice is about**: a document shown to its holder
  (``documents.release_notice_due``), an emergency access opened (``emergency_accesses.notice_due``),
  set from the transaction that makes the notice owed; the request that caused it tells at once, and
  ``ens notify`` tells what is still owed (``ens.spaces.owed_notices``, across spaces). The parents'
  notice of a coming 18th birthday (``space_notices.owed``) is one too, its row written owed by the
  first ``ens notify`` to find it due, and kept once told (``ens.spaces.adulthood``).
- **A row that is the notice** (``owed_security_notices``): the login's security notices (a new
  device, a recovery code used, a factor replaced...) and the notice to a representative that the
  space they represented was erased, kept only when the mail server did not take them at once
  (:func:`send_owed_notice`), gone once told. An account's own notices, no space's data (no
  ``space_id``: an erased space's notice outlives it).

The protocol:

- **Claim: a lease.** The claimant writes until when its claim holds (the row's lease column,
  :data:`NOTICE_LEASE` from now), in a transaction of its own; the notice stays owed. No one else
  takes it while the lease lives: the claim is one conditional ``UPDATE``, which on PostgreSQL waits
  for a concurrent claimant's commit and then reads the row again (and sees its lease), and on
  SQLite runs under the write lock. The request and ``ens notify``, or two runs of ``ens notify``,
  never send it twice while the lease lives.
- **Tell**: the e-mails, outside any transaction.
- **Settle**: told to each recipient, or no one to tell (every recipient turned that notice off):
  no longer owed (the flag cleared, or the row gone). The mail server failed for some recipients
  (down, a 4xx): owed again at once (the lease given back), to them alone, for the next run: the
  recipients already told are kept on the row (its ``told`` column) and told no second time. A
  notice told to one parent of two was settled, and the other never told (a review). A recipient
  the mail server refused for good (``550 5.1.1``, no such user:
  :func:`ens.core.mail.refused_for_good`) is given up on, as if told: it was owed again at every
  run, and failed each (a review). Only the claimant's own lease is settled: a write that says
  anew whether the notice is owed (a document held back, then released again) clears the lease,
  and the older claim's settling then changes nothing.

A process that stops after its claim and before settling (killed, the machine gone) leaves the
notice owed and the lease running: once the lease has passed, the notice is due again, and the next
``ens notify`` sends it. The price: one that stops between the mail server's answer and the
settling is sent again once the lease has passed (twice, rather than never, for a notice that must
not be lost).

``ens notify`` finds the due rows in their table's order (:meth:`OwedNotice.due`), each kind through
an index holding only what is still owed (a partial index on the flag; the security notices' table
holds nothing else): at tens of millions of rows, only the few notices still owed are read.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID
from zoneinfo import ZoneInfo

from ens.core import clock
from ens.core.clock import aware
from ens.core.db import Row, as_uuid, fetch, write_transaction
from ens.core.mail import Delivery, MailboxFull, Mailer, MailNotSent, RecipientRefused, deliver
from ens.core.pdf import french_date

log = logging.getLogger("ens.mail")

# How long a claim on an owed notice holds. Longer than telling can take: each e-mail waits at most
# SMTP_TIMEOUT_S (10 s) on each of its few exchanges with the mail server (about a minute for one
# that hangs at each), and a notice goes to one to a few people. A notice whose claimant stopped is
# sent by the first ``ens notify`` after this.
NOTICE_LEASE = timedelta(minutes=10)
# How long a notice owed only to full mailboxes waits before it is tried again.
MAILBOX_FULL_WAIT = timedelta(hours=6)
# The notices say times in France's time zone, and say so (an account has no time zone of its own).
_ZONE = ZoneInfo("Europe/Paris")
# ens notify reads the due notices this many at a time.
_BATCH = 500


class Told(NamedTuple):
    """What telling a notice came to: how many the mail server took it for (``reached``), the
    recipients it is owed to no longer (``done``: told now or before, or given up on), and how many
    it is owed to still (``left``: the mail server failed for them; the next run tells them)."""

    reached: int
    done: frozenset[str]
    left: int
    # Of those ``left``, how many because their mailbox is full (:class:`ens.core.mail.MailboxFull`).
    deferred: int = 0


# Tells the notice given its row, as its claim read it, and the recipients told before.
Tell = Callable[[Row, frozenset[str]], Awaitable[Told]]


async def tell_each(
    mailer: Mailer, recipients: Sequence[tuple[str, str]], subject: str, text: str, *, told_before: frozenset[str]
) -> Told:
    """E-mail the notice to each of ``recipients`` (who, as an account id, and at which address)
    but those ``told_before``, one message each."""
    reached, done, left, deferred = 0, set(told_before), 0, 0
    for who, address in recipients:
        if who in told_before:
            continue
        delivery = await deliver(mailer, address, subject, text)
        if delivery in (Delivery.FAILED, Delivery.DEFERRED):
            left += 1
            deferred += int(delivery is Delivery.DEFERRED)
            continue
        reached += int(delivery is Delivery.SENT)
        done.add(who)
    return Told(reached, frozenset(done), left, deferred)


@dataclass(frozen=True)
class OwedNotice:
    """A kind of notice owed until told, as its table records it."""

    table: str
    # The alias ens notify's statement gives the table.
    alias: str
    # Until when a claim holds (null: unclaimed).
    lease: str
    # The column the due rows come in the order of (their index's).
    order: str
    # Owed: set by the write that makes it so, cleared once told. None: the row is the notice,
    # owed while it is there, deleted once told.
    flag: str | None = None
    # The columns naming one notice (the table's key); the last is ``id``.
    key: tuple[str, ...] = ("space_id", "id")
    # What else ens notify reads of each due notice (", p.x AS y"), and the joins that gives them.
    reads: str = ""
    joins: str = ""
    # The recipients already told while the notice is still owed to others (their account ids,
    # space-separated; null when none). None: a notice of one recipient (the row is the notice).
    told: str | None = None

    def _which(self, alias: str = "") -> str:
        return " AND ".join(f"{alias}{column} = {{}}" for column in self.key)

    async def tell_if_owed(
        self, key: Sequence[Any], tell: Tell, *, reads: str = "id", ready_by: datetime | None = None
    ) -> bool:
        """Claim the notice named by ``key`` if it is owed and unclaimed (or its claim's lease has
        passed), and, with ``ready_by``, its ``order`` column is not past that; then ``tell`` (given
        the row as the claim read it: its ``reads`` columns, and the recipients told before), and
        settle. Whether anyone was told."""
        now = clock.now()
        until = now + NOTICE_LEASE
        flag = f" AND {self.flag}" if self.flag else ""
        ready, ready_args = (f" AND {self.order} <= {{}}", [ready_by]) if ready_by is not None else ("", [])
        returning = f"{reads}, {self.told} AS told_before" if self.told else reads
        async with write_transaction():
            claimed = await fetch(
                f"UPDATE {self.table} SET {self.lease} = {{}} WHERE {self._which()}{flag} "
                f"AND ({self.lease} IS NULL OR {self.lease} <= {{}}){ready} RETURNING {returning}",
                until,
                *key,
                now,
                *ready_args,
            )
        if not claimed:
            return False
        told_before = frozenset(str(claimed[0]["told_before"] or "").split()) if self.told else frozenset()
        told = await tell(claimed[0], told_before)
        # Some not reached (the mail server failing for them): owed again to them, for the next run.
        owed_again = told.left > 0
        # Owed only to full mailboxes: not tried again before MAILBOX_FULL_WAIT (a lease no one
        # holds). ``ens notify --owed-only`` runs every few minutes, and knocked at a full mailbox
        # some 288 times a day (a review).
        waits_until = now + MAILBOX_FULL_WAIT if owed_again and told.deferred == told.left else None
        async with write_transaction():
            # Our own claim only (its lease, to the microsecond: a later claim's ends later).
            mine = f"WHERE {self._which()} AND {self.lease} = {{}}"
            if self.flag and self.told:
                done = " ".join(sorted(told.done)) if owed_again and told.done else None
                await fetch(
                    f"UPDATE {self.table} SET {self.flag} = {{}}, {self.told} = {{}}, {self.lease} = {{}} {mine}",
                    owed_again,
                    done,
                    waits_until,
                    *key,
                    until,
                )
            elif self.flag:
                await fetch(
                    f"UPDATE {self.table} SET {self.flag} = {{}}, {self.lease} = {{}} {mine}",
                    owed_again,
                    waits_until,
                    *key,
                    until,
                )
            elif owed_again:
                await fetch(f"UPDATE {self.table} SET {self.lease} = {{}} {mine}", waits_until, *key, until)
            else:
                await fetch(f"DELETE FROM {self.table} {mine}", *key, until)
        return told.reached > 0

    async def owed(self, *, ready_by: datetime) -> int:
        """How many notices of this kind are owed, their ``order`` column not past ``ready_by``
        (claimed or not), read through the index :meth:`due` walks."""
        a = self.alias
        flag = f"{a}.{self.flag} AND " if self.flag else ""
        rows = await fetch(f"SELECT COUNT(*) AS n FROM {self.table} {a} WHERE {flag}{a}.{self.order} <= {{}}", ready_by)
        return int(rows[0]["n"])

    async def due(self, mailer: Mailer, *, ready_by: datetime | None = None) -> AsyncIterator[Row]:
        """``ens notify``: each notice still owed and not under a live claim (with ``ready_by``,
        those whose ``order`` column is not past it), oldest first, as its row (the ``key``,
        ``order`` and the ``reads``), to claim with :meth:`tell_if_owed`. Once ``mailer`` has
        stopped (the mail server unreachable), none more: the rest stay owed, for the next run."""
        a = self.alias
        columns = ", ".join(f"{a}.{column}" for column in self.key)
        flag = f"{a}.{self.flag} AND " if self.flag else ""
        after: tuple[datetime, UUID] | None = None
        while True:
            # In order, from where the last batch ended: a notice owed again (the mail server
            # failing) waits for the next run instead of being tried again and again in this one.
            ready = f" AND {a}.{self.order} <= {{}}" if ready_by is not None else ""
            since = f" AND ({a}.{self.order}, {a}.id) > ({{}}, {{}})" if after else ""
            rows = await fetch(
                f"SELECT {columns}, {a}.{self.order}{self.reads} FROM {self.table} {a}{self.joins} "
                f"WHERE {flag}({a}.{self.lease} IS NULL OR {a}.{self.lease} <= {{}}){ready}{since} "
                f"ORDER BY {a}.{self.order}, {a}.id LIMIT {{}}",
                clock.now(),
                *([ready_by] if ready_by is not None else []),
                *(after or ()),
                _BATCH,
            )
            for row in rows:
                if mailer.stopped:
                    return
                yield row
            if len(rows) < _BATCH:
                return
            after = (rows[-1][self.order], as_uuid(rows[-1]["id"]))


# The notices kept when the mail server did not take them (:func:`send_owed_notice`); the index
# owed_security_notices_due (created_at, id) orders them.
OWED_MAIL = OwedNotice("owed_security_notices", alias="o", lease="lease_until", order="created_at", key=("id",))


async def send_owed_notice(mailer: Mailer, account_id: UUID, to: str, subject: str, text: str) -> None:
    """Send a notice to an account that must not be lost (a security notice, a space's erasure);
    one the mail server does not take is kept, owed, and ``ens notify`` sends it until it goes
    (:func:`send_owed_notices`). It was only logged: the one that matters in an account takeover
    ("un code de secours vient d'être utilisé") was lost for good (an outside audit of the e-mails),
    as was a representative's notice that the space they represented was erased (a review). A mail
    server outage never blocks the request. One that can never go is not kept: to an address no
    message can carry (:class:`MailNotSent`), or a recipient the mail server refused for good
    (:class:`RecipientRefused`: no such user)."""
    try:
        await mailer.send(to, subject, text=text)
    except MailNotSent:
        log.error("notice not sent: the address cannot carry a message")
    except RecipientRefused as exc:
        log.warning("notice undeliverable: the mail server refused its recipient for good (%s)", exc.code)
    except OSError as exc:
        # A full mailbox is no fault of the service's (:class:`MailboxFull`): said, not alarmed.
        (log.warning if isinstance(exc, MailboxFull) else log.error)(
            "notice not sent, owed to the next ens notify: %s", type(exc).__name__
        )
        async with write_transaction():
            await fetch(
                "INSERT INTO owed_security_notices (id, account_id, to_address, subject, body, created_at) "
                "VALUES ({}, {}, {}, {}, {}, {})",
                uuid.uuid4(),
                account_id,
                to,
                subject,
                text,
                clock.now(),
            )


async def send_owed_notices(mailer: Mailer) -> int:
    """``ens notify``: the notices :func:`send_owed_notice` kept, oldest first, each claimed so that
    two runs at once send it once, and gone once sent; one the mail server fails again waits for the
    next run, as do all the rest once the mailer has stopped (``ens notify``'s, the mail server
    unreachable). How many were sent."""

    async def tell_late(notice: Row, told_before: frozenset[str]) -> Told:
        # Its text says "just now" of what happened then: the reader is told when that was.
        then = aware(notice["created_at"]).astimezone(_ZONE)
        late = (
            f"Ce message aurait dû vous parvenir le {french_date(then.date())} à {then:%H:%M} (heure de Paris) ; "
            "le serveur de messagerie ne l'a pas pris alors.\n\n"
        )
        text = str(notice["body"]).replace("Bonjour,\n\n", "Bonjour,\n\n" + late, 1)
        try:
            await mailer.send(str(notice["to_address"]), str(notice["subject"]), text=text)
        except MailNotSent:
            return Told(0, frozenset(), 0)  # it never will: not kept
        except RecipientRefused as exc:
            log.warning("owed notice undeliverable: the mail server refused its recipient for good (%s)", exc.code)
            return Told(0, frozenset(), 0)
        except MailboxFull as exc:
            log.warning("owed notice deferred: the recipient's mailbox is full (%s)", exc.code)
            return Told(0, frozenset(), 1, deferred=1)
        except OSError as exc:
            log.error("owed notice not sent again: %s", type(exc).__name__)
            return Told(0, frozenset(), 1)
        return Told(1, frozenset(), 0)

    sent = 0
    async for row in OWED_MAIL.due(mailer):
        reads = "to_address, subject, body, created_at"
        sent += await OWED_MAIL.tell_if_owed((as_uuid(row["id"]),), tell_late, reads=reads)
    return sent
