"""E-mails to the person: codes and security notices. SMTP when ``ENS_SMTP_URL`` is set, else an outbox.

In development without SMTP, each message is written to ``{ENS_VAR_DIR}/outbox`` and the log says
where; codes are never logged outside development.
"""

from __future__ import annotations

import asyncio
import email.utils
import enum
import errno
import logging
import re
import smtplib
import socket
import ssl
import uuid
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ens.core import clock
from ens.core.settings import Settings, ascii_domain

log = logging.getLogger("ens.core.mail")

SMTP_TIMEOUT_S = 10.0


class MailNotSent(OSError):
    """A message that could not be made for its recipient: an address no header may carry (a line
    break in it, which the provider's claim may hold: U+2028 is no control character). An OSError,
    as a mail server's refusal is: every caller takes it as a mail not sent, logs its kind and goes
    on. As ValueError it went past them all: a notice told after its change had committed answered
    500, and the login failed on its notice of a new device (an outside audit of the e-mails)."""


class RecipientRefused(OSError):
    """The mail server refused the message's recipient for good (:func:`refused_for_good`), e.g.
    ``550 5.1.1`` no such user: tried again, the same message to the same address is refused again,
    and a notice is owed to them no longer (:class:`Delivery`). An OSError, as every failure to
    send is. ``code`` is the reply's numbers only (``550 5.1.1``): its text names the address.
    (An address no message can carry, :class:`MailNotSent`, is not one: the provider's next claim
    may mend it, and a notice to it stays owed.)"""

    def __init__(self, code: str) -> None:
        super().__init__(f"the mail server refused the recipient for good ({code})")
        self.code = code


class MailboxFull(OSError):
    """The recipient's mailbox is full (enhanced code X.2.2, at RCPT TO or after the message): what
    RFC 3463 calls "a persistent transient failure", which its owner ends by deleting messages. The
    notice stays owed to them, and it is no failure of the service's: ``ens notify`` counts it apart
    and does not fail its run for it (cron would alert every day a person left their mailbox full,
    for nothing an operator can do). ``code`` is the reply's numbers only: its text names the
    address."""

    def __init__(self, code: str) -> None:
        super().__init__(f"the recipient's mailbox is full ({code})")
        self.code = code


def mailbox_full(code: int, reply: bytes | str) -> str | None:
    """The reply's numbers (``452 4.2.2``) when the mail server's answer says the recipient's
    mailbox is full (:class:`MailboxFull`), else ``None``."""
    found = _enhanced(reply)
    if found is None or (found.group(2), found.group(3)) != (b"2", b"2") or str(code)[:1] != found.group(1).decode():
        return None
    return f"{code} {found.group(1).decode()}.2.2"


class MailServerUnreachable(OSError):
    """A message not even tried: the mail server was found unreachable earlier in the same run
    (:func:`unreachable`), and a command sending many (``ens notify``) stopped trying. An OSError,
    as a mail server's failure is: the message is owed again, as if it had failed."""


# Failures that say the mail server could not be talked to at all, whatever the message: nothing
# listens (refused), nothing answers (timed out: a firewall dropping the packets, a server that
# hangs), the connection dropped, the name not found, or a server that greets with a refusal of
# service (421). A refusal of one message (a recipient, its size, its sender) is not among them.
_UNREACHABLE = (
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    smtplib.SMTPConnectError,
    smtplib.SMTPServerDisconnected,
)
_NO_ROUTE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN})


def unreachable(exc: BaseException) -> bool:
    """Whether sending failed for want of a mail server to talk to, so that the next message would
    fail the same way (and, for a server that does not answer, after the same SMTP_TIMEOUT_S per
    exchange), rather than for this message alone."""
    return isinstance(exc, _UNREACHABLE) or (isinstance(exc, OSError) and exc.errno in _NO_ROUTE)


# An enhanced status code (RFC 3463) opening a reply's text: class.subject.detail.
_ENHANCED = re.compile(rb"\s*([245])\.(\d{1,3})\.(\d{1,3})\b")


