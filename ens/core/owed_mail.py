"""Notices to an account that must not be lost, owed until sent (``owed_security_notices``): the
login's security notices (a new device, a recovery code used, a factor replaced...), and the
notice to a representative that the space they represented was erased. Sent at once; one the mail
server does not take is kept, and ``ens notify`` sends it until it goes, each claimed under a
lease (:data:`NOTICE_LEASE`) so that two runs send it once. The table holds only what is still owed;
an account's own notices, no space's data (no ``space_id``: an erased space's notice outlives it)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from ens.core import clock
from ens.core.clock import aware
from ens.core.db import as_uuid, fetch, write_transaction
from ens.core.mail import Mailer, MailNotSent
from ens.core.pdf import french_date

log = logging.getLogger("ens.mail")

# How long a claim on an owed notice holds. Longer than telling can take: each e-mail waits at most
# SMTP_TIMEOUT_S (10 s) on each of its few exchanges with the mail server (about a minute for one
# that hangs at each), and a notice goes to one to a few people. A notice whose claimant stopped is
# sent by the first ``ens notify`` after this (``ens.spaces.owed_notices`` leases the same).
NOTICE_LEASE = timedelta(minutes=10)
# The notices say times in France's time zone, and say so (an account has no time zone of its own).
_ZONE = ZoneInfo("Europe/Paris")


async def send_security_notice(mailer: Mailer, account_id: UUID, to: str, subject: str, text: str) -> None:
    """Send a notice to an account that must not be lost; one the mail server does not take is kept,
    owed, and ``ens notify`` sends it until it goes (:func:`send_owed_security_notices`). It was only
    logged: the one that matters in an account takeover ("un code de secours vient d'être utilisé")
    was lost for good (an outside audit of the e-mails), as was a representative's notice that the
    space they represented was erased (a review). A mail server outage never blocks the request. An
    address no message can carry (:class:`MailNotSent`) is not kept: it never will."""
    try:
        await mailer.send(to, subject, text=text)
    except MailNotSent:
        log.error("security notice not sent: the address cannot carry a message")
    except OSError as exc:
        log.error("security notice not sent, owed to the next ens notify: %s", type(exc).__name__)
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


# ens notify reads the owed notices this many at a time.
_BATCH = 500


async def send_owed_security_notices(mailer: Mailer) -> int:
    """``ens notify``: the security notices the mail server did not take when they happened, oldest
    first, each claimed for :data:`NOTICE_LEASE` so that two runs at once send it once, and gone
    once sent; one the mail server fails again waits for the next run, as do all the rest once the
    mailer has stopped (``ens notify``'s, the mail server unreachable). How many were sent."""
    sent = 0
    after: tuple[datetime, UUID] | None = None
    while True:
        since = " AND (created_at, id) > ({}, {})" if after else ""
        due = await fetch(
            "SELECT id, created_at FROM owed_security_notices "
            f"WHERE (lease_until IS NULL OR lease_until <= {{}}){since} ORDER BY created_at, id LIMIT {{}}",
            clock.now(),
            *(after or ()),
            _BATCH,
        )
        for row in due:
            if mailer.stopped:  # the mail server unreachable: the rest stay owed, for the next run
                return sent
            sent += await _send_owed(mailer, as_uuid(row["id"]))
        if len(due) < _BATCH:
            return sent
        after = (due[-1]["created_at"], as_uuid(due[-1]["id"]))


async def _send_owed(mailer: Mailer, notice_id: UUID) -> int:
    """One owed notice: claimed, sent, gone (1); claimed by another run meanwhile, or not taken
    again (0)."""
    now = clock.now()
    until = now + NOTICE_LEASE
    async with write_transaction():
        claimed = await fetch(
            "UPDATE owed_security_notices SET lease_until = {} "
            "WHERE id = {} AND (lease_until IS NULL OR lease_until <= {}) "
            "RETURNING to_address, subject, body, created_at",
            until,
            notice_id,
            now,
        )
    if not claimed:
        return 0
    notice = claimed[0]
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
        sent = True  # it never will: not kept
    except OSError as exc:
        log.error("owed security notice not sent again: %s", type(exc).__name__)
        sent = False
    else:
        sent = True
    async with write_transaction():
        # Our own claim only (its lease, to the microsecond).
        if sent:
            await fetch("DELETE FROM owed_security_notices WHERE id = {} AND lease_until = {}", notice_id, until)
        else:
            await fetch(
                "UPDATE owed_security_notices SET lease_until = NULL WHERE id = {} AND lease_until = {}",
                notice_id,
                until,
            )
    return 1 if sent else 0
