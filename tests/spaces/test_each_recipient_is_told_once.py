"""A notice to several people (for a child's space no one holds, each parent) is owed to each of them
until told to them, once. The mail server taking it for one parent and failing for the other (a
4xx, "try again later") settled it: the second parent was never told (a review). The next run now
tells the one not reached, and only them.

A recipient the mail server refuses for good (``550 5.1.1``, no such user) is given up on: the notice
was owed again at every ``ens notify``, refused again, and the run exited 1 each time (a review).
Now it is settled for them, counted on its own line, logged without the address, and the run does
not fail. A permanent refusal that may be the service's own misconfiguration (``554 5.7.1`` relaying
denied) is not given up on: the notice stays owed and the run fails, as a server down does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import msgspec
import pytest
from aiosmtpd.controller import Controller

from ens.core import clock, db
from ens.core.mail import Mailer, RecipientRefused, mailbox_full, refused_for_good
from ens.core.owed_mail import MAILBOX_FULL_WAIT
from ens.core.settings import Settings
from ens.documents.notices import send_release_notices
from ens.spaces import notifications
from ens.spaces.adulthood import send_adulthood_notices
from ens.spaces.notifications import send_digests
from ens.spaces.pro_access import send_emergency_notices
from tests.helpers.carers import create_child_space, join_as_second_parent, set_birthdate, today_in_paris, years_before
from tests.helpers.documents import pdf, uploaded
from tests.helpers.login import Outbox
from tests.helpers.mail import address
from tests.helpers.people import MakeAppToken, MakePerson, Person
from tests.helpers.professionals import GP, NURSE, authorise, open_emergency, sign_in_pro
from tests.helpers.server import free_port, run_ens

DOCUMENT_WORDS = "Un professionnel de santé a ajouté un document"
EMERGENCY_SUBJECT = "Accès d'urgence à un espace santé"
TRY_LATER = "451 4.3.0 Mailbox busy, try again later"
NO_SUCH_USER = "550 5.1.1 <{}>: Recipient address rejected: User unknown"


class _Refuses(Outbox):
    """A real mail server that answers RCPT TO for ``address`` with ``reply`` (the first ``times``
    times, or always), and takes every other recipient."""

    def __init__(self, address: str, reply: str, *, times: int | None = None) -> None:
        super().__init__()
        self.address, self.reply, self.times = address, reply, times
        self.refusals = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address == self.address and (self.times is None or self.refusals < self.times):
            self.refusals += 1
            return self.reply.format(address)
        envelope.rcpt_tos.append(address)
        return "250 OK"


@contextmanager
def _serving(handler: Outbox) -> Iterator[str]:
    """The mail server running: its ENS_SMTP_URL."""
    port = free_port()
    server = Controller(handler, hostname="127.0.0.1", port=port)
    server.start()
    try:
        yield f"smtp://127.0.0.1:{port}"
    finally:
        server.stop()


def told(server: Outbox, person: Person, words: str) -> int:
    return sum(words in f"{m['Subject']} {m.get_content()}" for m in server.to(address(person)))


async def _two_parents(client: httpx.AsyncClient, make_person: MakePerson) -> tuple[Person, Person, UUID]:
    first, second = await make_person(), await make_person()
    child = await create_child_space(client, first, given_name="Inès")
    assert (await join_as_second_parent(client, first, second, child)).status_code == 200
    return first, second, child


async def _document_owed(
    client: httpx.AsyncClient, mail_down: httpx.AsyncClient, settings: Settings, parent: Person, child: UUID
) -> UUID:
    """A document a GP adds on the child's space while the mail server is down: its notice owed."""
    gp = await sign_in_pro(settings, GP)
    await authorise(client, parent, gp, space=child)
    added = await uploaded(mail_down, gp.headers, pdf(600, seed=91), space=child)
    document = UUID(added["id"])
    assert await _owed_document(child, document)
    return document


async def _owed_document(child: UUID, document: UUID) -> bool:
    row = await db.fetch_one(
        "SELECT release_notice_due FROM documents WHERE space_id = {} AND id = {}", child, document
    )
    assert row is not None
    return bool(row["release_notice_due"])


