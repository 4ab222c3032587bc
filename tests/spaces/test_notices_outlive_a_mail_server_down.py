"""A notice the holder is owed — a professional opened their space in an emergency, added a document
they see, or released one held back from them — is owed from the transaction that makes it so. The
request tells at once; when the mail server is down then (or the process stops right after the
commit), ``ens notify`` tells later, once. Before, such a notice was sent once, right after the
commit, and lost for good if the mail server failed. A claim on a notice is a lease: a process that
stops after claiming it and before settling it leaves it to the first ``ens notify`` once the lease
has passed (before, the claim cleared the flag, and the notice was lost)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec
import pytest

from ens.core import clock, db
from ens.core.mail import Mailer
from ens.core.settings import Settings
from ens.documents.notices import announce_document, send_release_notices
from ens.spaces.notifications import SpacesReadOnce
from ens.spaces.pro_access import send_emergency_notices
from tests.helpers.documents import metadata, pdf, uploaded
from tests.helpers.login import Outbox
from tests.helpers.mail import Stopped, StopsAt, WaitsAt, address, lease_passed
from tests.helpers.people import MakePerson, Person
from tests.helpers.professionals import GP, NURSE, Pro, authorise, open_emergency, sign_in_pro
from tests.helpers.server import free_port

EMERGENCY_SUBJECT = "Accès d'urgence à un espace santé"
DOCUMENT_WORDS = "Un professionnel de santé a ajouté un document"


@pytest.fixture
def mailer(settings: Settings, outbox: tuple[Outbox, int]) -> Mailer:
    """``ens notify``'s mailer, the mail server back."""
    return Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{outbox[1]}"))


@dataclass
class Notices:
    """What every test here uses: people, professionals, the mail sink and ``ens notify``'s mailer."""

    client: httpx.AsyncClient
    settings: Settings
    make_person: MakePerson
    outbox: tuple[Outbox, int]
    mailer: Mailer

    def told(self, person: Person, words: str) -> int:
        return sum(words in f"{m['Subject']} {m.get_content()}" for m in self.outbox[0].to(address(person)))

    async def emergency(self, via: httpx.AsyncClient) -> tuple[Person, Pro, str]:
        """A holder, a nurse, and the emergency access she opened through ``via``."""
        holder, nurse = await self.make_person(), await sign_in_pro(self.settings, NURSE)
        opened = await open_emergency(via, nurse, holder.space_id)
        assert opened.status_code == 201, opened.text  # the access does not wait for the mail server
        return holder, nurse, str(opened.json()["id"])

    async def holder_with_a_gp(self) -> tuple[Person, Pro]:
        holder, gp = await self.make_person(), await sign_in_pro(self.settings, GP)
        await authorise(self.client, holder, gp)
        return holder, gp


@pytest.fixture
def notices(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, outbox: tuple[Outbox, int], mailer: Mailer
) -> Notices:
    return Notices(client, settings, make_person, outbox, mailer)


async def _owed(table: str, column: str, space_id: Any, item_id: Any) -> bool:
    row = await db.fetch_one(f"SELECT {column} FROM {table} WHERE space_id = {{}} AND id = {{}}", space_id, item_id)
    assert row is not None
    return bool(row[column])


async def _emergency_owed(holder: Person, access_id: str) -> bool:
    return await _owed("emergency_accesses", "notice_due", holder.space_id, access_id)


async def _document_owed(holder: Person, document_id: str) -> bool:
    return await _owed("documents", "release_notice_due", holder.space_id, document_id)


async def test_an_emergency_access_is_told_by_ens_notify_when_the_mail_server_was_down(
    notices: Notices, mail_down: httpx.AsyncClient
) -> None:
    holder, nurse, access_id = await notices.emergency(mail_down)
    assert notices.told(holder, EMERGENCY_SUBJECT) == 0
    assert await _emergency_owed(holder, access_id)

    assert await send_emergency_notices(notices.mailer) >= 1
    assert notices.told(holder, nurse.name) == 1
    assert notices.told(holder, "inconscient") == 0  # never the reason
    assert not await _emergency_owed(holder, access_id)
    # Once: the next run has nothing owed for this access.
    await send_emergency_notices(notices.mailer)
    assert notices.told(holder, EMERGENCY_SUBJECT) == 1


