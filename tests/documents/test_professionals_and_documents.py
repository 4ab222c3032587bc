"""Professionals and documents, over HTTP through the door: they read and add the types their
profession may (the access matrix), as themselves (the author comes from their identity); a
document the holder hid from professionals is not theirs to see, but its author still reads it; a
professional may hold a document back from the holder until they release it or its day comes; the
holder (for a child's space that has none, the parents) is e-mailed when a professional adds a
document they may see."""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import msgspec

from ens.core import clock, db
from ens.core.mail import Mailer
from ens.core.settings import Settings
from ens.documents import masking
from ens.documents import upload as upload_module
from ens.documents.notices import send_release_notices
from tests.helpers.carers import PARIS, create_child_space, today_in_paris, years_before
from tests.helpers.documents import CONSULTATION, LAB_REPORT, metadata, pdf, upload, uploaded
from tests.helpers.login import Outbox
from tests.helpers.people import MakePerson, Person
from tests.helpers.professionals import (
    GP,
    MIDWIFE,
    NURSE,
    PHYSIO,
    Pro,
    authorise,
    open_emergency,
    sign_in_pro,
)

SUBJECT_START = "Un nouveau document dans "
CONFIDENTIAL = metadata(hiddenFromRepresentatives=True)  # a minor's, from their parents (CSP L1111-5)


def _email(person: Person) -> str:
    return f"{person.family_name.lower()}@example.test"


async def _mails(outbox: tuple[Outbox, int], address: str, *, at_least: int = 0) -> list[str]:
    """What ``address`` received with the new-document subject (waiting a little for ``at_least``)."""
    for _ in range(60):
        found = [m.get_content() for m in outbox[0].to(address) if m["Subject"].startswith(SUBJECT_START)]
        if len(found) >= at_least:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{at_least} e-mail(s) expected for {address}")


async def _ids(client: httpx.AsyncClient, who_headers: dict[str, str], space: object) -> list[str]:
    answer = await client.get(f"/v1/spaces/{space}/documents", headers=who_headers)
    assert answer.status_code == 200, answer.text
    return [d["id"] for d in answer.json()["items"]]


async def test_a_professional_adds_a_document_as_themself_and_the_holder_is_told(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, outbox: tuple[Outbox, int]
) -> None:
    holder = await make_person(given_name="Camille")
    gp = await sign_in_pro(settings, GP, given_name="Claire", family_name="Durand")
    await authorise(mail_client, holder, gp)
    space = holder.space_id
    added = await upload(
        mail_client, gp.headers, pdf(3000), space=space, meta=metadata(title="Annonce d'un diagnostic", author="X")
    )
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["author"] == "Claire Durand"  # the identity, not what the metadata said
    assert body["addedBy"]["role"] == "professional" and body["addedBy"]["name"] == "Claire Durand"
    [mail] = await _mails(outbox, _email(holder), at_least=1)
    assert "Un professionnel de santé a ajouté un document" in mail
    assert "diagnostic" not in mail and "Annonce" not in mail

    # The holder's own upload is not announced; with the notice turned off, neither is a professional's.
    await uploaded(mail_client, holder.headers, pdf(100, seed=2))
    prefs = {"documentAdded": False, "emergencyAccess": True, "representativesDigest": False, "appsDigest": False}
    assert (await mail_client.put("/v1/me/notifications", json=prefs, headers=holder.headers)).status_code == 200
    assert (await upload(mail_client, gp.headers, pdf(100, seed=3), space=space)).status_code == 201
    await asyncio.sleep(0.3)
    assert len(await _mails(outbox, _email(holder))) == 1

    # A professional neither hides a document from professionals nor removes one.
    document = f"/v1/spaces/{space}/documents/{body['id']}"
    refused = await mail_client.patch(document, json={"hiddenFromProfessionals": True}, headers=gp.headers)
    assert refused.status_code == 403
    assert (await mail_client.delete(document, headers=gp.headers)).status_code == 403


