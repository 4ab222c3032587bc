"""Emergency access ("bris de glace"): read-only for 24 hours, marked in the history with its reason,
the holder (for a child's space that has none, the parents) e-mailed at once through a real SMTP
server, with no health data; refused to a blocked professional and when the holder forbids it.
Access requests: the same answer whether or not the person has a space; the holder approves or
refuses."""

from __future__ import annotations

import uuid
from datetime import date

import httpx

from ens.core import db
from ens.core.settings import Settings
from tests.helpers.carers import create_child_space, join_as_second_parent, today_in_paris, years_before
from tests.helpers.login import Outbox, mails_to
from tests.helpers.people import MakePerson, Person
from tests.helpers.professionals import GP, MIDWIFE, NURSE, authorise, emergency_hours_ago, open_emergency, sign_in_pro
from tests.helpers.vitals import weight

REASON = "Malaise cardiaque, patiente inconsciente aux urgences de Lyon Sud"


def _email(person: Person) -> str:
    return f"{person.family_name.lower()}@example.test"


async def test_emergency_access_reads_for_24_hours_is_in_the_history_and_the_holder_is_emailed(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, outbox: tuple[Outbox, int]
) -> None:
    holder = await make_person(given_name="Camille")
    space = f"/v1/spaces/{holder.space_id}"
    assert (
        await mail_client.post(f"{space}/vitals", json={"measurements": [weight(83.4)]}, headers=holder.headers)
    ).status_code == 201
    nurse = await sign_in_pro(settings, NURSE, given_name="Hugo", family_name="Petit")

    # Not authorised: the space is not visible.
    assert (await mail_client.get(f"{space}/vitals", headers=nurse.headers)).status_code == 404
    opened = await open_emergency(mail_client, nurse, holder.space_id, REASON)
    assert opened.status_code == 201, opened.text
    body = opened.json()
    assert body["space"] == str(holder.space_id) and body["endsAt"] > body["startedAt"]

    # Read-only: reads pass, writes are refused.
    assert (await mail_client.get(f"{space}/vitals", headers=nurse.headers)).status_code == 200
    wrote = await mail_client.post(f"{space}/vitals", json={"measurements": [weight()]}, headers=nurse.headers)
    assert wrote.status_code == 403 and "read-only" in wrote.json()["detail"]

    # The holder is told at once: who, as what, when — no reason, no health data.
    [mail] = await mails_to(outbox, _email(holder), 1)
    assert "Hugo Petit, infirmier, a ouvert votre espace santé en accès d'urgence" in mail
    assert "24 heures" in mail and "bloquer ce professionnel" in mail
    for secret in ("Malaise", "cardiaque", "urgences de Lyon", "83.4", "83,4", "kg", "poids"):
        assert secret not in mail

    # The history marks it, with the reason, on the opening and on every read during it.
    rows = (await mail_client.get(f"{space}/access-history?actor=professionals", headers=holder.headers)).json()[
        "items"
    ]
    assert rows[-1]["description"] == (
        f"Hugo Petit (infirmier, en accès d'urgence) a ouvert l'espace en accès d'urgence. Motif donné : « {REASON} »."
    )
    assert all(row["emergencyReason"] == REASON and row["actorKind"] == "professional_emergency" for row in rows)
    # Every row names the professional's software, the opening's too (it named none: an outside audit).
    assert {row["client"]["name"] for row in rows} == {rows[0]["client"]["name"]} != {None}
    assert any(row["action"] == "GET /v1/spaces/{space}/vitals" and row["outcome"] == 200 for row in rows)
    # The write refused during it was made in it all the same, and says so (an outside audit).
    [refused] = [row for row in rows if row["action"] == "POST /v1/spaces/{space}/vitals"]
    assert refused["outcome"] == 403 and "(infirmier, en accès d'urgence) a tenté d'ajouter" in refused["description"]

    # The holder's list shows who came in; after 24 hours the space is closed to them again.
    listed = (await mail_client.get(f"{space}/professionals", headers=holder.headers)).json()["items"]
    assert [(item["status"], item["familyName"]) for item in listed] == [("emergency", "Petit")]
    assert listed[0]["emergencyUntil"] is not None
    await emergency_hours_ago(holder.space_id, nurse, 24)
    assert (await mail_client.get(f"{space}/vitals", headers=nurse.headers)).status_code == 404


