"""POST /fhir with the ANS "Mesures de santé" feeding Bundle (written after the guide's examples,
Example-bundle.fsh and Examples1.fsh), GET /fhir/Observation and /fhir/metadata."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.observation import Observation as FhirObservation
from fhir.resources.R4B.operationoutcome import OperationOutcome

from ens.core import db
from tests.helpers.vitals import VITALS, at, weight

FHIR = "application/fhir+json"
IG = "https://interop.esante.gouv.fr/ig/fhir/mesures/StructureDefinition/"
UCUM = "http://unitsofmeasure.org"
DEVICE_URL = "urn:uuid:d36bfdb6-b1b1-4efd-9cb9-d217a8696575"
OBSERVATION_URL = "urn:uuid:5138af77-df7e-4b9d-ba17-07ba3ebb950a"


def device() -> dict[str, Any]:
    return {
        "resourceType": "Device",
        "id": "d36bfdb6-b1b1-4efd-9cb9-d217a8696575",
        "meta": {"profile": ["http://hl7.org/fhir/uv/phd/StructureDefinition/PhdDevice"]},
        "identifier": [
            {
                "type": {
                    "coding": [
                        {"system": "http://hl7.org/fhir/uv/phd/CodeSystem/ContinuaDeviceIdentifiers", "code": "SYSID"}
                    ]
                },
                "system": "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680",
                "value": "FE-ED-AB-AA-DE-AD-77-C5",
            }
        ],
        "manufacturer": "OMRONHEALTHCARE",
        "modelNumber": "HEM-9200T",
        "deviceName": [{"name": "Ma balance", "type": "patient-reported-name"}],
    }


def body_weight(value: float = 71, unit: str = "kg", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "5138af77-df7e-4b9d-ba17-07ba3ebb950a",
        "meta": {"profile": [IG + "mesures-fr-observation-body-weight"], "source": "urn:oid:1.2.3.4"},
        "identifier": [{"system": "urn:oid:1.2.3.4.5", "value": "weigh-in-0001"}],
        "status": "final",
        "category": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7", "display": "Body weight"}]},
        "device": {"reference": DEVICE_URL},
        "effectiveDateTime": at(30),
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        "extension": [{"url": IG + "mesures-reason-for-measurement", "valueString": "Mon nouveau poids !"}],
        **extra,
    }


def transaction(observation: dict[str, Any], *, with_device: bool = True) -> dict[str, Any]:
    entries = []
    if with_device:
        entries.append(
            {
                "fullUrl": DEVICE_URL,
                "resource": device(),
                "request": {"method": "POST", "url": "Device", "ifNoneExist": "identifier=FE-ED-AB-AA-DE-AD-77-C5"},
            }
        )
    else:
        observation = {k: v for k, v in observation.items() if k != "device"}
    entries.append(
        {"fullUrl": OBSERVATION_URL, "resource": observation, "request": {"method": "POST", "url": "Observation"}}
    )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def outcome(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(FHIR)
    body: dict[str, Any] = answer.json()
    OperationOutcome.model_validate(body)
    return body


def warned(entry: dict[str, Any]) -> list[str]:
    """Where a transaction-response entry's outcome says elements were taken and not stored."""
    issues = entry["response"].get("outcome", {}).get("issue", [])
    assert all((i["severity"], i["code"]) == ("warning", "not-supported") for i in issues if i["code"] != "deleted")
    return [e for i in issues if i["severity"] == "warning" for e in i["expression"]]


async def test_the_guides_bundle_is_accepted_and_stored_as_a_measure(client, person, make_app_token, history):
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"], name="Balance")
    answer = await client.post("/fhir", json=transaction(body_weight()), headers=app.headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith(FHIR)
    response = answer.json()
    Bundle.model_validate(response)
    assert response["type"] == "transaction-response"
    device_entry, observation_entry = response["entry"]
    # The Device is kept with the measure, not as a resource of its own: no location names what no
    # read gives (GET /fhir/Device/<id> is no route); its fullUrl carries the id every export gives it.
    assert device_entry["response"]["status"] == "200 OK" and "location" not in device_entry["response"]
    assert device_entry["fullUrl"].startswith("urn:uuid:")
    assert observation_entry["response"]["status"] == "201 Created"
    # What the guide's example sends that ENS keeps no place for is named back, never dropped
    # without a word: the name the person gave the scale, the reason for the measure.
    assert warned(device_entry) == ["Bundle.entry[0].resource.deviceName[0]"]
    assert warned(observation_entry) == ["Bundle.entry[1].resource.extension[0]"]
    measure_id = observation_entry["response"]["location"].removeprefix("Observation/")
    measure = (await client.get(f"{VITALS}/{measure_id}", headers=person.headers)).json()
    assert measure["type"] == "body_weight" and measure["value"] == 71 and measure["unit"] == "kg"
    assert measure["source"] == {"clientId": app.client_id, "name": "Balance"}
    assert measure["device"] == {
        "manufacturer": "OMRONHEALTHCARE",
        "model": "HEM-9200T",
        "identifier": "FE-ED-AB-AA-DE-AD-77-C5",
    }
    rows = await history(person.space_id)
    assert (rows[-2]["action"], rows[-2]["client_id"], rows[-2]["outcome"]) == ("POST /fhir", app.client_id, 200)


async def test_units_are_converted_as_the_json_door_converts_them(client, person, make_app_token):
    app = await make_app_token(
        person, ["vitals.body_weight:write", "vitals.blood_glucose:write", "vitals.blood_pressure:write"]
    )
    answer = await client.post("/fhir", json=transaction(body_weight(158, "[lb_av]")), headers=app.headers)
    measure_id = answer.json()["entry"][1]["response"]["location"].removeprefix("Observation/")
    measure = (await client.get(f"{VITALS}/{measure_id}", headers=person.headers)).json()
    assert (measure["value"], measure["unit"], measure["originalValue"], measure["originalUnit"]) == (
        71.668,
        "kg",
        158,
        "[lb_av]",
    )
    glucose = {
        "resourceType": "Observation",
        "meta": {"profile": [IG + "mesures-observation-glucose"]},
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0"}]},
        "effectiveDateTime": at(20),
        "valueQuantity": {"value": 1.05, "unit": "g/L", "system": UCUM, "code": "g/L"},
        "extension": [
            {
                "url": IG + "mesures-moment-of-measurement",
                "valueCodeableConcept": {"coding": [{"system": "urn:ens:fhir:glucose-moment", "code": "fasting"}]},
            }
        ],
        "subject": {"reference": f"Patient/{person.space_id}"},
    }
    answer = await client.post("/fhir", json=transaction(glucose, with_device=False), headers=app.headers)
    assert answer.status_code == 200, answer.text
    measure_id = answer.json()["entry"][0]["response"]["location"].removeprefix("Observation/")
    measure = (await client.get(f"{VITALS}/{measure_id}", headers=person.headers)).json()
    assert (measure["value"], measure["unit"], measure["glucoseMoment"]) == (105, "mg/dL", "fasting")
    pressure = {
        "resourceType": "Observation",
        "meta": {"profile": [IG + "mesures-fr-observation-bp"]},
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "effectiveDateTime": at(10),
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {"value": 16, "system": UCUM, "code": "kPa"},
            },
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                "valueQuantity": {"value": 10.6, "system": UCUM, "code": "kPa"},
            },
        ],
    }
    answer = await client.post("/fhir", json=transaction(pressure, with_device=False), headers=app.headers)
    assert answer.status_code == 200, answer.text
    measure_id = answer.json()["entry"][0]["response"]["location"].removeprefix("Observation/")
    measure = (await client.get(f"{VITALS}/{measure_id}", headers=person.headers)).json()
    assert measure["components"] == {"systolic": 120, "diastolic": 80} and measure["unit"] == "mm[Hg]"