def _mailer(settings: Settings, url: str) -> Mailer:
    return Mailer(msgspec.structs.replace(settings, smtp_url=url))


async def test_a_document_told_to_one_parent_of_two_is_told_to_the_other_by_the_next_run(
    client: httpx.AsyncClient, mail_down: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    first, second, child = await _two_parents(client, make_person)
    document = await _document_owed(client, mail_down, settings, first, child)
    server = _Refuses(address(second), TRY_LATER, times=1)
    with _serving(server) as url:
        mailer = _mailer(settings, url)
        await send_release_notices(mailer)
        assert (told(server, first, DOCUMENT_WORDS), told(server, second, DOCUMENT_WORDS)) == (1, 0)
        assert await _owed_document(child, document)  # to the second parent still

        await send_release_notices(mailer)
        assert (told(server, first, DOCUMENT_WORDS), told(server, second, DOCUMENT_WORDS)) == (1, 1)
        assert not await _owed_document(child, document)
        await send_release_notices(mailer)
        assert (told(server, first, DOCUMENT_WORDS), told(server, second, DOCUMENT_WORDS)) == (1, 1)


async def test_an_emergency_access_told_to_one_parent_of_two_is_told_to_the_other_by_the_next_run(
    client: httpx.AsyncClient, mail_down: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    first, second, child = await _two_parents(client, make_person)
    nurse = await sign_in_pro(settings, NURSE)
    opened = await open_emergency(mail_down, nurse, child)
    assert opened.status_code == 201, opened.text
    access = opened.json()["id"]
    owed = "SELECT notice_due FROM emergency_accesses WHERE space_id = {} AND id = {}"
    server = _Refuses(address(first), TRY_LATER, times=1)
    with _serving(server) as url:
        mailer = _mailer(settings, url)
        await send_emergency_notices(mailer)
        assert (told(server, first, nurse.name), told(server, second, nurse.name)) == (0, 1)
        assert (await db.fetch(owed, child, access))[0]["notice_due"]

        await send_emergency_notices(mailer)
        await send_emergency_notices(mailer)
        assert (told(server, first, EMERGENCY_SUBJECT), told(server, second, EMERGENCY_SUBJECT)) == (1, 1)
        assert not (await db.fetch(owed, child, access))[0]["notice_due"]


async def test_a_birthday_notice_told_to_one_parent_of_two_is_told_to_the_other_by_the_next_run(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    first, second, child = await _two_parents(client, make_person)
    await set_birthdate(child, years_before(today_in_paris() + timedelta(days=80), 18))
    server = _Refuses(address(second), TRY_LATER, times=1)
    words = "Inès aura 18 ans"
    with _serving(server) as url:
        mailer = _mailer(settings, url)
        await send_adulthood_notices(mailer)
        assert (told(server, first, words), told(server, second, words)) == (1, 0)
        await send_adulthood_notices(mailer)
        await send_adulthood_notices(mailer)
        assert (told(server, first, words), told(server, second, words)) == (1, 1)


async def test_ens_notify_gives_up_on_a_recipient_refused_for_good_and_does_not_fail(
    client: httpx.AsyncClient, mail_down: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    first, second, child = await _two_parents(client, make_person)
    document = await _document_owed(client, mail_down, settings, first, child)
    server = _Refuses(address(second), NO_SUCH_USER)
    with _serving(server) as url:
        run = run_ens(settings, "notify", "--owed-only", env={"ENS_SMTP_URL": url})
        assert run.returncode == 0, run.stdout + run.stderr
        assert "1 e-mails given up on: the mail server refused their recipient for good" in run.stdout
        assert "not sent" not in run.stdout
        # Logged, at WARNING, by the mail server's numbers: never the address.
        assert "notice undeliverable" in run.stderr and "550 5.1.1" in run.stderr
        assert address(second) not in run.stdout + run.stderr
        assert told(server, first, DOCUMENT_WORDS) == 1
        assert not await _owed_document(child, document)

        again = run_ens(settings, "notify", "--owed-only", env={"ENS_SMTP_URL": url})
        assert again.returncode == 0, again.stdout + again.stderr
        assert "given up on" not in again.stdout
        assert server.refusals == 1
        assert told(server, first, DOCUMENT_WORDS) == 1


async def test_a_refusal_that_may_be_the_services_own_leaves_the_notice_owed_and_fails_the_run(
    client: httpx.AsyncClient, mail_down: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """554 5.7.1, relaying denied: a mail server that will not relay for the service refuses every
    recipient so. Given up on, every notice would be lost; it stays owed, and cron is told."""
    first, second, child = await _two_parents(client, make_person)
    document = await _document_owed(client, mail_down, settings, first, child)
    server = _Refuses(address(second), "554 5.7.1 <{}>: Relay access denied")
    with _serving(server) as url:
        run = run_ens(settings, "notify", "--owed-only", env={"ENS_SMTP_URL": url})
    assert run.returncode == 1, run.stdout + run.stderr
    assert "e-mails not sent: the mail server failed" in run.stdout and "given up on" not in run.stdout
    assert told(server, first, DOCUMENT_WORDS) == 1
    assert await _owed_document(child, document)  # to the second parent
    # The mail server mended: the second parent is told, the first not again.
    fixed = _Refuses(address(second), "", times=0)
    with _serving(fixed) as url:
        await send_release_notices(_mailer(settings, url))
    assert (told(fixed, first, DOCUMENT_WORDS), told(fixed, second, DOCUMENT_WORDS)) == (0, 1)
    assert not await _owed_document(child, document)


async def test_a_digest_refused_for_good_moves_on_and_one_that_failed_does_not(
    person: Person,
    make_app_token: MakeAppToken,
    client: httpx.AsyncClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(notifications, "DIGEST_SETTLE", timedelta(0))
    prefs = {"documentAdded": True, "emergencyAccess": True, "representativesDigest": False, "appsDigest": True}
    assert (await client.put("/v1/me/notifications", json=prefs, headers=person.headers)).status_code == 200
    scale = await make_app_token(person, ["vitals.body_weight:write"], name="Balance connectée")
    reading = {
        "measurements": [{"type": "body_weight", "value": 71.3, "unit": "kg", "effectiveAt": clock.now().isoformat()}]
    }
    assert (await client.post("/v1/spaces/me/vitals", json=reading, headers=scale.headers)).status_code == 201
    span = "SELECT digest_sent_upto FROM notification_preferences WHERE account_id = {}"
    before = (await db.fetch(span, person.account_id))[0]["digest_sent_upto"]

    with _serving(_Refuses(address(person), TRY_LATER)) as url:
        await send_digests(_mailer(settings, url))
    assert (await db.fetch(span, person.account_id))[0]["digest_sent_upto"] == before  # covered again next time

    refusing = _Refuses(address(person), NO_SUCH_USER)
    with _serving(refusing) as url:
        await send_digests(_mailer(settings, url))
        assert refusing.refusals == 1
        assert (await db.fetch(span, person.account_id))[0]["digest_sent_upto"] != before  # given up on
        await send_digests(_mailer(settings, url))
        assert refusing.refusals == 1  # not refused again, every day


async def test_a_full_mailbox_leaves_the_notice_owed_to_its_recipient_and_fails_no_run(
    client: httpx.AsyncClient,
    mail_down: httpx.AsyncClient,
    settings: Settings,
    make_person: MakePerson,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """452 4.2.2 (or 552 5.2.2): the second parent's mailbox is full. The notice stays owed to them
    (RFC 3463: transient, its owner deletes messages), and the run exits 0, the e-mail counted on a
    line of its own: it failed with status 1 every day the mailbox stayed full, for nothing an
    operator can do (the morning's review). It is not tried again for six hours: ``--owed-only``
    runs every few minutes, and knocked at the full mailbox some 288 times a day (a review)."""
    first, second, child = await _two_parents(client, make_person)
    document = await _document_owed(client, mail_down, settings, first, child)
    server = _Refuses(address(second), "452 4.2.2 <{}>: Mailbox full")
    with _serving(server) as url:
        run = run_ens(settings, "notify", "--owed-only", env={"ENS_SMTP_URL": url})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 e-mails deferred: their recipient's mailbox is full" in run.stdout, run.stdout
    assert address(second) not in run.stdout + run.stderr
    assert told(server, first, DOCUMENT_WORDS) == 1
    assert await _owed_document(child, document)  # to the second parent still
    with _serving(server) as url:
        await send_release_notices(_mailer(settings, url))  # a few minutes later: not tried
    assert server.refusals == 1 and told(server, first, DOCUMENT_WORDS) == 1
    later = clock.now() + MAILBOX_FULL_WAIT + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    emptied = _Refuses(address(second), "", times=0)
    with _serving(emptied) as url:
        await send_release_notices(_mailer(settings, url))
    assert (told(emptied, first, DOCUMENT_WORDS), told(emptied, second, DOCUMENT_WORDS)) == (0, 1)
    assert not await _owed_document(child, document)


@pytest.mark.parametrize(
    ("code", "reply", "full"),
    [
        (452, b"4.2.2 Mailbox full", "452 4.2.2"),
        (552, b"5.2.2 Mailbox full", "552 5.2.2"),
        (552, b"4.2.2 Mailbox full", None),  # a reply at odds with itself: left as it stands
        (550, b"5.2.1 Mailbox disabled", None),
        (451, b"4.3.0 Later", None),
        (452, b"Too many recipients", None),
    ],
)
def test_which_refusals_say_the_mailbox_is_full(code: int, reply: bytes, full: str | None) -> None:
    assert mailbox_full(code, reply) == full


@pytest.mark.parametrize(
    ("code", "reply", "for_good"),
    [
        (550, b"5.1.1 <luc@x.fr>: Recipient address rejected: User unknown", "550 5.1.1"),
        (550, b"5.1.10 RESOLVER.ADR.RecipientNotFound", "550 5.1.10"),
        (550, b"5.2.1 Mailbox disabled, not accepting messages", "550 5.2.1"),
        # RFC 3463: "a persistent transient failure" (the owner deletes messages): owed still.
        (552, b"5.2.2 Mailbox full", None),
        (550, b"Requested action not taken: mailbox unavailable", None),  # no enhanced code: may be ours
        (554, b"5.7.1 <luc@x.fr>: Relay access denied", None),
        (530, b"5.7.0 Authentication required", None),
        (553, b"5.1.8 <ne-pas-repondre@x.fr>: Sender address rejected: Domain not found", None),
        (450, b"4.2.1 Mailbox busy", None),
    ],
)
def test_which_refusals_are_for_good(code: int, reply: bytes, for_good: str | None) -> None:
    assert refused_for_good(code, reply) == for_good


class _RefusesTheMessage(Outbox):
    """A real mail server that takes every recipient, then answers the message with ``reply``."""

    def __init__(self, reply: str) -> None:
        super().__init__()
        self.reply = reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return self.reply


@pytest.mark.parametrize(
    ("reply", "for_good"),
    [
        ("550 5.1.1 No such user here", True),
        ("552 5.2.2 Mailbox full", False),
        ("554 5.7.1 Message rejected as spam", False),
        ("451 4.3.0 Later", False),
    ],
)
async def test_a_refusal_told_after_the_message_is_for_good_when_it_names_the_mailbox(
    settings: Settings, reply: str, for_good: bool
) -> None:
    """Some servers refuse a mailbox only once they have the message (smtplib: SMTPDataError): the
    same rule as at RCPT TO. A content refusal (5.7.1, spam) may be any message's, and a mailbox full
    (5.2.2) takes mail again once its owner deletes some (RFC 3463): not for good."""
    with _serving(_RefusesTheMessage(reply)) as url:
        with pytest.raises(OSError) as refused:
            await _mailer(settings, url).send("luc@example.test", "Un nouveau document", text="Bonjour,\n")
    assert isinstance(refused.value, RecipientRefused) is for_good
