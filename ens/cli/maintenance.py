"""The daily jobs: ``ens purge`` (what nobody can use any more) and ``ens notify`` (notices, digests)."""

from __future__ import annotations

import asyncio

from ens.core import clock, db
from ens.core.settings import Settings


def purge(settings: Settings) -> None:
    """Daily maintenance: vitals deletion tombstones past ENS_TOMBSTONE_RETENTION_DAYS, expired
    idempotency keys, login state nobody can use any more, and document objects a dead process left."""
    from ens.auth.maintenance import purge_expired_login_state
    from ens.core.idempotency import purge_expired
    from ens.core.limits import purge_old_windows
    from ens.documents.pending import settle_abandoned
    from ens.documents.storage import BlobStore
    from ens.vitals.service import purge_tombstones

    async def run() -> dict[str, int]:
        async with db.connected(settings):
            removed = {
                f"tombstones older than {settings.tombstone_retention_days} days": await purge_tombstones(
                    settings.tombstone_retention_days
                ),
                "expired idempotency keys": await purge_expired(),
                "document objects left by an interrupted upload or removal": await settle_abandoned(
                    BlobStore.from_settings(settings)
                ),
            }
            removed.update(await purge_expired_login_state(settings, clock.now()))
            removed["rate counters older than an hour"] = await purge_old_windows()
            return removed

    for label, count in asyncio.run(run()).items():
        print(f"purged {count} {label}")


def notify(settings: Settings) -> None:
    """Daily: the notices that are due (the parents told three months before a child turns 18, the
    holders of documents held back until today), and the digests of what representatives and apps
    changed, to the holders who asked for them."""
    from ens.core.mail import Mailer
    from ens.documents.notices import send_release_notices
    from ens.spaces.adulthood import send_adulthood_notices
    from ens.spaces.notifications import send_digests

    async def run() -> tuple[int, int, int]:
        async with db.connected(settings):
            mailer = Mailer(settings)
            return (
                await send_adulthood_notices(mailer),
                await send_release_notices(mailer),
                await send_digests(mailer),
            )

    birthdays, documents, digests = asyncio.run(run())
    print(
        f"sent {birthdays} notices of a coming 18th birthday, {documents} notices of documents shown today, "
        f"{digests} daily digests of changes"
    )
