"""The daily jobs: ``ens purge`` (what nobody can use any more) and ``ens notify`` (notices, digests)."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from datetime import timedelta

from ens.core import clock, db
from ens.core.mail import MailboxFull, Mailer, MailServerUnreachable, RecipientRefused, unreachable
from ens.core.settings import Settings
from ens.vitals import deletion_flags
from ens.vitals.deletion_flags import Rechecked

# An erasure still under way when ``ens purge`` runs is left to its request this long (finishing it
# beside the request would be harmless, but its other parent's notice could go twice).
ERASURE_GRACE = timedelta(hours=1)

log = logging.getLogger("ens.mail")


def purge(settings: Settings) -> None:
    """Daily maintenance: vitals deletion tombstones past ENS_TOMBSTONE_RETENTION_DAYS, expired
    idempotency keys, login state nobody can use any more, document objects a dead process left,
    and the erasures that failed past their point of no return an hour ago or more (finished)."""
    from ens.auth.maintenance import purge_expired_login_state
    from ens.core.idempotency import purge_expired
    from ens.core.limits import purge_old_windows
    from ens.documents.pending import settle_abandoned
    from ens.documents.storage import BlobStore
    from ens.overview.service import finish_erasures
    from ens.vitals.service import purge_tombstones

    async def run() -> dict[str, int]:
        async with db.connected(settings):
            blobs = BlobStore.from_settings(settings)
            removed = {
                # First: a space whose erasure failed past its key's destruction is closed, its
                # documents unreadable, its other rows still there.
                "erasures left half-done past their point of no return (finished)": (
                    await finish_erasures(blobs, Mailer(settings), begun_before=clock.now() - ERASURE_GRACE)
                ),
                f"tombstones older than {settings.tombstone_retention_days} days": await purge_tombstones(
                    settings.tombstone_retention_days
                ),
                "expired idempotency keys": await purge_expired(),
                "document objects left by an interrupted upload or removal": await settle_abandoned(blobs),
            }
            removed.update(await purge_expired_login_state(settings, clock.now()))
            removed["rate counters older than an hour"] = await purge_old_windows()
            return removed

    for label, count in asyncio.run(run()).items():
        print(f"purged {count} {label}")


def recheck_deletions(settings: Settings) -> None:
    """``ens vitals recheck-deletions`` (``ens.vitals.deletion_flags``): status 1 while some spaces
    were busy, so that a script runs it again."""

    async def run() -> Rechecked:
        async with db.connected(settings):
            return await deletion_flags.recheck_deletions()

    found = asyncio.run(run())

    def spaces(count: int, one: str, many: str) -> str:
        return f"1 space {one}" if count == 1 else f"{count} spaces {many}"

    print(spaces(found.cleared, "never had", "never had") + " an app's record deleted: no more looking one up")
    print(spaces(found.kept, "has had", "have had") + " one deleted: looked up as before")
    if found.busy:
        print(spaces(found.busy, "was", "were") + " being written to and left as before: run this again")
        raise SystemExit(1)


def notify(settings: Settings, *, owed_only: bool = False) -> None:
    """Daily: the notices that are due (the parents told three months before a child turns 18, the
    holders of documents held back until today, and the notices of documents, emergency accesses and
    security events the mail server failed for when they happened), and the digests of what representatives and apps
    changed, to the holders who asked for them. E-mails the mail server failed for or never took
    are counted apart, and make the command exit with status 1 (cron's alert); a notice is owed
    again to those of its recipients it failed for, and a digest not sent covers its span again.
    An e-mail whose recipient the mail server refused for good (``550 5.1.1`` no such user:
    :func:`ens.core.mail.refused_for_good`) is counted on its own line and given up on (it was owed
    again, and failed the run, at every run: a review), and fails nothing: an address gone is its
    owner's to mend, not the operator's. One whose recipient's mailbox is full (``452 4.2.2``,
    ``552 5.2.2``) stays owed and is counted on its own line, and fails nothing either.

    ``owed_only`` (``--owed-only``, every few minutes): only the notices of documents, emergency
    accesses and security events still owed (the mail server failed, or a process stopped, when
    they happened; a document held until a day that has come), so that they go within minutes
    rather than the next day; no birthday notices, no digests (those stay daily)."""
    from ens.core.owed_mail import send_owed_notices
    from ens.documents.notices import send_release_notices
    from ens.spaces.adulthood import send_adulthood_notices
    from ens.spaces.notifications import send_digests
    from ens.spaces.pro_access import send_emergency_notices

    mailer = _CountedMailer(settings)

    async def run() -> tuple[int, int, int, int, int, int]:
        async with db.connected(settings):
            owed = (
                await send_release_notices(mailer),
                await send_emergency_notices(mailer),
                await send_owed_notices(mailer),
            )
            if owed_only:
                sent = (0, *owed, 0)
            else:
                sent = (await send_adulthood_notices(mailer), *owed, await send_digests(mailer))
            return *sent, (await _still_owed() if mailer.stopped else 0)

    birthdays, documents, emergencies, security, digests, left = asyncio.run(run())
    owed = (
        f"{documents} notices of documents shown to their holder, {emergencies} notices of an emergency access, "
        f"{security} security notices the mail server had not taken"
    )
    if owed_only:
        print(f"sent {owed} (owed only)")
    else:
        print(f"sent {birthdays} notices of a coming 18th birthday, {owed}, {digests} daily digests of changes")
    if mailer.unreachable is not None:
        log.error(
            "mail server unreachable: the run stopped sending, the rest left owed for the next run",
            extra={"event": "notify_stopped", "reason": mailer.unreachable, "left_owed": left},
        )
        daily = "" if owed_only else "; the birthday notices and digests not sent wait for the next daily run"
        print(
            f"the mail server could not be reached ({mailer.unreachable}): this run stopped sending, "
            f"{left} notices left owed for the next run{daily}"
        )
    if mailer.undeliverable:
        print(
            f"{mailer.undeliverable} e-mails given up on: the mail server refused their recipient for good "
            "(the log says its answer, not to whom)"
        )
    if mailer.deferred:
        print(
            f"{mailer.deferred} e-mails deferred: their recipient's mailbox is full, and they stay owed for the "
            "next run (no failure of this one)"
        )
    if mailer.failed:
        print(f"{mailer.failed} e-mails not sent: the mail server failed (the log says how)")
        raise SystemExit(1)


class _CountedMailer(Mailer):
    """The mailer, counting the e-mails that did not go (the notices log them and carry on), and
    stopping at the first the mail server could not be reached for (:func:`ens.core.mail.unreachable`):
    each message after it would wait as long to fail (SMTP_TIMEOUT_S, 10 s, a connection that times
    out), and a run with 500 notices owed took over an hour to send none (an outside audit). Every
    later message fails at once, untried (:class:`MailServerUnreachable`), and the jobs stop
    (:attr:`stopped`): what they had not reached stays owed, for the next run. A refusal of one
    message (its recipient, say) stops nothing. One refused for good (:class:`RecipientRefused`), or
    one whose recipient's mailbox is full (:class:`MailboxFull`), is counted apart: neither is a
    failure of the run."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.failed = 0
        self.undeliverable = 0
        # Recipients whose mailbox was full: owed still, and no failure of the run (MailboxFull).
        self.deferred = 0
        # What the mail server could not be reached with (the error's kind), once it could not.
        self.unreachable: str | None = None

    @property
    def stopped(self) -> bool:
        return self.unreachable is not None

    async def send(self, to: str, subject: str, *, text: str, dev_note: str | None = None) -> None:
        if self.unreachable is not None:
            self.failed += 1
            raise MailServerUnreachable(f"not tried: the mail server was unreachable ({self.unreachable})")
        try:
            await super().send(to, subject, text=text, dev_note=dev_note)
        except RecipientRefused:
            self.undeliverable += 1
            raise
        except MailboxFull:
            self.deferred += 1
            raise
        except (OSError, smtplib.SMTPException) as exc:
            self.failed += 1
            if unreachable(exc):
                # A server that never answers: smtplib says "disconnected", the cause is a timeout.
                timed_out = isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(
                    exc.__context__, TimeoutError
                )
                self.unreachable = "TimeoutError" if timed_out else type(exc).__name__
            raise


async def _still_owed() -> int:
    """How many notices are owed now, whoever they are for: the security notices, the documents'
    (those whose day has come) and the emergency accesses' (each kind counted as ``ens notify``
    walks it, :meth:`OwedNotice.owed`)."""
    from ens.core.owed_mail import OWED_MAIL
    from ens.documents.notices import RELEASE_NOTICE
    from ens.spaces.pro_access import EMERGENCY_NOTICE_OWED

    now = clock.now()
    return sum([await kind.owed(ready_by=now) for kind in (OWED_MAIL, RELEASE_NOTICE, EMERGENCY_NOTICE_OWED)])
