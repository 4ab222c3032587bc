"""Every e-mail ENS sends is a message a mail server and a mailbox take: sent from the service's own
domain (the public URL's host, or ``ENS_MAIL_FROM``), with a Message-ID of that domain, a Date of
RFC 5322, and marked as sent by a machine (RFC 3834), so that an "out of office" answers no one.

An outside audit of the e-mails read them from a real SMTP server: every message, login codes
among them, came from ``ne-pas-repondre@ens.example`` (a domain reserved for examples, RFC 2606,
with no mail server, whatever the deployment) and was sent with that envelope sender, which a relay
that checks the sender's domain (``reject_unknown_sender_domain``), SPF or DMARC refuses or files as
spam; its Message-ID ended in ``@ens``, and nothing stopped an automatic answer."""

from __future__ import annotations

import email
import email.policy
import email.utils
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import msgspec
import pytest
from aiosmtpd.controller import Controller

from ens.core import clock, db
from ens.core.mail import Mailer, MailNotSent
from ens.core.settings import ConfigurationError, Settings
from ens.documents.notices import send_release_notices
from tests.helpers.documents import pdf, upload
from tests.helpers.login import Outbox
from tests.helpers.people import MakePerson
from tests.helpers.professionals import GP, authorise, sign_in_pro
from tests.helpers.server import free_port


class Envelopes:
    """What the SMTP server received: each envelope's sender and its message."""

    def __init__(self) -> None:
        self.received: list[tuple[str, EmailMessage]] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append((envelope.mail_from, message))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Envelopes, int]]:
    handler = Envelopes()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


async def _send(settings: Settings, smtp: tuple[Envelopes, int], **changes: Any) -> tuple[str, EmailMessage]:
    mailer = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{smtp[1]}", **changes))
    await mailer.send("elise@example.test", "Accès d'urgence à un espace santé", text="Bonjour,\n\nÀ bientôt.\n")
    return smtp[0].received[-1]


async def test_a_message_comes_from_the_services_own_domain(settings: Settings, smtp: tuple[Envelopes, int]) -> None:
    sender, message = await _send(settings, smtp, public_url="https://sante.example.fr")
    assert message["From"].addresses[0].addr_spec == "ne-pas-repondre@sante.example.fr"
    assert message["From"].addresses[0].display_name == "Espace santé"
    assert sender == "ne-pas-repondre@sante.example.fr"
    assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith("@sante.example.fr>")
    assert message["Auto-Submitted"] == "auto-generated"
    sent_at = email.utils.parsedate_to_datetime(message["Date"])
    assert abs(sent_at - clock.now()) < timedelta(minutes=1)
    assert message["Subject"] == "Accès d'urgence à un espace santé"
    assert message.get_content_charset() == "utf-8" and "À bientôt." in message.get_content()


async def test_each_message_has_its_own_id(settings: Settings, smtp: tuple[Envelopes, int]) -> None:
    first = (await _send(settings, smtp))[1]["Message-ID"]
    second = (await _send(settings, smtp))[1]["Message-ID"]
    assert first != second


async def test_ens_mail_from_names_the_sender(settings: Settings, smtp: tuple[Envelopes, int]) -> None:
    chosen = Settings.from_env({}, env="dev", mail_from="Mon espace santé <notifications@sante.example.fr>")
    sender, message = await _send(settings, smtp, mail_from=chosen.mail_from)
    assert sender == "notifications@sante.example.fr"
    assert message["From"].addresses[0].display_name == "Mon espace santé"
    assert message["Message-ID"].endswith("@sante.example.fr>")


@pytest.mark.parametrize(
    ("changes", "domain"),
    [
        ({"mail_from": "Espace santé <ne-pas-repondre@santé.example.fr>"}, "xn--sant-epa.example.fr"),
        ({"public_url": "https://mon-espace-santé.example.fr"}, "xn--mon-espace-sant-pnb.example.fr"),
    ],
)
async def test_a_sender_s_domain_outside_ascii_is_sent_in_its_ascii_form(
    settings: Settings, smtp: tuple[Envelopes, int], changes: dict[str, str], domain: str
) -> None:
    """A domain of accented letters (an internationalised domain name) was the envelope's sender
    as written: a mail server without SMTPUTF8 refuses every message then, the login's e-mail code
    among them (an earlier session's note). Its ASCII form (IDNA) names the same domain to every
    server."""
    configured = Settings.from_env({}, env="dev", **changes)
    assert configured.mail_sender[1] == f"ne-pas-repondre@{domain}"
    sender, message = await _send(settings, smtp, **changes)
    assert sender == f"ne-pas-repondre@{domain}"
    assert message["From"].addresses[0].addr_spec == f"ne-pas-repondre@{domain}"
    assert message["Message-ID"].endswith(f"@{domain}>")


