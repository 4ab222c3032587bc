"""POST /v1/spaces/{space}/import of an older export: a value ENS kept then and today's stricter
checks refuse (a contact's e-mail 'autre,elise@example.test', stored until e1d2b75) no longer
refuses the whole import. The item comes in without that optional part, and the answer says so at
its entry (``keptWithout``); what an item is (a name) still refuses it."""

from __future__ import annotations

import json
from typing import Any

from ens.records.tables import EmergencyContact
from tests.helpers.fhir import FHIR
from tests.helpers.records import CONTACTS, DOCTOR, VALID_RPPS, contact

EXPORT = "/v1/spaces/me/export"
IMPORT = "/v1/spaces/me/import"
PROFILE = "/v1/spaces/me/profile"


def _entry(bundle: dict[str, Any], kind: str) -> tuple[int, dict[str, Any]]:
    return next((i, e["resource"]) for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == kind)


async def test_a_contacts_email_stored_before_todays_check_comes_in_without_it_and_is_said(client, person, make_person):
    made = await client.post(CONTACTS, json=contact("Élise", email="elise@example.test"), headers=person.headers)
    assert made.status_code == 201, made.text
    condition = {"label": "Asthme", "since": "2010-04-01"}
    assert (await client.post(f"{PROFILE}/conditions", json=condition, headers=person.headers)).status_code == 201
    # What the route took before e1d2b75, and the export still writes.
    await EmergencyContact.update({EmergencyContact.email: "autre,elise@example.test"}).where(
        EmergencyContact.space_id == person.space_id
    )
    exported = (await client.get(EXPORT, headers=person.headers)).json()
    index, related = _entry(exported, "RelatedPerson")
    assert {"system": "email", "value": "autre,elise@example.test"} in related["telecom"]

    newcomer = await make_person("Camille")
    answer = await client.post(
        IMPORT, content=json.dumps(exported).encode(), headers={**newcomer.headers, "Content-Type": FHIR}
    )
    assert answer.status_code == 201, answer.text
    result = answer.json()
    assert result["imported"] == {"Condition": 1, "RelatedPerson": 1}
    assert result["keptWithout"] == [
        {
            "pointer": f"/entry/{index}/resource",
            "detail": "RelatedPerson.telecom: not one e-mail address (name@domain.fr)",
        }
    ]
    assert "autre" not in answer.text  # the value is not echoed: it stays in the Bundle sent
    [kept] = (await client.get(CONTACTS, headers=newcomer.headers)).json()["items"]
    assert (kept["givenName"], kept["phones"], kept.get("email")) == ("Élise", ["+33142685300"], None)


async def test_each_refused_optional_part_is_left_out_and_said_at_its_entry(client, person, make_person):
    """An older export's doctor (an RPPS number whose check digit today's check refuses), a
    condition's code with a trailing newline (taken before ab4834b), a contact's second phone that is
    no number: each item comes in without that part. A contact's only phone is what the contact is
    for: it still refuses the import, and nothing is kept."""
    assert (await client.post(CONTACTS, json=contact("Paul"), headers=person.headers)).status_code == 201
    doctor = {"givenName": "Jacques", "familyName": "Lefèvre", "rpps": VALID_RPPS, "phone": "04 72 00 00 00"}
    assert (await client.put(DOCTOR, json=doctor, headers=person.headers)).status_code == 201
    condition = {"label": "Diabète de type 2", "since": "2019-03-01", "code": "E11.9"}
    assert (await client.post(f"{PROFILE}/conditions", json=condition, headers=person.headers)).status_code == 201
    exported = (await client.get(EXPORT, headers=person.headers)).json()
    older = json.loads(json.dumps(exported))
    at_contact, related = _entry(older, "RelatedPerson")
    related["telecom"].append({"system": "phone", "value": "pas un numéro"})
    at_doctor, practitioner = _entry(older, "Practitioner")
    practitioner["identifier"] = [i for i in practitioner["identifier"] if "rpps" in i["system"]]
    practitioner["identifier"][0]["value"] = "10003826476"  # the check digit does not match
    at_condition, found = _entry(older, "Condition")
    found["code"]["coding"][0]["code"] = "E11.9\n"

    newcomer = await make_person("Camille")
    answer = await client.post(IMPORT, json=older, headers=newcomer.headers)
    assert answer.status_code == 201, answer.text
    result = answer.json()
    assert result["imported"] == {"Condition": 1, "Practitioner": 1, "RelatedPerson": 1}
    said = {item["pointer"]: item["detail"] for item in result["keptWithout"]}
    assert said.keys() == {f"/entry/{i}/resource" for i in (at_contact, at_doctor, at_condition)}
    assert said[f"/entry/{at_doctor}/resource"].startswith("Practitioner.identifier: ")
    assert said[f"/entry/{at_condition}/resource"].startswith("Condition.code.coding: ")
    assert said[f"/entry/{at_contact}/resource"].startswith("RelatedPerson.telecom: ")
    [kept] = (await client.get(CONTACTS, headers=newcomer.headers)).json()["items"]
    assert kept["phones"] == ["+33142685300"]
    read = (await client.get(DOCTOR, headers=newcomer.headers)).json()
    assert (read["familyName"], read.get("rpps"), read["phone"]) == ("Lefèvre", None, "+33472000000")
    [stored] = (await client.get(f"{PROFILE}/conditions", headers=newcomer.headers)).json()["items"]
    assert (stored["label"], stored["since"], stored.get("code")) == ("Diabète de type 2", "2019-03-01", None)

    # The contact's only phone refused: the contact would be no contact. Refused whole, as before.
    only = json.loads(json.dumps(exported))
    at_contact, related = _entry(only, "RelatedPerson")
    related["telecom"] = [{"system": "phone", "value": "pas un numéro"}]
    other = await make_person("Noé")
    refused = await client.post(IMPORT, json=only, headers=other.headers)
    assert refused.status_code == 422, refused.text
    assert [e["pointer"] for e in refused.json()["errors"]] == [f"/entry/{at_contact}/resource"]
    assert (await client.get(CONTACTS, headers=other.headers)).json()["items"] == []
    assert (await client.get(f"{PROFILE}/conditions", headers=other.headers)).json()["items"] == []