async def test_a_re_posted_bundle_never_duplicates_and_a_higher_version_replaces(client, person, make_app_token):
    app = await make_app_token(person, ["vitals.body_weight:write"])
    first = await client.post("/fhir", json=transaction(body_weight(70)), headers=app.headers)
    again = await client.post("/fhir", json=transaction(body_weight(70)), headers=app.headers)
    assert first.json()["entry"][1]["response"]["status"] == "201 Created"
    assert again.json()["entry"][1]["response"]["status"] == "200 OK"
    assert first.json()["entry"][1]["response"]["location"] == again.json()["entry"][1]["response"]["location"]
    newer = body_weight(69.5)
    newer["meta"]["versionId"] = "2"
    replaced = await client.post("/fhir", json=transaction(newer), headers=app.headers)
    assert replaced.json()["entry"][1]["response"]["location"] == first.json()["entry"][1]["response"]["location"]
    items = (await client.get(VITALS, headers=person.headers)).json()["items"]
    assert [(m["type"], m["value"]) for m in items] == [("body_weight", 69.5)]


async def test_a_type_the_app_was_not_given_is_refused_as_consent_not_given(client, person, make_app_token):
    app = await make_app_token(person, ["vitals.heart_rate:write"])
    body = outcome(await client.post("/fhir", json=transaction(body_weight()), headers=app.headers), 403)
    issue = body["issue"][0]
    assert issue["code"] == "forbidden" and issue["diagnostics"].startswith("Consent not given")
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []
    # An app with no vitals write scope at all is stopped at the door, in the same form.
    reader = await make_app_token(person, ["vitals.body_weight:read"])
    assert outcome(await client.post("/fhir", json=transaction(body_weight()), headers=reader.headers), 403)


async def test_a_profile_ens_does_not_keep_is_named_in_a_422(client, person, make_app_token):
    app = await make_app_token(person, ["vitals.body_weight:write"])
    oxygen = body_weight()
    oxygen["meta"]["profile"] = [IG + "mesures-fr-observation-oxygen-sat"]
    oxygen["code"] = {"coding": [{"system": "http://loinc.org", "code": "59408-5"}]}
    oxygen["valueQuantity"] = {"value": 97, "unit": "%", "system": UCUM, "code": "%"}
    body = outcome(await client.post("/fhir", json=transaction(oxygen), headers=app.headers), 422)
    issue = body["issue"][0]
    assert issue["code"] == "not-supported"
    assert "mesures-fr-observation-oxygen-sat" in issue["diagnostics"]
    assert issue["expression"] == ["Bundle.entry[1].resource.meta.profile"]


async def test_every_bad_observation_is_a_located_422(client, person, make_app_token):
    app = await make_app_token(person, ["vitals.body_weight:write"])
    cases: list[tuple[dict[str, Any], str]] = []
    too_heavy = body_weight(900)
    cases.append((too_heavy, "Bundle.entry[1].resource.valueQuantity.value"))
    wrong_unit = body_weight(70, "cm")
    cases.append((wrong_unit, "Bundle.entry[1].resource.valueQuantity.code"))
    no_offset = body_weight()
    no_offset["effectiveDateTime"] = "2024-05-01T08:00:00"
    cases.append((no_offset, "Bundle.entry[1].resource.effectiveDateTime"))
    someone_else = body_weight(subject={"reference": "Patient/6c0f3f5e-2b7c-4d7e-9a8e-0d6c1b1e2f3a"})
    cases.append((someone_else, "Bundle.entry[1].resource.subject"))
    no_value = body_weight()
    del no_value["valueQuantity"]
    cases.append((no_value, "Bundle.entry[1].resource.valueQuantity"))
    for observation, expression in cases:
        body = outcome(await client.post("/fhir", json=transaction(observation), headers=app.headers), 422)
        assert expression in [e for issue in body["issue"] for e in issue.get("expression", [])], body
    unknown_device = transaction(body_weight())
    unknown_device["entry"][1]["resource"]["device"] = {"reference": "urn:uuid:00000000-0000-0000-0000-000000000000"}
    assert outcome(await client.post("/fhir", json=unknown_device, headers=app.headers), 422)
    two = transaction(body_weight())
    two["entry"].append(copy.deepcopy(two["entry"][1]))
    assert outcome(await client.post("/fhir", json=two, headers=app.headers), 422)
    batch = {**transaction(body_weight()), "type": "batch"}
    assert outcome(await client.post("/fhir", json=batch, headers=app.headers), 422)
    assert outcome(await client.post("/fhir", content=b"{", headers={**app.headers, "Content-Type": FHIR}), 400)
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []


async def test_no_token_is_a_401_operation_outcome(client):
    assert outcome(await client.post("/fhir", json=transaction(body_weight())), 401)


async def test_search_by_code_and_date(client, person, make_app_token):
    writer = await make_app_token(person, ["vitals.body_weight:write", "vitals.heart_rate:write"])
    for value, minutes in ((70, 60 * 24 * 3), (71, 60)):
        measure = body_weight(value, identifier=[{"value": f"w{value}"}], effectiveDateTime=at(minutes))
        assert (await client.post("/fhir", json=transaction(measure), headers=writer.headers)).status_code == 200
    reader = await make_app_token(person, ["vitals.body_weight:read"])
    answer = await client.get("/fhir/Observation", params={"code": "http://loinc.org|29463-7"}, headers=reader.headers)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    Bundle.model_validate(found)
    assert found["type"] == "searchset"
    matches = [e["resource"] for e in found["entry"] if e["search"]["mode"] == "match"]
    assert [m["valueQuantity"]["value"] for m in matches] == [71, 70]
    included = {e["fullUrl"] for e in found["entry"] if e["search"]["mode"] == "include"}
    assert {m["device"]["reference"] for m in matches} <= included
    since = at(60 * 24)[:10]
    recent = await client.get(
        "/fhir/Observation", params={"code": "29463-7", "date": f"ge{since}"}, headers=reader.headers
    )
    assert [
        e["resource"]["valueQuantity"]["value"] for e in recent.json()["entry"] if e["search"]["mode"] == "match"
    ] == [71]
    # date may be given twice (a range); _count may not.
    until = at(-60 * 24)[:10]
    both = await client.get(
        "/fhir/Observation",
        params=[("code", "29463-7"), ("date", f"ge{since}"), ("date", f"le{until}")],
        headers=reader.headers,
    )
    matched = [e["resource"] for e in both.json()["entry"] if e["search"]["mode"] == "match"]
    assert [m["valueQuantity"]["value"] for m in matched] == [71]
    twice = await client.get("/fhir/Observation", params=[("_count", 1), ("_count", 2)], headers=reader.headers)
    assert outcome(twice, 400)["issue"][0]["expression"] == ["_count"]
    # What the server does not read stays ignored, as FHIR asks (_include, _sort given twice).
    ignored = [("code", "29463-7"), ("_include", "a"), ("_include", "b"), ("_sort", "x"), ("_sort", "y")]
    assert (await client.get("/fhir/Observation", params=ignored, headers=reader.headers)).status_code == 200
    paged = (
        await client.get("/fhir/Observation", params={"code": "29463-7", "_count": 1}, headers=reader.headers)
    ).json()
    following = next(link["url"] for link in paged["link"] if link["relation"] == "next")
    rest = await client.get(following.removeprefix("http://testserver.local"), headers=reader.headers)
    assert [
        e["resource"]["valueQuantity"]["value"] for e in rest.json()["entry"] if e["search"]["mode"] == "match"
    ] == [70]
    body = outcome(await client.get("/fhir/Observation", params={"code": "8867-4"}, headers=reader.headers), 403)
    assert body["issue"][0]["code"] == "forbidden"


async def test_the_capability_statement_is_public(client):
    answer = await client.get("/fhir/metadata")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith(FHIR)
    statement = answer.json()
    CapabilityStatement.model_validate(statement)
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert IG + "mesures-fr-observation-body-weight" in resources["Observation"]["supportedProfile"]


