"""The daily jobs: ``ens purge`` (what nobody can use any more) and ``ens notify`` (notices, digests)."""

from __future__ import annotations

import asyncio
import smtplib
from datetime import timedelta

from ens.core import clock, db
from ens.core.mail import Mailer
from ens.core.settings import Settings

# An erasure still under way when ``ens purge`` runs is left to its request this long (finishing it
# beside the request would be harmless, but its other parent's notice could go twice).
ERASURE_GRACE = timedelta(hours=1)


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


def notify(settings: Settings, *, owed_only: bool = False) -> None:
    """Daily: the notices that are due (the parents told three months before a child turns 18, the
    holders of documents held back until today, and the notices of documents, emergency accesses and
    security events the mail server failed for when they happened), and the digests of what representatives and apps
    changed, to the holders who asked for them. E-mails the mail server refused or never took are
    counted apart, and make the command exit with status 1 (cron's alert); a notice none of whose
    e-mails went is due again at the next run, and a digest not sent covers its span again.

    ``owed_only`` (``--owed-only``, every few minutes): only the notices of documents, emergency
    accesses and security events still owed (the mail server failed, or a process stopped, when
    they happened; a document held until a day that has come), so that they go within minutes
    rather than the next day; no birthday notices, no digests (those stay daily)."""
    from ens.core.owed_mail import send_owed_security_notices
    from ens.documents.notices import send_release_notices
    from ens.spaces.adulthood import send_adulthood_notices
    from ens.spaces.notifications import send_digests
    from ens.spaces.pro_access import send_emergency_notices

    mailer = _CountedMailer(settings)

    async def run() -> tuple[int, int, int, int, int]:
        async with db.connected(settings):
            owed = (
                await send_release_notices(mailer),
                await send_emergency_notices(mailer),
                await send_owed_security_notices(mailer),
            )
            if owed_only:
                return 0, *owed, 0
            return await send_adulthood_notices(mailer), *owed, await send_digests(mailer)

    birthdays, documents, emergencies, security, digests = asyncio.run(run())
    owed = (
        f"{documents} notices of documents shown to their holder, {emergencies} notices of an emergency access, "
        f"{security} security notices the mail server had not taken"
    )
    if owed_only:
        print(f"sent {owed} (owed only)")
    else:
        print(f"sent {birthdays} notices of a coming 18th birthday, {owed}, {digests} daily digests of changes")
    if mailer.failed:
        print(f"{mailer.failed} e-mails not sent: the mail server failed (the log says how)")
        raise SystemExit(1)


class _CountedMailer(Mailer):
    """The mailer, counting the e-mails that did not go (the notices log them and carry on)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.failed = 0

    async def send(self, to: str, subject: str, *, text: str, dev_note: str | None = None) -> None:
        try:
            await super().send(to, subject, text=text, dev_note=dev_note)
        except (OSError, smtplib.SMTPException):
            self.failed += 1
            raise
