"""E-mails to the person: codes and security notices. SMTP when ``ENS_SMTP_URL`` is set, else an outbox.

In development without SMTP, each message is written to ``{ENS_VAR_DIR}/outbox`` and the log says
where; codes are never logged outside development.
"""

from __future__ import annotations

import asyncio
import email.utils
import errno
import logging
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
            client.send_message(message)

    def _outbox(self, message: EmailMessage) -> Path:
        folder = Path(self.settings.var_dir) / "outbox"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{clock.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(message.as_bytes())
        return path