async def test_the_capability_statement_declares_only_interactions_that_exist(client, person, make_app_token):
    statement = (await client.get("/fhir/metadata")).json()
    CapabilityStatement.model_validate(statement)
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"])

    async def request(code: str, kind: str | None) -> Any:
        """The request an interaction of FHIR's RESTful API is (those ENS might declare)."""
        if code == "search-type":
            return await client.get(f"/fhir/{kind}", headers=app.headers)
        if code == "read":
            stored = await client.post("/fhir", json=transaction(body_weight()), headers=app.headers)
            return await client.get(f"/fhir/{stored.json()['entry'][1]['response']['location']}", headers=app.headers)
        if code == "create":
            return await client.post(f"/fhir/{kind}", json={"resourceType": kind}, headers=app.headers)
        assert code == "transaction", code
        return await client.post("/fhir", json=transaction(body_weight()), headers=app.headers)

    declared = [(r["type"], i["code"]) for r in statement["rest"][0]["resource"] for i in r.get("interaction", [])]
    declared += [(None, i["code"]) for i in statement["rest"][0].get("interaction", [])]
    assert declared == [("Observation", "read"), ("Observation", "search-type"), (None, "transaction")]
    for kind, code in declared:
        answer = await request(code, kind)
        assert answer.status_code == 200, (kind, code, answer.text)
    assert not any(r.get("conditionalCreate") for r in statement["rest"][0]["resource"])
    # What the statement no longer declares is indeed absent.
    for kind in ("Observation", "Device"):
        assert (await request("create", kind)).status_code in (404, 405)


async def test_parts_of_the_wrong_json_type_are_422_never_500(client, person, make_app_token):
    app = await make_app_token(person, ["vitals.body_weight:write"])
    wrong: tuple[tuple[str, Any], ...] = (("valueQuantity", [1]), ("effectiveDateTime", 3))
    for part, value in wrong:
        observation = body_weight()
        observation[part] = value
        answer = await client.post("/fhir", json=transaction(observation), headers=app.headers)
        assert answer.status_code == 422, (part, answer.text)
    # What ENS does not read may be of any shape (ignored, as FHIR readers do with what they skip).
    ignored: tuple[tuple[str, Any], ...] = (("meta", "x"), ("extension", "x"), ("note", 3), ("component", "x"))
    for part, value in (*ignored, ("device", "x")):
        observation = body_weight()
        observation[part] = value
        answer = await client.post("/fhir", json=transaction(observation), headers=app.headers)
        assert answer.status_code in (200, 422), (part, answer.text)
    entry_not_object = {"resourceType": "Bundle", "type": "transaction", "entry": ["x"]}
    assert (await client.post("/fhir", json=entry_not_object, headers=app.headers)).status_code == 422


async def test_only_a_final_amended_or_corrected_observation_is_stored(client, person, make_app_token):
    app = await make_app_token(person, ["vitals.body_weight:write"])
    for status in ("entered-in-error", "cancelled", "registered", "unknown", "preliminary", None, 3):
        observation = body_weight()
        if status is None:
            del observation["status"]
        else:
            observation["status"] = status
        body = outcome(await client.post("/fhir", json=transaction(observation), headers=app.headers), 422)
        [issue] = body["issue"]
        assert issue["expression"] == ["Bundle.entry[1].resource.status"], (status, body)
        assert "final, amended, corrected" in issue["diagnostics"]
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []
    for number, status in enumerate(("final", "amended", "corrected")):
        observation = body_weight(70 + number, identifier=[{"value": f"w{number}"}], status=status)
        answer = await client.post("/fhir", json=transaction(observation), headers=app.headers)
        assert answer.status_code == 200, (status, answer.text)
    items = (await client.get(VITALS, headers=person.headers)).json()["items"]
    assert sorted(m["value"] for m in items) == [70, 71, 72]


async def test_a_number_beyond_a_double_is_a_located_422(client, person, make_app_token):
    app = await make_app_token(person, ["vitals.body_weight:write"])
    sent = msgspec.json.encode(transaction(body_weight(71.5), with_device=False)).replace(b"71.5", b"1e400")
    answer = await client.post("/fhir", content=sent, headers={**app.headers, "content-type": FHIR})
    body = outcome(answer, 422)
    assert [issue["expression"] for issue in body["issue"]] == [["Bundle.entry[0].resource.valueQuantity.value"]]


async def test_a_value_with_a_comparator_is_refused_never_stored_as_the_bound(client, person, make_app_token):
    app = await make_app_token(person, ["vitals.blood_glucose:write", "vitals.blood_pressure:write"])
    glucose = {
        "resourceType": "Observation",
        "meta": {"profile": [IG + "mesures-observation-glucose"]},
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0"}]},
        "effectiveDateTime": at(20),
        "valueQuantity": {"value": 3.9, "comparator": "<", "system": UCUM, "code": "mmol/L"},
        "extension": [
            {
                "url": IG + "mesures-moment-of-measurement",
                "valueCodeableConcept": {"coding": [{"system": "urn:ens:fhir:glucose-moment", "code": "fasting"}]},
            }
        ],
    }
    body = outcome(await client.post("/fhir", json=transaction(glucose, with_device=False), headers=app.headers), 422)
    assert [issue["expression"] for issue in body["issue"]] == [["Bundle.entry[0].resource.valueQuantity.comparator"]]
    pressure = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "effectiveDateTime": at(10),
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {"value": 120, "system": UCUM, "code": "mm[Hg]"},
            },
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                "valueQuantity": {"value": 50, "comparator": "<=", "system": UCUM, "code": "mm[Hg]"},
            },
        ],
    }
    body = outcome(await client.post("/fhir", json=transaction(pressure, with_device=False), headers=app.headers), 422)
    assert [issue["expression"] for issue in body["issue"]] == [
        ["Bundle.entry[0].resource.component[1].valueQuantity.comparator"]
    ]
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []


async def test_a_unit_code_without_its_system_is_refused_never_read_as_ucum(client, person, make_app_token):
    """FHIR R4's qty-3: a Quantity's ``code`` needs its ``system``. A code alone was taken as UCUM's,
    the system assumed, and the measure stored."""
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.blood_pressure:write"])
    weight_alone = body_weight()
    del weight_alone["valueQuantity"]["system"]
    body = outcome(await client.post("/fhir", json=transaction(weight_alone), headers=app.headers), 422)
    assert [issue["expression"] for issue in body["issue"]] == [["Bundle.entry[1].resource.valueQuantity.system"]]
    assert "qty-3" in body["issue"][0]["diagnostics"]
    pressure: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "effectiveDateTime": at(10),
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {"value": 120, "system": UCUM, "code": "mm[Hg]"},
            },
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                "valueQuantity": {"value": 80, "code": "mm[Hg]"},
            },
        ],
    }
    body = outcome(await client.post("/fhir", json=transaction(pressure, with_device=False), headers=app.headers), 422)
    assert [issue["expression"] for issue in body["issue"]] == [
        ["Bundle.entry[0].resource.component[1].valueQuantity.system"]
    ]
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []
    # With its system, the same Observation is taken.
    pressure["component"][1]["valueQuantity"]["system"] = UCUM
    answer = await client.post("/fhir", json=transaction(pressure, with_device=False), headers=app.headers)
    assert answer.status_code == 200, answer.text


def steps(value: int, identifier: str, **effective: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "meta": {"profile": [IG + "mesures-observation-steps-by-day"]},
        "identifier": [{"value": identifier}],
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "41950-7"}]},
        "valueQuantity": {"value": value, "unit": "steps/day", "system": UCUM, "code": "1/(24.h)"},
        **effective,
    }


