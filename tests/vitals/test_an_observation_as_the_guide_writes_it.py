"""POST /fhir with Observations as an integrator following the ANS guide (or FHIR itself) writes
them: the pain profile's unit, coded extensions carrying more than one coding, and value[x] given
twice. Each was found by an outside audit (a connected-device app's engineer)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome

from tests.helpers.vitals import VITALS, at

IG = "https://interop.esante.gouv.fr/ig/fhir/mesures/StructureDefinition/"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
CATEGORIES = "http://terminology.hl7.org/CodeSystem/observation-category"
MOMENT = IG + "mesures-moment-of-measurement"
POSITION = "http://hl7.org/fhir/StructureDefinition/observation-bodyPosition"


def observation(loinc: str, value: float, unit: str, *, profile: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        **({"meta": {"profile": [IG + profile]}} if profile else {}),
        "status": "final",
        "category": [{"coding": [{"system": CATEGORIES, "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "effectiveDateTime": at(30),
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        **extra,
    }


def transaction(resource: dict[str, Any]) -> dict[str, Any]:
    entry = {
        "fullUrl": "urn:uuid:5138af77-df7e-4b9d-ba17-07ba3ebb950a",
        "resource": resource,
        "request": {"method": "POST", "url": "Observation"},
    }
    return {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}


def glucose(*extensions: dict[str, Any]) -> dict[str, Any]:
    return observation("2339-0", 5.2, "mmol/L", profile="mesures-observation-glucose", extension=list(extensions))


def moment(*codings: dict[str, str]) -> dict[str, Any]:
    return {"url": MOMENT, "valueCodeableConcept": {"coding": list(codings)}}


async def stored(client: Any, person: Any, answer: Any) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    measure_id = answer.json()["entry"][0]["response"]["location"].removeprefix("Observation/")
    measure: dict[str, Any] = (await client.get(f"{VITALS}/{measure_id}", headers=person.headers)).json()
    return measure


def refusal(answer: Any) -> list[tuple[str, str]]:
    """The (FHIRPath, diagnostics) of each issue of a 422."""
    assert answer.status_code == 422, answer.text
    body = answer.json()
    OperationOutcome.model_validate(body)
    return [(issue["expression"][0], issue["diagnostics"]) for issue in body["issue"]]


async def test_a_pain_score_in_the_guides_unit_is_stored(client, person, make_app_token):
    # The guide's pain profile fixes valueQuantity.code #1 and unit "Level" (UCUM's dimensionless
    # unity, what {score} stands for): such an Observation was refused ("'1' is not a unit").
    app = await make_app_token(person, ["vitals.pain_severity:write"])
    pain = observation("72514-3", 4, "1", profile="mesures-observation-pain-severity")
    pain["valueQuantity"]["unit"] = "Level"
    measure = await stored(client, person, await client.post("/fhir", json=transaction(pain), headers=app.headers))
    assert (measure["value"], measure["unit"], measure["originalValue"], measure["originalUnit"]) == (
        4,
        "{score}",
        4,
        "1",
    )
    # The same unit on /v1, as GET /v1/vital-types lists it.
    types = (await client.get("/v1/vital-types")).json()["items"]
    assert [u["unit"] for u in next(t for t in types if t["code"] == "pain_severity")["units"]] == ["{score}", "1"]
    item = {"type": "pain_severity", "value": 11, "unit": "1", "effectiveAt": at(20)}
    answer = await client.post(VITALS, json={"measurements": [item]}, headers=person.headers)
    assert answer.status_code == 422 and answer.json()["errors"][0]["pointer"] == "/measurements/0/value"


async def test_a_coded_extension_is_read_from_the_coding_of_enss_system(client, person, make_app_token):
    # A CodeableConcept may carry several codings of one meaning (a standard code and its
    # translation): the first was read whatever its system, so a SNOMED code before ENS's was
    # refused as no moment, and another system's code spelt like one of ENS's was taken for it.
    app = await make_app_token(person, ["vitals.blood_glucose:write", "vitals.heart_rate:write"])
    translated = glucose(
        moment({"system": SNOMED, "code": "726054005"}, {"system": "urn:ens:fhir:glucose-moment", "code": "after_meal"})
    )
    answer = await client.post("/fhir", json=transaction(translated), headers=app.headers)
    assert (await stored(client, person, answer))["glucoseMoment"] == "after_meal"
    # No system at all is still read as ENS's code (as before).
    answer = await client.post("/fhir", json=transaction(glucose(moment({"code": "bedtime"}))), headers=app.headers)
    assert (await stored(client, person, answer))["glucoseMoment"] == "bedtime"

    elsewhere = glucose(moment({"system": "urn:oid:1.2.250.1.213.1.1.4.322", "code": "fasting"}))
    ((where, detail),) = refusal(await client.post("/fhir", json=transaction(elsewhere), headers=app.headers))
    assert where == f"Bundle.entry[0].resource.extension('{MOMENT}')"
    assert "urn:ens:fhir:glucose-moment" in detail and "urn:oid:1.2.250.1.213.1.1.4.322" in detail

    sitting = {"url": POSITION, "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "33586001"}]}}
    pulse = observation("8867-4", 64, "/min", extension=[sitting])
    ((where, detail),) = refusal(await client.post("/fhir", json=transaction(pulse), headers=app.headers))
    assert where == f"Bundle.entry[0].resource.extension('{POSITION}')" and "urn:ens:fhir:body-position" in detail


async def test_an_extension_ens_keeps_one_of_given_twice_is_refused(client, person, make_app_token):
    # Two moments (fasting, then bedtime): the first was kept and the second dropped without a word.
    app = await make_app_token(person, ["vitals.blood_glucose:write", "vitals.heart_rate:write"])
    twice = glucose(
        moment({"system": "urn:ens:fhir:glucose-moment", "code": "fasting"}),
        moment({"system": "urn:ens:fhir:glucose-moment", "code": "bedtime"}),
    )
    ((where, detail),) = refusal(await client.post("/fhir", json=transaction(twice), headers=app.headers))
    assert where == "Bundle.entry[0].resource.extension[1]" and "given twice" in detail
    methods = [
        {"url": "urn:ens:fhir:recording-method", "valueCode": "manual"},
        {"url": "urn:ens:fhir:recording-method", "valueCode": "automatic"},
    ]
    pulse = observation("8867-4", 64, "/min", extension=methods)
    ((where, detail),) = refusal(await client.post("/fhir", json=transaction(pulse), headers=app.headers))
    assert where == "Bundle.entry[0].resource.extension[1]" and "given twice" in detail
    listed = (await client.get(VITALS, headers=person.headers)).json()["items"]
    assert listed == []


async def test_an_observation_giving_two_values_is_refused(client, person, make_app_token):
    # value[x] is a choice of one type: a valueString beside the valueQuantity was dropped unread,
    # as the effective[x] given twice is refused.
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.blood_pressure:write"])
    weight = observation("29463-7", 72, "kg", valueString="72 kg")
    ((where, detail),) = refusal(await client.post("/fhir", json=transaction(weight), headers=app.headers))
    assert where == "Bundle.entry[0].resource.value[x]" and "valueQuantity" in detail and "valueString" in detail
    # A value of another type alone says what ENS does not keep (a pain score as valueInteger).
    alone = observation("29463-7", 72, "kg", valueInteger=72)
    del alone["valueQuantity"]
    issues = refusal(await client.post("/fhir", json=transaction(alone), headers=app.headers))
    assert ("Bundle.entry[0].resource.value[x]", "valueInteger is not taken: give valueQuantity") in issues
    listed = (await client.get(VITALS, headers=person.headers)).json()["items"]
    assert listed == []


async def test_a_strict_search_refuses_a_parameter_it_does_not_read(client, person, make_app_token):
    # An app looking its measure up by identifier (a parameter the search does not read) was answered
    # every measure, also when it asked FHIR's strict handling (Prefer: handling=strict), which asks
    # the server to refuse what it does not support rather than ignore it.
    app = await make_app_token(person, ["vitals.heart_rate:write", "vitals.heart_rate:read"])
    answer = await client.post("/fhir", json=transaction(observation("8867-4", 64, "/min")), headers=app.headers)
    assert answer.status_code == 200, answer.text
    query = {"code": "8867-4", "identifier": "urn:oid:1.2.3|hr-1", "_format": "json"}
    strict = {**app.headers, "Prefer": "return=representation, handling=strict"}
    answer = await client.get("/fhir/Observation", params=query, headers=strict)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    OperationOutcome.model_validate(body)
    assert [issue["expression"] for issue in body["issue"]] == [["identifier"]]
    assert "code, date, _count, _cursor" in body["issue"][0]["diagnostics"]
    # The preference's value may be a quoted-string (RFC 7240 §2): it is the same preference.
    quoted = {**app.headers, "Prefer": 'handling = "strict"'}
    assert (await client.get("/fhir/Observation", params=query, headers=quoted)).status_code == 400
    # Lenient (FHIR's default): the search runs, and its self link names only what was read.
    answer = await client.get("/fhir/Observation", params=query, headers=app.headers)
    assert answer.status_code == 200, answer.text
    (self_link,) = [link["url"] for link in answer.json()["link"] if link["relation"] == "self"]
    assert "identifier" not in self_link and len(answer.json()["entry"]) == 1
    strict_and_known = {"code": "8867-4", "date": "ge2020-01-01", "_count": "10"}
    assert (await client.get("/fhir/Observation", params=strict_and_known, headers=strict)).status_code == 200


def with_device(resource: dict[str, Any], device: dict[str, Any]) -> dict[str, Any]:
    url = "urn:uuid:d36bfdb6-b1b1-4efd-9cb9-d217a8696575"
    bundle = transaction({**resource, "device": {"reference": url}})
    entry = {
        "fullUrl": url,
        "resource": {"resourceType": "Device", **device},
        "request": {"method": "POST", "url": "Device"},
    }
    bundle["entry"].insert(0, entry)
    return bundle


async def test_a_devices_name_given_by_the_person_is_not_its_model(client, person, make_app_token):
    # deviceName "Ma balance de Camille" of type patient-reported-name (the guide's example names a
    # scale so) became the device's model, which the export then wrote as its modelNumber and a
    # model-name: a nickname, the person's own name in it, given out as a model number.
    app = await make_app_token(person, ["vitals.body_weight:write"])
    nickname = {"name": "Ma balance de Camille", "type": "patient-reported-name"}
    bundle = with_device(observation("29463-7", 71, "kg"), {"manufacturer": "OMRON", "deviceName": [nickname]})
    answer = await client.post("/fhir", json=bundle, headers=app.headers)
    assert answer.status_code == 200, answer.text
    measure_id = answer.json()["entry"][1]["response"]["location"].removeprefix("Observation/")
    measure = (await client.get(f"{VITALS}/{measure_id}", headers=person.headers)).json()
    assert measure["device"] == {"manufacturer": "OMRON"}
    exported = (await client.get("/v1/spaces/me/export", headers=person.headers)).json()
    (device,) = [e["resource"] for e in exported["entry"] if e["resource"]["resourceType"] == "Device"]
    assert "modelNumber" not in device and "Camille" not in str(device)
    # A model-name (what ENS's own export writes) is the model; a nickname alone identifies nothing.
    model = {"name": "HBF-702T", "type": "model-name"}
    bundle = with_device(observation("29463-7", 72, "kg"), {"deviceName": [nickname, model]})
    answer = await client.post("/fhir", json=bundle, headers=app.headers)
    assert answer.status_code == 200, answer.text
    measure_id = answer.json()["entry"][1]["response"]["location"].removeprefix("Observation/")
    measure = (await client.get(f"{VITALS}/{measure_id}", headers=person.headers)).json()
    assert measure["device"] == {"model": "HBF-702T"}
    bundle = with_device(observation("29463-7", 73, "kg"), {"deviceName": [nickname]})
    issues = refusal(await client.post("/fhir", json=bundle, headers=app.headers))
    assert [where for where, _ in issues] == ["Bundle.entry[0].resource"], issues


async def test_the_location_a_transaction_answers_is_read(client, person, make_app_token):
    # The transaction-response names each stored measure by its location, Observation/<id>, which
    # answered 404: FHIR's read of it did not exist (a client following the location found nothing).
    app = await make_app_token(person, ["vitals.heart_rate:write", "vitals.heart_rate:read"])
    pulse = observation("8867-4", 64.4, "/min", bodySite={"text": "poignet gauche"})
    answer = await client.post("/fhir", json=transaction(pulse), headers=app.headers)
    assert answer.status_code == 200, answer.text
    location = answer.json()["entry"][0]["response"]["location"]
    read = await client.get(f"/fhir/{location}", headers=app.headers)
    assert read.status_code == 200, read.text
    assert read.headers["content-type"].startswith("application/fhir+json") and read.headers["etag"]
    resource = read.json()
    Observation.model_validate(resource)
    assert f"Observation/{resource['id']}" == location
    # The same Observation as the search gives it.
    found = (await client.get("/fhir/Observation", params={"code": "8867-4"}, headers=app.headers)).json()
    assert [e["resource"] for e in found["entry"]] == [resource]
    assert resource["valueQuantity"]["value"] == 64 and resource["bodySite"] == {"text": "poignet gauche"}
    again = await client.get(f"/fhir/{location}", headers={**app.headers, "If-None-Match": read.headers["etag"]})
    assert again.status_code == 304
    # A measure the app may not read is not found, as on /v1; so is one of no space's.
    other = await make_app_token(person, ["vitals.body_weight:read"])
    for headers, path in (
        (other.headers, location),
        (app.headers, "Observation/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12),
    ):
        missing = await client.get(f"/fhir/{path}", headers=headers)
        assert missing.status_code == 404, missing.text
        OperationOutcome.model_validate(missing.json())
    statement = (await client.get("/fhir/metadata")).json()
    (observations,) = [r for r in statement["rest"][0]["resource"] if r["type"] == "Observation"]
    assert [i["code"] for i in observations["interaction"]] == ["read", "search-type"]


async def test_a_coded_place_of_measure_is_kept_by_its_display(client, person, make_app_token):
    # The guide's blood pressure profile codes bodySite from JDV-J149 (TRE-R309-FMA: 24890 "Bras",
    # 24922 "Poignet"), with no text: the place was dropped without a word, ENS reading text only.
    app = await make_app_token(person, ["vitals.heart_rate:write", "vitals.heart_rate:read"])
    fma = "https://mos.esante.gouv.fr/NOS/TRE_R309-FMA/FHIR/TRE-R309-FMA"
    wrist = {"coding": [{"system": fma, "code": "24922", "display": "Poignet"}]}
    answer = await client.post(
        "/fhir", json=transaction(observation("8867-4", 64, "/min", bodySite=wrist)), headers=app.headers
    )
    assert answer.status_code == 200, answer.text
    measure_id = answer.json()["entry"][0]["response"]["location"].removeprefix("Observation/")
    measure = (await client.get(f"{VITALS}/{measure_id}", headers=person.headers)).json()
    assert measure["measurementLocation"] == "Poignet"
    # A text, when given, says it (as before); a code alone, with nothing to show, is refused.
    both = {"text": "poignet gauche", **wrist}
    answer = await client.post(
        "/fhir", json=transaction(observation("8867-4", 65, "/min", bodySite=both)), headers=app.headers
    )
    measure_id = answer.json()["entry"][0]["response"]["location"].removeprefix("Observation/")
    assert (await client.get(f"{VITALS}/{measure_id}", headers=person.headers)).json()["measurementLocation"] == (
        "poignet gauche"
    )
    bare = {"coding": [{"system": fma, "code": "24922"}]}
    body = transaction(observation("8867-4", 66, "/min", bodySite=bare))
    ((where, detail),) = refusal(await client.post("/fhir", json=body, headers=app.headers))
    assert where == "Bundle.entry[0].resource.bodySite" and "text" in detail


async def test_a_head_circumference_coded_as_fhirs_vital_signs_code_it_is_taken(client, person, make_app_token):
    # FHIR R4's head circumference profile codes it 9843-4 (Head Occipital-frontal circumference), as
    # the guide's terminology page (v3.1.1) lists it; ENS knew only 8287-5 (its "by tape measure"
    # form), and refused a paediatric scale's Observation as no measure it keeps.
    app = await make_app_token(person, ["vitals.head_circumference:write", "vitals.head_circumference:read"])
    head = observation("9843-4", 41.2, "cm", profile="mesures-observation-head-circumference")
    answer = await client.post("/fhir", json=transaction(head), headers=app.headers)
    assert answer.status_code == 200, answer.text
    location = answer.json()["entry"][0]["response"]["location"]
    measure = (await client.get(f"{VITALS}/{location.removeprefix('Observation/')}", headers=person.headers)).json()
    assert (measure["type"], measure["value"]) == ("head_circumference", 41.2)
    # It is given out under ENS's code (DOMAIN's 8287-5), and found by either.
    read = (await client.get(f"/fhir/{location}", headers=app.headers)).json()
    assert read["code"]["coding"][0]["code"] == "8287-5"
    for code in ("9843-4", "8287-5"):
        found = (await client.get("/fhir/Observation", params={"code": code}, headers=app.headers)).json()
        assert [e["resource"]["id"] for e in found["entry"]] == [read["id"]], code
