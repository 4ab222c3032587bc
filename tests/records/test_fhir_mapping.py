"""The records as FHIR R4 resources (for the export): each passes fhir.resources' R4B models (a
structural check), and the invariants the mapping relies on are tested here."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import msgspec
from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.familymemberhistory import FamilyMemberHistory
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.relatedperson import RelatedPerson
from pypdf import PdfReader

from ens.core.fhir import encode as as_json
from tests.helpers.fhir import every_record
from tests.helpers.records import (
    CONTACTS,
    DIRECTIVES,
    DOCTOR,
    TRUSTED_PERSON,
    VALID_RPPS,
    contact,
    doctor,
    structured,
    trusted,
)

MODELS: dict[str, Any] = {
    "Consent": Consent,
    "RelatedPerson": RelatedPerson,
    "Practitioner": Practitioner,
    "Condition": Condition,
    "AllergyIntolerance": AllergyIntolerance,
    "MedicationStatement": MedicationStatement,
    "FamilyMemberHistory": FamilyMemberHistory,
}
PROFILE = "/v1/spaces/me/profile"


async def _fill(client, person) -> None:
    headers = person.headers
    await client.put(TRUSTED_PERSON, json=trusted(alsoEmergencyContact=True), headers=headers)
    await client.post(CONTACTS, json=contact("Paul", email="paul@example.test"), headers=headers)
    await client.put(DIRECTIVES, json=structured(), headers=headers)
    await client.put(DOCTOR, json=doctor(), headers=headers)
    await client.post(
        f"{PROFILE}/conditions",
        json={"label": "Diabète de type 2", "since": "2019-03-01", "code": "E11.9"},
        headers=headers,
    )
    await client.post(f"{PROFILE}/conditions", json={"label": "Appendicectomie"}, headers=headers)
    await client.post(f"{PROFILE}/allergies", json={"substance": "Pénicilline", "severity": "severe"}, headers=headers)
    await client.post(f"{PROFILE}/allergies", json={"substance": "Latex"}, headers=headers)
    await client.post(
        f"{PROFILE}/treatments",
        json={"medication": "Metformine", "dose": "1000 mg", "since": "2019-03-02"},
        headers=headers,
    )
    await client.post(
        f"{PROFILE}/treatments",
        json={"medication": "Amoxicilline", "since": "2024-01-01", "until": "2024-01-08"},
        headers=headers,
    )
    await client.post(
        f"{PROFILE}/family-history", json={"relative": "mother", "condition": "Cancer du sein"}, headers=headers
    )


def _resources(json_resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in json_resources if r["resourceType"] == kind]


async def test_every_record_maps_to_a_valid_r4_resource(client, person):
    await _fill(client, person)
    mapped = await every_record(person.space_id)
    resources = [json.loads(as_json(resource)) for resource in mapped.resources]
    for resource in resources:
        MODELS[resource["resourceType"]].model_validate(resource)  # raises on a structural error
    kinds = sorted(r["resourceType"] for r in resources)
    assert kinds == sorted(
        [
            "Consent",
            *["RelatedPerson"] * 2,
            "Practitioner",
            *["Condition"] * 2,
            *["AllergyIntolerance"] * 2,
            *["MedicationStatement"] * 2,
            "FamilyMemberHistory",
        ]
    )
    patient = f"urn:uuid:{person.space_id}"

    [consent] = _resources(resources, "Consent")
    assert consent["status"] == "active"
    assert consent["scope"]["coding"] == [
        {
            "system": "http://terminology.hl7.org/CodeSystem/consentscope",
            "code": "adr",
            "display": "Advanced Care Directive",
        }
    ]
    # ppc-1: a policy or a policy rule; ppc-4: an adr consent names its patient.
    assert consent.get("policy") or consent.get("policyRule")
    assert consent["patient"] == {"reference": patient}
    attachment = consent["sourceAttachment"]
    assert attachment["contentType"] == "application/pdf" and attachment["language"] == "fr"
    pdf = base64.b64decode(attachment["data"])
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Version 1" in text and "ma sœur François-Xavière" in text
    provisions = {p["code"][0]["text"]: p.get("type") for p in consent["provision"]["provision"]}
    assert provisions["Réanimation cardio-respiratoire : refusé"] == "deny"
    assert provisions["Dialyse : accepté"] == "permit"
    assert provisions["Respiration artificielle : laissé à la décision des médecins"] is None

    related = {r["name"][0]["family"]: r for r in _resources(resources, "RelatedPerson")}
    trusted_person, emergency = related["Durand"], related["Martin"]
    assert trusted_person["name"] == [{"family": "Durand", "given": ["Élise"]}]
    assert trusted_person["relationship"][0]["text"].startswith("Personne de confiance")
    assert {"system": "phone", "value": "+33612345678", "rank": 1} in trusted_person["telecom"]
    assert emergency["relationship"][0]["coding"][0]["code"] == "C"
    assert emergency["telecom"] == [
        {"system": "phone", "value": "+33142685300", "rank": 1},
        {"system": "email", "value": "paul@example.test"},
    ]
    assert all(r["patient"] == {"reference": patient} for r in (trusted_person, emergency))

    [practitioner] = _resources(resources, "Practitioner")
    identifiers = {i["system"]: i["value"] for i in practitioner["identifier"]}
    assert identifiers == {"https://rpps.esante.gouv.fr": VALID_RPPS, "urn:oid:1.2.250.1.71.4.2.1": "8" + VALID_RPPS}

    conditions = _resources(resources, "Condition")
    # con-3: clinicalStatus is present (the category is problem-list-item).
    assert all(c["clinicalStatus"]["coding"][0]["code"] == "active" for c in conditions)
    diabetes = next(c for c in conditions if c["code"]["text"] == "Diabète de type 2")
    assert diabetes["code"]["coding"] == [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "E11.9"}]
    assert diabetes["onsetDateTime"] == "2019-03-01"
    allergies = {a["code"]["text"]: a for a in _resources(resources, "AllergyIntolerance")}
    # ait-1: clinicalStatus present; a reaction always has a manifestation.
    assert allergies["Pénicilline"]["reaction"][0]["severity"] == "severe"
    assert allergies["Pénicilline"]["reaction"][0]["manifestation"]
    assert "reaction" not in allergies["Latex"]
    statements = {m["medicationCodeableConcept"]["text"]: m for m in _resources(resources, "MedicationStatement")}
    assert statements["Metformine"]["status"] == "active" and statements["Metformine"]["dosage"] == [
        {"text": "1000 mg"}
    ]
    assert statements["Amoxicilline"]["status"] == "completed"
    assert statements["Amoxicilline"]["effectivePeriod"] == {"start": "2024-01-01", "end": "2024-01-08"}
    [family] = _resources(resources, "FamilyMemberHistory")
    assert family["relationship"]["coding"][0]["code"] == "MTH"


async def test_the_doctor_is_the_patients_general_practitioner_and_references_resolve_in_a_bundle(client, person):
    await _fill(client, person)
    mapped = await every_record(person.space_id)
    patient = {
        "resourceType": "Patient",
        "id": str(person.space_id),
        "name": [{"family": person.family_name, "given": [person.given_name]}],
        "generalPractitioner": [msgspec.to_builtins(reference) for reference in mapped.general_practitioner],
    }
    Patient.model_validate(patient)
    resources = [json.loads(as_json(resource)) for resource in mapped.resources]
    [practitioner] = _resources(resources, "Practitioner")
    assert patient["generalPractitioner"] == [
        {"reference": f"urn:uuid:{practitioner['id']}", "display": "Jacques Lefèvre"}
    ]
    entries = [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in [patient, *resources]]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    Bundle.model_validate(bundle)
    # Every reference in the records names an entry of the bundle.
    full_urls = {entry["fullUrl"] for entry in entries}
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("reference"), str):
                found.append(value["reference"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(bundle)
    assert found and set(found) <= full_urls


async def test_revoked_directives_are_an_inactive_consent_and_a_pointer_has_no_pdf(client, make_person):
    revoking, pointing = await make_person(), await make_person()
    written = await client.put(DIRECTIVES, json=structured(), headers=revoking.headers)
    await client.delete(DIRECTIVES, headers={**revoking.headers, "If-Match": written.headers["etag"]})
    await client.put(DIRECTIVES, json={"pointer": {"location": "Chez le notaire"}}, headers=pointing.headers)

    # The version revoked, then the revocation: both inactive, the first keeping what it said.
    written_version, revoked = (await every_record(revoking.space_id)).resources
    assert json.loads(as_json(written_version))["status"] == "inactive"
    assert json.loads(as_json(written_version))["sourceAttachment"]["contentType"] == "application/pdf"
    [pointer] = (await every_record(pointing.space_id)).resources
    for resource in (revoked, pointer):
        body = json.loads(as_json(resource))
        Consent.model_validate(body)
        assert body.get("policyRule") and body["patient"]["reference"].startswith("urn:uuid:")
    revoked_body, pointer_body = json.loads(as_json(revoked)), json.loads(as_json(pointer))
    assert revoked_body["status"] == "inactive" and "sourceAttachment" not in revoked_body
    assert pointer_body["status"] == "active" and "data" not in pointer_body["sourceAttachment"]
    assert "Chez le notaire" in pointer_body["sourceAttachment"]["title"]