async def test_a_day_of_steps_is_read_as_that_local_day_others_need_an_instant(client, person, make_app_token):
    # A zone far from UTC: a date read as UTC midnight would fall on the day before.
    await db.fetch("UPDATE spaces SET timezone = 'Pacific/Auckland' WHERE id = {}", person.space_id)
    zone = ZoneInfo("Pacific/Auckland")
    today = datetime.now(UTC).astimezone(zone).date()
    app = await make_app_token(person, ["vitals.steps_per_day:write", "vitals.body_weight:write"])

    async def post(observation: dict[str, Any]) -> Any:
        return await client.post("/fhir", json=transaction(observation, with_device=False), headers=app.headers)

    def midnight(days_ago: int) -> datetime:
        return datetime.combine(today - timedelta(days=days_ago), datetime.min.time(), zone)

    # The guide's example: a date alone.
    day = (today - timedelta(days=3)).isoformat()
    answer = await post(steps(8000, "s3", effectiveDateTime=day))
    assert answer.status_code == 200, answer.text
    # A period within one local day: its start (a date, or a date and time).
    period = {"start": (today - timedelta(days=2)).isoformat(), "end": (today - timedelta(days=2)).isoformat()}
    assert (await post(steps(9000, "s2", effectivePeriod=period))).status_code == 200
    period = {"start": midnight(1).isoformat(), "end": midnight(0).isoformat()}
    assert (await post(steps(10000, "s1", effectivePeriod=period))).status_code == 200
    items = (await client.get(VITALS, headers=person.headers)).json()["items"]
    found = {m["value"]: datetime.fromisoformat(m["effectiveAt"]) for m in items}
    assert found == {8000: midnight(3), 9000: midnight(2), 10000: midnight(1)}

    refused: list[tuple[dict[str, Any], str, str]] = [
        (body_weight(effectiveDateTime=day), "effectiveDateTime", "UTC offset"),
        (body_weight(effectiveDateTime="2024-05"), "effectiveDateTime", "UTC offset"),
        (steps(1, "s9", effectiveDateTime="2024-05"), "effectiveDateTime", "UTC offset"),
        (steps(1, "s9", effectiveDateTime="1066-10-14"), "effectiveDateTime", "1900"),
        (
            {**{k: v for k, v in body_weight().items() if k != "effectiveDateTime"}, "effectivePeriod": period},
            "effective[x]",
            "not an effectivePeriod",
        ),
        ({k: v for k, v in body_weight().items() if k != "effectiveDateTime"}, "effective[x]", "required"),
        (
            steps(1, "s9", effectivePeriod={"start": midnight(6).isoformat(), "end": midnight(4).isoformat()}),
            "effectivePeriod.end",
            "within the day",
        ),
        (steps(1, "s9", effectivePeriod={"end": midnight(4).isoformat()}), "effectivePeriod.start", "required"),
        (steps(1, "s9", effectivePeriod={"start": "0001-01-01T00:00:00+14:00"}), "effectivePeriod.start", "1900"),
        # The ingestion's own refusal, at the element the client sent.
        (
            steps(1, "s9", effectivePeriod={"start": (midnight(-2) + timedelta(hours=1)).isoformat()}),
            "effectivePeriod.start",
            "future",
        ),
    ]
    for observation, element, words in refused:
        body = outcome(await post(observation), 422)
        issues = [(e, issue["diagnostics"]) for issue in body["issue"] for e in issue.get("expression", [])]
        assert any(e == "Bundle.entry[0].resource." + element and words in d for e, d in issues), issues
    assert len((await client.get(VITALS, headers=person.headers)).json()["items"]) == 3


async def test_an_error_points_at_the_component_at_fault(client, person, make_app_token):
    app = await make_app_token(person, ["vitals.blood_pressure:write"])
    pressure: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "effectiveDateTime": at(10),
        # The diastolic first, as FHIR allows: the systolic is component[1].
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                "valueQuantity": {"value": 80, "system": UCUM, "code": "mm[Hg]"},
            },
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {"value": 900, "system": UCUM, "code": "mm[Hg]"},
            },
        ],
    }

    async def expressions(observation: dict[str, Any]) -> list[str]:
        answer = await client.post("/fhir", json=transaction(observation, with_device=False), headers=app.headers)
        return [e for issue in outcome(answer, 422)["issue"] for e in issue.get("expression", [])]

    assert await expressions(pressure) == ["Bundle.entry[0].resource.component[1].valueQuantity.value"]
    for component in pressure["component"]:
        component["valueQuantity"] = {"value": 10, "system": UCUM, "code": "mm"}
    # One unit for both: the systolic's is named.
    assert await expressions(pressure) == ["Bundle.entry[0].resource.component[1].valueQuantity.code"]


async def test_a_search_error_names_the_fhir_parameter(client, person, make_app_token):
    reader = await make_app_token(person, ["vitals.body_weight:read"])
    cases = (
        ({"_count": 0}, "_count"),
        ({"_count": "x"}, "_count"),
        ({"_cursor": "abc"}, "_cursor"),
        ({"date": "x"}, "date"),
        ({"date": "ge1899-12-31"}, "date"),
        ({"code": "1-1"}, "code"),
    )
    for params, name in cases:
        body = outcome(await client.get("/fhir/Observation", params=params, headers=reader.headers), 400)
        assert [issue["expression"] for issue in body["issue"]] == [[name]], (params, body)


async def test_a_search_from_the_first_day_of_1900_is_answered(client, person, make_app_token):
    reader = await make_app_token(person, ["vitals.body_weight:read"])
    # Paris's midnight of 1900-01-01 is 1899-12-31T23:50:39Z (its mean time then): still 1900.
    for date in ("ge1900-01-01", "gt1900-01-01", "le2199-12-31", "lt2199-12-31", "eq1900-01-01"):
        answer = await client.get("/fhir/Observation", params={"date": date}, headers=reader.headers)
        assert answer.status_code == 200, (date, answer.text)


async def test_a_search_date_stands_for_its_local_day_or_its_written_precision(client, person, make_app_token):
    writer = await make_app_token(person, ["vitals.body_weight:write"])
    moments = {
        60: "2026-03-29T23:30:00+02:00",  # the spring DST day (23 hours), in Paris
        61: "2026-03-30T00:30:00+02:00",  # the next day, 24 hours after the 29th's midnight
        70: "2026-10-25T08:00:30+01:00",  # the autumn DST day (25 hours)
        71: "2026-10-25T23:30:00+01:00",  # still the 25th, 24.5 hours after its midnight
    }
    for value, moment in moments.items():
        measure = body_weight(value, identifier=[{"value": f"w{value}"}], effectiveDateTime=moment)
        assert (await client.post("/fhir", json=transaction(measure), headers=writer.headers)).status_code == 200
    reader = await make_app_token(person, ["vitals.body_weight:read"])

    async def found(*dates: str) -> set[int]:
        answer = await client.get("/fhir/Observation", params={"date": list(dates)}, headers=reader.headers)
        assert answer.status_code == 200, (dates, answer.text)
        return {
            e["resource"]["valueQuantity"]["value"]
            for e in answer.json().get("entry", [])
            if e["search"]["mode"] == "match"
        }

    assert await found("2026-03-29") == {60}
    assert await found("le2026-03-29") == {60}
    assert await found("gt2026-03-29", "lt2026-04") == {61}
    assert await found("2026-10-25") == {70, 71}
    assert await found("lt2026-10-26") == {60, 61, 70, 71}
    assert await found("2026-10") == {70, 71}
    assert await found("2026") == {60, 61, 70, 71}
    # A date and time stands for the minute, second or fraction it names.
    assert await found("2026-10-25T08:00+01:00") == {70}
    assert await found("2026-10-25T07:00Z") == {70}
    assert await found("2026-10-25T08:00:30+01:00") == {70}
    assert await found("2026-10-25T08:00:30.0+01:00") == {70}
    assert await found("2026-10-25T08:00:31+01:00") == set()
    assert await found("le2026-10-25T08:00+01:00") == {60, 61, 70}
    assert await found("gt2026-10-25T08:00+01:00") == {71}
    assert await found("lt2026-10-25T08:00:30+01:00", "ge2026-10") == set()
    for wrong in ("2026-13", "2026-10-25T08+01:00", "2026-10-25T08:00", "ge1899", "2026-02-30"):
        answer = await client.get("/fhir/Observation", params={"date": wrong}, headers=reader.headers)
        assert [issue["expression"] for issue in outcome(answer, 400)["issue"]] == [["date"]], wrong


RESTRICTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}


