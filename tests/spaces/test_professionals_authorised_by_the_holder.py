"""The holder authorises professionals (a year, to the same date next year exclusive, in the space's
time zone), renews, revokes, blocks; what a professional then sees and does goes through the door:
the access matrix, the holder's masking, the access history naming them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from ens.core import db
from ens.core.settings import Settings
from ens.spaces.door import SpaceRef
from ens.spaces.professionals import authorisation_end
from tests.helpers.carers import create_child_space, today_in_paris, years_before
from tests.helpers.people import MakePerson
from tests.helpers.professionals import (
    GP,
    MIDWIFE,
    NURSE,
    PHARMACIST,
    PHYSIO,
    authorise,
    authorised_on,
    new_rpps_id,
    sign_in_pro,
)
from tests.helpers.records import trusted
from tests.helpers.vitals import weight


def _space(zone: str = "Europe/Paris") -> SpaceRef:
    return SpaceRef(
        id=uuid.uuid4(),
        status="open",
        timezone=zone,
        birthdate=None,
        sex=None,
        given_name="",
        family_name="",
        holder_account_id=None,
    )


def test_an_authorisation_ends_at_midnight_of_the_same_date_next_year_in_the_spaces_zone() -> None:
    given = datetime(2026, 3, 12, 22, 30, tzinfo=UTC)  # 23:30 in Paris, still 12 March
    assert authorisation_end(_space(), now=given) == datetime(2027, 3, 11, 23, 0, tzinfo=UTC)
    # 23:30 UTC on 12 March is already 13 March in Paris: the date is the space's.
    late = datetime(2026, 3, 12, 23, 30, tzinfo=UTC)
    assert authorisation_end(_space(), now=late) == datetime(2027, 3, 12, 23, 0, tzinfo=UTC)
    # Given on 29 February: the last day is 28 February, access ends when 1 March starts.
    leap = datetime(2028, 2, 29, 12, tzinfo=UTC)
    assert authorisation_end(_space(), now=leap) == datetime(2029, 2, 28, 23, 0, tzinfo=UTC)
    # Another zone, across a DST change: midnight there.
    noumea = authorisation_end(_space("Pacific/Noumea"), now=datetime(2026, 7, 1, 1, tzinfo=UTC))
    assert noumea == datetime(2027, 6, 30, 13, 0, tzinfo=UTC)


async def test_the_holder_authorises_lists_renews_revokes_and_blocks(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    holder = await make_person()
    pro = await sign_in_pro(settings, NURSE, given_name="Hugo", family_name="Petit")
    entry = await authorise(client, holder, pro)
    assert entry["status"] == "authorised" and entry["profession"] == "infirmier" and entry["professionCode"] == NURSE
    assert entry["givenName"] == "Hugo" and entry["familyName"] == "Petit" and entry["nationalId"] == pro.national_id
    until = datetime.fromisoformat(entry["until"])
    assert until.date() in (
        years_before(today_in_paris(), -1) - timedelta(days=1),
        years_before(today_in_paris(), -1),
    )
    assert entry["lastAccessAt"] is None
    base = f"/v1/spaces/{holder.space_id}/professionals"

    # Authorising again while it runs is a conflict naming the entry.
    again = await client.post(base, json={"nationalId": pro.national_id}, headers=holder.headers)
    assert again.status_code == 409 and entry["id"] in again.json()["detail"]

    # The professional reads the vitals; the holder's list then shows the last access.
    assert (await client.get(f"/v1/spaces/{holder.space_id}/vitals", headers=pro.headers)).status_code == 200
    listed = (await client.get(base, headers=holder.headers)).json()["items"]
    assert [item["id"] for item in listed] == [entry["id"]] and listed[0]["lastAccessAt"] is not None

    # Renew: If-Match honoured (412 when stale), a year from today.
    one = await client.get(f"{base}/{entry['id']}", headers=holder.headers)
    stale = await client.patch(
        f"{base}/{entry['id']}", json={"renew": True}, headers={**holder.headers, "If-Match": '"x"'}
    )
    assert stale.status_code == 412
    renewed = await client.patch(
        f"{base}/{entry['id']}", json={"renew": True}, headers={**holder.headers, "If-Match": one.headers["etag"]}
    )
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["status"] == "authorised" and renewed.json()["since"] == entry["since"]

    # Revoke: the professional's very next request loses the space (404, as a space never seen).
    assert (await client.delete(f"{base}/{entry['id']}", headers=holder.headers)).status_code == 204
    gone = await client.get(f"/v1/spaces/{holder.space_id}/vitals", headers=pro.headers)
    assert gone.status_code == 404
    assert (await client.get(f"{base}/{entry['id']}", headers=holder.headers)).json()["status"] == "revoked"
    refused_renewal = await client.patch(f"{base}/{entry['id']}", json={"renew": True}, headers=holder.headers)
    assert refused_renewal.status_code == 409

    # Authorised again, then blocked: no access, and the list says so.
    assert (await authorise(client, holder, pro))["status"] == "authorised"
    blocked = await client.post(f"{base}/{entry['id']}/block", headers=holder.headers)
    assert blocked.status_code == 200 and blocked.json()["status"] == "blocked"
    assert (await client.get(f"/v1/spaces/{holder.space_id}/vitals", headers=pro.headers)).status_code == 404
    patients = await client.get("/v1/pro/patients", headers=pro.headers)
    assert patients.json()["items"] == []
    # The holder's history says each decision in plain French.
    said = [
        row["description"]
        for row in (
            await client.get(f"/v1/spaces/{holder.space_id}/access-history?action=change", headers=holder.headers)
        ).json()["items"]
    ]
    name = f"{holder.given_name} {holder.family_name} (titulaire)"
    for verb in ("a autorisé", "a renouvelé l'autorisation d'", "a bloqué"):
        assert any(sentence.startswith(f"{name} {verb}") for sentence in said), (verb, said)
    # An authorisation names whom (an outside review: a guardian's authorisation said only "a
    # professional"), and its row names the entry, as the other decisions' rows do.
    pro_name = f"{pro.given_name} {pro.family_name}"
    assert f"{name} a autorisé {pro_name}, professionnel de santé." in said, said
    rows = (
        await client.get(f"/v1/spaces/{holder.space_id}/access-history?resource=professionals", headers=holder.headers)
    ).json()["items"]
    added = [row for row in rows if row["action"] == "POST /v1/spaces/{space}/professionals" and row["outcome"] == 201]
    assert added and {row["resourceId"] for row in added} == {entry["id"]}


async def test_the_day_before_the_anniversary_and_the_anniversary_day(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    holder = await make_person()
    pro = await sign_in_pro(settings, GP)
    await authorise(client, holder, pro)
    vitals = f"/v1/spaces/{holder.space_id}/vitals"
    today = today_in_paris()

    # Authorised a year ago tomorrow: today is the last day (the day before the anniversary).
    await authorised_on(holder.space_id, pro, years_before(today, 1) + timedelta(days=1))
    assert (await client.get(vitals, headers=pro.headers)).status_code == 200
    patients = (await client.get("/v1/pro/patients", headers=pro.headers)).json()["items"]
    assert [item["space"] for item in patients] == [str(holder.space_id)]

    # Authorised a year ago today: today is the anniversary, the first day without access.
    await authorised_on(holder.space_id, pro, years_before(today, 1))
    assert (await client.get(vitals, headers=pro.headers)).status_code == 404
    assert (await client.get("/v1/pro/patients", headers=pro.headers)).json()["items"] == []
    listed = (await client.get(f"/v1/spaces/{holder.space_id}/professionals", headers=holder.headers)).json()
    assert listed["items"][0]["status"] == "expired"

    # Renewing an expired authorisation opens the space again for a year from today.
    renewed = await client.patch(
        f"/v1/spaces/{holder.space_id}/professionals/{listed['items'][0]['id']}",
        json={"renew": True},
        headers=holder.headers,
    )
    assert renewed.status_code == 200 and renewed.json()["status"] == "authorised"
    assert (await client.get(vitals, headers=pro.headers)).status_code == 200


async def test_authorising_needs_a_known_valid_national_identifier(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    holder = await make_person()
    base = f"/v1/spaces/{holder.space_id}/professionals"
    unknown = await client.post(base, json={"nationalId": new_rpps_id()}, headers=holder.headers)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["pointer"] == "/nationalId"
    valid = new_rpps_id()
    wrong_check = valid[:-1] + str((int(valid[-1]) + 1) % 10)
    bad_luhn = await client.post(base, json={"nationalId": wrong_check}, headers=holder.headers)
    assert bad_luhn.status_code == 422 and "Luhn" in bad_luhn.text
    malformed = await client.post(base, json={"nationalId": "12345"}, headers=holder.headers)
    assert malformed.status_code == 422 and malformed.json()["errors"][0]["pointer"] == "/nationalId"
    extra = await client.post(base, json={"nationalId": valid, "until": "2099-01-01"}, headers=holder.headers)
    assert extra.status_code == 422


async def _an_allergy_and_two_professionals(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, *professions: Any
) -> tuple[Any, str, list[Any]]:
    """A holder with an allergy, who authorised a professional of each of ``professions``: the
    holder, their space's path, the professionals."""
    holder = await make_person()
    pros = [await sign_in_pro(settings, profession) for profession in professions]
    for pro in pros:
        await authorise(client, holder, pro)
    space = f"/v1/spaces/{holder.space_id}"
    added = await client.post(f"{space}/profile/allergies", json={"substance": "Pénicilline"}, headers=holder.headers)
    assert added.status_code == 201, added.text
    return holder, space, pros


