"""A minor's secret kept in an emergency access (CSP L1111-5): a minor may oppose their parents being
told of care they receive, and the professional then keeps it from them. An emergency access opened
with ``hiddenFromRepresentatives`` on a minor's space is not shown to the parents anywhere: not its
rows in the access history (the opening, the reads under it, a refused try), not the professional in
the list of professionals (nor by id: 404) while only that access ties them to the space, not its end
or its reads' time on a professional they know, not in an e-mail (at once or by ``ens notify``), not
on the home screen. The holder sees all of it. Allowed only while the holder is under 18 (422 on an
adult's space: a protected adult's tutor is not covered by L1111-5); an unmarked access is shown to
the parents as before. Each through a real SMTP server and the real database."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import msgspec

from ens.core import clock, db
from ens.core.mail import Mailer
from ens.core.settings import Settings
from ens.spaces import audit
from ens.spaces.history import SEALED_COLUMNS
from ens.spaces.pro_access import EMERGENCY_SUBJECT, send_emergency_notices
from tests.helpers.carers import (
    create_child_space,
    join_as_second_parent,
    set_birthdate,
    today_in_paris,
    years_before,
)
from tests.helpers.login import Outbox, mails_to
from tests.helpers.people import MakePerson, Person
from tests.helpers.professionals import GP, MIDWIFE, NURSE, Pro, authorise, sign_in_pro
from tests.helpers.vitals import weight

SECRET = "Consultation de contraception, la patiente s'oppose à ce que ses parents soient informés"
REASON = "Malaise aux urgences pédiatriques, patiente inconsciente"


def _email(person: Person) -> str:
    return f"{person.family_name.lower()}@example.test"


async def _open(
    client: httpx.AsyncClient, pro: Pro, space: uuid.UUID, reason: str = SECRET, **more: Any
) -> httpx.Response:
    return await client.post(
        "/v1/pro/emergency-access", json={"space": str(space), "reason": reason, **more}, headers=pro.headers
    )


async def _history(
    client: httpx.AsyncClient, reader: Person, space: uuid.UUID, query: str = ""
) -> list[dict[str, Any]]:
    answer = await client.get(f"/v1/spaces/{space}/access-history{query}", headers=reader.headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


async def _professionals(client: httpx.AsyncClient, reader: Person, space: uuid.UUID) -> list[dict[str, Any]]:
    answer = await client.get(f"/v1/spaces/{space}/professionals", headers=reader.headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def _of(rows: list[dict[str, Any]], pro: Pro) -> list[dict[str, Any]]:
    return [row for row in rows if row["actor"] and row["actor"]["accountId"] == str(pro.professional_id)]


async def _a_family(
    client: httpx.AsyncClient, make_person: MakePerson, *, born: date | None = None
) -> tuple[Person, Person, uuid.UUID]:
    """Two parents of Inès (15 unless ``born``), whose space she does not hold yet."""
    parent = await make_person(given_name="Jean", birthdate=date(1980, 1, 1))
    other = await make_person(given_name="Marie", birthdate=date(1981, 1, 1))
    child = await create_child_space(
        client, parent, given_name="Inès", birthdate=born or years_before(today_in_paris(), 15)
    )
    assert (await join_as_second_parent(client, parent, other, child)).status_code == 200
    return parent, other, child


async def _minor_holding(make_person: MakePerson, child: Any) -> Person:
    """Inès, 15, whose own account takes the child's space the parents made (her first sign-in's
    space, empty, goes), while they still represent her."""
    minor = await make_person(given_name="Inès", birthdate=years_before(today_in_paris(), 15))
    await db.fetch("DELETE FROM access_history WHERE space_id = {}", minor.space_id)
    await db.fetch("DELETE FROM spaces WHERE id = {}", minor.space_id)
    await db.fetch("UPDATE spaces SET holder_account_id = {} WHERE id = {}", minor.account_id, child)
    return minor


async def test_the_parents_see_nothing_of_a_hidden_emergency_access_and_an_unmarked_one_as_before(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, outbox: tuple[Outbox, int]
) -> None:
    parent, other, child = await _a_family(mail_client, make_person)
    space = f"/v1/spaces/{child}"
    summary_before = await mail_client.get(space, headers=parent.headers)
    history_before = await _history(mail_client, parent, child)
    midwife = await sign_in_pro(settings, MIDWIFE, given_name="Sophie", family_name="Secret-Moreau")

    opened = await _open(mail_client, midwife, child, hiddenFromRepresentatives=True)
    assert opened.status_code == 201, opened.text
    assert opened.json()["hiddenFromRepresentatives"] is True
    # Read-only as any emergency access: a read passes, a write is refused (and both are kept).
    assert (await mail_client.get(f"{space}/vitals", headers=midwife.headers)).status_code == 200
    assert (await mail_client.get(f"{space}/documents", headers=midwife.headers)).status_code == 200
    wrote = await mail_client.post(
        f"{space}/vitals",
        json={"measurements": [weight(52.0)]},
        headers=midwife.headers,
    )
    assert wrote.status_code == 403
    # A second try while it runs is refused, and kept as well.
    assert (await _open(mail_client, midwife, child, hiddenFromRepresentatives=True)).status_code == 409

    for reader in (parent, other):
        # The history: none of the midwife's rows, under any filter; nothing of the reason anywhere.
        for query in ("", "?actor=professionals", "?action=refused", "?resource=space", "?action=read"):
            rows = await _history(mail_client, reader, child, query)
            assert _of(rows, midwife) == [], query
            assert SECRET not in str(rows) and "Secret-Moreau" not in str(rows)
        # The list of professionals: not there; by its id, 404 as for any other space's entry.
        assert await _professionals(mail_client, reader, child) == []
    holder_view = await db.fetch(
        "SELECT id FROM space_professionals WHERE space_id = {} AND professional_id = {}",
        child,
        midwife.professional_id,
    )
    [row] = holder_view
    assert (await mail_client.get(f"{space}/professionals/{row['id']}", headers=parent.headers)).status_code == 404
    # The home screen is as it was (its ETag too).
    summary_after = await mail_client.get(space, headers=parent.headers)
    assert summary_after.json() == summary_before.json()
    assert summary_after.headers["etag"] == summary_before.headers["etag"]
    # The parents' own history rows aside (their reads of it), nothing new in it.
    assert [r for r in await _history(mail_client, parent, child) if r["actingAs"] != "representative"] == [
        r for r in history_before if r["actingAs"] != "representative"
    ]

    # An unmarked emergency access by another professional: the parents see it as before.
    nurse = await sign_in_pro(settings, NURSE, given_name="Hugo", family_name="Visible-Petit")
    assert (await _open(mail_client, nurse, child, REASON)).status_code == 201
    assert (await mail_client.get(f"{space}/vitals", headers=nurse.headers)).status_code == 200
    for reader in (parent, other):
        [mail] = await mails_to(outbox, _email(reader), 1)
        # The one e-mail is the nurse's: nothing told of the midwife's, then or now.
        assert "Hugo Visible-Petit, infirmier, a ouvert l'espace santé d'Inès en accès d'urgence" in mail
        assert "Moreau" not in mail
        rows = await _history(mail_client, reader, child, "?actor=professionals")
        assert {row["emergencyReason"] for row in rows} == {REASON}
        assert {row["action"] for row in _of(rows, nurse)} >= {
            "POST /v1/pro/emergency-access",
            "GET /v1/spaces/{space}/vitals",
        }
        assert _of(rows, midwife) == []
        listed = await _professionals(mail_client, reader, child)
        assert [(item["familyName"], item["status"]) for item in listed] == [("Visible-Petit", "emergency")]
        assert listed[0]["emergencyUntil"] is not None and listed[0]["lastAccessAt"] is not None
    assert all(message["Subject"] == EMERGENCY_SUBJECT for message in outbox[0].to(_email(parent)))

    # ens notify, had the process stopped right after the hidden access committed: nothing for it.
    await db.fetch(
        "UPDATE emergency_accesses SET notice_due = TRUE WHERE space_id = {} AND professional_id = {}",
        child,
        midwife.professional_id,
    )
    mailer = Mailer(msgspec.structs.replace(settings, smtp_url=f"smtp://127.0.0.1:{outbox[1]}"))
    await send_emergency_notices(mailer)
    await asyncio.sleep(0.2)
    assert len(outbox[0].to(_email(parent))) == len(outbox[0].to(_email(other))) == 1


async def test_the_holder_sees_a_hidden_emergency_access_and_is_emailed(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, outbox: tuple[Outbox, int]
) -> None:
    """A minor who signed in with their own identity holds their space: the access kept from the
    representatives is theirs to see, whole, and they are told of it as of any other."""
    minor = await make_person(given_name="Zoé", birthdate=years_before(today_in_paris(), 16))
    doctor = await sign_in_pro(settings, GP, given_name="Claire", family_name="Bernard-Tenu")
    opened = await _open(mail_client, doctor, minor.space_id, hiddenFromRepresentatives=True)
    assert opened.status_code == 201, opened.text
    assert (await mail_client.get(f"/v1/spaces/{minor.space_id}/vitals", headers=doctor.headers)).status_code == 200
    [mail] = await mails_to(outbox, _email(minor), 1)
    assert "Claire Bernard-Tenu, médecin, a ouvert votre espace santé en accès d'urgence" in mail
    assert "contraception" not in mail
    rows = _of(await _history(mail_client, minor, minor.space_id), doctor)
    assert {row["action"] for row in rows} == {"POST /v1/pro/emergency-access", "GET /v1/spaces/{space}/vitals"}
    assert {row["emergencyReason"] for row in rows} == {SECRET}
    [listed] = await _professionals(mail_client, minor, minor.space_id)
    assert listed["status"] == "emergency" and listed["emergencyUntil"] == opened.json()["endsAt"]
    # Its last access counts only the rows every reader of the list sees (as for a hidden item's).
    assert listed["lastAccessAt"] is None
    # The holder may block them, which ends the access as for any other.
    blocked = await mail_client.post(
        f"/v1/spaces/{minor.space_id}/professionals/{listed['id']}/block", headers=minor.headers
    )
    assert blocked.status_code == 200, blocked.text
    assert (await mail_client.get(f"/v1/spaces/{minor.space_id}/vitals", headers=doctor.headers)).status_code == 404


async def test_a_minor_holder_with_parents_sees_it_and_the_parents_do_not(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, outbox: tuple[Outbox, int]
) -> None:
    """A child's space its minor holder signed in to while the parents still represent them (a
    minor's own account holding the space the parents made): the holder reads the hidden access and
    is told of it, the parents neither."""
    parent, other, child = await _a_family(mail_client, make_person)
    minor = await _minor_holding(make_person, child)
    nurse = await sign_in_pro(settings, NURSE, given_name="Hugo", family_name="Tenu-Petit")
    assert (await _open(mail_client, nurse, child, hiddenFromRepresentatives=True)).status_code == 201
    assert (await mail_client.get(f"/v1/spaces/{child}/vitals", headers=nurse.headers)).status_code == 200
    [mail] = await mails_to(outbox, _email(minor), 1)
    assert "Hugo Tenu-Petit, infirmier, a ouvert votre espace santé" in mail
    assert {row["emergencyReason"] for row in _of(await _history(mail_client, minor, child), nurse)} == {SECRET}
    assert [item["familyName"] for item in await _professionals(mail_client, minor, child)] == ["Tenu-Petit"]
    for reader in (parent, other):
        assert _of(await _history(mail_client, reader, child), nurse) == []
        assert await _professionals(mail_client, reader, child) == []
        assert outbox[0].to(_email(reader)) == []


async def test_a_professional_the_parents_know_shows_nothing_of_the_hidden_access(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """A doctor the parents authorised, whose authorisation has expired, opens a hidden access: the
    parents still list them (their own decision), but neither the access's end nor its reads' time;
    authorising them again meanwhile answers nothing of it either."""
    parent, _, child = await _a_family(mail_client, make_person)
    doctor = await sign_in_pro(settings, GP, given_name="Claire", family_name="Connue-Bernard")
    entry = await authorise(mail_client, parent, doctor, space=child)
    assert (await mail_client.get(f"/v1/spaces/{child}/vitals", headers=doctor.headers)).status_code == 200
    await db.fetch(
        "UPDATE space_professionals SET until = {} WHERE space_id = {} AND id = {}",
        clock.now() - timedelta(days=1),
        child,
        uuid.UUID(entry["id"]),
    )
    before = (await mail_client.get(f"/v1/spaces/{child}/professionals/{entry['id']}", headers=parent.headers)).json()
    assert before["status"] == "expired" and before["emergencyUntil"] is None
    assert (await _open(mail_client, doctor, child, hiddenFromRepresentatives=True)).status_code == 201
    assert (await mail_client.get(f"/v1/spaces/{child}/vitals", headers=doctor.headers)).status_code == 200
    after = (await mail_client.get(f"/v1/spaces/{child}/professionals/{entry['id']}", headers=parent.headers)).json()
    assert after == before
    authorised = await mail_client.post(
        f"/v1/spaces/{child}/professionals", json={"nationalId": doctor.national_id}, headers=parent.headers
    )
    assert authorised.status_code == 201, authorised.text
    assert authorised.json()["emergencyUntil"] is None and authorised.json()["lastAccessAt"] == before["lastAccessAt"]


async def test_the_flag_on_an_adults_space_is_refused(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """L1111-5 is a minor's right: an adult's space (a protected adult's tutor among its readers, or
    no representative at all) takes no such flag (422, naming it); nothing is opened, and the
    unflagged access opens as before."""
    adult = await make_person(given_name="Paul", birthdate=date(1970, 3, 3))
    nurse = await sign_in_pro(settings, NURSE)
    refused = await _open(mail_client, nurse, adult.space_id, REASON, hiddenFromRepresentatives=True)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["errors"][0]["pointer"] == "/hiddenFromRepresentatives"
    assert "under 18" in problem["detail"] and "L1111-5" in problem["detail"]
    assert (await mail_client.get(f"/v1/spaces/{adult.space_id}/vitals", headers=nurse.headers)).status_code == 404
    assert await db.fetch("SELECT id FROM emergency_accesses WHERE space_id = {}", adult.space_id) == []
    # The attempt is in the holder's history, as every refused one.
    [attempt] = _of(await _history(mail_client, adult, adult.space_id), nurse)
    assert attempt["outcome"] == 422 and attempt["action"] == "POST /v1/pro/emergency-access"
    # Not a boolean: 422 at the field.
    wrong = await _open(mail_client, nurse, adult.space_id, REASON, hiddenFromRepresentatives="yes")
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["pointer"] == "/hiddenFromRepresentatives"
    # False, or left out, opens it as before.
    opened = await _open(mail_client, nurse, adult.space_id, REASON, hiddenFromRepresentatives=False)
    assert opened.status_code == 201 and opened.json()["hiddenFromRepresentatives"] is False


async def test_the_flag_holds_until_the_18th_birthday_and_not_from_it(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """Whether the holder is a minor is decided as the parents' right is: until midnight of the 18th
    birthday in the space's time zone. The eve of it, the access is hidden from the parents (and
    runs its 24 hours, past the birthday, when the parents read nothing any more); on the birthday
    the holder is an adult, and the flag is 422."""
    tomorrow = today_in_paris() + timedelta(days=1)
    # Made at 15, then 18 tomorrow in Paris (time passes): a child's space is refused a child turning
    # 18 within the day where the day is furthest ahead (UTC+14), so made that way this test failed
    # from 10:00 UTC each day.
    parent, _, child = await _a_family(mail_client, make_person)
    await set_birthdate(child, years_before(tomorrow, 18))
    doctor = await sign_in_pro(settings, GP)
    eve = await _open(mail_client, doctor, child, hiddenFromRepresentatives=True)
    assert eve.status_code == 201, eve.text
    assert (await mail_client.get(f"/v1/spaces/{child}/vitals", headers=doctor.headers)).status_code == 200
    assert _of(await _history(mail_client, parent, child), doctor) == []
    # The birthday comes (the birthdate moved a day back): the access still runs, the parents' right
    # has ended, and a new flagged access would find an adult.
    await set_birthdate(child, years_before(today_in_paris(), 18))
    assert (await mail_client.get(f"/v1/spaces/{child}/vitals", headers=doctor.headers)).status_code == 200
    assert (await mail_client.get(f"/v1/spaces/{child}/access-history", headers=parent.headers)).status_code == 404
    midwife = await sign_in_pro(settings, MIDWIFE)
    adult = await _open(mail_client, midwife, child, hiddenFromRepresentatives=True)
    assert adult.status_code == 422 and adult.json()["errors"][0]["pointer"] == "/hiddenFromRepresentatives"


async def test_a_replayed_hidden_access_is_hidden_too_and_the_seal_covers_the_mark(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """A retry under the same Idempotency-Key writes its own row, kept from the parents as the first;
    the mark is under each row's MAC: removed in the database, ``ens audit verify`` reports the row."""
    parent, _, child = await _a_family(client, make_person)
    nurse = await sign_in_pro(settings, NURSE)
    headers = {**nurse.headers, "Idempotency-Key": f"secret-{child}"}
    body = {"space": str(child), "reason": SECRET, "hiddenFromRepresentatives": True}
    first = await client.post("/v1/pro/emergency-access", json=body, headers=headers)
    again = await client.post("/v1/pro/emergency-access", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    kept = await db.fetch(
        "SELECT id FROM access_history WHERE space_id = {} AND actor_account_id = {}", child, nurse.professional_id
    )
    assert len(kept) == 2
    assert _of(await _history(client, parent, child), nurse) == []
    columns = SEALED_COLUMNS.split(", ")
    assert await audit.verify_space(child, columns) is None
    await db.fetch(
        "UPDATE access_history SET kept_from_representatives = NULL WHERE space_id = {} AND id = {}",
        child,
        kept[0]["id"],
    )
    finding = await audit.verify_space(child, columns)
    assert finding is not None and f"row {kept[0]['id']} was changed" in finding.what


async def test_a_refused_hidden_try_and_its_replay_are_kept_from_the_parents(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """The parents forbade emergency access: a flagged try is refused (403) as any other, and its
    row, reason and all, is kept from them, as is its replay under the same Idempotency-Key; an
    unflagged refused try is shown to them as before."""
    parent, other, child = await _a_family(client, make_person)
    forbid = await client.put(f"/v1/spaces/{child}/emergency-access", json={"allowed": False}, headers=parent.headers)
    assert forbid.status_code == 200, forbid.text
    doctor, nurse = await sign_in_pro(settings, GP), await sign_in_pro(settings, NURSE)
    headers = {**doctor.headers, "Idempotency-Key": f"refus-secret-{child}"}
    body = {"space": str(child), "reason": SECRET, "hiddenFromRepresentatives": True}
    for _ in range(2):
        assert (await client.post("/v1/pro/emergency-access", json=body, headers=headers)).status_code == 403
    rows = await db.fetch(
        "SELECT outcome, kept_from_representatives FROM access_history WHERE space_id = {} AND actor_account_id = {}",
        child,
        doctor.professional_id,
    )
    assert [(row["outcome"], bool(row["kept_from_representatives"])) for row in rows] == 2 * [(403, True)]
    assert (await _open(client, nurse, child, REASON)).status_code == 403
    for reader in (parent, other):
        refused = await _history(client, reader, child, "?action=refused")
        assert _of(refused, doctor) == []
        assert [row["emergencyReason"] for row in _of(refused, nurse)] == [REASON]


async def test_an_unflagged_try_refused_by_the_hidden_access_running_is_kept_from_the_parents(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """While a hidden access runs, its professional tries again without the flag (their software
    retrying, a colleague's habit): the 409 says an access of theirs runs, and to parents who list
    no such professional it told exactly that, with the new reason. Kept from them as the access is,
    and its replay under the same Idempotency-Key too, even once the access has ended (an outside
    review)."""
    parent, other, child = await _a_family(client, make_person)
    midwife = await sign_in_pro(settings, MIDWIFE, given_name="Sophie", family_name="Secret-Moreau")
    assert (await _open(client, midwife, child, hiddenFromRepresentatives=True)).status_code == 201
    headers = {**midwife.headers, "Idempotency-Key": f"sans-drapeau-{child}"}
    body = {"space": str(child), "reason": REASON}
    first = await client.post("/v1/pro/emergency-access", json=body, headers=headers)
    assert first.status_code == 409, first.text
    # The access ends (its 24 hours, or the parents forbidding emergencies) after that try, before
    # the software replays it.
    await db.fetch("UPDATE emergency_accesses SET ends_at = {} WHERE space_id = {}", clock.now(), child)
    again = await client.post("/v1/pro/emergency-access", json=body, headers=headers)
    assert again.status_code == 409 and again.headers["idempotent-replayed"] == "true"
    rows = await db.fetch(
        "SELECT outcome, kept_from_representatives FROM access_history WHERE space_id = {} AND actor_account_id = {} "
        "ORDER BY id",
        child,
        midwife.professional_id,
    )
    assert [(row["outcome"], bool(row["kept_from_representatives"])) for row in rows] == [
        (201, True),
        (409, True),
        (409, True),
    ]
    for reader in (parent, other):
        for query in ("", "?action=refused", "?actor=professionals"):
            rows_seen = await _history(client, reader, child, query)
            assert _of(rows_seen, midwife) == [], query
            assert REASON not in str(rows_seen)
    assert await audit.verify_space(child, SEALED_COLUMNS.split(", ")) is None


async def test_the_minor_holders_own_decision_about_the_hidden_professional_is_kept_too(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """The minor who holds the space reads the entry of the professional who came under a hidden
    access, and blocks them: the parents saw a professional they never heard of in their list
    ("blocked") and "Inès a bloqué Sophie Secret-Moreau" in their history (an outside review). The
    entry is kept from them as the access is, until a decision they see makes it theirs to know: an
    authorisation (the professional's reads under it are shown to them), or an access not hidden."""
    parent, other, child = await _a_family(client, make_person)
    minor = await _minor_holding(make_person, child)
    midwife = await sign_in_pro(settings, MIDWIFE, given_name="Sophie", family_name="Secret-Moreau")
    assert (await _open(client, midwife, child, hiddenFromRepresentatives=True)).status_code == 201
    [entry] = await _professionals(client, minor, child)
    space = f"/v1/spaces/{child}"
    assert (await client.get(f"{space}/professionals/{entry['id']}", headers=minor.headers)).status_code == 200
    blocked = await client.post(f"{space}/professionals/{entry['id']}/block", headers=minor.headers)
    assert blocked.status_code == 200 and blocked.json()["status"] == "blocked"
    # The holder sees their own decision, and its rows.
    holders = await _history(client, minor, child, "?actor=holder")
    assert any("Secret-Moreau" in row["description"] for row in holders)
    for reader in (parent, other):
        # Neither the holder's read of the entry nor their block of it (the reader's own tries on
        # its id aside: they typed it).
        rows = await _history(client, reader, child)
        assert "Secret-Moreau" not in str(rows) and entry["id"] not in str(rows)
        assert await _professionals(client, reader, child) == []
        assert (await client.get(f"{space}/professionals/{entry['id']}", headers=reader.headers)).status_code == 404
    # The holder authorises them: the parents see the authorisation, as any other.
    authorised = await client.post(
        f"{space}/professionals", json={"nationalId": midwife.national_id}, headers=minor.headers
    )
    assert authorised.status_code == 201, authorised.text
    listed = await _professionals(client, parent, child)
    assert [(item["familyName"], item["status"]) for item in listed] == [("Secret-Moreau", "authorised")]


async def test_a_hidden_professional_shown_by_a_later_unhidden_access_or_the_parents_own_decision(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """The entry a hidden access made is the parents' to see once an access not hidden brings the
    same professional (as before), or once a parent authorises them (their own decision)."""
    parent, _, child = await _a_family(client, make_person)
    midwife = await sign_in_pro(settings, MIDWIFE, given_name="Sophie", family_name="Secret-Moreau")
    nurse = await sign_in_pro(settings, NURSE, given_name="Hugo", family_name="Secret-Petit")
    for pro in (midwife, nurse):
        assert (await _open(client, pro, child, hiddenFromRepresentatives=True)).status_code == 201
    assert await _professionals(client, parent, child) == []
    await db.fetch("UPDATE emergency_accesses SET ends_at = {} WHERE space_id = {}", clock.now(), child)
    assert (await _open(client, midwife, child, REASON)).status_code == 201
    authorised = await client.post(
        f"/v1/spaces/{child}/professionals", json={"nationalId": nurse.national_id}, headers=parent.headers
    )
    assert authorised.status_code == 201, authorised.text
    listed = await _professionals(client, parent, child)
    assert sorted((item["familyName"], item["status"]) for item in listed) == [
        ("Secret-Moreau", "emergency"),
        ("Secret-Petit", "authorised"),
    ]


async def test_a_hidden_professionals_request_for_access_is_kept_from_the_parents(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """The midwife who came under a hidden access then asks the minor holder for a regular access
    (``POST /v1/pro/access-requests``): the minor reads and answers the request; the parents see
    neither the request (list, by id, the home screen's count) nor the minor's refusal of it in the
    history (an audit: the request named the professional the access keeps from them). Once the
    minor authorises her, the parents see that decision, as any other."""
    parent, other, child = await _a_family(client, make_person)
    minor = await _minor_holding(make_person, child)
    space = f"/v1/spaces/{child}"
    home_before = (await client.get(space, headers=parent.headers)).json()
    midwife = await sign_in_pro(settings, MIDWIFE, given_name="Sophie", family_name="Secret-Moreau")
    assert (await _open(client, midwife, child, hiddenFromRepresentatives=True)).status_code == 201
    [names] = await db.fetch("SELECT given_name, family_name, birthdate FROM spaces WHERE id = {}", child)
    traits = {
        "givenName": names["given_name"],
        "familyName": names["family_name"],
        "birthdate": str(names["birthdate"]),
    }

    async def ask() -> dict[str, Any]:
        assert (await client.post("/v1/pro/access-requests", json=traits, headers=midwife.headers)).status_code == 202
        listed = (await client.get(f"{space}/access-requests", headers=minor.headers)).json()["items"]
        [request] = [item for item in listed if item["status"] == "pending"]
        assert request["familyName"] == "Secret-Moreau"
        return dict(request)

    request = await ask()
    assert (await client.get(space, headers=minor.headers)).json()["pendingAccessRequests"] == 1
    for reader in (parent, other):
        assert (await client.get(f"{space}/access-requests", headers=reader.headers)).json()["items"] == []
        assert (await client.get(space, headers=reader.headers)).json() == home_before
        for verb in ("approve", "refuse"):
            tried = await client.post(f"{space}/access-requests/{request['id']}/{verb}", headers=reader.headers)
            assert tried.status_code == 404, tried.text
    refused = await client.post(f"{space}/access-requests/{request['id']}/refuse", headers=minor.headers)
    assert refused.status_code == 200 and refused.json()["status"] == "refused"
    assert any("Secret-Moreau" in row["description"] for row in await _history(client, minor, child))
    for reader in (parent, other):
        rows = await _history(client, reader, child)
        assert "Secret-Moreau" not in str(rows)
        # Their own tries on its id aside (they typed it), nothing names the request.
        others = [row for row in rows if row["actor"]["accountId"] != str(reader.account_id)]
        assert request["id"] not in str(others)
        assert (await client.get(f"{space}/access-requests", headers=reader.headers)).json()["items"] == []
    # Asked again and approved by the minor: an authorisation the parents see, with its request.
    request = await ask()
    approved = await client.post(f"{space}/access-requests/{request['id']}/approve", headers=minor.headers)
    assert approved.status_code == 200 and approved.json()["status"] == "authorised", approved.text
    listed = await _professionals(client, parent, child)
    assert [(item["familyName"], item["status"]) for item in listed] == [("Secret-Moreau", "authorised")]
    shown = (await client.get(f"{space}/access-requests", headers=parent.headers)).json()["items"]
    assert [(item["familyName"], item["status"]) for item in shown if item["id"] == request["id"]] == [
        ("Secret-Moreau", "approved")
    ]