def restricted(observation: dict[str, Any]) -> dict[str, Any]:
    """The Observation labelled restricted (``meta.security`` R), as the export writes a hidden measure."""
    labelled = copy.deepcopy(observation)
    labelled["meta"]["security"] = [RESTRICTED]
    return labelled


async def test_a_restricted_observation_of_the_holders_app_is_stored_hidden_from_representatives(
    client, make_person, settings
):
    """The label was ignored (review, "unconfirmed"): the measure was stored visible to the
    representatives. An app the holder connected writes on the holder's authority: it is hidden."""
    from tests.helpers.carers import court_measure
    from tests.vitals.test_a_representatives_app_never_meets_hidden_measures import _scale

    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    vitals = f"/v1/spaces/{holder.space_id}/vitals"
    app = await _scale(settings, holder, holder)
    answer = await client.post("/fhir", json=transaction(restricted(body_weight(70))), headers=app.headers)
    assert answer.status_code == 200, answer.text
    measure_id = answer.json()["entry"][-1]["response"]["location"].removeprefix("Observation/")
    stored = (await client.get(f"{vitals}/{measure_id}", headers=holder.headers)).json()
    assert (stored["value"], stored["hiddenFromRepresentatives"]) == (70, True)
    assert (await client.get(vitals, headers=tutor.headers)).json()["items"] == []
    assert (await client.get(f"{vitals}/{measure_id}", headers=tutor.headers)).status_code == 404
    # Its FHIR output carries the label: the app's search, the holder's export.
    found = (await client.get("/fhir/Observation", headers=app.headers)).json()
    [observation] = [e["resource"] for e in found["entry"] if e["search"]["mode"] == "match"]
    assert [(c["system"], c["code"]) for c in observation["meta"]["security"]] == [(RESTRICTED["system"], "R")]
    exported = (await client.get(f"/v1/spaces/{holder.space_id}/export", headers=holder.headers)).json()
    [kept] = [e["resource"] for e in exported["entry"] if e["resource"]["resourceType"] == "Observation"]
    assert kept["meta"]["security"][0]["code"] == "R"
    # Without the label, a measure stays visible (and a re-send without it does not show a hidden one).
    shown = body_weight(71, identifier=[{"value": "weigh-2"}])
    assert (await client.post("/fhir", json=transaction(shown), headers=app.headers)).status_code == 200
    assert [m["value"] for m in (await client.get(vitals, headers=tutor.headers)).json()["items"]] == [71]


async def test_a_representatives_app_may_not_label_a_measure_restricted(client, make_person, settings):
    """An app a representative connected acts on their authority: it may not hide from them (403,
    located at meta.security), and nothing is stored — never stored visible, the label dropped."""
    from tests.helpers.carers import court_measure
    from tests.vitals.test_a_representatives_app_never_meets_hidden_measures import _scale

    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    vitals = f"/v1/spaces/{holder.space_id}/vitals"
    tutors_app = await _scale(settings, tutor, holder)
    answer = await client.post("/fhir", json=transaction(restricted(body_weight(70))), headers=tutors_app.headers)
    body = outcome(answer, 403)
    [issue] = body["issue"]
    assert issue["code"] == "forbidden" and issue["expression"] == ["Bundle.entry[1].resource.meta.security"]
    assert "representative" in issue["diagnostics"] and "Consent not given" not in issue["diagnostics"]
    assert (await client.get(vitals, headers=holder.headers)).json()["items"] == []
    # Without the label the same Observation is taken.
    assert (
        await client.post("/fhir", json=transaction(body_weight(70)), headers=tutors_app.headers)
    ).status_code == 200


async def test_a_device_no_observation_names_or_given_twice_is_refused(client, person, make_app_token):
    """Finding 11: a Device the Observation did not name was answered 200 with the location of an
    empty device no read or export gives; two copies of one Device passed "at most one Device"."""
    app = await make_app_token(person, ["vitals.body_weight:write"])
    unnamed = transaction(body_weight())
    del unnamed["entry"][1]["resource"]["device"]
    body = outcome(await client.post("/fhir", json=unnamed, headers=app.headers), 422)
    assert [e for issue in body["issue"] for e in issue["expression"]] == ["Bundle.entry[0]"]
    twice = transaction(body_weight())
    twice["entry"].insert(1, copy.deepcopy(twice["entry"][0]))
    body = outcome(await client.post("/fhir", json=twice, headers=app.headers), 422)
    assert "at most one Device" in str(body)
    nothing = transaction(body_weight())
    nothing["entry"][0]["resource"] = {"resourceType": "Device", "id": "d36bfdb6-b1b1-4efd-9cb9-d217a8696575"}
    body = outcome(await client.post("/fhir", json=nothing, headers=app.headers), 422)
    assert [e for issue in body["issue"] for e in issue["expression"]] == ["Bundle.entry[0].resource"]
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []
    # The Device the Observation names is answered with the id the measure's reads give it.
    answer = await client.post("/fhir", json=transaction(body_weight()), headers=app.headers)
    device_entry, observation_entry = answer.json()["entry"]
    measure_id = observation_entry["response"]["location"].removeprefix("Observation/")
    exported = (await client.get(f"/v1/spaces/{person.space_id}/export", headers=person.headers)).json()
    devices = [e["resource"]["id"] for e in exported["entry"] if e["resource"]["resourceType"] == "Device"]
    assert devices == [device_entry["fullUrl"].removeprefix("urn:uuid:")]
    assert measure_id in str(exported)


async def test_an_element_fhir_does_not_define_or_a_modifier_extension_is_refused(client, person, make_app_token):
    """As an unknown field on /v1: a name that is no FHIR R4 element is 422, not dropped unread; a
    modifierExtension changes what the Observation means, so one ENS cannot read is refused too."""
    app = await make_app_token(person, ["vitals.body_weight:write"])
    cases = [
        (body_weight(foo=1), "Bundle.entry[1].resource.foo"),
        (body_weight(valueQuantityy={"value": 70}), "Bundle.entry[1].resource.valueQuantityy"),
        (
            body_weight(modifierExtension=[{"url": "https://example.org/not-really", "valueBoolean": True}]),
            "Bundle.entry[1].resource.modifierExtension",
        ),
    ]
    for observation, where in cases:
        body = outcome(await client.post("/fhir", json=transaction(observation), headers=app.headers), 422)
        assert [issue["expression"] for issue in body["issue"]] == [[where]], body
    bundle = transaction(body_weight())
    bundle["entry"][0]["resource"]["colour"] = "blue"
    body = outcome(await client.post("/fhir", json=bundle, headers=app.headers), 422)
    assert body["issue"][0]["expression"] == ["Bundle.entry[0].resource.colour"]
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []
    # FHIR's own: a primitive's extension (_effectiveDateTime), every element R4 gives an Observation.
    taken = body_weight(
        _effectiveDateTime={"extension": [{"url": "https://example.org/clock", "valueString": "device"}]},
        interpretation=[{"text": "normal"}],
        issued=at(29),
    )
    answer = await client.post("/fhir", json=transaction(taken), headers=app.headers)
    assert answer.status_code == 200, answer.text