async def test_a_professional_sees_what_the_matrix_allows_and_not_what_the_holder_hides_from_them(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    _, space, (physio, pharmacist) = await _an_allergy_and_two_professionals(
        client, settings, make_person, PHYSIO, PHARMACIST
    )
    # A pharmacist reads allergies; a physiotherapist does not (the access matrix).
    assert (await client.get(f"{space}/profile/allergies", headers=pharmacist.headers)).status_code == 200
    assert (await client.get(f"{space}/profile/allergies", headers=physio.headers)).status_code == 403
    # Both read measures; neither writes them.
    assert (await client.get(f"{space}/vitals", headers=physio.headers)).status_code == 200
    wrote = await client.post(f"{space}/vitals", json={"measurements": [weight()]}, headers=pharmacist.headers)
    assert wrote.status_code == 403 and "pharmacien" in wrote.json()["detail"]
    # Managing access is never a professional's.
    manage = await client.post(f"{space}/professionals", json={"nationalId": new_rpps_id()}, headers=pharmacist.headers)
    assert manage.status_code == 403


async def test_a_nurse_or_a_pharmacist_reads_the_profiles_allergies_and_treatments_not_the_diagnoses(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """DOMAIN.md §7: a nurse or a pharmacist sees only what their care needs (vaccinations,
    treatments, allergies, measures). The profile's four lists open one by one: the conditions and
    the family history stay the doctor's and the midwife's (an outside review: a nurse read them)."""
    holder, space, (nurse, pharmacist, doctor) = await _an_allergy_and_two_professionals(
        client, settings, make_person, NURSE, PHARMACIST, GP
    )
    for path, body in (
        ("conditions", {"label": "Trouble bipolaire"}),
        ("treatments", {"medication": "Lithium"}),
        ("family-history", {"relative": "mother", "condition": "Maladie de Huntington"}),
    ):
        added = await client.post(f"{space}/profile/{path}", json=body, headers=holder.headers)
        assert added.status_code == 201, added.text
    condition_id = (await client.get(f"{space}/profile/conditions", headers=holder.headers)).json()["items"][0]["id"]
    for pro, profession in ((nurse, "infirmier"), (pharmacist, "pharmacien")):
        for readable in ("allergies", "treatments"):
            listed = await client.get(f"{space}/profile/{readable}", headers=pro.headers)
            assert listed.status_code == 200 and len(listed.json()["items"]) == 1
        for closed in ("conditions", "family-history", f"conditions/{condition_id}"):
            refused = await client.get(f"{space}/profile/{closed}", headers=pro.headers)
            assert refused.status_code == 403, (profession, closed)
            assert refused.headers["content-type"] == "application/problem+json"
            assert "Trouble" not in refused.text and profession in refused.json()["detail"]
        # The home screen counts what they read: the allergy and the treatment.
        assert (await client.get(space, headers=pro.headers)).json()["records"]["profile"] == 2
    # The doctor reads the four lists and counts them all, as the holder does.
    assert (await client.get(f"{space}/profile/conditions", headers=doctor.headers)).status_code == 200
    assert (await client.get(f"{space}/profile/family-history", headers=doctor.headers)).status_code == 200
    assert (await client.get(space, headers=doctor.headers)).json()["records"]["profile"] == 4
    assert (await client.get(space, headers=holder.headers)).json()["records"]["profile"] == 4
    # The refusals are in the holder's access history, under the profile.
    history = await client.get(f"{space}/access-history", params={"resource": "profile"}, headers=holder.headers)
    refused_rows = [row for row in history.json()["items"] if row["outcome"] == 403]
    assert len(refused_rows) == 6 and {row["resourceType"] for row in refused_rows} == {"profile"}


async def test_the_home_screen_shows_a_professional_only_what_their_profession_reads(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """The summary gathers parts of several resources: a physiotherapist, refused the booklet, the
    profile and the directives by the access matrix, read their counts there before (a review)."""
    holder, space, (physio, doctor) = await _an_allergy_and_two_professionals(client, settings, make_person, PHYSIO, GP)
    seen_by_physio = (await client.get(space, headers=physio.headers)).json()
    records = seen_by_physio["records"]
    assert seen_by_physio["vaccination"] is None
    assert records["profile"] is None and records["directives"] is None and records["trustedPerson"] is None
    assert records["reviewDue"] is None
    assert records["emergencyContacts"] == 0 and records["doctor"] is False  # every profession reads those
    assert (await client.get(f"{space}/vaccinations/schedule", headers=physio.headers)).status_code == 403
    seen_by_doctor = (await client.get(space, headers=doctor.headers)).json()
    assert seen_by_doctor["records"]["profile"] == 1 and seen_by_doctor["records"]["directives"] == "none"
    assert seen_by_doctor["vaccination"] is not None
    # The holder's home screen is whole.
    own = (await client.get("/v1/spaces/me", headers=holder.headers)).json()
    assert own["records"]["profile"] == 1 and own["vaccination"] is not None


async def test_the_home_screen_shows_the_measures_only_to_a_profession_that_reads_them(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every profession reads the measures in the shipped matrix, but the matrix is data: one that
    left a profession without them still showed it the latest values and the BMI on the home screen
    (an earlier session's note)."""
    import msgspec

    from ens.spaces.door import access as door_access
    from ens.spaces.matrix import access_matrix

    holder, space, (physio, doctor) = await _an_allergy_and_two_professionals(client, settings, make_person, PHYSIO, GP)
    typed = await client.post(f"{space}/vitals", json={"measurements": [weight(70)]}, headers=holder.headers)
    assert typed.status_code == 201, typed.text
    assert [v["type"] for v in (await client.get(space, headers=physio.headers)).json()["vitals"]] == ["body_weight"]
    shipped = access_matrix()
    cell = shipped.resources["vitals"]
    without = msgspec.structs.replace(cell, read=[code for code in cell.read if code != PHYSIO])
    narrowed = msgspec.structs.replace(shipped, resources={**shipped.resources, "vitals": without})
    monkeypatch.setattr(door_access, "access_matrix", lambda: narrowed)
    seen = (await client.get(space, headers=physio.headers)).json()
    assert seen["vitals"] == [] and seen["bmi"] is None
    assert (await client.get(f"{space}/vitals", headers=physio.headers)).status_code == 403
    assert [v["type"] for v in (await client.get(space, headers=doctor.headers)).json()["vitals"]] == ["body_weight"]


async def test_a_nurse_writes_a_measure_named_in_the_history_with_her_profession(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    holder = await make_person()
    nurse = await sign_in_pro(settings, NURSE, given_name="Hugo", family_name="Petit")
    await authorise(client, holder, nurse)
    space = f"/v1/spaces/{holder.space_id}"
    wrote = await client.post(f"{space}/vitals", json={"measurements": [weight(70)]}, headers=nurse.headers)
    assert wrote.status_code == 201, wrote.text
    listed = (await client.get(f"{space}/vitals", headers=holder.headers)).json()["items"]
    assert listed[0]["source"]["name"] == "Hugo Petit"
    history = await client.get(f"{space}/access-history?actor=professionals", headers=holder.headers)
    rows = history.json()["items"]
    assert rows and all(row["actingAs"] == "professional" for row in rows)
    assert rows[0]["description"] == "Hugo Petit (infirmier) a ajouté les mesures."
    assert rows[0]["profession"] == "infirmier" and rows[0]["professionCode"] == NURSE
    assert rows[0]["actor"]["name"] == "Hugo Petit" and rows[0]["emergencyReason"] is None
    # The home screen tells the nurse who she is there and what she may do.
    summary = (await client.get(space, headers=nurse.headers)).json()
    assert summary["role"] == "professional" and summary["rights"] == ["read", "write_data"]


async def test_a_professional_corrects_and_removes_only_the_measures_they_took(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """Their right to write measures is to take them: before, a nurse could delete the person's own
    measures, an app's, another professional's (a review); as apps, and as with documents, no more."""
    holder = await make_person()
    nurse, doctor = await sign_in_pro(settings, NURSE), await sign_in_pro(settings, GP)
    for pro in (nurse, doctor):
        await authorise(client, holder, pro)
    space = f"/v1/spaces/{holder.space_id}/vitals"

    async def take(who: Any, value: float) -> str:
        sent = await client.post(space, json={"measurements": [weight(value)]}, headers=who.headers)
        assert sent.status_code == 201, sent.text
        return str(sent.json()["items"][0]["id"])

    async def etag(measure: str) -> str:
        return (await client.get(f"{space}/{measure}", headers=holder.headers)).headers["etag"]

    own, doctors, holders = await take(nurse, 70.0), await take(doctor, 71.0), await take(holder, 72.0)
    for other in (doctors, holders):
        tag = await etag(other)
        fixed = await client.patch(f"{space}/{other}", json={"value": 60.0}, headers={**nurse.headers, "If-Match": tag})
        assert fixed.status_code == 403, fixed.text
        removed = await client.delete(f"{space}/{other}", headers={**nurse.headers, "If-Match": tag})
        assert removed.status_code == 403, removed.text
        assert (await client.get(f"{space}/{other}", headers=holder.headers)).json()["value"] in (71.0, 72.0)
    fixed = await client.patch(
        f"{space}/{own}", json={"value": 69.5}, headers={**nurse.headers, "If-Match": await etag(own)}
    )
    assert fixed.status_code == 200, fixed.text
    removed = await client.delete(f"{space}/{own}", headers={**nurse.headers, "If-Match": await etag(own)})
    assert removed.status_code == 204, removed.text
    # The holder still removes any.
    assert (await client.delete(f"{space}/{doctors}", headers=holder.headers)).status_code == 204


async def test_a_professional_changes_and_removes_only_the_profile_entries_they_added(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """A doctor edited and deleted the holder's own conditions, hidden ones included (an outside
    audit), where a measure or a vaccination of the person's was 403 to them: the same rule now."""
    holder = await make_person()
    doctor, midwife = await sign_in_pro(settings, GP), await sign_in_pro(settings, MIDWIFE)
    for pro in (doctor, midwife):
        await authorise(client, holder, pro)
    conditions = f"/v1/spaces/{holder.space_id}/profile/conditions"

    async def add(who: Any, label: str, **more: Any) -> str:
        added = await client.post(conditions, json={"label": label, **more}, headers=who.headers)
        assert added.status_code == 201, added.text
        return str(added.json()["id"])

    holders, midwifes, doctors = (
        await add(holder, "Asthme"),
        await add(midwife, "Diabète gestationnel"),
        await add(doctor, "HTA"),
    )
    hidden = await add(holder, "Dépression", hiddenFromRepresentatives=True)
    for other in (holders, midwifes, hidden):
        changed = await client.patch(f"{conditions}/{other}", json={"label": "x"}, headers=doctor.headers)
        assert changed.status_code == 403 and "they recorded themselves" in changed.json()["detail"], changed.text
        assert (await client.delete(f"{conditions}/{other}", headers=doctor.headers)).status_code == 403
    labels = [c["label"] for c in (await client.get(conditions, headers=holder.headers)).json()["items"]]
    assert labels == ["Asthme", "Diabète gestationnel", "HTA", "Dépression"]
    assert (
        await client.patch(f"{conditions}/{doctors}", json={"label": "HTA essentielle"}, headers=doctor.headers)
    ).status_code == 200
    assert (await client.delete(f"{conditions}/{doctors}", headers=doctor.headers)).status_code == 204
    # The holder still changes and removes any.
    assert (await client.delete(f"{conditions}/{midwifes}", headers=holder.headers)).status_code == 204


async def test_a_profession_that_does_not_read_the_trusted_person_sees_their_entry_as_any_contact(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """The contacts list marked the trusted person's entry to a pharmacist, whom the access matrix
    does not let read the trusted person (a review); a doctor, who reads it, still sees the mark."""
    holder = await make_person()
    pharmacist, doctor = await sign_in_pro(settings, PHARMACIST), await sign_in_pro(settings, GP)
    for pro in (pharmacist, doctor):
        await authorise(client, holder, pro)
    designated = await client.put(
        "/v1/spaces/me/trusted-person", json=trusted(alsoEmergencyContact=True), headers=holder.headers
    )
    assert designated.status_code in (200, 201), designated.text
    contacts = f"/v1/spaces/{holder.space_id}/emergency-contacts"
    seen = {
        who: (await client.get(contacts, headers=pro.headers)).json()["items"]
        for who, pro in (("pharmacist", pharmacist), ("doctor", doctor))
    }
    assert [c["trustedPerson"] for c in seen["doctor"]] == [True]
    assert [c["trustedPerson"] for c in seen["pharmacist"]] == [False]
    assert seen["pharmacist"][0]["familyName"] == seen["doctor"][0]["familyName"] == "Durand"


async def test_on_a_minors_space_a_professional_hides_an_item_from_the_parents_at_the_minors_request(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    parent = await make_person(birthdate=date(1980, 1, 1))
    child = await create_child_space(client, parent, birthdate=years_before(today_in_paris(), 15))
    doctor = await sign_in_pro(settings, GP)
    await authorise(client, parent, doctor, space=child)
    hidden = await client.post(
        f"/v1/spaces/{child}/profile/conditions",
        json={"label": "Contraception", "hiddenFromRepresentatives": True},
        headers=doctor.headers,
    )
    assert hidden.status_code == 201, hidden.text
    assert (await client.get(f"/v1/spaces/{child}/profile/conditions", headers=parent.headers)).json()["items"] == []
    seen = (await client.get(f"/v1/spaces/{child}/profile/conditions", headers=doctor.headers)).json()["items"]
    assert [item["label"] for item in seen] == ["Contraception"]
    # Any entry, not only theirs: one a parent wrote, hidden at the minor's request; its words
    # stay the parent's to change (403 to the doctor).
    parents = await client.post(
        f"/v1/spaces/{child}/profile/conditions", json={"label": "Acné"}, headers=parent.headers
    )
    entry = f"/v1/spaces/{child}/profile/conditions/{parents.json()['id']}"
    hid = await client.patch(entry, json={"hiddenFromRepresentatives": True}, headers=doctor.headers)
    assert hid.status_code == 200 and hid.json()["hiddenFromRepresentatives"] is True, hid.text
    assert (await client.patch(entry, json={"label": "Eczéma"}, headers=doctor.headers)).status_code == 403

    # On an adult's space, hiding is the holder's alone.
    adult = await make_person()
    await authorise(client, adult, doctor)
    refused = await client.post(
        f"/v1/spaces/{adult.space_id}/profile/conditions",
        json={"label": "Asthme", "hiddenFromRepresentatives": True},
        headers=doctor.headers,
    )
    assert refused.status_code == 403


async def test_a_token_of_a_professional_never_opens_account_routes_nor_a_persons_own_space(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    pro = await sign_in_pro(settings, GP)
    assert (await client.get("/v1/me", headers=pro.headers)).status_code == 403
    assert (await client.get("/v1/spaces/me", headers=pro.headers)).status_code == 404
    await db.fetch("UPDATE grants SET revoked_at = {} WHERE id = {}", datetime.now(UTC), pro.grant_id)
    assert (await client.get("/v1/pro/patients", headers=pro.headers)).status_code == 401


async def test_the_last_access_counts_only_what_every_reader_of_the_list_sees_in_the_history(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """A professional's request naming an item hidden from the representatives, or held back from
    the holder, moved ``lastAccessAt``, which the tutor (and the holder) read: they learnt the
    professional had acted, and when, where the history said nothing (an outside audit). It moves
    only for requests whose row every reader of the list sees."""
    from tests.helpers.carers import court_measure
    from tests.helpers.documents import metadata, pdf, upload

    holder, tutor = await make_person(), await make_person("Tuteur")
    await court_measure(holder, tutor, "tutelle")
    gp = await sign_in_pro(settings, GP)
    entry = await authorise(client, holder, gp)
    space = f"/v1/spaces/{holder.space_id}"

    async def last_access() -> tuple[Any, Any]:
        url = f"{space}/professionals/{entry['id']}"
        mine = await client.get(url, headers=holder.headers)
        theirs = await client.get(url, headers=tutor.headers)
        assert mine.status_code == 200 and theirs.status_code == 200, (mine.text, theirs.text)
        return mine.json()["lastAccessAt"], theirs.json()["lastAccessAt"]

    secret = await upload(client, holder.headers, pdf(100, seed=51), meta=metadata(hiddenFromRepresentatives=True))
    assert secret.status_code == 201, secret.text
    assert (await client.get(f"{space}/vitals", headers=gp.headers)).status_code == 200
    seen = await last_access()
    assert seen[0] is not None and seen[0] == seen[1]
    # The document hidden from the tutor, read; one held back from the holder, added: nothing moves.
    content = secret.json()["contentUrl"]
    assert (await client.get(content, headers=gp.headers)).status_code == 200
    assert await last_access() == seen
    held = await upload(
        client, gp.headers, pdf(100, seed=52), space=holder.space_id, meta=metadata(hiddenFromHolder=True)
    )
    assert held.status_code == 201, held.text
    assert await last_access() == seen
    # A request every reader sees in the history moves it again.
    assert (await client.get(f"{space}/vitals", headers=gp.headers)).status_code == 200
    moved = await last_access()
    assert moved[0] == moved[1] and moved[0] > seen[0]


async def test_a_doctors_work_hidden_from_a_minors_parents_moves_no_last_access_they_read(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """On a minor's space a doctor adds a measure hidden from the parents (CSP L1111-5, at the
    minor's request): the parents' history has no row of it, and their list's last access for the
    doctor did move (an outside audit). It does not now."""
    parent = await make_person("Jean")
    child = await create_child_space(client, parent, birthdate=years_before(today_in_paris(), 15))
    gp = await sign_in_pro(settings, GP)
    entry = await authorise(client, parent, gp, space=child)
    space = f"/v1/spaces/{child}"
    assert (await client.get(f"{space}/vitals", headers=gp.headers)).status_code == 200
    url = f"{space}/professionals/{entry['id']}"
    seen = (await client.get(url, headers=parent.headers)).json()["lastAccessAt"]
    assert seen is not None
    hidden = await client.post(
        f"{space}/vitals",
        json={"measurements": [weight(50.0, hiddenFromRepresentatives=True)]},
        headers=gp.headers,
    )
    assert hidden.status_code == 201, hidden.text
    assert (await client.get(url, headers=parent.headers)).json()["lastAccessAt"] == seen
    shown = await client.post(f"{space}/vitals", json={"measurements": [weight(50.5)]}, headers=gp.headers)
    assert shown.status_code == 201, shown.text
    assert (await client.get(url, headers=parent.headers)).json()["lastAccessAt"] > seen


async def test_a_last_access_not_noted_after_a_creation_does_not_fail_what_was_stored(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson, monkeypatch: Any
) -> None:
    """A creation's last access is noted once its item is stored (its own statement, after the
    commit): failing there, it answered 503 for a measure already stored, which a client sends again
    (a review). It is logged, and the answer is the creation's."""
    from ens.spaces import history

    holder = await make_person()
    gp = await sign_in_pro(settings, GP)
    await authorise(client, holder, gp)

    async def lost(answered: list[Any]) -> None:
        if any(pending.acting_as == "professional" for pending, _ in answered):
            raise ConnectionError("the database went away")

    monkeypatch.setattr(history, "_note_professional_access", lost)
    space = f"/v1/spaces/{holder.space_id}"
    added = await client.post(f"{space}/vitals", json={"measurements": [weight(70.0)]}, headers=gp.headers)
    assert added.status_code == 201, added.text
    listed = (await client.get(f"{space}/vitals", headers=holder.headers)).json()["items"]
    assert [m["id"] for m in listed] == [added.json()["items"][0]["id"]]
