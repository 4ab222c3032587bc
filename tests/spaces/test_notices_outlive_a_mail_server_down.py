"""A notice the holder is owed — a professional opened their space in an emergency, added a document
they see, or released one held back from them — is owed from the transaction that makes it so. The
request tells at once; when the mail server is down then (or the process stops right after the
commit), ``ens notify`` tells later, once. Before, such a notice was sent once, right after the
commit, and lost for good if the mail server failed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest
from litestar import Litestar

from ens.app import create_app
from ens.core import db
from ens.core.mail import Mailer
from ens.core.settings import Settings
from ens.documents.notices import send_release_notices
from ens.spaces.pro_access import send_emergency_notices
from tests.helpers.asgi import asgi_client
from tests.helpers.documents import metadata, pdf, uploaded
from tests.helpers.login import Outbox
from tests.helpers.people import MakePerson, Person
from tests.helpers.professionals import GP, NURSE, authorise, open_emergency, sign_in_pro
from tests.helpers.server import free_port

EMERGENCY_SUBJECT = "Accès d'urgence à un espace santé"
DOCUMENT_WORDS = "Un professionnel de santé a ajouté un document"


@pytest.fixture(scope="module")
def mail_down_app(settings: Settings, migrated: None) -> Litestar:
    """The app, its mail server down (nothing listens on that port)."""
    return create_app(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}"))


@pytest.fixture
async def mail_down(mail_down_app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(mail_down_app, "http://testserver.local") as test_client:
        yield test_client


@pytest.fixture
def mailer(settings: Settings, outbox: tuple[Outbox, int]) -> Mailer:
    """``ens notify``'s mailer, the mail server back."""
    return Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{outbox[1]}"))


def _address(person: Person) -> str:
    return f"{person.family_name.lower()}@example.test"


def _documents_told(outbox: tuple[Outbox, int], person: Person) -> int:
    return sum(DOCUMENT_WORDS in str(message.get_content()) for message in outbox[0].to(_address(person)))


async def _owed(table: str, column: str, space_id: object, item_id: object) -> bool:
    row = await db.fetch_one(f"SELECT {column} FROM {table} WHERE space_id = {{}} AND id = {{}}", space_id, item_id)
    assert row is not None
    return bool(row[column])


async def test_an_emergency_access_is_told_by_ens_notify_when_the_mail_server_was_down(
    mail_down: httpx.AsyncClient,
    settings: Settings,
    make_person: MakePerson,
    outbox: tuple[Outbox, int],
    mailer: Mailer,
) -> None:
    holder = await make_person()
    nurse = await sign_in_pro(settings, NURSE)
    opened = await open_emergency(mail_down, nurse, holder.space_id)
    assert opened.status_code == 201, opened.text  # the access does not wait for the mail server
    assert outbox[0].to(_address(holder)) == []
    assert await _owed("emergency_accesses", "notice_due", holder.space_id, opened.json()["id"])

    assert await send_emergency_notices(mailer) >= 1
    (told,) = outbox[0].to(_address(holder))
    assert told["Subject"] == EMERGENCY_SUBJECT
    assert nurse.name in str(told.get_content())
    assert "inconscient" not in str(told.get_content())  # never the reason
    assert not await _owed("emergency_accesses", "notice_due", holder.space_id, opened.json()["id"])
    # Once: the next run has nothing owed for this access.
    await send_emergency_notices(mailer)
    assert len(outbox[0].to(_address(holder))) == 1


async def test_an_emergency_access_told_at_once_is_not_told_again(
    mail_client: httpx.AsyncClient,
    settings: Settings,
    make_person: MakePerson,
    outbox: tuple[Outbox, int],
    mailer: Mailer,
) -> None:
    holder = await make_person()
    opened = await open_emergency(mail_client, await sign_in_pro(settings, NURSE), holder.space_id)
    assert opened.status_code == 201, opened.text
    assert len(outbox[0].to(_address(holder))) == 1
    assert not await _owed("emergency_accesses", "notice_due", holder.space_id, opened.json()["id"])
    await send_emergency_notices(mailer)
    assert len(outbox[0].to(_address(holder))) == 1


async def test_ens_notify_sends_again_what_the_mail_server_fails_for_again(
    mail_down: httpx.AsyncClient,
    settings: Settings,
    make_person: MakePerson,
    outbox: tuple[Outbox, int],
    mailer: Mailer,
) -> None:
    holder = await make_person()
    opened = await open_emergency(mail_down, await sign_in_pro(settings, NURSE), holder.space_id)
    assert opened.status_code == 201, opened.text
    down = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}"))
    await send_emergency_notices(down)
    assert await _owed("emergency_accesses", "notice_due", holder.space_id, opened.json()["id"])
    await send_emergency_notices(mailer)
    assert len(outbox[0].to(_address(holder))) == 1


async def test_a_document_a_professional_adds_is_told_by_ens_notify_when_the_mail_server_was_down(
    client: httpx.AsyncClient,
    mail_down: httpx.AsyncClient,
    settings: Settings,
    make_person: MakePerson,
    outbox: tuple[Outbox, int],
    mailer: Mailer,
) -> None:
    holder = await make_person()
    gp = await sign_in_pro(settings, GP)
    await authorise(client, holder, gp)
    added = await uploaded(mail_down, gp.headers, pdf(600, seed=71), space=holder.space_id)
    assert _documents_told(outbox, holder) == 0
    assert await _owed("documents", "release_notice_due", holder.space_id, added["id"])

    assert await send_release_notices(mailer) >= 1
    assert _documents_told(outbox, holder) == 1
    await send_release_notices(mailer)
    assert _documents_told(outbox, holder) == 1


async def test_a_released_document_is_told_by_ens_notify_when_the_mail_server_was_down(
    client: httpx.AsyncClient,
    mail_down: httpx.AsyncClient,
    settings: Settings,
    make_person: MakePerson,
    outbox: tuple[Outbox, int],
    mailer: Mailer,
) -> None:
    holder = await make_person()
    gp = await sign_in_pro(settings, GP)
    await authorise(client, holder, gp)
    held = await uploaded(
        client, gp.headers, pdf(600, seed=72), space=holder.space_id, meta=metadata(hiddenFromHolder=True)
    )
    assert not await _owed("documents", "release_notice_due", holder.space_id, held["id"])  # held: nothing owed
    released = await mail_down.patch(
        f"/v1/spaces/{holder.space_id}/documents/{held['id']}", json={"hiddenFromHolder": False}, headers=gp.headers
    )
    assert released.status_code == 200, released.text
    assert _documents_told(outbox, holder) == 0
    assert await _owed("documents", "release_notice_due", holder.space_id, held["id"])

    await send_release_notices(mailer)
    assert _documents_told(outbox, holder) == 1


async def test_a_document_told_at_once_is_not_told_again(
    client: httpx.AsyncClient,
    mail_client: httpx.AsyncClient,
    settings: Settings,
    make_person: MakePerson,
    outbox: tuple[Outbox, int],
    mailer: Mailer,
) -> None:
    holder = await make_person()
    gp = await sign_in_pro(settings, GP)
    await authorise(client, holder, gp)
    added = await uploaded(mail_client, gp.headers, pdf(600, seed=73), space=holder.space_id)
    assert _documents_told(outbox, holder) == 1
    assert not await _owed("documents", "release_notice_due", holder.space_id, added["id"])
    await send_release_notices(mailer)
    assert _documents_told(outbox, holder) == 1
