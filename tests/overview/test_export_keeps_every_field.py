"""GET /v1/spaces/{space}/export holds every field the API gives (an outside audit: the trusted
person's birthdate and acceptance, who validated a vaccination, a measure as it was sent and the
app's record id were lost), in FHIR R4's own element where it has one, else in ENS's extensions
(``urn:ens:fhir:<name>``); and the import reads back what it may: a measure as it was sent, a
professional's validation as words (an import is the importer's: it cannot validate)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ens.core.settings import Settings
from tests.helpers.carers import court_measure
from tests.helpers.fhir import FHIR, check_bundle
from tests.helpers.professionals import NURSE, authorise, sign_in_pro
from tests.helpers.records import CONTACTS, DOCTOR, TRUSTED_PERSON, VALID_RPPS, contact, trusted
from tests.helpers.vitals import VITALS, at

EXPORT = "/v1/spaces/me/export"
IMPORT = "/v1/spaces/me/import"
ORIGINAL = "urn:ens:fhir:original-quantity"


async def _export(client: Any, headers: dict[str, str]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    answer = await client.get(EXPORT, headers=headers)
    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    return bundle, check_bundle(bundle)  # every resource valid for its R4B model, every reference inside


def _of(resources: dict[str, dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources.values() if r["resourceType"] == kind]


def _extension(element: dict[str, Any], url: str) -> dict[str, Any] | None:
    return next((e for e in element.get("extension", []) if e["url"] == url), None)


def _found(element: dict[str, Any], url: str) -> dict[str, Any]:
    found = _extension(element, url)
    assert found is not None, f"no extension {url}"
    return found


def _same_instant(fhir: str, api: str) -> bool:
    return datetime.fromisoformat(fhir) == datetime.fromisoformat(api.replace("Z", "+00:00"))


async def test_the_trusted_person_and_the_former_ones_keep_every_field(client, person, make_person):
    """birthDate and period are FHIR's own; the acceptance date, a protected adult's authorisation,
    why a designation ended and the place among the contacts are ENS's extensions. The trusted
    person is still not imported (a co-signed act of the holder's): the answer says so."""
    first = trusted(birthdate="1980-01-01", acceptedAt="2026-11-30", alsoEmergencyContact=True)
    first["protectionAuthorisation"] = {"authority": "judge", "reference": "RG 24/123", "grantedOn": "2026-11-02"}
    answer = await client.put(TRUSTED_PERSON, json=first, headers=person.headers)
    assert answer.status_code == 201, answer.text
    replaced = await client.put(
        TRUSTED_PERSON,
        json=trusted("Marc", "Petit", birthdate="1975-06-30", acceptedAt="2026-12-01"),
        headers={**person.headers, "If-Match": answer.headers["etag"]},
    )
    assert replaced.status_code == 200, replaced.text
    current = (await client.get(TRUSTED_PERSON, headers=person.headers)).json()
    [former] = (await client.get(f"{TRUSTED_PERSON}/history", headers=person.headers)).json()["items"]

    bundle, resources = await _export(client, person.headers)
    # The trusted persons (a period each); Élise, replaced, stays an emergency contact (no period).
    persons = {p["name"][0]["family"]: p for p in _of(resources, "RelatedPerson") if "period" in p}
    contacts = [p["name"][0]["family"] for p in _of(resources, "RelatedPerson") if "period" not in p]
    assert contacts == ["Durand"]
    now, was = persons["Petit"], persons["Durand"]
    assert now["birthDate"] == "1975-06-30" and was["birthDate"] == "1980-01-01"
    assert _extension(now, "urn:ens:fhir:trusted-person-accepted") == {
        "url": "urn:ens:fhir:trusted-person-accepted",
        "valueDate": "2026-12-01",
    }
    assert _found(was, "urn:ens:fhir:trusted-person-accepted")["valueDate"] == "2026-11-30"
    assert now.get("active", True) is True and "end" not in now["period"]
    assert _same_instant(now["period"]["start"], current["designatedAt"])
    assert was["active"] is False
    assert _same_instant(was["period"]["start"], former["designatedAt"])
    assert _same_instant(was["period"]["end"], former["endedAt"])
    assert _found(was, "urn:ens:fhir:trusted-person-end-reason")["valueCode"] == former["endReason"] == "replaced"
    authorisation = _extension(was, "urn:ens:fhir:protection-authorisation")
    assert authorisation is not None
    assert {e["url"]: next(v for k, v in e.items() if k != "url") for e in authorisation["extension"]} == {
        "authority": "judge",
        "reference": "RG 24/123",
        "grantedOn": "2026-11-02",
    }

    newcomer = await make_person("Camille")
    moved = await client.post(IMPORT, json=bundle, headers=newcomer.headers)
    assert moved.status_code == 201, moved.text
    assert {item["resourceType"]: item["count"] for item in moved.json()["notImported"]}["TrustedPerson"] == 2
    assert (await client.get(TRUSTED_PERSON, headers=newcomer.headers)).status_code == 404


async def test_the_contacts_doctor_and_profile_keep_their_order_and_dates(client, person):
    """An emergency contact's place in the order to call them (the trusted person's too, when they
    are one) is an extension; when an item was last changed (``updatedAt``) is ``meta.lastUpdated``."""
    assert (
        await client.put(TRUSTED_PERSON, json=trusted(alsoEmergencyContact=True), headers=person.headers)
    ).status_code == 201
    assert (await client.post(CONTACTS, json=contact("Paul"), headers=person.headers)).status_code == 201
    doctor = {"givenName": "Jacques", "familyName": "Lefèvre", "rpps": VALID_RPPS}
    assert (await client.put(DOCTOR, json=doctor, headers=person.headers)).status_code in (200, 201)
    condition = await client.post("/v1/spaces/me/profile/conditions", json={"label": "Asthme"}, headers=person.headers)
    assert condition.status_code == 201, condition.text
    contacts = (await client.get(CONTACTS, headers=person.headers)).json()["items"]
    stored_doctor = (await client.get(DOCTOR, headers=person.headers)).json()

    _, resources = await _export(client, person.headers)
    people = {p["name"][0]["given"][0]: p for p in _of(resources, "RelatedPerson")}
    for item in contacts:
        priority = _extension(people[item["givenName"]], "urn:ens:fhir:emergency-contact-priority")
        assert priority is not None and priority["valuePositiveInt"] == item["priority"]
    [practitioner] = _of(resources, "Practitioner")
    assert _same_instant(practitioner["meta"]["lastUpdated"], stored_doctor["updatedAt"])
    [exported_condition] = _of(resources, "Condition")
    assert _same_instant(exported_condition["meta"]["lastUpdated"], condition.json()["updatedAt"])


async def test_a_validated_vaccination_names_who_validated_it_and_moves_as_words(
    client, settings: Settings, person, make_person
):
    """The API's recordedBy: the professional who validated an entry is an Immunization.performer of
    function VRF (verifier), beside who gave it (AP); every entry's recordedBy is an extension. An
    import is the importer's act: the entry comes back declared, its note saying who validated it
    (restoring the validation would let anyone forge one with a Bundle)."""
    nurse = await sign_in_pro(settings, NURSE, given_name="Hugo", family_name="Petit")
    await authorise(client, person, nurse)
    given = await client.post(
        f"/v1/spaces/{person.space_id}/vaccinations",
        json={
            "vaccineName": "Revaxis",
            "date": "2024-03-12",
            "lotNumber": "R2024",
            "administeredBy": "Dr Martin",
            "note": "bras gauche",
        },
        headers=nurse.headers,
    )
    assert given.status_code == 201, given.text
    assert given.json()["recordedBy"] == {"role": "professional", "name": "Hugo Petit"}
    declared = await client.post(
        "/v1/spaces/me/vaccinations", json={"vaccineName": "DT Polio", "date": "1998"}, headers=person.headers
    )
    assert declared.status_code == 201, declared.text

    bundle, resources = await _export(client, person.headers)
    by_name = {i["vaccineCode"]["text"]: i for i in _of(resources, "Immunization")}
    validated = by_name["Revaxis"]
    assert validated["primarySource"] is True
    functions = {p["function"]["coding"][0]["code"]: p["actor"] for p in validated["performer"]}
    assert functions == {"AP": {"display": "Dr Martin"}, "VRF": {"display": "Hugo Petit"}}
    recorded = _extension(validated, "urn:ens:fhir:recorded-by")
    assert recorded is not None
    assert {e["url"]: e.get("valueCode", e.get("valueString")) for e in recorded["extension"]} == {
        "role": "professional",
        "name": "Hugo Petit",
    }
    assert _same_instant(validated["meta"]["lastUpdated"], given.json()["updatedAt"])
    holders = _extension(by_name["DT Polio"], "urn:ens:fhir:recorded-by")
    assert holders is not None and holders["extension"][0] == {"url": "role", "valueCode": "holder"}
    assert "performer" not in by_name["DT Polio"]

    newcomer = await make_person("Camille")
    assert (await client.post(IMPORT, json=bundle, headers=newcomer.headers)).status_code == 201
    entries = (await client.get("/v1/spaces/me/vaccinations", headers=newcomer.headers)).json()["items"]
    moved = next(e for e in entries if e["vaccineName"] == "Revaxis")
    assert moved["status"] == "declared" and moved["recordedBy"]["role"] == "holder"
    assert moved["administeredBy"] == "Dr Martin"  # who gave it, not who validated it
    assert moved["note"] == "bras gauche\nValidée par un professionnel de santé avant l'import : Hugo Petit."

    # Moved again, it says so once.
    again, _ = await _export(client, newcomer.headers)
    third = await make_person("Noé")
    assert (await client.post(IMPORT, json=again, headers=third.headers)).status_code == 201
    entries = (await client.get("/v1/spaces/me/vaccinations", headers=third.headers)).json()["items"]
    assert next(e for e in entries if e["vaccineName"] == "Revaxis")["note"] == moved["note"]


async def test_a_measure_keeps_what_was_sent_and_the_apps_record_id(client, person, make_person, make_app_token):
    """originalValue/originalUnit are an extension holding a valueQuantity (on each component for a
    blood pressure), the app's clientRecordId the identifier in its namespace and its version
    meta.versionId; the import stores the measure as it was sent (a glucose typed 1.05 g/L reads so
    again), under its own record id."""
    app = await make_app_token(person, ["vitals.blood_glucose:write"], name="Glucomètre")
    glucose = {
        "type": "blood_glucose",
        "value": 1.05,
        "unit": "g/L",
        "effectiveAt": at(30),
        "glucoseMoment": "fasting",
        "clientRecordId": "g-1",
        "clientRecordVersion": 3,
        "recordingMethod": "automatic",
        "device": {"manufacturer": "Roche", "model": "Accu-Chek"},
        "note": "après le sport",
    }
    assert (await client.post(VITALS, json={"measurements": [glucose]}, headers=app.headers)).status_code == 201
    by_hand = [
        {
            "type": "blood_pressure",
            "components": {"systolic": 16, "diastolic": 10.5},
            "unit": "kPa",
            "effectiveAt": at(20),
        },
        {"type": "body_weight", "value": 72.5, "unit": "kg", "effectiveAt": at(10)},
    ]
    assert (await client.post(VITALS, json={"measurements": by_hand}, headers=person.headers)).status_code == 201
    before = {m["type"]: m for m in (await client.get(VITALS, headers=person.headers)).json()["items"]}

    bundle, resources = await _export(client, person.headers)
    observations = {o["code"]["coding"][0]["code"]: o for o in _of(resources, "Observation")}
    sugar = observations["2339-0"]
    assert sugar["valueQuantity"]["value"] == 105 and sugar["valueQuantity"]["code"] == "mg/dL"
    assert _extension(sugar, ORIGINAL) == {
        "url": ORIGINAL,
        "valueQuantity": {"value": 1.05, "unit": "g/L", "system": "http://unitsofmeasure.org", "code": "g/L"},
    }
    assert sugar["identifier"] == [{"system": f"urn:ens:client:{app.client_id}", "value": "g-1"}]
    assert sugar["meta"]["versionId"] == "3"
    assert _same_instant(sugar["meta"]["lastUpdated"], before["blood_glucose"]["updatedAt"])
    pressure = observations["85354-9"]
    assert [_found(c, ORIGINAL)["valueQuantity"]["value"] for c in pressure["component"]] == [16, 10.5]
    assert "identifier" not in pressure and "versionId" not in pressure["meta"]  # typed without a record id
    weight = observations["29463-7"]
    assert _extension(weight, ORIGINAL) is None  # sent as it is kept
    # The apps' record ids are the holder's export's only: a representative's has none (a review).
    tutor = await make_person("Paul")
    await court_measure(person, tutor, "tutelle")
    theirs = (await client.get(f"/v1/spaces/{person.space_id}/export", headers=tutor.headers)).json()
    sugars = [
        e["resource"]
        for e in theirs["entry"]
        if e["resource"].get("code", {}).get("coding", [{}])[0].get("code") == "2339-0"
    ]
    assert len(sugars) == 1 and "identifier" not in sugars[0] and "versionId" not in sugars[0]["meta"]
    assert _extension(sugars[0], ORIGINAL) is not None  # what was sent is the measure's, theirs to read

    newcomer = await make_person("Camille")
    moved = await client.post(
        IMPORT, content=json.dumps(bundle).encode(), headers={**newcomer.headers, "Content-Type": FHIR}
    )
    assert moved.status_code == 201, moved.text
    after = {m["type"]: m for m in (await client.get(VITALS, headers=newcomer.headers)).json()["items"]}
    for kind in ("blood_glucose", "blood_pressure", "body_weight"):
        kept = ("value", "components", "unit", "originalValue", "originalUnit", "recordingMethod", "device", "note")
        assert {k: after[kind].get(k) for k in kept} == {k: before[kind].get(k) for k in kept}, kind
    assert (after["blood_glucose"]["originalValue"], after["blood_glucose"]["originalUnit"]) == (1.05, "g/L")
    assert after["blood_pressure"]["originalValue"] == {"systolic": 16, "diastolic": 10.5}


async def test_an_original_that_does_not_convert_to_the_value_is_refused(client, person, make_person):
    """The two say different things (the Bundle was edited): the import refuses the entry, naming the
    extension, and keeps nothing, rather than keep either one silently."""
    sent = {"type": "blood_glucose", "value": 1.05, "unit": "g/L", "effectiveAt": at(30), "glucoseMoment": "fasting"}
    assert (await client.post(VITALS, json={"measurements": [sent]}, headers=person.headers)).status_code == 201
    bundle, _ = await _export(client, person.headers)
    index = next(i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "Observation")
    _found(bundle["entry"][index]["resource"], ORIGINAL)["valueQuantity"]["value"] = 1.5

    newcomer = await make_person("Noé")
    answer = await client.post(IMPORT, json=bundle, headers=newcomer.headers)
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error["pointer"] == f"/entry/{index}/resource"
    assert error["detail"].startswith(f"Observation.extension('{ORIGINAL}'): ")
    assert (await client.get(VITALS, headers=newcomer.headers)).json()["items"] == []