def _enhanced(reply: bytes | str) -> re.Match[bytes] | None:
    """The enhanced status code opening a mail server's reply (class, subject, detail), if any."""
    return _ENHANCED.match(reply if isinstance(reply, bytes) else reply.encode("utf-8", "replace"))


# The enhanced codes of a permanent failure that are about the recipient, not about us: X.1 the
# address (no such user, no such domain, a domain that takes no mail), X.2 its mailbox (disabled,
# the message too big for it). Not X.1.7 and X.1.8, which are about the sender's address; nor
# X.2.2, a mailbox full, which RFC 3463 has servers send as "a persistent transient failure" (its
# owner deletes messages and it takes mail again): given up on, a parent whose mailbox was full
# that day lost the notice for good (a review).
_NOT_FOR_GOOD = {(1, 7), (1, 8), (2, 2)}


def refused_for_good(code: int, reply: bytes | str) -> str | None:
    """The reply's numbers (``550 5.1.1``) when the mail server's answer to one message refuses its
    recipient for good, else ``None``. Only a 5xx whose enhanced status code (RFC 3463) names the
    recipient's address or mailbox (5.1.x but 5.1.7/5.1.8, 5.2.x but 5.2.2, a mailbox full, which
    RFC 3463 calls transient): a 5xx without one, or about
    policy or security (5.7.x: relaying denied, authentication required), or the sender (5.1.7,
    5.1.8), is as likely the service's own misconfiguration, which would refuse every recipient:
    taken as refusals for good, every notice would be given up on. Those, and every 4xx, leave
    the notice owed and fail ``ens notify``, as an unreachable server does."""
    found = _enhanced(reply)
    if not 500 <= code < 600 or found is None or found.group(1) != b"5":
        return None
    subject, detail = int(found.group(2)), int(found.group(3))
    if subject not in (1, 2) or (subject, detail) in _NOT_FOR_GOOD:
        return None
    return f"{code} 5.{subject}.{detail}"


