"""``ens notify`` with a mail server it cannot reach tried every owed notice in turn, each waiting
out its connection (10 s, ``SMTP_TIMEOUT_S``, for a server that does not answer): a run with 500
notices owed took over an hour to send none, and the next runs, every few minutes, queued behind it
(an outside audit). A run now stops at the first e-mail the mail server could not be reached for,
leaves the rest owed for the next run, says how many, and exits 1 as before. A refusal of one
message (its recipient) is that message's alone: the run goes on."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
from aiosmtpd.controller import Controller

from ens.auth.login.notices import RECOVERY_USED
from ens.core import db
from ens.core.mail import Mailer
from ens.core.owed_mail import send_owed_notice
from ens.core.settings import Settings
from tests.helpers.login import Outbox
from tests.helpers.people import MakePerson, Person
from tests.helpers.server import free_port, run_ens

SUBJECT = "Un code de secours a été utilisé"
LEFT = re.compile(r"this run stopped sending, (\d+) notices left owed for the next run")


def _address(person: Person) -> str:
    return f"{person.family_name.lower()}@example.test"


async def _owed(people: list[Person]) -> int:
    counts = [
        await db.fetch("SELECT COUNT(*) AS n FROM owed_security_notices WHERE account_id = {}", p.account_id)
        for p in people
    ]
    return sum(int(rows[0]["n"]) for rows in counts)


async def _owe(settings: Settings, people: list[Person], each: int) -> None:
    """``each`` security notices owed to each of ``people`` (the mail server down when they happened)."""
    down = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}"))
    for person in people:
        for _ in range(each):
            await send_owed_notice(down, person.account_id, _address(person), SUBJECT, RECOVERY_USED)


@contextmanager
def _silent_mail_server() -> Iterator[tuple[int, list[socket.socket]]]:
    """A mail server that takes each connection and never says a word (hung; a firewall that drops
    the packets waits as long, at the connection): its port, and the connections it took."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    taken: list[socket.socket] = []
    stop = threading.Event()

    def take() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            taken.append(connection)

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], taken
    finally:
        stop.set()
        thread.join(5)
        for connection in taken:
            connection.close()
        listener.close()


async def test_a_mail_server_that_never_answers_is_waited_for_once_a_run(
    settings: Settings, make_person: MakePerson, outbox: tuple[Outbox, int]
) -> None:
    people = [await make_person() for _ in range(3)]
    await _owe(settings, people, 10)
    assert await _owed(people) == 30

    with _silent_mail_server() as (port, taken):
        started = time.monotonic()
        # Before: 30 notices x 10 s, five minutes (the run outlived this 60 s timeout).
        run = run_ens(settings, "notify", "--owed-only", env={"ENS_SMTP_URL": f"smtp://127.0.0.1:{port}"})
        took = time.monotonic() - started
        assert len(taken) == 1  # one e-mail tried, then none
    assert took < 30, took
    assert run.returncode == 1, run.stdout + run.stderr
    assert "the mail server could not be reached (TimeoutError)" in run.stdout
    left = LEFT.search(run.stdout)
    assert left is not None and int(left.group(1)) >= 30, run.stdout
    assert "event=notify_stopped" in run.stderr and "reason=TimeoutError" in run.stderr
    assert await _owed(people) == 30  # all still owed, none under a claim
    leased = "SELECT id FROM owed_security_notices WHERE account_id = {} AND lease_until IS NOT NULL"
    for person in people:
        assert await db.fetch(leased, person.account_id) == []

    # The mail server back: the next run sends them all.
    back = run_ens(settings, "notify", "--owed-only", env={"ENS_SMTP_URL": f"smtp://127.0.0.1:{outbox[1]}"})
    assert back.returncode == 0, back.stdout + back.stderr
    assert "could not be reached" not in back.stdout
    assert await _owed(people) == 0
    assert all(len(outbox[0].to(_address(p))) == 10 for p in people)


async def test_a_daily_run_stops_at_a_dead_port_and_says_what_is_left(
    settings: Settings, make_person: MakePerson
) -> None:
    people = [await make_person() for _ in range(2)]
    await _owe(settings, people, 5)

    run = run_ens(settings, "notify", env={"ENS_SMTP_URL": f"smtp://127.0.0.1:{free_port()}"})
    assert run.returncode == 1, run.stdout + run.stderr
    assert "the mail server could not be reached (ConnectionRefusedError)" in run.stdout
    left = LEFT.search(run.stdout)
    assert left is not None and int(left.group(1)) >= 10, run.stdout
    assert "the birthday notices and digests not sent wait for the next daily run" in run.stdout
    assert await _owed(people) == 10


class _RefusesOne(Outbox):
    """A mail server that refuses one recipient (no such mailbox) and takes the others."""

    def __init__(self, refused: str) -> None:
        super().__init__()
        self.refused = refused

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address == self.refused:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


async def test_a_recipient_refused_stops_nothing(settings: Settings, make_person: MakePerson) -> None:
    refused, other = await make_person(), await make_person()
    await _owe(settings, [refused], 2)  # the older: tried first
    await _owe(settings, [other], 2)
    handler = _RefusesOne(_address(refused))
    port = free_port()
    server = Controller(handler, hostname="127.0.0.1", port=port)
    server.start()
    try:
        run = run_ens(settings, "notify", "--owed-only", env={"ENS_SMTP_URL": f"smtp://127.0.0.1:{port}"})
    finally:
        server.stop()
    # Refused for good (5.1.1, no such mailbox): given up on, counted, and no failure of the run.
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 e-mails given up on" in run.stdout and "not sent" not in run.stdout
    assert "could not be reached" not in run.stdout
    assert await _owed([refused]) == 0
    assert await _owed([other]) == 0
    assert len(handler.to(_address(other))) == 2