async def test_the_code_must_name_the_profiles_measure(client, person, make_app_token):
    """The measure is what Observation.code's LOINC code names, and the guide's profile must agree
    (an outside audit: a weight profile over a heart rate's code stored 72 kg as a weight, a height
    profile over a head circumference made the home screen's BMI 355). Another publisher's profile
    ending in the guide's id is no profile of the guide."""
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.heart_rate:write"])

    def coded(*codings: dict[str, str]) -> dict[str, Any]:
        return body_weight(72, code={"coding": list(codings)})

    loinc = "http://loinc.org"
    cases = [
        (coded({"system": loinc, "code": "8867-4"}), "is not the measure of the profile"),
        (coded({"system": loinc, "code": "12345-6"}), "LOINC code 29463-7"),
        (coded({"system": "http://snomed.info/sct", "code": "27113001"}), "LOINC code 29463-7"),
        # A LOINC code in another system is not a LOINC code.
        (coded({"system": "http://snomed.info/sct", "code": "29463-7"}), "LOINC code 29463-7"),
        (coded({"system": loinc, "code": "8867-4"}, {"system": loinc, "code": "29463-7"}), "different measures"),
    ]
    for observation, said in cases:
        body = outcome(await client.post("/fhir", json=transaction(observation), headers=app.headers), 422)
        assert ["Bundle.entry[1].resource.code"] == [e for i in body["issue"] for e in i.get("expression", [])], body
        assert said in body["issue"][0]["diagnostics"], body
    foreign = body_weight(72, code={"coding": [{"system": loinc, "code": "8867-4"}]})
    foreign["meta"]["profile"] = ["http://evil.example/StructureDefinition/mesures-fr-observation-body-weight"]
    foreign["valueQuantity"] = {"value": 72, "unit": "/min", "system": UCUM, "code": "/min"}
    # Not the guide's profile: the code decides, a heart rate of 72/min.
    assert (await client.post("/fhir", json=transaction(foreign), headers=app.headers)).status_code == 200
    stored = (await client.get(VITALS, headers=person.headers)).json()["items"]
    assert [(m["type"], m["value"]) for m in stored] == [("heart_rate", 72)]
    # Extra codings beside the measure's own (another LOINC code of no measure, a SNOMED code) are fine.
    extra = coded(
        {"system": loinc, "code": "29463-7"},
        {"system": loinc, "code": "3141-9"},
        {"system": "http://snomed.info/sct", "code": "27113001"},
    )
    extra["identifier"] = [{"system": "urn:oid:1.2.3.4.5", "value": "weigh-in-0002"}]
    assert (await client.post("/fhir", json=transaction(extra), headers=app.headers)).status_code == 200
    stored = (await client.get(VITALS, headers=person.headers)).json()["items"]
    assert sorted((m["type"], m["value"]) for m in stored) == [("body_weight", 72), ("heart_rate", 72)]


async def test_a_part_given_twice_or_two_effective_times_are_refused(client, person, make_app_token):
    """A blood pressure with two systolic components was stored with the last (an outside audit:
    16 kPa dropped for 200 mm[Hg]); an Observation with effectiveDateTime and effectiveInstant
    took the first. Both are ambiguous: 422, nothing stored."""
    app = await make_app_token(person, ["vitals.blood_pressure:write", "vitals.body_weight:write"])

    def part(code: str, value: float, unit: str = "mm[Hg]") -> dict[str, Any]:
        return {
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "valueQuantity": {"value": value, "system": UCUM, "code": unit},
        }

    pressure: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "effectiveDateTime": at(10),
        "component": [part("8480-6", 120), part("8462-4", 80), part("8480-6", 200)],
    }
    answer = await client.post("/fhir", json=transaction(pressure, with_device=False), headers=app.headers)
    body = outcome(answer, 422)
    assert "Bundle.entry[0].resource.component[2]" in [e for i in body["issue"] for e in i.get("expression", [])]
    both = part("8480-6", 120)
    both["code"]["coding"].append({"system": "http://loinc.org", "code": "8462-4"})
    pressure["component"] = [both, part("8462-4", 80)]
    answer = await client.post("/fhir", json=transaction(pressure, with_device=False), headers=app.headers)
    assert "two parts" in outcome(answer, 422)["issue"][0]["diagnostics"]
    # A component coded in another system is no part of the blood pressure (as Observation.code).
    pressure["component"] = [part("8480-6", 120), part("8462-4", 80)]
    pressure["component"][1]["code"]["coding"][0]["system"] = "http://snomed.info/sct"
    answer = await client.post("/fhir", json=transaction(pressure, with_device=False), headers=app.headers)
    assert "8462-4" in outcome(answer, 422)["issue"][0]["diagnostics"]
    # An identifier without its value identifies nothing: a re-send would store the measure again.
    unnamed = body_weight(identifier=[{"system": "urn:oid:1.2.3.4.5"}])
    body = outcome(await client.post("/fhir", json=transaction(unnamed), headers=app.headers), 422)
    assert "Bundle.entry[1].resource.identifier[0].value" in [e for i in body["issue"] for e in i.get("expression", [])]
    twice = body_weight(effectiveInstant=at(20))
    body = outcome(await client.post("/fhir", json=transaction(twice), headers=app.headers), 422)
    assert "Bundle.entry[1].resource.effective[x]" in [e for i in body["issue"] for e in i.get("expression", [])]
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []


async def test_a_value_where_the_type_takes_none_is_refused_not_dropped(client, person, make_app_token):
    """A body weight carrying a component, or a blood pressure carrying a valueQuantity beside its
    components: the extra value was dropped without a word and the Observation answered 201 (an
    outside audit); /v1 refuses the same. It is 422 at the element, and nothing is stored."""
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.blood_pressure:write"])
    weight_with_component = body_weight()
    weight_with_component["component"] = [
        {
            "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
            "valueQuantity": {"value": 120, "system": UCUM, "code": "mm[Hg]"},
        }
    ]
    pressure_with_value: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "effectiveDateTime": at(10),
        "valueQuantity": {"value": 100, "system": UCUM, "code": "mm[Hg]"},
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {"value": 120, "system": UCUM, "code": "mm[Hg]"},
            },
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                "valueQuantity": {"value": 80, "system": UCUM, "code": "mm[Hg]"},
            },
        ],
    }
    for observation, element in (
        (weight_with_component, "Bundle.entry[0].resource.component"),
        (pressure_with_value, "Bundle.entry[0].resource.valueQuantity"),
    ):
        answer = await client.post("/fhir", json=transaction(observation, with_device=False), headers=app.headers)
        expressions = [e for issue in outcome(answer, 422)["issue"] for e in issue.get("expression", [])]
        assert element in expressions, expressions
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []


async def test_an_observation_read_alone_contains_its_device(client, person, make_app_token):
    """``GET /fhir/Observation/{id}`` named its Device ``urn:uuid:<id>``, which resolves only inside
    a Bundle (and no ``GET /fhir/Device`` exists): read alone, the Observation contains its Device,
    referenced ``#<id>``, the id the search and the export give it; in a search it stays an entry."""
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"])
    stored = await client.post("/fhir", json=transaction(body_weight()), headers=app.headers)
    device_url, location = stored.json()["entry"][0]["fullUrl"], stored.json()["entry"][1]["response"]["location"]
    alone = (await client.get(f"/fhir/{location}", headers=app.headers)).json()
    FhirObservation.model_validate(alone)
    [device] = alone["contained"]
    assert device["resourceType"] == "Device" and f"urn:uuid:{device['id']}" == device_url
    assert alone["device"] == {"reference": f"#{device['id']}"}
    assert device["manufacturer"] == "OMRONHEALTHCARE" and "patient" not in device
    found = (await client.get("/fhir/Observation", headers=app.headers)).json()
    matched = [e["resource"] for e in found["entry"] if e["search"]["mode"] == "match"]
    assert [m["device"] for m in matched] == [{"reference": device_url}] and "contained" not in matched[0]
    # A measure typed by hand names no device: nothing contained.
    typed = await client.post(VITALS, json={"measurements": [weight(70)]}, headers=person.headers)
    own = await client.get(f"/fhir/Observation/{typed.json()['items'][0]['id']}", headers=app.headers)
    assert own.status_code == 200 and "contained" not in own.json() and "device" not in own.json()


async def test_a_very_restricted_observation_is_hidden_as_a_restricted_one_is(client, make_person, settings):
    """v3-Confidentiality is ordered (… N, R, V): V, "very restricted", asks more than R. An outside
    audit of the door found a V-labelled measure stored visible to the representatives, the label
    dropped, where an R one was hidden."""
    from tests.helpers.carers import court_measure
    from tests.vitals.test_a_representatives_app_never_meets_hidden_measures import _scale

    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    vitals = f"/v1/spaces/{holder.space_id}/vitals"
    very = copy.deepcopy(body_weight(70))
    very["meta"]["security"] = [{**RESTRICTED, "code": "V"}]
    tutors_app = await _scale(settings, tutor, holder)
    body = outcome(await client.post("/fhir", json=transaction(very), headers=tutors_app.headers), 403)
    assert body["issue"][0]["expression"] == ["Bundle.entry[1].resource.meta.security"]
    app = await _scale(settings, holder, holder)
    answer = await client.post("/fhir", json=transaction(very), headers=app.headers)
    assert answer.status_code == 200, answer.text
    measure_id = answer.json()["entry"][-1]["response"]["location"].removeprefix("Observation/")
    stored = (await client.get(f"{vitals}/{measure_id}", headers=holder.headers)).json()
    assert (stored["value"], stored["hiddenFromRepresentatives"]) == (70, True)
    assert (await client.get(vitals, headers=tutor.headers)).json()["items"] == []