def carried_as_itself(address: str) -> bool:
    """Whether a To header made of ``address`` names it, and it alone. The pattern of one address
    (``ens.core.api.EMAIL_ADDRESS``: one "@", no space) takes "autre,luc@x.fr", which the header
    reads as two recipients ("autre", which a relay completes with its own domain, and luc@x.fr),
    and "autre:luc@x.fr" (a group), "autre<luc@x.fr" (a route), "luc(x@y.fr" (a comment): the
    message went to whom the header said (a review). ``False`` too for one no header may carry."""
    message = EmailMessage()
    try:
        message["To"] = address
        return [named.addr_spec for named in message["To"].addresses] == [address]
    except ValueError:
        return False


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def stopped(self) -> bool:
        """Whether this mailer has stopped sending: a job that sends many (``ens notify``'s) then
        stops where it is, and what it had not reached stays owed. The server's never stops: each
        request's notice tries the mail server anew."""
        return False

    async def send(self, to: str, subject: str, *, text: str, dev_note: str | None = None) -> None:
        """Send one message. ``dev_note`` (e.g. the code) goes to the log in development only."""
        name, address = self.settings.mail_sender
        message = EmailMessage()
        message["From"] = Address(display_name=name, addr_spec=address)
        local, at, domain = to.rpartition("@")
        # A domain of accented letters in its ASCII form, which every mail server reads: as written,
        # one without SMTPUTF8 refused the message (an earlier session's note).
        ascii = ascii_domain(domain) if at and local and domain else None
        if ascii is None or not carried_as_itself(to := f"{local}@{ascii}"):
            raise MailNotSent("the recipient's address cannot be carried in a message as itself")
        message["To"] = to
        message["Subject"] = subject
        # RFC 5322's form whatever the process's locale (strftime's %a and %b are the locale's).
        message["Date"] = email.utils.format_datetime(clock.now())
        message["Message-ID"] = f"<{uuid.uuid4().hex}@{address.rpartition('@')[2]}>"
        # Sent by a machine (RFC 3834): an "out of office" or a list's robot answers no one.
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text)
        if self.settings.smtp_url:
            await asyncio.to_thread(self._smtp, message)
            return
        path = await asyncio.to_thread(self._outbox, message)
        if self.settings.is_dev:
            log.warning("e-mail written to %s%s", path, f" ({dev_note})" if dev_note else "")
        else:
            log.warning("e-mail written to %s (no ENS_SMTP_URL configured)", path)

    def _smtp(self, message: EmailMessage) -> None:
        assert self.settings.smtp_url is not None
        url = urlsplit(self.settings.smtp_url)
        host = url.hostname or "127.0.0.1"
        if url.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, url.port or 465, timeout=SMTP_TIMEOUT_S, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, url.port or 25, timeout=SMTP_TIMEOUT_S)
        with client:
            if url.scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
            if url.username:
                client.login(unquote(url.username), unquote(url.password or ""))
            try:
                client.send_message(message)
            except smtplib.SMTPRecipientsRefused as exc:
                # One recipient a message: its answer to RCPT TO.
                (code, reply), *_ = exc.recipients.values()
                _refusal_of_the_recipient(code, reply)
                raise
            except smtplib.SMTPDataError as exc:
                # Its answer to the message once sent: a mailbox gone or full, told only then.
                _refusal_of_the_recipient(exc.smtp_code, exc.smtp_error)
                raise

    def _outbox(self, message: EmailMessage) -> Path:
        folder = Path(self.settings.var_dir) / "outbox"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{clock.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(message.as_bytes())
        return path


def _refusal_of_the_recipient(code: int, reply: bytes | str) -> None:
    """Raise what a refusal says of its recipient: refused for good (:class:`RecipientRefused`) or
    their mailbox full (:class:`MailboxFull`); otherwise return, and the refusal stands as it is."""
    if (refused := refused_for_good(code, reply)) is not None:
        raise RecipientRefused(refused) from None
    if (full := mailbox_full(code, reply)) is not None:
        raise MailboxFull(full) from None


class Delivery(enum.Enum):
    """What became of one notice's e-mail to one recipient (:func:`deliver`)."""

    # The mail server took it.
    SENT = "sent"
    # It never will go (:class:`RecipientRefused`): the recipient's notice is given up on.
    UNDELIVERABLE = "undeliverable"
    # The mail server failed (down, a 4xx, a refusal that may be our own), or the address cannot be
    # carried (:class:`MailNotSent`): owed to them still.
    FAILED = "failed"
    # The recipient's mailbox is full (:class:`MailboxFull`): owed to them still, tried again later.
    DEFERRED = "deferred"


async def deliver(mailer: Mailer, to: str, subject: str, text: str) -> Delivery:
    """Send a notice after the fact: the change it tells of is committed, and a mail server that
    fails does not turn anyone's request into an error. Each failure is logged for the operators by
    its kind only (a refusal's text, and the address, name the recipient; the notice's words may
    say whose space): a refusal for good at WARNING (nothing an operator must fix), any other at
    ERROR."""
    try:
        await mailer.send(to, subject, text=text)
    except RecipientRefused as exc:
        log.warning(
            "notice undeliverable: the mail server refused its recipient for good",
            extra={"event": "notice_undeliverable", "smtp_reply": exc.code},
        )
        return Delivery.UNDELIVERABLE
    except MailboxFull as exc:
        log.warning(
            "notice deferred: the recipient's mailbox is full",
            extra={"event": "notice_deferred", "smtp_reply": exc.code},
        )
        return Delivery.DEFERRED
    except (OSError, smtplib.SMTPException) as exc:
        log.error("notice not sent", extra={"event": "notice_not_sent", "reason": type(exc).__name__})
        return Delivery.FAILED
    return Delivery.SENT