async def test_a_retried_emergency_access_is_replayed_recorded_and_erased_with_the_space(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """The retry names the space as the first try did: its row is in the space's history; the
    answer kept for the key names the space, and goes when the space is erased."""
    holder = await make_person()
    nurse = await sign_in_pro(settings, NURSE)
    body = {"space": str(holder.space_id), "reason": REASON}
    headers = {**nurse.headers, "Idempotency-Key": f"urgence-{holder.space_id}"}
    first = await client.post("/v1/pro/emergency-access", json=body, headers=headers)
    again = await client.post("/v1/pro/emergency-access", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    history = f"/v1/spaces/{holder.space_id}/access-history?actor=professionals"
    rows = (await client.get(history, headers=holder.headers)).json()["items"]
    opening = [row for row in rows if row["action"] == "POST /v1/pro/emergency-access"]
    assert [(row["outcome"], row["resourceId"], row["emergencyReason"]) for row in opening] == 2 * [
        (201, first.json()["id"], REASON)
    ]
    kept = "SELECT space_id FROM idempotency_keys WHERE space_id = {}"
    assert len(await db.fetch(kept, holder.space_id)) == 1
    erased = await client.delete("/v1/spaces/me", params={"erase": "true"}, headers=holder.headers)
    assert erased.status_code == 204, erased.text
    assert await db.fetch(kept, holder.space_id) == []


async def test_a_retried_refusal_is_recorded_too_and_a_retried_404_names_no_space(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    holder = await make_person()
    nurse = await sign_in_pro(settings, NURSE)
    forbid = await client.put(
        f"/v1/spaces/{holder.space_id}/emergency-access", json={"allowed": False}, headers=holder.headers
    )
    assert forbid.status_code == 200, forbid.text
    headers = {**nurse.headers, "Idempotency-Key": f"refus-{holder.space_id}"}
    body = {"space": str(holder.space_id), "reason": REASON}
    first = await client.post("/v1/pro/emergency-access", json=body, headers=headers)
    again = await client.post("/v1/pro/emergency-access", json=body, headers=headers)
    assert first.status_code == again.status_code == 403, again.text
    assert again.headers["idempotent-replayed"] == "true"
    history = f"/v1/spaces/{holder.space_id}/access-history?actor=professionals"
    rows = (await client.get(history, headers=holder.headers)).json()["items"]
    refused = [row for row in rows if row["action"] == "POST /v1/pro/emergency-access"]
    assert [(row["outcome"], row["resourceId"]) for row in refused] == 2 * [(403, None)]
    kept = "SELECT space_id FROM idempotency_keys WHERE space_id = {}"
    assert len(await db.fetch(kept, holder.space_id)) == 1
    # A space that does not exist: the answer names none, nor does its replay.
    nowhere = {"space": str(uuid.uuid4()), "reason": REASON}
    other_key = {**nurse.headers, "Idempotency-Key": f"nulle-part-{holder.space_id}"}
    for _ in range(2):
        assert (await client.post("/v1/pro/emergency-access", json=nowhere, headers=other_key)).status_code == 404


async def test_for_a_minor_the_parents_are_emailed(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, outbox: tuple[Outbox, int]
) -> None:
    parent, other = await make_person(birthdate=date(1980, 1, 1)), await make_person(birthdate=date(1981, 1, 1))
    child = await create_child_space(
        mail_client, parent, given_name="Inès", birthdate=years_before(today_in_paris(), 6)
    )
    assert (await join_as_second_parent(mail_client, parent, other, child)).status_code == 200
    midwife = await sign_in_pro(settings, MIDWIFE, given_name="Sophie", family_name="Moreau")
    assert (await open_emergency(mail_client, midwife, child)).status_code == 201
    for person in (parent, other):
        [mail] = await mails_to(outbox, _email(person), 1)
        assert "Sophie Moreau, sage-femme, a ouvert l'espace santé d'Inès en accès d'urgence" in mail


async def test_a_minor_who_holds_their_own_space_is_emailed_themself(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, outbox: tuple[Outbox, int]
) -> None:
    # A minor's own space (signed in with their own identity) has a holder and no parents: the
    # holder is the one told, as an adult would be.
    minor = await make_person(given_name="Zoé", birthdate=years_before(today_in_paris(), 16))
    nurse = await sign_in_pro(settings, NURSE, given_name="Hugo", family_name="Petit")
    assert (await open_emergency(mail_client, nurse, minor.space_id)).status_code == 201
    [mail] = await mails_to(outbox, _email(minor), 1)
    assert "Hugo Petit, infirmier, a ouvert votre espace santé en accès d'urgence" in mail


async def test_a_blocked_professional_cannot_and_the_holder_can_forbid_emergency_access(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    holder = await make_person()
    space = f"/v1/spaces/{holder.space_id}"
    doctor, nurse = await sign_in_pro(settings, GP), await sign_in_pro(settings, NURSE)
    entry = await authorise(mail_client, holder, doctor)
    assert (
        await mail_client.post(f"{space}/professionals/{entry['id']}/block", headers=holder.headers)
    ).status_code == 200
    listed = f"{space}/professionals/{entry['id']}"
    before = (await mail_client.get(listed, headers=holder.headers)).json()["lastAccessAt"]
    blocked = await open_emergency(mail_client, doctor, holder.space_id)
    assert blocked.status_code == 403 and "blocked" in blocked.json()["detail"]
    # A refused attempt is in the history, not the list's last access (an outside audit).
    assert (await mail_client.get(listed, headers=holder.headers)).json()["lastAccessAt"] == before

    # A running emergency access ends when the holder forbids emergency access; a new one is refused.
    assert (await open_emergency(mail_client, nurse, holder.space_id)).status_code == 201
    assert (await mail_client.get(f"{space}/vitals", headers=nurse.headers)).status_code == 200
    setting = await mail_client.put(f"{space}/emergency-access", json={"allowed": False}, headers=holder.headers)
    assert setting.status_code == 200 and setting.json() == {"allowed": False}
    assert (await mail_client.get(f"{space}/emergency-access", headers=holder.headers)).json() == {"allowed": False}
    assert (await mail_client.get(f"{space}/vitals", headers=nurse.headers)).status_code == 404
    again = await open_emergency(mail_client, nurse, holder.space_id)
    assert again.status_code == 403 and "forbidden" in again.json()["detail"]
    refusals = (await mail_client.get(f"{space}/access-history?action=refused", headers=holder.headers)).json()["items"]
    assert any(row["action"] == "POST /v1/pro/emergency-access" for row in refusals)
    # A representative or a professional may not change the setting; bad bodies are 4xx.
    assert (
        await mail_client.put(f"{space}/emergency-access", json={"allowed": True}, headers=doctor.headers)
    ).status_code == 404
    assert (
        await mail_client.put(f"{space}/emergency-access", json={"allowed": "yes"}, headers=holder.headers)
    ).status_code == 422


async def test_emergency_access_refuses_bad_input_and_unknown_spaces(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    holder = await make_person()
    nurse = await sign_in_pro(settings, NURSE)
    url = "/v1/pro/emergency-access"
    missing = await mail_client.post(url, json={"space": str(holder.space_id)}, headers=nurse.headers)
    assert missing.status_code == 422 and missing.json()["errors"][0]["pointer"] == "/reason"
    for nothing in ("   ", "\u200b\u200c\u200d", "\u2800\u2800\u2800"):
        # A reason that shows nothing: the holder's history would read « » (an outside audit).
        blank = await mail_client.post(
            url, json={"space": str(holder.space_id), "reason": nothing}, headers=nurse.headers
        )
        assert blank.status_code == 422 and blank.json()["errors"][0]["pointer"] == "/reason", blank.text
    unknown = await mail_client.post(
        url, json={"space": "00000000-0000-4000-8000-000000000000", "reason": "urgence"}, headers=nurse.headers
    )
    assert unknown.status_code == 404
    assert (
        await mail_client.post(url, json={"space": str(holder.space_id), "reason": "urgence"}, headers=holder.headers)
    ).status_code == 403


async def test_an_access_request_answers_the_same_whether_or_not_a_space_matches(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    holder = await make_person(given_name="Élodie", family_name="Durand-Test", birthdate=date(1984, 6, 2))
    await db.fetch("UPDATE accounts SET birthplace = '69123' WHERE id = {}", holder.account_id)
    doctor = await sign_in_pro(settings, GP, given_name="Claire", family_name="Bernard")
    matching = {"familyName": "DURAND-TEST", "givenName": "elodie", "birthdate": "1984-06-02", "birthplace": "69123"}
    nobody = {
        "familyName": "Personne-Sans-Espace",
        "givenName": "Zoé",
        "birthdate": "1984-06-02",
        "birthplace": "75056",
    }

    answers = [
        await mail_client.post("/v1/pro/access-requests", json=body, headers=doctor.headers)
        for body in (matching, nobody, matching)
    ]
    assert {answer.status_code for answer in answers} == {202}
    assert len({answer.content for answer in answers}) == 1
    ignored = {"x-request-id", "date", "content-length"}
    headers = [{k: v for k, v in answer.headers.items() if k not in ignored} for answer in answers]
    assert headers[0] == headers[1] == headers[2]

    # The holder sees one pending request (asking twice made one), with who asks.
    requests = (await mail_client.get(f"/v1/spaces/{holder.space_id}/access-requests", headers=holder.headers)).json()
    [request] = requests["items"]
    assert request["status"] == "pending" and request["familyName"] == "Bernard" and request["profession"] == "médecin"
    # Before approval the doctor does not see the space.
    assert (await mail_client.get(f"/v1/spaces/{holder.space_id}", headers=doctor.headers)).status_code == 404
    approved = await mail_client.post(
        f"/v1/spaces/{holder.space_id}/access-requests/{request['id']}/approve", headers=holder.headers
    )
    assert approved.status_code == 200 and approved.json()["status"] == "authorised"
    assert (await mail_client.get(f"/v1/spaces/{holder.space_id}", headers=doctor.headers)).status_code == 200
    patients = (await mail_client.get("/v1/pro/patients", headers=doctor.headers)).json()["items"]
    assert [item["space"] for item in patients] == [str(holder.space_id)]
    twice = await mail_client.post(
        f"/v1/spaces/{holder.space_id}/access-requests/{request['id']}/refuse", headers=holder.headers
    )
    assert twice.status_code == 409


async def test_the_holder_refuses_an_access_request_and_a_wrong_birthplace_matches_nothing(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    holder = await make_person(given_name="Louis", family_name="Refus-Test", birthdate=date(1971, 11, 30))
    await db.fetch("UPDATE accounts SET birthplace = '13055' WHERE id = {}", holder.account_id)
    nurse = await sign_in_pro(settings, NURSE)
    traits = {"familyName": "Refus-Test", "givenName": "Louis", "birthdate": "1971-11-30"}
    elsewhere = await mail_client.post(
        "/v1/pro/access-requests", json={**traits, "birthplace": "75056"}, headers=nurse.headers
    )
    assert elsewhere.status_code == 202
    space = f"/v1/spaces/{holder.space_id}/access-requests"
    assert (await mail_client.get(space, headers=holder.headers)).json()["items"] == []
    assert (await mail_client.post("/v1/pro/access-requests", json=traits, headers=nurse.headers)).status_code == 202
    [request] = (await mail_client.get(space, headers=holder.headers)).json()["items"]
    refused = await mail_client.post(f"{space}/{request['id']}/refuse", headers=holder.headers)
    assert refused.status_code == 200 and refused.json()["status"] == "refused"
    assert (await mail_client.get(f"/v1/spaces/{holder.space_id}", headers=nurse.headers)).status_code == 404
    # Once blocked, the nurse asks in vain: the same answer, nothing reaches the holder.
    await authorise(mail_client, holder, nurse)
    [entry] = (await mail_client.get(f"/v1/spaces/{holder.space_id}/professionals", headers=holder.headers)).json()[
        "items"
    ]
    blocked = await mail_client.post(
        f"/v1/spaces/{holder.space_id}/professionals/{entry['id']}/block", headers=holder.headers
    )
    assert blocked.status_code == 200
    in_vain = await mail_client.post("/v1/pro/access-requests", json=traits, headers=nurse.headers)
    assert in_vain.status_code == 202 and in_vain.json() == elsewhere.json()
    assert [r["status"] for r in (await mail_client.get(space, headers=holder.headers)).json()["items"]] == ["refused"]
    # Bad input is 4xx; a person cannot use the professionals' route.
    bad = await mail_client.post(
        "/v1/pro/access-requests", json={**traits, "birthdate": "1971-13-01"}, headers=nurse.headers
    )
    assert bad.status_code == 422
    assert (await mail_client.post("/v1/pro/access-requests", json=traits, headers=holder.headers)).status_code == 403


async def test_an_access_request_never_reaches_a_space_whose_identity_a_parent_declared(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """Anyone may declare a child's space for any name and birthdate: a stranger's copy of a real
    child's space received the doctor's request, approved it, and the doctor listed it as that
    child (a review). No child's space receives a request; a parent authorises the professional."""
    parent = await make_person(given_name="Paul", family_name="Marchal-Test")
    stranger = await make_person(given_name="Ève", family_name="Intruse-Test")
    born = years_before(today_in_paris(), 10).isoformat()  # a minor whatever the year the test runs in
    child = {"givenName": "Léa", "familyName": "Marchal-Test", "birthdate": born, "sex": "female"}
    spaces = []
    for who in (parent, stranger):
        created = await mail_client.post("/v1/spaces", json={**child, "relationship": "parent"}, headers=who.headers)
        assert created.status_code == 201, created.text
        spaces.append((who, created.json()["id"]))
    doctor = await sign_in_pro(settings, GP)
    for birthplace in ({"birthplace": "69123"}, {}):
        traits = {"familyName": "MARCHAL-TEST", "givenName": "lea", "birthdate": born, **birthplace}
        answer = await mail_client.post("/v1/pro/access-requests", json=traits, headers=doctor.headers)
        assert answer.status_code == 202
    for who, space in spaces:
        listed = await mail_client.get(f"/v1/spaces/{space}/access-requests", headers=who.headers)
        assert listed.status_code == 200 and listed.json()["items"] == []
    assert (await mail_client.get("/v1/pro/patients", headers=doctor.headers)).json()["items"] == []


async def test_the_home_screen_counts_the_access_requests_awaiting_an_answer(
    mail_client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """No e-mail says a professional asked (its time would tell whether the person has a space): the
    home screen is where the holder learns it. It said nothing of them, so a request waited until
    the holder happened to open the list of requests (an outside audit of the home screen). A
    professional, who does not read the requests (the access matrix), is shown null."""
    holder = await make_person(given_name="Noémie", family_name="Attente-Test", birthdate=date(1979, 3, 8))
    await db.fetch("UPDATE accounts SET birthplace = '33063' WHERE id = {}", holder.account_id)
    summary = f"/v1/spaces/{holder.space_id}"

    async def pending() -> object:
        answer = await mail_client.get(summary, headers=holder.headers)
        assert answer.status_code == 200, answer.text
        return answer.json()["pendingAccessRequests"]

    assert await pending() == 0
    traits = {"familyName": "Attente-Test", "givenName": "Noémie", "birthdate": "1979-03-08", "birthplace": "33063"}
    doctor = await sign_in_pro(settings, GP, given_name="Claire", family_name="Médecin-Attente")
    nurse = await sign_in_pro(settings, NURSE, given_name="Hugo", family_name="Infirmier-Attente")
    for pro in (doctor, nurse):
        assert (await mail_client.post("/v1/pro/access-requests", json=traits, headers=pro.headers)).status_code == 202
    assert await pending() == 2
    requests = f"{summary}/access-requests"
    first, _ = (await mail_client.get(requests, headers=holder.headers)).json()["items"]
    assert (await mail_client.post(f"{requests}/{first['id']}/refuse", headers=holder.headers)).status_code == 200
    assert await pending() == 1
    # The one still awaiting an answer came from the other professional, now authorised: they read
    # the home screen, and are told nothing of the requests.
    [waiting] = [
        r for r in (await mail_client.get(requests, headers=holder.headers)).json()["items"] if r["id"] != first["id"]
    ]
    approved = await mail_client.post(f"{requests}/{waiting['id']}/approve", headers=holder.headers)
    assert approved.status_code == 200
    assert await pending() == 0
    asker = doctor if waiting["familyName"] == doctor.family_name else nurse
    seen = await mail_client.get(summary, headers=asker.headers)
    assert seen.status_code == 200 and seen.json()["pendingAccessRequests"] is None