async def test_a_name_todays_check_refuses_still_refuses_the_import(client, person, make_person):
    """What an item is cannot be left out: a contact's name holding a control character refuses
    the import (422 at the entry), nothing kept."""
    assert (await client.post(CONTACTS, json=contact("Paul"), headers=person.headers)).status_code == 201
    exported = (await client.get(EXPORT, headers=person.headers)).json()
    at_contact, related = _entry(exported, "RelatedPerson")
    related["name"][0]["given"] = ["Pa\u0001ul"]
    newcomer = await make_person("Camille")
    refused = await client.post(IMPORT, json=exported, headers=newcomer.headers)
    assert refused.status_code == 422, refused.text
    assert [e["pointer"] for e in refused.json()["errors"]] == [f"/entry/{at_contact}/resource"]
    assert (await client.get(CONTACTS, headers=newcomer.headers)).json()["items"] == []


async def test_a_part_of_another_type_than_an_export_gives_still_refuses_the_import(client, person, make_person):
    """Only a text today's checks refuse is left out (what an older export holds): a doctor's
    address line that is a number is no export's, and refuses the import as before."""
    doctor = {
        "givenName": "Jacques",
        "familyName": "Lefèvre",
        "address": {"line": "12 place Bellecour", "postalCode": "69002", "city": "Lyon"},
    }
    assert (await client.put(DOCTOR, json=doctor, headers=person.headers)).status_code == 201
    exported = (await client.get(EXPORT, headers=person.headers)).json()
    at_doctor, practitioner = _entry(exported, "Practitioner")
    practitioner["address"][0]["line"] = [12]
    newcomer = await make_person("Camille")
    refused = await client.post(IMPORT, json=exported, headers=newcomer.headers)
    assert refused.status_code == 422, refused.text
    assert [e["pointer"] for e in refused.json()["errors"]] == [f"/entry/{at_doctor}/resource"]
    assert (await client.get(DOCTOR, headers=newcomer.headers)).status_code == 404


async def test_a_booklet_entrys_detail_stored_before_todays_check_is_left_out_and_said(client, person, make_person):
    """A lot number and a place holding a control character (taken until 79750cd): the entry
    comes in without them, its vaccine, date and dose kept, and the answer says so; the entry's
    vaccine name refused still refuses the import."""
    from ens.core import db

    given = {"vaccineName": "Revaxis", "date": "2021-06-15", "doseNumber": 4, "lotNumber": "X1", "location": "Lyon"}
    created = await client.post("/v1/spaces/me/vaccinations", json=given, headers=person.headers)
    assert created.status_code == 201, created.text
    await db.fetch(
        "UPDATE vaccinations SET lot_number = {}, location = {} WHERE space_id = {}",
        "X1\u0001",
        "Ly\u0007on",
        person.space_id,
    )
    exported = (await client.get(EXPORT, headers=person.headers)).json()
    index, _ = _entry(exported, "Immunization")
    newcomer = await make_person("Camille")
    answer = await client.post(IMPORT, json=exported, headers=newcomer.headers)
    assert answer.status_code == 201, answer.text
    said = answer.json()["keptWithout"]
    assert [item["pointer"] for item in said] == [f"/entry/{index}/resource"] * 2
    assert sorted(item["detail"].partition(":")[0] for item in said) == [
        "Immunization.location.display",
        "Immunization.lotNumber",
    ]
    [entry] = (await client.get("/v1/spaces/me/vaccinations", headers=newcomer.headers)).json()["items"]
    assert (entry["vaccineName"], entry["date"], entry["doseNumber"]) == ("Revaxis", "2021-06-15", 4)
    assert entry.get("lotNumber") is None and entry.get("location") is None

    other = await make_person("Noé")
    _, immunization = _entry(exported, "Immunization")
    immunization["vaccineCode"]["text"] = "Rev\u0001axis"
    refused = await client.post(IMPORT, json=exported, headers=other.headers)
    assert refused.status_code == 422, refused.text
    assert (await client.get("/v1/spaces/me/vaccinations", headers=other.headers)).json()["items"] == []