async def test_a_recipient_s_domain_outside_ascii_is_reached_at_its_ascii_form(
    settings: Settings, smtp: tuple[Envelopes, int]
) -> None:
    """An account's address at santé.example.fr (the provider's e-mail claim) was refused by every
    mail server without SMTPUTF8: no e-mail code, no notice ever reached it."""
    mailer = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{smtp[1]}"))
    await mailer.send("elise@santé.example.fr", "Votre code", text="Bonjour,\n")
    assert smtp[0].recipients[-1] == ["elise@xn--sant-epa.example.fr"]
    assert smtp[0].received[-1][1]["To"].addresses[0].addr_spec == "elise@xn--sant-epa.example.fr"
    with pytest.raises(MailNotSent):
        await mailer.send(f"elise@{'é' * 70}.fr", "Votre code", text="Bonjour,\n")


def test_a_sender_s_domain_no_dns_name_can_be_stops_the_service() -> None:
    with pytest.raises(ConfigurationError, match="ENS_MAIL_FROM"):
        Settings.from_env({}, env="dev", mail_from=f"ne-pas-repondre@{'é' * 70}.example.fr")


@pytest.mark.parametrize(
    "value", ["ne-pas-repondre", "Espace santé", "a@b@c.fr", "x@", "<>", "un@exemple.fr, deux@exemple.fr"]
)
def test_an_ens_mail_from_that_is_no_address_stops_the_service(value: str) -> None:
    with pytest.raises(ConfigurationError, match="ENS_MAIL_FROM"):
        Settings.from_env({}, env="dev", mail_from=value)


@pytest.mark.parametrize(
    "value", ["édith@sante.example.fr", "ne..pas@sante.example.fr", "Espace santé <.np@sante.example.fr>"]
)
def test_an_ens_mail_from_no_message_can_carry_stops_the_service(value: str) -> None:
    """One address to :func:`parse_sender`, but not one a From header takes (a local part outside
    ASCII, two dots in a row, a leading dot): it passed the start check, and then every message
    raised ValueError as it was made, past every caller (they take a mail not sent, OSError): the
    login's e-mail code, every notice (a review of the e-mails' commit)."""
    with pytest.raises(ConfigurationError, match="ENS_MAIL_FROM"):
        Settings.from_env({}, env="dev", mail_from=value)


# An address no message can carry: a line separator (U+2028) is no control character, so the
# provider's e-mail claim keeps it, and a header may hold no line break (Python refuses it, which
# is what keeps a "Bcc:" from being slipped in).
UNCARRIABLE = "camille@example.test\u2028Bcc: autre@example.test"


async def test_an_address_no_message_can_carry_is_a_mail_not_sent(
    settings: Settings, smtp: tuple[Envelopes, int]
) -> None:
    """It raised ValueError, which no caller expects of a mail (they take a mail server's failure,
    OSError): a notice told after its change had committed answered 500 (a professional's upload,
    committed, an emergency access, opened), ``ens notify`` stopped at it, and the login's notice of
    a new device or its e-mail code failed the login (an outside audit of the e-mails). It is a
    mail not sent now, as a mail server's refusal is, and nothing reaches the server."""
    mailer = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{smtp[1]}"))
    before = len(smtp[0].received)
    with pytest.raises(OSError, match="recipient"):
        await mailer.send(UNCARRIABLE, "Nouvelle connexion à votre espace santé", text="Bonjour,\n")
    assert len(smtp[0].received) == before


@pytest.mark.parametrize(
    "address", ["autre,camille@example.test", "autre:camille@example.test", "autre<camille@example.test", "a(b@x.fr"]
)
async def test_an_address_a_header_reads_as_another_is_a_mail_not_sent(
    settings: Settings, smtp: tuple[Envelopes, int], address: str
) -> None:
    """One "@", no space: the pattern of one address (``EMAIL_ADDRESS``) takes it, but the To header
    reads it as two recipients ("autre" and camille@…), a group, a route or a comment, and the
    message went to whom the header said rather than to the address stored (a review of the
    e-mails' commits). A mail not sent, as an address no message can carry."""
    mailer = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{smtp[1]}"))
    before = len(smtp[0].received)
    with pytest.raises(OSError, match="recipient"):
        await mailer.send(address, "Nouvelle connexion à votre espace santé", text="Bonjour,\n")
    assert len(smtp[0].received) == before


async def test_a_notice_to_such_an_address_leaves_the_request_answered_and_the_notice_owed(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, outbox: tuple[Outbox, int]
) -> None:
    holder = await make_person(given_name="Camille")
    await db.fetch("UPDATE accounts SET email = {} WHERE id = {}", UNCARRIABLE, holder.account_id)
    gp = await sign_in_pro(settings, GP)
    await authorise(mail_client, holder, gp)
    added = await upload(mail_client, gp.headers, pdf(300, seed=71), space=holder.space_id)
    assert added.status_code == 201, added.text
    row = await db.fetch_one(
        "SELECT release_notice_due FROM documents WHERE space_id = {} AND id = {}", holder.space_id, added.json()["id"]
    )
    assert row is not None and row["release_notice_due"]  # no one reached: owed, for the next run
    # The address mended (the next login brings the provider's claim again): the next run tells,
    # and no other test's `ens notify` meets this one's notice still failing.
    await db.fetch("UPDATE accounts SET email = {} WHERE id = {}", "camille@example.test", holder.account_id)
    mailer = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{outbox[1]}"))
    assert await send_release_notices(mailer) >= 1
    assert any(m["To"] == "camille@example.test" for m in outbox[0].messages)