async def test_an_emergency_access_told_at_once_is_not_told_again(
    notices: Notices, mail_client: httpx.AsyncClient
) -> None:
    holder, _, access_id = await notices.emergency(mail_client)
    assert notices.told(holder, EMERGENCY_SUBJECT) == 1
    assert not await _emergency_owed(holder, access_id)
    await send_emergency_notices(notices.mailer)
    assert notices.told(holder, EMERGENCY_SUBJECT) == 1


async def test_ens_notify_sends_again_what_the_mail_server_fails_for_again(
    notices: Notices, mail_down: httpx.AsyncClient
) -> None:
    holder, _, access_id = await notices.emergency(mail_down)
    down = Mailer(msgspec.structs.replace(notices.settings, smtp_url=f"smtp://127.0.0.1:{free_port()}"))
    await send_emergency_notices(down)
    assert await _emergency_owed(holder, access_id)
    await send_emergency_notices(notices.mailer)
    assert notices.told(holder, EMERGENCY_SUBJECT) == 1


async def test_a_document_a_professional_adds_is_told_by_ens_notify_when_the_mail_server_was_down(
    notices: Notices, mail_down: httpx.AsyncClient
) -> None:
    holder, gp = await notices.holder_with_a_gp()
    added = await uploaded(mail_down, gp.headers, pdf(600, seed=71), space=holder.space_id)
    assert notices.told(holder, DOCUMENT_WORDS) == 0
    assert await _document_owed(holder, added["id"])

    assert await send_release_notices(notices.mailer) >= 1
    assert notices.told(holder, DOCUMENT_WORDS) == 1
    await send_release_notices(notices.mailer)
    assert notices.told(holder, DOCUMENT_WORDS) == 1


async def test_a_released_document_is_told_by_ens_notify_when_the_mail_server_was_down(
    notices: Notices, mail_down: httpx.AsyncClient
) -> None:
    holder, gp = await notices.holder_with_a_gp()
    held = await uploaded(
        notices.client, gp.headers, pdf(600, seed=72), space=holder.space_id, meta=metadata(hiddenFromHolder=True)
    )
    # Held back (until the day the professional's authorisation ends, at the latest): nothing told.
    await send_release_notices(notices.mailer)
    assert notices.told(holder, DOCUMENT_WORDS) == 0
    released = await mail_down.patch(
        f"/v1/spaces/{holder.space_id}/documents/{held['id']}", json={"hiddenFromHolder": False}, headers=gp.headers
    )
    assert released.status_code == 200, released.text
    assert notices.told(holder, DOCUMENT_WORDS) == 0
    assert await _document_owed(holder, held["id"])

    await send_release_notices(notices.mailer)
    assert notices.told(holder, DOCUMENT_WORDS) == 1


async def test_a_document_told_at_once_is_not_told_again(notices: Notices, mail_client: httpx.AsyncClient) -> None:
    holder, gp = await notices.holder_with_a_gp()
    added = await uploaded(mail_client, gp.headers, pdf(600, seed=73), space=holder.space_id)
    assert notices.told(holder, DOCUMENT_WORDS) == 1
    assert not await _document_owed(holder, added["id"])
    await send_release_notices(notices.mailer)
    assert notices.told(holder, DOCUMENT_WORDS) == 1


async def test_a_document_whose_day_comes_while_the_space_is_closed_is_told_once_it_is_reopened(
    notices: Notices,
) -> None:
    """ens notify claimed the notice of a document whose day came while its space was closed, then
    told no one (a closed space gets no e-mail): reopened, the holder found the document and was
    never told. The notice is owed until the space is open again."""
    holder, gp = await notices.holder_with_a_gp()
    tomorrow = (clock.now().astimezone(ZoneInfo("Europe/Paris")).date() + timedelta(days=1)).isoformat()
    held = metadata(hiddenFromHolder=True, hiddenFromHolderUntil=tomorrow)
    document = await uploaded(notices.client, gp.headers, pdf(600, seed=74), space=holder.space_id, meta=held)
    space = f"/v1/spaces/{holder.space_id}"
    assert (await notices.client.delete(space, headers=holder.headers)).status_code == 204
    later = clock.now() + timedelta(days=2)

    await send_release_notices(notices.mailer, now=later)
    assert notices.told(holder, DOCUMENT_WORDS) == 0
    assert await _document_owed(holder, document["id"])
    assert (await notices.client.post(f"{space}/reopen", headers=holder.headers)).is_success
    await send_release_notices(notices.mailer, now=later)
    assert notices.told(holder, DOCUMENT_WORDS) == 1