async def test_implicit_rules_or_a_focus_are_refused_never_dropped(client, person, make_app_token):
    """An outside audit of the door: ``implicitRules`` (a modifier element: rules the reader must
    understand to read the resource) and ``focus`` (the Observation is about someone or something
    else than its subject: a fetus, a donor) were taken and dropped, the measure stored as the
    holder's own. Both are 422 where they stand, as a modifierExtension and another subject are."""
    app = await make_app_token(person, ["vitals.body_weight:write"])
    cases = [
        (transaction(body_weight(implicitRules="https://example.org/rules")), "Bundle.entry[1].resource.implicitRules"),
        (transaction(body_weight(focus=[{"display": "the baby"}])), "Bundle.entry[1].resource.focus"),
    ]
    device_rules = transaction(body_weight())
    device_rules["entry"][0]["resource"]["implicitRules"] = "https://example.org/rules"
    cases.append((device_rules, "Bundle.entry[0].resource.implicitRules"))
    for bundle, where in cases:
        body = outcome(await client.post("/fhir", json=bundle, headers=app.headers), 422)
        assert [issue["expression"] for issue in body["issue"]] == [[where]], body
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []


async def test_an_identifier_without_its_system_is_never_another_systems(client, person, make_app_token):
    """An outside audit of the door: an identifier with a system is kept as FHIR's token
    ``system|value``, so one with no system whose value was ``urn:x|v1`` was taken for the measure
    of system ``urn:x``, value ``v1``: answered 200 with that measure, the new one dropped. A value
    holding ``|`` is 422 without its system; with the app's own system (the export's) it is taken."""
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"])
    first = body_weight(70, identifier=[{"system": "urn:x", "value": "v1"}])
    assert (await client.post("/fhir", json=transaction(first), headers=app.headers)).status_code == 200
    other = body_weight(80, identifier=[{"value": "urn:x|v1"}])
    body = outcome(await client.post("/fhir", json=transaction(other), headers=app.headers), 422)
    assert [issue["expression"] for issue in body["issue"]] == [["Bundle.entry[1].resource.identifier[0].system"]]
    assert [m["value"] for m in (await client.get(VITALS, headers=person.headers)).json()["items"]] == [70]
    # The export names the measure in the app's own namespace: sent back, it finds its measure.
    exported = (await client.get(f"/v1/spaces/{person.space_id}/export", headers=person.headers)).json()
    [kept] = [e["resource"] for e in exported["entry"] if e["resource"]["resourceType"] == "Observation"]
    assert kept["identifier"] == [{"system": f"urn:ens:client:{app.client_id}", "value": "urn:x|v1"}]
    again = body_weight(70, identifier=kept["identifier"])
    answer = await client.post("/fhir", json=transaction(again), headers=app.headers)
    assert answer.json()["entry"][1]["response"]["status"] == "200 OK", answer.text


async def test_an_entrys_request_url_names_its_resources_type(client, person, make_app_token):
    """An outside audit of the door: an Observation POSTed to ``Device`` (or to ``Patient``, or to
    an Observation's id) was stored as if the request said ``Observation``. FHIR's transaction
    creates what ``request.url`` names: an entry naming another is 422 at it, nothing stored."""
    app = await make_app_token(person, ["vitals.body_weight:write"])
    for url in ("Device", "Patient", "Observation/5138af77-df7e-4b9d-ba17-07ba3ebb950a", None):
        bundle = transaction(body_weight())
        bundle["entry"][1]["request"]["url"] = url
        body = outcome(await client.post("/fhir", json=bundle, headers=app.headers), 422)
        assert [issue["expression"] for issue in body["issue"]] == [["Bundle.entry[1].request.url"]], (url, body)
    device_as_observation = transaction(body_weight())
    device_as_observation["entry"][0]["request"]["url"] = "Observation"
    body = outcome(await client.post("/fhir", json=device_as_observation, headers=app.headers), 422)
    assert [issue["expression"] for issue in body["issue"]] == [["Bundle.entry[0].request.url"]], body
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []
    # The type alone, or under the server's base as some clients write it, is taken.
    for url in ("Observation", "http://testserver.local/fhir/Observation"):
        bundle = transaction(body_weight(identifier=[{"value": url}]))
        bundle["entry"][1]["request"]["url"] = url
        assert (await client.post("/fhir", json=bundle, headers=app.headers)).status_code == 200, url


def alone(observation: dict[str, Any]) -> dict[str, Any]:
    """The transaction of one Observation entry, its device reference kept as it is."""
    entry = {"fullUrl": OBSERVATION_URL, "resource": observation, "request": {"method": "POST", "url": "Observation"}}
    return {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}


async def test_a_contained_device_is_the_observations_device(client, person, make_app_token):
    """FHIR lets an Observation carry its Device inside it (``contained``, referenced ``#<id>``),
    the shape ``GET /fhir/Observation/<id>`` itself answers. An outside audit of the door found it
    refused ("must name the Bundle's Device (its fullUrl)", a Bundle holding none): it is the
    Observation's Device, as a Device entry is; a ``#`` naming nothing contained is 422."""
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"])
    inside = body_weight(70, contained=[device()], device={"reference": f"#{device()['id']}"})
    answer = await client.post("/fhir", json=alone(inside), headers=app.headers)
    assert answer.status_code == 200, answer.text
    location = answer.json()["entry"][0]["response"]["location"]
    read = (await client.get(f"/fhir/{location}", headers=app.headers)).json()
    FhirObservation.model_validate(read)
    [kept] = read["contained"]
    assert (kept["manufacturer"], kept["modelNumber"]) == ("OMRONHEALTHCARE", "HEM-9200T")
    # What the read answers, sent as a new measure, is taken with its Device.
    again = {k: v for k, v in read.items() if k not in ("id", "meta")}
    again["identifier"] = [{"value": "sent-again"}]
    answer = await client.post("/fhir", json=alone(again), headers=app.headers)
    assert answer.status_code == 200, answer.text
    second = (
        await client.get(f"/fhir/{answer.json()['entry'][0]['response']['location']}", headers=app.headers)
    ).json()
    assert second["contained"] == read["contained"] and second["device"] == read["device"]
    # A reference to nothing contained, or a contained Device beside a Device entry, is refused.
    nowhere = body_weight(71, contained=[device()], device={"reference": "#elsewhere"})
    body = outcome(await client.post("/fhir", json=alone(nowhere), headers=app.headers), 422)
    assert [issue["expression"] for issue in body["issue"]] == [["Bundle.entry[0].resource.device"]]
    both = transaction(body_weight(72, contained=[device()], device={"reference": f"#{device()['id']}"}))
    body = outcome(await client.post("/fhir", json=both, headers=app.headers), 422)
    assert [issue["expression"] for issue in body["issue"]] == [["Bundle.entry[0]"]]
    assert [m["value"] for m in (await client.get(VITALS, headers=person.headers)).json()["items"]] == [70, 70]


async def test_a_date_prefix_the_search_does_not_take_is_named(client, person, make_app_token):
    """FHIR's ``ne``, ``sa``, ``eb`` and ``ap`` are prefixes ENS does not take: an outside audit of
    the door found ``date=ne2026-12-06`` told only "expected YYYY, YYYY-MM, …", as if the date were
    malformed. The 400 names the prefix and those taken."""
    reader = await make_app_token(person, ["vitals.body_weight:read"])
    for prefix in ("ne", "sa", "eb", "ap"):
        answer = await client.get("/fhir/Observation", params={"date": f"{prefix}2026-12-06"}, headers=reader.headers)
        [issue] = outcome(answer, 400)["issue"]
        assert issue["expression"] == ["date"] and f"'{prefix}'" in issue["diagnostics"], issue
        assert "ge, gt, le, lt or eq" in issue["diagnostics"], issue