async def test_for_a_minor_the_parents_are_told(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, outbox: tuple[Outbox, int]
) -> None:
    parent = await make_person(given_name="Jean")
    child = await create_child_space(
        mail_client, parent, given_name="Inès", birthdate=years_before(today_in_paris(), 7)
    )
    gp = await sign_in_pro(settings, GP)
    await authorise(mail_client, parent, gp, space=child)
    assert (await upload(mail_client, gp.headers, pdf(500), space=child)).status_code == 201
    [mail] = await _mails(outbox, _email(parent), at_least=1)
    assert "aucune donnée de santé" in mail
    # Whose space: a parent has their own, and perhaps several children's (it said "dans votre
    # espace santé", of the child's: an outside audit of the e-mails).
    assert "a ajouté un document dans l'espace santé d'Inès." in mail
    assert "votre espace" not in mail
    [message] = [m for m in outbox[0].to(_email(parent)) if m["Subject"].startswith(SUBJECT_START)]
    assert message["Subject"] == "Un nouveau document dans l'espace santé d'Inès"


async def _child_with_a_midwife(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> tuple[Person, uuid.UUID, Pro]:
    """A parent, their 15-year-old's space (no holder account: the parents are told), a midwife
    the parent authorised (on a minor's space she may hide an item from the parents, CSP L1111-5)."""
    parent = await make_person(given_name="Paul")
    child = await create_child_space(client, parent, given_name="Inès", birthdate=years_before(today_in_paris(), 15))
    midwife = await sign_in_pro(settings, MIDWIFE)
    await authorise(client, parent, midwife, space=child)
    return parent, child, midwife


async def test_the_parents_are_not_told_of_a_document_hidden_from_them(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, outbox: tuple[Outbox, int]
) -> None:
    parent, child, midwife = await _child_with_a_midwife(mail_client, settings, make_person)
    await uploaded(mail_client, midwife.headers, pdf(500, seed=30), space=child, meta=CONFIDENTIAL)
    assert await _ids(mail_client, parent.headers, child) == []
    # A document they may see is announced (and the hidden one was not: one e-mail, this one).
    await uploaded(mail_client, midwife.headers, pdf(500, seed=31), space=child)
    await asyncio.sleep(0.3)
    assert len(await _mails(outbox, _email(parent), at_least=1)) == 1


async def test_the_parents_are_not_told_when_a_document_hidden_from_them_is_released(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, outbox: tuple[Outbox, int]
) -> None:
    parent, child, midwife = await _child_with_a_midwife(mail_client, settings, make_person)
    held = await uploaded(
        mail_client, midwife.headers, pdf(500, seed=32), space=child, meta={**CONFIDENTIAL, "hiddenFromHolder": True}
    )
    released = await mail_client.patch(
        f"/v1/spaces/{child}/documents/{held['id']}", json={"hiddenFromHolder": False}, headers=midwife.headers
    )
    assert released.status_code == 200, released.text
    # One the parents may see, held back then released, is announced (and only it).
    shown = await uploaded(
        mail_client, midwife.headers, pdf(500, seed=33), space=child, meta=metadata(hiddenFromHolder=True)
    )
    released = await mail_client.patch(
        f"/v1/spaces/{child}/documents/{shown['id']}", json={"hiddenFromHolder": False}, headers=midwife.headers
    )
    assert released.status_code == 200, released.text
    await asyncio.sleep(0.3)
    assert len(await _mails(outbox, _email(parent), at_least=1)) == 1
    assert await _ids(mail_client, parent.headers, child) == [shown["id"]]


async def test_ens_notify_does_not_tell_the_parents_of_a_document_hidden_from_them(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, outbox: tuple[Outbox, int]
) -> None:
    parent, child, midwife = await _child_with_a_midwife(mail_client, settings, make_person)
    tomorrow = (today_in_paris() + timedelta(days=1)).isoformat()
    held = {"hiddenFromHolder": True, "hiddenFromHolderUntil": tomorrow}
    hidden = await uploaded(mail_client, midwife.headers, pdf(500, seed=34), space=child, meta={**CONFIDENTIAL, **held})
    await uploaded(mail_client, midwife.headers, pdf(500, seed=35), space=child, meta=metadata(**held))
    mailer = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{outbox[1]}"))
    # The day after tomorrow: both are due; only the one the parents may see is announced.
    await send_release_notices(mailer, now=clock.now() + timedelta(days=2))
    await asyncio.sleep(0.3)
    assert len(await _mails(outbox, _email(parent), at_least=1)) == 1
    row = await db.fetch_one(
        "SELECT release_notice_due FROM documents WHERE space_id = {} AND id = {}", child, hidden["id"]
    )
    assert row is not None and not row["release_notice_due"]  # settled: never announced later


async def test_a_minor_who_holds_their_own_space_is_told_of_a_professionals_document(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, outbox: tuple[Outbox, int]
) -> None:
    # Signed in with their own identity, the minor holds the space (no parents on it): they are told,
    # of a document hidden from representatives too (it is hidden from the parents, not from them).
    minor = await make_person(given_name="Zoé", birthdate=years_before(today_in_paris(), 16))
    midwife = await sign_in_pro(settings, MIDWIFE)
    await authorise(mail_client, minor, midwife)
    await uploaded(mail_client, midwife.headers, pdf(500, seed=36), space=minor.space_id)
    await uploaded(mail_client, midwife.headers, pdf(500, seed=37), space=minor.space_id, meta=CONFIDENTIAL)
    mails = await _mails(outbox, _email(minor), at_least=2)
    assert len(mails) == 2 and "Un professionnel de santé a ajouté un document" in mails[0]


async def test_a_document_hidden_from_professionals_is_read_by_its_author_only(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    holder = await make_person()
    author, other = await sign_in_pro(settings, GP), await sign_in_pro(settings, GP)
    for pro in (author, other):
        await authorise(client, holder, pro)
    space = holder.space_id
    written = await uploaded(client, author.headers, pdf(800, seed=4), space=space)
    own = await uploaded(client, holder.headers, pdf(800, seed=5))
    for doc in (written, own):
        hidden = await client.patch(
            f"/v1/spaces/me/documents/{doc['id']}", json={"hiddenFromProfessionals": True}, headers=holder.headers
        )
        assert hidden.status_code == 200, hidden.text

    assert await _ids(client, other.headers, space) == []
    for doc in (written, own):
        for path in (f"/v1/spaces/{space}/documents/{doc['id']}", f"/v1/spaces/{space}/documents/{doc['id']}/content"):
            assert (await client.get(path, headers=other.headers)).status_code == 404
    # Its author still reads it (and only it).
    assert await _ids(client, author.headers, space) == [written["id"]]
    content = await client.get(f"/v1/spaces/{space}/documents/{written['id']}/content", headers=author.headers)
    assert content.status_code == 200 and content.content == pdf(800, seed=4)
    # The holder shows them again: every professional sees them.
    await client.patch(
        f"/v1/spaces/me/documents/{own['id']}", json={"hiddenFromProfessionals": False}, headers=holder.headers
    )
    assert await _ids(client, other.headers, space) == [own["id"]]


async def test_a_professional_reads_and_adds_only_the_types_their_profession_may(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    holder = await make_person()
    physio = await sign_in_pro(settings, PHYSIO)
    await authorise(client, holder, physio)
    space = holder.space_id
    lab = await uploaded(client, holder.headers, pdf(300, seed=6), meta=metadata(typeCode=LAB_REPORT))
    note = await uploaded(client, holder.headers, pdf(300, seed=7), meta=metadata(typeCode=CONSULTATION))
    assert await _ids(client, physio.headers, space) == [note["id"]]  # no laboratory report
    assert (await client.get(f"/v1/spaces/{space}/documents/{lab['id']}", headers=physio.headers)).status_code == 404
    refused = await upload(client, physio.headers, pdf(300, seed=8), space=space, meta=metadata(typeCode=LAB_REPORT))
    assert refused.status_code == 403
    assert "/metadata/typeCode" in [e["pointer"] for e in refused.json()["errors"]]
    assert (await upload(client, physio.headers, pdf(300, seed=9), space=space)).status_code == 201


async def test_a_professional_holds_a_document_back_until_they_release_it_or_its_day_comes(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    holder = await make_person()
    gp, other = await sign_in_pro(settings, GP), await sign_in_pro(settings, GP)
    for pro in (gp, other):
        await authorise(client, holder, pro)
    space = holder.space_id
    tomorrow = (today_in_paris() + timedelta(days=1)).isoformat()
    held = await uploaded(
        client,
        gp.headers,
        pdf(400, seed=10),
        space=space,
        meta=metadata(title="Résultats à annoncer", hiddenFromHolder=True, hiddenFromHolderUntil=tomorrow),
    )
    assert held["hiddenFromHolder"] is True and held["hiddenFromHolderUntil"] == tomorrow
    document = f"/v1/spaces/{space}/documents/{held['id']}"
    assert held["id"] not in await _ids(client, holder.headers, "me")
    assert (await client.get(document, headers=holder.headers)).status_code == 404
    assert (await client.get(f"{document}/content", headers=holder.headers)).status_code == 404
    assert held["id"] in await _ids(client, other.headers, space)  # professionals see it
    # Only its author holds it back or releases it.
    assert (await client.patch(document, json={"hiddenFromHolder": False}, headers=other.headers)).status_code == 403
    past = (today_in_paris() - timedelta(days=1)).isoformat()
    assert (await client.patch(document, json={"hiddenFromHolderUntil": past}, headers=gp.headers)).status_code == 422
    # A date alone moves the end of the hold.
    in_a_week = (today_in_paris() + timedelta(days=7)).isoformat()
    moved = await client.patch(document, json={"hiddenFromHolderUntil": in_a_week}, headers=gp.headers)
    assert moved.status_code == 200 and moved.json()["hiddenFromHolderUntil"] == in_a_week, moved.text
    released = await client.patch(document, json={"hiddenFromHolder": False}, headers=gp.headers)
    assert released.status_code == 200, released.text
    assert released.json()["hiddenFromHolder"] is False and released.json()["hiddenFromHolderUntil"] is None
    # A date without a hold would be dropped: refused, where it was sent, and nothing is held.
    dropped = await client.patch(document, json={"hiddenFromHolderUntil": tomorrow}, headers=gp.headers)
    assert dropped.status_code == 422 and dropped.json()["errors"][0]["pointer"] == "/hiddenFromHolderUntil"
    lone = await upload(
        client, gp.headers, pdf(400, seed=11), space=space, meta=metadata(hiddenFromHolderUntil=tomorrow)
    )
    assert lone.status_code == 422, lone.text
    assert lone.json()["errors"][0]["pointer"] == "/metadata/hiddenFromHolderUntil"
    assert (await client.get(document, headers=holder.headers)).json()["hiddenFromHolder"] is False
    assert held["id"] in await _ids(client, holder.headers, "me")
    # Shown to the holder, it is not held back again (an outside audit: re-held, the holder lost it,
    # and with it the means to hide it from professionals or delete it): 409, still theirs.
    again = await client.patch(document, json={"hiddenFromHolder": True}, headers=gp.headers)
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    assert held["id"] in await _ids(client, holder.headers, "me")


async def test_a_hold_ends_at_the_latest_with_its_authors_authorisation_and_when_the_holder_ends_it(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """Only its author releases a document held back from the holder: after the author's right
    ended (revoked, blocked, expired) nobody could, and the holder never saw their own document
    again (an outside audit). A hold without a day ends when the author's authorisation does, one
    given is no later; the holder revoking or blocking the author releases what they held back."""
    holder = await make_person()
    gp, other = await sign_in_pro(settings, GP), await sign_in_pro(settings, GP)
    authorisations = {pro.national_id: await authorise(client, holder, pro) for pro in (gp, other)}
    space = holder.space_id
    ends = authorisations[gp.national_id]["until"]
    last_day = datetime.fromisoformat(ends.replace("Z", "+00:00")).astimezone(PARIS).date()
    held = await uploaded(client, gp.headers, pdf(400, seed=20), space=space, meta=metadata(hiddenFromHolder=True))
    assert held["hiddenFromHolderUntil"] == last_day.isoformat()
    later = (last_day + timedelta(days=1)).isoformat()
    too_late = await upload(
        client,
        gp.headers,
        pdf(400, seed=21),
        space=space,
        meta=metadata(hiddenFromHolder=True, hiddenFromHolderUntil=later),
    )
    assert too_late.status_code == 422 and too_late.json()["errors"][0]["pointer"] == "/metadata/hiddenFromHolderUntil"
    document = f"/v1/spaces/{space}/documents/{held['id']}"
    moved = await client.patch(document, json={"hiddenFromHolderUntil": later}, headers=gp.headers)
    assert moved.status_code == 422 and moved.json()["errors"][0]["pointer"] == "/hiddenFromHolderUntil"
    assert (await client.get(document, headers=holder.headers)).status_code == 404
    # Held by two professionals: revoking one releases theirs only.
    kept = await uploaded(client, other.headers, pdf(400, seed=22), space=space, meta=metadata(hiddenFromHolder=True))
    entry = authorisations[gp.national_id]["id"]
    assert (await client.delete(f"/v1/spaces/me/professionals/{entry}", headers=holder.headers)).status_code == 204
    shown = await client.get(document, headers=holder.headers)
    assert shown.status_code == 200 and shown.json()["hiddenFromHolder"] is False
    assert held["id"] in await _ids(client, holder.headers, "me") and kept["id"] not in await _ids(
        client, holder.headers, "me"
    )
    owed = await db.fetch_one(
        "SELECT release_notice_due FROM documents WHERE space_id = {} AND id = {}", space, uuid.UUID(held["id"])
    )
    assert owed is not None and owed["release_notice_due"]  # the holder is told (ens notify)
    # Blocking releases as well; the holder may then delete their document.
    blocked = await client.post(
        f"/v1/spaces/me/professionals/{authorisations[other.national_id]['id']}/block", headers=holder.headers
    )
    assert blocked.status_code == 200, blocked.text
    assert kept["id"] in await _ids(client, holder.headers, "me")
    removed = await client.delete(f"/v1/spaces/me/documents/{kept['id']}", headers=holder.headers)
    assert removed.status_code == 204


async def test_a_revocation_during_an_upload_that_holds_the_document_back_releases_it(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, monkeypatch: Any
) -> None:
    """The author's authorisation was read before the upload's transaction: a revocation committed
    in between released the documents there were, not this one, held to the old authorisation's end
    with nobody to release it (a review). Read under the space's decisions, the revocation waits for
    the upload and then releases it."""
    holder = await make_person()
    gp = await sign_in_pro(settings, GP)
    entry = await authorise(client, holder, gp)
    original = masking.hold_until
    revocation: list[asyncio.Task[httpx.Response]] = []

    async def hold_while_the_holder_revokes(access: Any, until: Any, *, creating: bool) -> Any:
        held_until = await original(access, until, creating=creating)
        path = f"/v1/spaces/me/professionals/{entry['id']}"
        # Another request: not inside this one's transaction (a task copies the context it is made in).
        request = client.delete(path, headers=holder.headers)
        revocation.append(asyncio.create_task(request, context=contextvars.Context()))
        await asyncio.sleep(0.2)  # the revocation runs as far as it may
        return held_until

    monkeypatch.setattr(upload_module, "hold_until", hold_while_the_holder_revokes)
    held = await uploaded(
        client, gp.headers, pdf(400, seed=24), space=holder.space_id, meta=metadata(hiddenFromHolder=True)
    )
    # The upload's answer reads its row once committed: the revocation, waiting for that commit, may
    # have released it already (a loaded machine), or not yet.
    assert (await revocation[0]).status_code == 204
    shown = await client.get(f"/v1/spaces/me/documents/{held['id']}", headers=holder.headers)
    assert shown.status_code == 200 and shown.json()["hiddenFromHolder"] is False
    # Held, then released by the revocation: the holder is to be told (a document never held is not).
    owed = await db.fetch_one(
        "SELECT release_notice_due FROM documents WHERE space_id = {} AND id = {}",
        holder.space_id,
        uuid.UUID(held["id"]),
    )
    assert owed is not None and owed["release_notice_due"]


async def test_the_holds_made_before_the_rule_are_released_or_bounded_once(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """Holds stored before a hold was bounded by its author's right: one without a day whose author
    was revoked is released (nobody else could), one without a day or past the authorisation's end
    ends with it; the migration runs once."""
    from ens.documents.piccolo_migrations.m2026_12_17_0900_holds_end_with_their_authors_right import bound_holds

    holder = await make_person()
    gone, kept = await sign_in_pro(settings, GP), await sign_in_pro(settings, GP)
    entries = {pro.national_id: await authorise(client, holder, pro) for pro in (gone, kept)}
    last_day = datetime.fromisoformat(entries[kept.national_id]["until"].replace("Z", "+00:00")).astimezone(PARIS)
    documents: dict[str, uuid.UUID] = {}
    for name, pro in (("orphan", gone), ("open", kept), ("far", kept)):
        added = await uploaded(
            client, pro.headers, pdf(300, seed=len(documents) + 40), space=holder.space_id, meta=metadata()
        )
        documents[name] = uuid.UUID(added["id"])
    # As stored before: held without a day, or to a day past the author's right.
    for name, until in (("orphan", None), ("open", None), ("far", date(2099, 1, 1))):
        await db.fetch(
            "UPDATE documents SET hidden_from_holder = TRUE, hidden_from_holder_until = {}, shown_to_holder_at = NULL "
            "WHERE space_id = {} AND id = {}",
            until,
            holder.space_id,
            documents[name],
        )
    await db.fetch(
        "UPDATE space_professionals SET status = 'revoked' WHERE space_id = {} AND id = {}",
        holder.space_id,
        uuid.UUID(entries[gone.national_id]["id"]),
    )
    released, bounded = await bound_holds()  # other tests' holds may be in the database too
    assert released >= 1 and bounded >= 2
    assert await bound_holds() == (0, 0)
    seen = await _ids(client, holder.headers, "me")
    assert str(documents["orphan"]) in seen and str(documents["open"]) not in seen
    for name in ("open", "far"):
        row = await db.fetch_one(
            "SELECT hidden_from_holder_until FROM documents WHERE space_id = {} AND id = {}",
            holder.space_id,
            documents[name],
        )
        assert row is not None and clock.as_date(row["hidden_from_holder_until"]) == last_day.date()


async def test_a_representatives_revocation_leaves_a_hold_to_its_day(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """A parent revoking the child's doctor released what the doctor held back to explain in
    person, and showed it to the parent (a review): only the holder's own decision releases it;
    after a representative's, the hold ends on its day (no later than the authorisation would have)."""
    parent = await make_person()
    child = await create_child_space(client, parent)
    gp = await sign_in_pro(settings, GP)
    entry = await authorise(client, parent, gp, space=child)
    held = await uploaded(client, gp.headers, pdf(400, seed=23), space=child, meta=metadata(hiddenFromHolder=True))
    revoked = await client.delete(f"/v1/spaces/{child}/professionals/{entry['id']}", headers=parent.headers)
    assert revoked.status_code == 204
    assert (await client.get(f"/v1/spaces/{child}/documents/{held['id']}", headers=parent.headers)).status_code == 404
    row = await db.fetch_one(
        "SELECT hidden_from_holder, hidden_from_holder_until FROM documents WHERE space_id = {} AND id = {}",
        child,
        uuid.UUID(held["id"]),
    )
    assert row is not None and row["hidden_from_holder"]
    assert clock.as_date(row["hidden_from_holder_until"]) == date.fromisoformat(held["hiddenFromHolderUntil"])


async def test_an_emergency_access_reads_documents_and_adds_none(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    holder = await make_person()
    nurse = await sign_in_pro(settings, NURSE)
    note = await uploaded(client, holder.headers, pdf(300, seed=11))
    assert (await open_emergency(client, nurse, holder.space_id)).status_code == 201
    assert await _ids(client, nurse.headers, holder.space_id) == [note["id"]]
    wrote = await upload(client, nurse.headers, pdf(300, seed=12), space=holder.space_id)
    assert wrote.status_code == 403


async def test_a_document_shown_to_the_holder_later_is_new_to_them_then_and_a_release_is_announced(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, outbox: tuple[Outbox, int]
) -> None:
    holder = await make_person(given_name="Camille")
    gp = await sign_in_pro(settings, GP)
    await authorise(mail_client, holder, gp)
    space = holder.space_id

    async def documents_on_the_home_screen() -> dict[str, int]:
        answer = await mail_client.get("/v1/spaces/me", headers=holder.headers)
        assert answer.status_code == 200
        documents: dict[str, int] = answer.json()["documents"]
        return documents

    held = await uploaded(mail_client, gp.headers, pdf(400, seed=20), space=space, meta=metadata(hiddenFromHolder=True))
    await asyncio.sleep(0.3)
    assert await _mails(outbox, _email(holder)) == []  # held back: not announced
    assert await _ids(mail_client, holder.headers, "me") == []  # the holder looks meanwhile
    assert await documents_on_the_home_screen() == {"count": 0, "new": 0}
    released = await mail_client.patch(
        f"/v1/spaces/{space}/documents/{held['id']}", json={"hiddenFromHolder": False}, headers=gp.headers
    )
    assert released.status_code == 200, released.text
    [mail] = await _mails(outbox, _email(holder), at_least=1)
    assert "Un professionnel de santé a ajouté un document" in mail
    assert await documents_on_the_home_screen() == {"count": 1, "new": 1}  # new since they looked
    assert await _ids(mail_client, holder.headers, "me") == [held["id"]]
    assert await documents_on_the_home_screen() == {"count": 1, "new": 0}

    # Held until a day: new to the holder from that day, though they looked the day before.
    tomorrow = today_in_paris() + timedelta(days=1)
    until = await uploaded(
        mail_client,
        gp.headers,
        pdf(400, seed=21),
        space=space,
        meta=metadata(hiddenFromHolder=True, hiddenFromHolderUntil=tomorrow.isoformat()),
    )
    assert await _ids(mail_client, holder.headers, "me") == [held["id"]]
    assert await documents_on_the_home_screen() == {"count": 1, "new": 0}
    # The day comes: every stored moment moved one day back, as the passing of a day leaves them.
    day = timedelta(days=1)
    for row in await db.fetch(
        "SELECT id, created_at, shown_to_holder_at, hidden_from_holder_until FROM documents WHERE space_id = {}", space
    ):
        until_day = clock.as_date(row["hidden_from_holder_until"])
        await db.fetch(
            "UPDATE documents SET created_at = {}, shown_to_holder_at = {}, hidden_from_holder_until = {} "
            "WHERE space_id = {} AND id = {}",
            clock.aware(row["created_at"]) - day,
            clock.aware(row["shown_to_holder_at"]) - day,
            until_day - day if until_day else None,
            space,
            row["id"],
        )
    seen = await db.fetch_one(
        "SELECT seen_at FROM document_views WHERE space_id = {} AND account_id = {}", space, holder.account_id
    )
    assert seen is not None
    await db.fetch(
        "UPDATE document_views SET seen_at = {} WHERE space_id = {} AND account_id = {}",
        clock.aware(seen["seen_at"]) - day,
        space,
        holder.account_id,
    )
    assert await documents_on_the_home_screen() == {"count": 2, "new": 1}
    assert await _ids(mail_client, holder.headers, "me") == [until["id"], held["id"]]

    # ens notify, that day: the holder is told of it once, however often the job runs.
    assert await _mails(outbox, _email(holder)) == [mail]  # nothing yet: only the release's mail
    mailer = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{outbox[1]}"))
    assert await send_release_notices(mailer) >= 1
    mails = await _mails(outbox, _email(holder), at_least=2)
    assert len(mails) == 2 and "Un professionnel de santé a ajouté un document" in mails[1]
    await send_release_notices(mailer)  # run again: nothing new for this holder
    await asyncio.sleep(0.3)
    assert len(await _mails(outbox, _email(holder))) == 2


async def _held_from_the_holder_a_week(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, given_name: str, *, seed: int
) -> tuple[Person, Pro, dict[str, Any]]:
    """A holder, their GP authorised, and a document the GP uploaded held back from the holder for a
    week: the holder, the GP, the document."""
    holder = await make_person(given_name=given_name)
    gp = await sign_in_pro(settings, GP)
    await authorise(client, holder, gp)
    in_a_week = (today_in_paris() + timedelta(days=7)).isoformat()
    held = await uploaded(
        client,
        gp.headers,
        pdf(400, seed=seed),
        space=holder.space_id,
        meta=metadata(hiddenFromHolder=True, hiddenFromHolderUntil=in_a_week),
    )
    return holder, gp, held


async def test_a_document_released_by_hand_before_its_day_is_not_announced_again(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, outbox: tuple[Outbox, int]
) -> None:
    holder, gp, held = await _held_from_the_holder_a_week(mail_client, settings, make_person, "Inès", seed=22)
    released = await mail_client.patch(
        f"/v1/spaces/{holder.space_id}/documents/{held['id']}", json={"hiddenFromHolder": False}, headers=gp.headers
    )
    assert released.status_code == 200, released.text
    assert len(await _mails(outbox, _email(holder), at_least=1)) == 1
    row = await db.fetch_one(
        "SELECT release_notice_due FROM documents WHERE space_id = {} AND id = {}", holder.space_id, held["id"]
    )
    assert row is not None and not row["release_notice_due"]
    mailer = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{outbox[1]}"))
    await send_release_notices(mailer, now=clock.now() + timedelta(days=8))
    await asyncio.sleep(0.3)
    assert len(await _mails(outbox, _email(holder))) == 1


async def test_a_release_notice_the_mail_server_failed_is_due_again(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, outbox: tuple[Outbox, int]
) -> None:
    """The notice was claimed, the mail failed, and it was lost for good (and counted as sent: a
    review). Now no one reached leaves it due; the next run sends it, once."""
    from tests.helpers.server import free_port

    holder, _, held = await _held_from_the_holder_a_week(mail_client, settings, make_person, "Maël", seed=23)

    async def due() -> bool:
        row = await db.fetch_one(
            "SELECT release_notice_due FROM documents WHERE space_id = {} AND id = {}", holder.space_id, held["id"]
        )
        assert row is not None
        return bool(row["release_notice_due"])

    assert await due()
    later = clock.now() + timedelta(days=8)
    down = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}"))
    await send_release_notices(down, now=later)  # no exception: the run goes on
    assert await due()
    mailer = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{outbox[1]}"))
    assert await send_release_notices(mailer, now=later) >= 1
    assert len(await _mails(outbox, _email(holder), at_least=1)) == 1
    assert not await due()
    await send_release_notices(mailer, now=later)  # run again: nothing new for this holder
    await asyncio.sleep(0.3)
    assert len(await _mails(outbox, _email(holder))) == 1