async def test_an_emergency_notice_whose_ens_notify_stopped_after_claiming_it_is_sent_once_the_lease_has_passed(
    notices: Notices, mail_down: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ens notify claimed the notice (which cleared its flag), then its process stopped before the
    mail went: the holder was never told that a nurse opened their space. The claim is now a lease:
    the notice stays owed, no one takes it while the lease lives, and once it has passed the next
    run sends it, once."""
    holder, nurse, access_id = await notices.emergency(mail_down)
    with pytest.raises(Stopped):
        await send_emergency_notices(StopsAt(notices.mailer, address(holder)))
    assert notices.told(holder, EMERGENCY_SUBJECT) == 0
    assert await _emergency_owed(holder, access_id)

    await send_emergency_notices(notices.mailer)  # the lease lives: the claim is the stopped run's
    assert notices.told(holder, EMERGENCY_SUBJECT) == 0

    lease_passed(monkeypatch)
    assert await send_emergency_notices(notices.mailer) >= 1
    assert notices.told(holder, nurse.name) == 1
    assert not await _emergency_owed(holder, access_id)
    await send_emergency_notices(notices.mailer)
    assert notices.told(holder, EMERGENCY_SUBJECT) == 1


async def test_a_document_notice_whose_request_stopped_after_claiming_it_is_sent_once_the_lease_has_passed(
    notices: Notices, mail_down: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same, for a document: the request that added it claimed its notice, and its process
    stopped before the mail went."""
    holder, gp = await notices.holder_with_a_gp()
    added = await uploaded(mail_down, gp.headers, pdf(600, seed=75), space=holder.space_id)
    space = await SpacesReadOnce().get(holder.space_id)
    assert space is not None
    stopping = StopsAt(notices.mailer, address(holder))
    with pytest.raises(Stopped):
        await announce_document(stopping, holder.space_id, db.as_uuid(added["id"]), at=clock.now(), space=space)
    assert await _document_owed(holder, added["id"])

    await send_release_notices(notices.mailer)
    assert notices.told(holder, DOCUMENT_WORDS) == 0

    lease_passed(monkeypatch)
    assert await send_release_notices(notices.mailer) >= 1
    assert notices.told(holder, DOCUMENT_WORDS) == 1
    assert not await _document_owed(holder, added["id"])
    await send_release_notices(notices.mailer)
    assert notices.told(holder, DOCUMENT_WORDS) == 1


async def test_a_notice_being_sent_is_not_taken_by_a_second_ens_notify(
    notices: Notices, mail_down: httpx.AsyncClient
) -> None:
    """Two ens notify at once: the first claimed the notice and is sending it; the second, which
    finds it under a live lease, leaves it. Sent once, and no longer owed."""
    holder, _, access_id = await notices.emergency(mail_down)
    first_mailer = WaitsAt(notices.mailer, address(holder))
    first = asyncio.create_task(send_emergency_notices(first_mailer))
    await asyncio.wait_for(first_mailer.sending.wait(), 30)
    assert await _emergency_owed(holder, access_id)  # claimed, not yet told

    await send_emergency_notices(notices.mailer)
    assert notices.told(holder, EMERGENCY_SUBJECT) == 0
    first_mailer.go_on.set()
    await asyncio.wait_for(first, 30)
    assert notices.told(holder, EMERGENCY_SUBJECT) == 1
    assert not await _emergency_owed(holder, access_id)


async def test_two_ens_notify_started_together_send_a_notice_once(
    notices: Notices, mail_down: httpx.AsyncClient
) -> None:
    """Both read the same due notices; each notice's claim goes to one of them."""
    holder, _, access_id = await notices.emergency(mail_down)
    holder_with_a_gp, gp = await notices.holder_with_a_gp()
    added = await uploaded(mail_down, gp.headers, pdf(600, seed=76), space=holder_with_a_gp.space_id)

    async def run() -> None:
        await send_emergency_notices(notices.mailer)
        await send_release_notices(notices.mailer)

    await asyncio.gather(run(), run())
    assert notices.told(holder, EMERGENCY_SUBJECT) == 1
    assert notices.told(holder_with_a_gp, DOCUMENT_WORDS) == 1
    assert not await _emergency_owed(holder, access_id)
    assert not await _document_owed(holder_with_a_gp, added["id"])


async def test_a_claim_that_outlived_its_lease_settles_nothing(
    notices: Notices, mail_down: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run so slow that its lease passed: another run took the notice and sent it. When the slow
    one's mail server then fails, the notice is not owed again (it was told: it would go twice)."""
    holder, _, access_id = await notices.emergency(mail_down)
    slow = WaitsAt(notices.mailer, address(holder), fails=True)
    first = asyncio.create_task(send_emergency_notices(slow))
    await asyncio.wait_for(slow.sending.wait(), 30)

    lease_passed(monkeypatch)
    assert await send_emergency_notices(notices.mailer) >= 1
    assert notices.told(holder, EMERGENCY_SUBJECT) == 1
    slow.go_on.set()
    await asyncio.wait_for(first, 30)
    assert not await _emergency_owed(holder, access_id)
    await send_emergency_notices(notices.mailer)
    assert notices.told(holder, EMERGENCY_SUBJECT) == 1


async def test_ens_notify_owed_only_sends_the_owed_notices_and_leaves_the_daily_ones(
    notices: Notices, mail_down: httpx.AsyncClient
) -> None:
    """``ens notify`` ran daily: an emergency access whose mail failed was told the next day. Run
    every few minutes with ``--owed-only``, it tells what is owed (here the emergency access) and
    leaves the daily notices (a child's coming 18th birthday) to the daily run."""
    from tests.helpers.carers import create_child_space, set_birthdate, today_in_paris, years_before
    from tests.helpers.server import run_ens

    holder, _, access_id = await notices.emergency(mail_down)
    assert await _emergency_owed(holder, access_id)
    parent = await notices.make_person()
    child = await create_child_space(notices.client, parent, given_name="Maël")
    await set_birthdate(child, years_before(today_in_paris() + timedelta(days=80), 18))
    birthday_told = "SELECT id FROM space_notices WHERE space_id = {}"

    owed = run_ens(notices.settings, "notify", "--owed-only")  # development: the outbox
    assert owed.returncode == 0, owed.stdout + owed.stderr
    assert "(owed only)" in owed.stdout and "18th birthday" not in owed.stdout and "digest" not in owed.stdout
    assert not await _emergency_owed(holder, access_id)
    assert await db.fetch(birthday_told, child) == []

    daily = run_ens(notices.settings, "notify")
    assert daily.returncode == 0, daily.stdout + daily.stderr
    assert len(await db.fetch(birthday_told, child)) == 1


async def test_a_representatives_notice_of_an_erasure_is_owed_when_the_mail_server_is_down(
    notices: Notices, mail_down: httpx.AsyncClient
) -> None:
    """A holder erased their space while the mail server was down: their tutor's notice was only
    logged, and the space gone, no one would ever tell them (a review). It is owed as the security
    notices are (``owed_security_notices``, no space in it), and ``ens notify`` tells them."""
    from ens.core.owed_mail import send_owed_notices
    from tests.helpers.carers import court_measure

    holder, tutor = await notices.make_person(given_name="Hélène"), await notices.make_person()
    await court_measure(holder, tutor, "tutelle")
    erased = await mail_down.delete("/v1/spaces/me?erase=true", headers=holder.headers)
    assert erased.status_code == 204, erased.text  # the erasure does not wait for the mail server
    owed = "SELECT subject FROM owed_security_notices WHERE account_id = {}"
    assert [row["subject"] for row in await db.fetch(owed, tutor.account_id)] == ["Un espace santé a été supprimé"]
    assert notices.told(tutor, "Hélène a supprimé définitivement son espace santé") == 0
    assert await send_owed_notices(notices.mailer) >= 1
    assert notices.told(tutor, "Hélène a supprimé définitivement son espace santé") == 1
    assert await db.fetch(owed, tutor.account_id) == []
