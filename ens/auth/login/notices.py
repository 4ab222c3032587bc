"""Security notices by e-mail: a new device, a replaced second factor, recovery codes used or renewed;
owed until sent when the mail server does not take them."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from ens.auth.errors import CodeRefused
from ens.auth.login.attempt import LoginContext
from ens.core import clock
from ens.core.clock import aware
from ens.core.db import as_uuid, fetch, write_transaction
from ens.core.mail import Mailer, MailNotSent
from ens.core.pdf import french_date
from ens.spaces import service as spaces
from ens.spaces.owed_notices import NOTICE_LEASE

log = logging.getLogger("ens.auth.login")


# The e-mails say times in France's time zone, and say so (an account has no time zone of its own).
_ZONE = ZoneInfo("Europe/Paris")


def new_device(at: datetime, app: str) -> str:
    """A new sign-in: when and with which app (it said neither: "a new device"), and what to do if
    it was not the person (it said "let us know", with no way to)."""
    local = at.astimezone(_ZONE)
    return (
        "Bonjour,\n\nUn nouvel appareil s'est connecté à votre espace santé le "
        f"{french_date(local.date())} à {local:%H:%M} (heure de Paris), avec l'application « {app} ».\n"
        "Si ce n'est pas vous : déconnectez cet appareil depuis « Appareils connectés », changez le mot de "
        "passe du compte avec lequel vous vous identifiez (FranceConnect) et remplacez votre second facteur "
        "de connexion : il a fallu les deux pour entrer.\n"
    )


EMAIL_CHANGED = (
    "Bonjour,\n\nL'adresse e-mail de votre espace santé vient d'être remplacée par celle que votre "
    "service d'identité a transmise ; les messages de sécurité iront désormais à la nouvelle adresse.\n"
    "Si ce n'est pas vous, contactez-nous immédiatement.\n"
)
# The provider gave no address the account can keep (none, or not one address: the claim is left
# out, ens.auth.login.provider): the old one was told of a "nouvelle adresse" there was not (a review).
EMAIL_REMOVED = (
    "Bonjour,\n\nL'adresse e-mail de votre espace santé vient d'être retirée : votre service d'identité "
    "n'en a transmis aucune utilisable à votre dernière connexion. Les messages de sécurité ne vous "
    "parviendront plus tant qu'une connexion n'en aura pas transmis une ; vérifiez l'adresse e-mail "
    "enregistrée auprès de votre service d'identité (FranceConnect).\n"
    "Si ce n'est pas vous, contactez-nous immédiatement.\n"
)
FACTOR_REPLACED = (
    "Bonjour,\n\nLe second facteur de connexion de votre espace santé vient d'être remplacé ; "
    "l'ancien ne fonctionne plus, et vos autres appareils ont été déconnectés.\n"
    "Si ce n'est pas vous, contactez-nous immédiatement.\n"
)
RECOVERY_USED = (
    "Bonjour,\n\nUn code de secours vient d'être utilisé pour vous connecter à votre espace santé.\n"
    "Si ce n'est pas vous, contactez-nous immédiatement.\n"
)
CODES_LOCKED = (
    "Bonjour,\n\nTrop de codes erronés ont été saisis pour votre espace santé : la vérification de vos "
    "codes est bloquée pour un temps, puis de plus en plus longtemps si cela continue.\n"
    "Si ce n'est pas vous, quelqu'un connaît sans doute le mot de passe du compte avec lequel vous vous "
    "identifiez (FranceConnect), ou tient l'un de vos appareils connectés : changez ce mot de passe et "
    "déconnectez, depuis « Appareils connectés », tout appareil que vous ne reconnaissez pas.\n"
)


async def tell_of_a_lock(ctx: LoginContext, account_id: UUID, refusal: CodeRefused) -> None:
    """E-mail the person when a wrong code has just locked their codes (it was silent: an outside
    audit), whichever way in sent it."""
    if refusal.locked_now:
        await notify(ctx, account_id, subject="Connexion bloquée après des codes erronés", text=CODES_LOCKED)


RECOVERY_CODES_RENEWED = (
    "Bonjour,\n\nDe nouveaux codes de secours viennent d'être créés pour votre espace santé ; "
    "les anciens ne fonctionnent plus.\nSi ce n'est pas vous, contactez-nous immédiatement.\n"
)


async def notify(ctx: LoginContext, account_id: UUID, *, subject: str, text: str) -> None:
    """A security notice by e-mail to the account's address (:func:`send_security_notice`)."""
    email = (await spaces.get_account(account_id)).email
    if email:
        await send_security_notice(ctx.mailer, account_id, email, subject, text)


async def send_security_notice(mailer: Mailer, account_id: UUID, to: str, subject: str, text: str) -> None:
    """Send a security notice; one the mail server does not take is kept, owed, and ``ens notify``
    sends it until it goes (:func:`send_owed_security_notices`). It was only logged: the one that
    matters in an account takeover ("un code de secours vient d'être utilisé") was lost for good
    (an outside audit of the e-mails). A mail server outage never blocks the login. An address no
    message can carry (:class:`MailNotSent`) is not kept: it never will."""
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
    once sent; one the mail server fails again waits for the next run. How many were sent."""
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