async def test_a_system_holding_a_bar_is_refused_never_another_identifiers_key(client, person, make_app_token):
    """A review of the key ``system|value``: a system holding ``|`` made it ambiguous, so
    ``{"system": "urn:x|a", "value": "b"}`` met the measure stored under ``{"system": "urn:x",
    "value": "a|b"}`` (both ``urn:x|a|b``), answered 200 with it, the new measure dropped. A system
    holding ``|`` is 422 at ``identifier[0].system``; the value after the system may hold one."""
    app = await make_app_token(person, ["vitals.body_weight:write"])
    first = body_weight(70, identifier=[{"system": "urn:x", "value": "a|b"}])
    assert (await client.post("/fhir", json=transaction(first), headers=app.headers)).status_code == 200
    other = body_weight(80, identifier=[{"system": "urn:x|a", "value": "b"}])
    body = outcome(await client.post("/fhir", json=transaction(other), headers=app.headers), 422)
    assert [issue["expression"] for issue in body["issue"]] == [["Bundle.entry[1].resource.identifier[0].system"]]
    assert [m["value"] for m in (await client.get(VITALS, headers=person.headers)).json()["items"]] == [70]


async def test_a_contained_device_the_observation_does_not_name_is_refused(client, person, make_app_token):
    """A review of 447787d: a Device the Observation contains but does not name was taken and
    dropped, as a Device entry it does not name is not (422): a second Device of the same id (the
    first one kept, the other's manufacturer lost), one beside a Device entry the Observation names,
    and one without an id met by ``#None``. Each is 422 at its ``contained[n]`` or at ``device``."""
    app = await make_app_token(person, ["vitals.body_weight:write"])
    named = {"reference": f"#{device()['id']}"}
    other = {**device(), "manufacturer": "ANOTHER"}
    twice = body_weight(70, contained=[device(), other], device=named)
    body = outcome(await client.post("/fhir", json=alone(twice), headers=app.headers), 422)
    assert [issue["expression"] for issue in body["issue"]] == [["Bundle.entry[0].resource.contained[1]"]], body
    beside_an_entry = body_weight(71, contained=[device()])
    body = outcome(await client.post("/fhir", json=transaction(beside_an_entry), headers=app.headers), 422)
    assert [issue["expression"] for issue in body["issue"]] == [["Bundle.entry[1].resource.contained[0]"]], body
    without_id = {k: v for k, v in device().items() if k != "id"}
    nameless = body_weight(72, contained=[without_id], device={"reference": "#None"})
    body = outcome(await client.post("/fhir", json=alone(nameless), headers=app.headers), 422)
    assert [issue["expression"] for issue in body["issue"]] == [["Bundle.entry[0].resource.device"]], body
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []


async def test_a_request_url_under_another_resource_is_no_create_of_the_type(client, person, make_app_token):
    """A review of 9d3c613: the url was taken whenever it ended in ``/Observation``, so
    ``Patient/<someone else>/Observation`` (relative to the door's base: a compartment, no create
    FHIR R4 defines) stored the measure in the token's space as if it said ``Observation``. A
    relative url is the type (``/Observation`` too); only an absolute one has a base before it."""
    app = await make_app_token(person, ["vitals.body_weight:write"])
    for url in ("Patient/5138af77-df7e-4b9d-ba17-07ba3ebb950a/Observation", "Device/x/Observation", "x/Observation"):
        bundle = transaction(body_weight())
        bundle["entry"][1]["request"]["url"] = url
        body = outcome(await client.post("/fhir", json=bundle, headers=app.headers), 422)
        assert [issue["expression"] for issue in body["issue"]] == [["Bundle.entry[1].request.url"]], (url, body)
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []
    for url in ("/Observation", "https://ens.example/fhir/Observation"):
        bundle = transaction(body_weight(identifier=[{"value": url}]))
        bundle["entry"][1]["request"]["url"] = url
        assert (await client.post("/fhir", json=bundle, headers=app.headers)).status_code == 200, url


async def test_a_confidentiality_label_in_the_oid_form_is_read_as_the_same_system(client, make_person, settings):
    """v3-Confidentiality is also named by its OID, ``urn:oid:2.16.840.1.113883.5.25`` (systems built
    on HL7 v3 or CDA label so). A V written with it had been read as no label: a measure the device
    marked very restricted was stored visible to the representatives (a review)."""
    from tests.helpers.carers import court_measure
    from tests.vitals.test_a_representatives_app_never_meets_hidden_measures import _scale

    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    vitals = f"/v1/spaces/{holder.space_id}/vitals"
    for code in ("V", "R"):
        labelled = body_weight(70, identifier=[{"value": f"oid-{code}"}])
        labelled["meta"]["security"] = [{"system": "urn:oid:2.16.840.1.113883.5.25", "code": code}]
        tutors_app = await _scale(settings, tutor, holder)
        body = outcome(await client.post("/fhir", json=transaction(labelled), headers=tutors_app.headers), 403)
        assert body["issue"][0]["expression"] == ["Bundle.entry[1].resource.meta.security"], code
        app = await _scale(settings, holder, holder)
        answer = await client.post("/fhir", json=transaction(labelled), headers=app.headers)
        assert answer.status_code == 200, answer.text
        measure_id = answer.json()["entry"][-1]["response"]["location"].removeprefix("Observation/")
        stored = (await client.get(f"{vitals}/{measure_id}", headers=holder.headers)).json()
        assert (stored["value"], stored["hiddenFromRepresentatives"]) == (70, True), code
    assert (await client.get(vitals, headers=tutor.headers)).json()["items"] == []
    # Another system's V is no confidentiality label. A code or a system that is no string is a
    # label malformed: it was read as no label, the measure stored visible; refused now (fail
    # closed), never a 500.
    app = await _scale(settings, holder, holder)
    other = body_weight(71, identifier=[{"value": "other-system"}])
    other["meta"]["security"] = [{"system": "urn:oid:2.16.840.1.113883.5.4", "code": "V"}]
    answer = await client.post("/fhir", json=transaction(other), headers=app.headers)
    assert answer.status_code == 200, answer.text
    for security, part in (
        ({**RESTRICTED, "code": ["V"]}, "code"),
        ({"system": ["urn:oid:2.16.840.1.113883.5.25"], "code": "V"}, "system"),
    ):
        malformed = body_weight(72, identifier=[{"value": f"malformed-{part}"}])
        malformed["meta"]["security"] = [security]
        body = outcome(await client.post("/fhir", json=transaction(malformed), headers=app.headers), 422)
        assert body["issue"][0]["expression"] == [f"Bundle.entry[1].resource.meta.security[0].{part}"]
    shown = (await client.get(vitals, headers=tutor.headers)).json()["items"]
    assert [m["value"] for m in shown] == [71]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda o: o.update(identifier=[None]), "Bundle.entry[1].resource.identifier[0]"),
        (lambda o: o.update(note=None), "Bundle.entry[1].resource.note"),
        (lambda o: o["valueQuantity"].update(unit=None), "Bundle.entry[1].resource.valueQuantity.unit"),
    ],
)
async def test_a_null_is_refused_where_it_stands_and_nothing_is_stored(client, person, make_app_token, change, where):
    """FHIR's JSON has no null; read as absent, ``identifier: [null]`` stored the measure without
    its record id, and every retry stored it again (an outside audit). 422 at the null."""
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"])
    observation = body_weight()
    change(observation)
    for _ in range(2):
        answer = await client.post("/fhir", json=transaction(observation), headers=app.headers)
        body = outcome(answer, 422)
        assert body["issue"][0]["expression"] == [where], body
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []
