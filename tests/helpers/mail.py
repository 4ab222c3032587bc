"""What the tests of owed notices share: the address a test person's e-mail goes to, ``ens notify``'s
mailer on the tests' mail server, mailers whose process stops or waits as it is about to send, and
time passing a claim's lease (``ens.core.owed_mail``)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import msgspec
import pytest

from ens.core import clock
from ens.core.mail import Mailer
from ens.core.owed_mail import NOTICE_LEASE
from ens.core.settings import Settings
from tests.helpers.people import Person


def address(person: Person) -> str:
    """The address a test person's e-mail goes to (``make_person`` gives each this one)."""
    return f"{person.family_name.lower()}@example.test"


def mailer_on(settings: Settings, port: int) -> Mailer:
    """``ens notify``'s mailer, on the mail server listening on ``port``."""
    return Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{port}"))


def lease_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Time passes, beyond a claim's lease."""
    later = clock.now() + NOTICE_LEASE + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)


class Stopped(BaseException):
    """The process stopping (killed, its machine gone) in the middle of a notice: nothing after runs."""


class StopsAt(Mailer):
    """``ens notify``'s mailer, whose process stops as it is about to send to ``address`` (to anyone:
    ``None``)."""

    def __init__(self, mailer: Mailer, address: str | None = None) -> None:
        super().__init__(mailer.settings)
        self.address = address

    async def send(self, to: str, subject: str, *, text: str, dev_note: str | None = None) -> None:
        if self.address is None or to == self.address:
            raise Stopped
        await super().send(to, subject, text=text, dev_note=dev_note)


class WaitsAt(Mailer):
    """A mailer that, as it is about to send to ``address``, says so and waits to be let go on;
    then sends, or with ``fails`` finds the mail server failing."""

    def __init__(self, mailer: Mailer, address: str, *, fails: bool = False) -> None:
        super().__init__(mailer.settings)
        self.address = address
        self.fails = fails
        self.sending = asyncio.Event()
        self.go_on = asyncio.Event()

    async def send(self, to: str, subject: str, *, text: str, dev_note: str | None = None) -> None:
        if to == self.address:
            self.sending.set()
            await self.go_on.wait()
            if self.fails:
                raise ConnectionRefusedError("the mail server is down")
        await super().send(to, subject, text=text, dev_note=dev_note)
