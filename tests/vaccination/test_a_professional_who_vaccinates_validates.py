"""A vaccination entered by a health professional whose profession may vaccinate (doctor, midwife,
nurse, pharmacist) is ``validated``; the holder's is ``declared``. A validated entry is changed by
a professional only; a profession that does not vaccinate cannot write the booklet at all."""

from __future__ import annotations

import uuid

import httpx

from ens.core import db
from ens.core.settings import Settings
from tests.helpers.people import MakePerson
from tests.helpers.professionals import DENTIST, GP, MIDWIFE, NURSE, PHARMACIST, authorise, sign_in_pro
from tests.helpers.vaccination import vaccine_id


async def test_a_nurse_and_a_pharmacist_validate_what_they_enter(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    holder = await make_person()
    nurse = await sign_in_pro(settings, NURSE, given_name="Hugo", family_name="Petit")
    pharmacist, dentist = await sign_in_pro(settings, PHARMACIST), await sign_in_pro(settings, DENTIST)
    for pro in (nurse, pharmacist, dentist):
        await authorise(client, holder, pro)
    booklet = f"/v1/spaces/{holder.space_id}/vaccinations"
    hexyon = await vaccine_id(client, "hexyon", "HEXYON")

    by_nurse = await client.post(
        booklet, json={"vaccineId": hexyon, "date": "2024-03-12", "lotNumber": "X1234"}, headers=nurse.headers
    )
    assert by_nurse.status_code == 201, by_nurse.text
    assert by_nurse.json()["status"] == "validated"
    assert by_nurse.json()["recordedBy"] == {"role": "professional", "name": "Hugo Petit"}
    by_pharmacist = await client.post(
        booklet,
        json={"vaccineName": "Vaxigrip", "date": "2025-10-20", "diseases": ["influenza"]},
        headers=pharmacist.headers,
    )
    assert by_pharmacist.status_code == 201, by_pharmacist.text
    assert by_pharmacist.json()["status"] == "validated"
    by_holder = await client.post(booklet, json={"vaccineId": hexyon, "date": "2024-05-12"}, headers=holder.headers)
    assert by_holder.json()["status"] == "declared"

    # The holder cannot change a validated entry; the nurse can.
    entry = f"{booklet}/{by_nurse.json()['id']}"
    assert (await client.patch(entry, json={"note": "oubli"}, headers=holder.headers)).status_code == 403
    corrected = await client.patch(entry, json={"lotNumber": "X1235"}, headers=nurse.headers)
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["status"] == "validated" and corrected.json()["lotNumber"] == "X1235"

    # A dentist does not vaccinate: the booklet is closed to them (the access matrix).
    assert (await client.get(booklet, headers=dentist.headers)).status_code == 403
    refused = await client.post(booklet, json={"vaccineId": hexyon, "date": "2024-06-12"}, headers=dentist.headers)
    assert refused.status_code == 403


async def test_a_professional_changes_and_removes_only_the_entries_they_recorded(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """A nurse rewrote the person's own entry (which still said the person recorded it) and removed
    a pharmacist's validated one (a review). As with measures: their own only."""
    holder = await make_person()
    nurse, pharmacist = await sign_in_pro(settings, NURSE), await sign_in_pro(settings, PHARMACIST)
    for pro in (nurse, pharmacist):
        await authorise(client, holder, pro)
    booklet = f"/v1/spaces/{holder.space_id}/vaccinations"
    mine = await client.post(
        booklet, json={"vaccineName": "Revaxis", "diseases": ["tetanus"], "date": "2020-03-12"}, headers=holder.headers
    )
    theirs = await client.post(
        booklet,
        json={"vaccineName": "Vaxigrip", "diseases": ["influenza"], "date": "2025-10-20"},
        headers=pharmacist.headers,
    )
    own = await client.post(
        booklet,
        json={"vaccineName": "Vaxigrip", "diseases": ["influenza"], "date": "2024-10-21", "lotNumber": "L-41"},
        headers=nurse.headers,
    )
    assert mine.status_code == theirs.status_code == own.status_code == 201
    for entry in (mine, theirs):
        path = f"{booklet}/{entry.json()['id']}"
        changed = await client.patch(path, json={"note": "changé"}, headers=nurse.headers)
        assert changed.status_code == 403, changed.text
        assert (await client.delete(path, headers=nurse.headers)).status_code == 403
        assert (await client.get(path, headers=holder.headers)).json().get("note") is None
    path = f"{booklet}/{own.json()['id']}"
    assert (await client.patch(path, json={"lotNumber": "L-42"}, headers=nurse.headers)).status_code == 200
    assert (await client.delete(path, headers=nurse.headers)).status_code == 204


async def test_a_nurse_or_a_midwife_records_the_day_and_the_lot_number(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """DOMAIN.md §5: nurses and midwives record the vaccine's name, the date and the lot number (an
    outside audit: a nurse's entry without a lot was validated). A doctor's may lack them."""
    holder = await make_person()
    nurse, midwife, doctor = [await sign_in_pro(settings, code) for code in (NURSE, MIDWIFE, GP)]
    for pro in (nurse, midwife, doctor):
        await authorise(client, holder, pro)
    booklet = f"/v1/spaces/{holder.space_id}/vaccinations"
    for pro in (nurse, midwife):
        missing = await client.post(booklet, json={"vaccineName": "dTcaP", "date": "2026-11"}, headers=pro.headers)
        assert missing.status_code == 422, missing.text
        assert {e["pointer"] for e in missing.json()["errors"]} == {"/date", "/lotNumber"}
        blank = await client.post(
            booklet, json={"vaccineName": "dTcaP", "date": "2026-11-21", "lotNumber": " "}, headers=pro.headers
        )
        assert blank.status_code == 422 and [e["pointer"] for e in blank.json()["errors"]] == ["/lotNumber"]
    # A nurse's entry recorded before the rule, without its lot: a note is no new record; the day
    # or the lot changed must name both.
    older = await client.post(
        booklet, json={"vaccineName": "dTcaP", "date": "2025-11-21", "lotNumber": "L1"}, headers=nurse.headers
    )
    assert older.status_code == 201, older.text
    await db.fetch(
        "UPDATE vaccinations SET lot_number = NULL WHERE space_id = {} AND id = {}",
        holder.space_id,
        uuid.UUID(older.json()["id"]),
    )
    entry = f"{booklet}/{older.json()['id']}"
    assert (await client.patch(entry, json={"note": "bras gauche"}, headers=nurse.headers)).status_code == 200
    moved = await client.patch(entry, json={"date": "2025-11-20"}, headers=nurse.headers)
    assert moved.status_code == 422 and [e["pointer"] for e in moved.json()["errors"]] == ["/lotNumber"]
    assert (await client.delete(entry, headers=nurse.headers)).status_code == 204
    by_doctor = await client.post(booklet, json={"vaccineName": "ROR", "date": "2000"}, headers=doctor.headers)
    assert by_doctor.status_code == 201 and by_doctor.json()["status"] == "validated"
    assert (await client.get(booklet, headers=holder.headers)).json()["items"] == [by_doctor.json()]


async def test_a_professional_validates_a_declared_entry_which_becomes_theirs(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """A paper booklet copied by the person could never become validated (an outside audit: the
    professional's PATCH was 403, their own entry of the same injection 409). ``status: validated``
    from a professional who may vaccinate validates it; it is then theirs to change."""
    holder = await make_person()
    nurse = await sign_in_pro(settings, NURSE, given_name="Hugo", family_name="Petit")
    doctor, dentist = await sign_in_pro(settings, GP), await sign_in_pro(settings, DENTIST)
    for pro in (nurse, doctor, dentist):
        await authorise(client, holder, pro)
    booklet = f"/v1/spaces/{holder.space_id}/vaccinations"
    hexyon = await vaccine_id(client, "hexyon", "HEXYON")
    declared = await client.post(booklet, json={"vaccineId": hexyon, "date": "2024-03-12"}, headers=holder.headers)
    assert declared.status_code == 201 and declared.json()["status"] == "declared"
    entry = f"{booklet}/{declared.json()['id']}"
    validate = {"status": "validated"}
    # Not the holder's to validate, nor a dentist's (the booklet is closed to them).
    assert (await client.patch(entry, json=validate, headers=holder.headers)).status_code == 403
    assert (await client.patch(entry, json=validate, headers=dentist.headers)).status_code == 403
    # A nurse validates what names the day and the lot: with the lot read on the paper booklet.
    incomplete = await client.patch(entry, json=validate, headers=nurse.headers)
    assert incomplete.status_code == 422 and [e["pointer"] for e in incomplete.json()["errors"]] == ["/lotNumber"]
    unknown = await client.patch(entry, json={"status": "declared"}, headers=nurse.headers)
    assert unknown.status_code in (400, 422)
    assert (await client.get(entry, headers=holder.headers)).json()["status"] == "declared"
    validated = await client.patch(entry, json={**validate, "lotNumber": "X1234"}, headers=nurse.headers)
    assert validated.status_code == 200, validated.text
    body = validated.json()
    assert body["status"] == "validated" and body["lotNumber"] == "X1234"
    assert body["recordedBy"] == {"role": "professional", "name": "Hugo Petit"}
    # Who had declared it stays said (was lost: only the access history told it).
    assert declared.json()["declaredBy"] is None and declared.json()["recordedBy"]["role"] == "holder"
    assert body["declaredBy"] == declared.json()["recordedBy"]
    assert (await client.get(entry, headers=holder.headers)).json() == body
    exported = (await client.get(f"/v1/spaces/{holder.space_id}/export", headers=holder.headers)).json()
    [immunization] = [e["resource"] for e in exported["entry"] if e["resource"]["resourceType"] == "Immunization"]
    declared_by = next(x for x in immunization["extension"] if x["url"] == "urn:ens:fhir:declared-by")
    assert {
        part["url"]: next(v for k, v in part.items() if k.startswith("value")) for part in declared_by["extension"]
    } == {key: value for key, value in declared.json()["recordedBy"].items() if value}
    # Validated: 409 to validate again; the holder no longer changes it, the doctor neither (the
    # nurse's now), the nurse does.
    assert (await client.patch(entry, json=validate, headers=doctor.headers)).status_code == 409
    assert (await client.patch(entry, json={"note": "x"}, headers=holder.headers)).status_code == 403
    assert (await client.patch(entry, json={"note": "x"}, headers=doctor.headers)).status_code == 403
    assert (await client.patch(entry, json={"note": "vu"}, headers=nurse.headers)).status_code == 200
