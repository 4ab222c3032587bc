"""A security notice (a new device, a recovery code used, a factor replaced, the codes locked, the
address changed, new recovery codes) the mail server did not take was only logged: the one that
matters in an account takeover, "un code de secours vient d'être utilisé", was lost for good (an
outside audit of the e-mails). It is kept, owed, and ``ens notify`` sends it until it goes, once
even when two runs meet, saying when it should have arrived."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from ens.auth.login.notices import RECOVERY_USED
from ens.core import db
from ens.core.mail import Mailer
from ens.core.owed_mail import send_owed_notice, send_owed_notices
from ens.core.settings import Settings
from tests.helpers.login import Outbox
from tests.helpers.mail import Stopped, StopsAt, address, lease_passed
from tests.helpers.people import Person
from tests.helpers.server import free_port, run_ens

SUBJECT = "Un code de secours a été utilisé"


async def _owed(person: Person) -> list[db.Row]:
    return await db.fetch("SELECT * FROM owed_security_notices WHERE account_id = {}", person.account_id)


async def test_a_notice_the_mail_server_did_not_take_is_sent_by_ens_notify_once(
    person: Person, settings: Settings, outbox: tuple[Outbox, int]
) -> None:
    down = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}"))
    up = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{outbox[1]}"))
    await send_owed_notice(down, person.account_id, address(person), SUBJECT, RECOVERY_USED)
    [owed] = await _owed(person)
    assert owed["to_address"] == address(person) and owed["lease_until"] is None

    # Still down at the next run: owed again, for the one after.
    assert await send_owed_notices(down) == 0
    [owed] = await _owed(person)
    assert owed["lease_until"] is None

    # Two runs at once (cron's, and an operator's by hand): one sends it.
    runs = await asyncio.gather(send_owed_notices(up), send_owed_notices(up))
    assert sum(runs) >= 1
    [mail] = outbox[0].to(address(person))
    text = mail.get_content()
    assert mail["Subject"] == SUBJECT and "Un code de secours vient d'être utilisé" in text
    assert "Ce message aurait dû vous parvenir le" in text and "(heure de Paris)" in text
    assert await _owed(person) == []
    assert await send_owed_notices(up) == 0


async def test_a_notice_the_mail_server_took_is_not_kept(
    person: Person, settings: Settings, outbox: tuple[Outbox, int]
) -> None:
    up = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{outbox[1]}"))
    await send_owed_notice(up, person.account_id, address(person), SUBJECT, RECOVERY_USED)
    assert len(outbox[0].to(address(person))) == 1
    assert await _owed(person) == []


async def test_an_address_no_message_can_carry_is_not_kept_for_ever(person: Person, settings: Settings) -> None:
    """It would fail at every run, and ens notify's exit status would alert cron every time."""
    down = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}"))
    await send_owed_notice(down, person.account_id, "x@example.test\u2028Bcc: y@example.test", SUBJECT, "Bonjour")
    assert await _owed(person) == []


async def test_ens_notify_sends_the_owed_security_notices(person: Person, settings: Settings) -> None:
    down = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}"))
    await send_owed_notice(down, person.account_id, address(person), SUBJECT, RECOVERY_USED)
    owed = run_ens(settings, "notify", "--owed-only")  # development: the outbox
    assert owed.returncode == 0, owed.stdout + owed.stderr
    assert "security notices the mail server had not taken" in owed.stdout
    assert await _owed(person) == []


async def test_a_notice_whose_ens_notify_stopped_after_claiming_it_is_sent_once_the_lease_has_passed(
    person: Person, settings: Settings, outbox: tuple[Outbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row that is the notice goes through the same claim as a flag (ens.core.owed_mail.OwedNotice,
    e69f0fe): a run that stops after its claim leaves it owed, no other run takes it while the lease
    lives, and once the lease has passed the next run sends it, once, and the row is gone."""
    down = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}"))
    up = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{outbox[1]}"))
    await send_owed_notice(down, person.account_id, address(person), SUBJECT, RECOVERY_USED)
    with pytest.raises(Stopped):
        await send_owed_notices(StopsAt(up))
    [owed] = await _owed(person)
    assert owed["lease_until"] is not None

    assert await send_owed_notices(up) == 0  # the lease lives: the claim is the stopped run's
    assert outbox[0].to(address(person)) == []
    assert len(await _owed(person)) == 1

    lease_passed(monkeypatch)
    assert await send_owed_notices(up) == 1
    assert len(outbox[0].to(address(person))) == 1
    assert await _owed(person) == []
    assert await send_owed_notices(up) == 0
    assert len(outbox[0].to(address(person))) == 1
