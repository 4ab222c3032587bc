"""A space with every kind of data, and FHIR Bundles checked as a FHIR consumer would."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.device import Device
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.familymemberhistory import FamilyMemberHistory
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.relatedperson import RelatedPerson

from ens.records.fhir import RecordsFhir, directives_as_fhir, records_as_fhir
from tests.helpers.documents import LAB_REPORT, metadata, pdf, upload
from tests.helpers.people import Person
from tests.helpers.records import CONTACTS, DIRECTIVES, DOCTOR, TRUSTED_PERSON, contact, doctor, structured, trusted
from tests.helpers.vitals import VITALS, at


def paper_tetanus_dose(full_url: str) -> dict[str, Any]:
    """A Bundle entry: a tetanus dose (Revaxis, 12 March 2020) as a paper booklet's, to import."""
    return {
        "fullUrl": full_url,
        "resource": {
            "resourceType": "Immunization",
            "status": "completed",
            "vaccineCode": {"text": "Revaxis"},
            "occurrenceDateTime": "2020-03-12",
            "protocolApplied": [
                {"targetDisease": [{"coding": [{"system": "urn:ens:fhir:disease", "code": "tetanus"}]}]}
            ],
        },
    }


FHIR = "application/fhir+json"
PROFILE = "/v1/spaces/me/profile"
BOOKLET = "/v1/spaces/me/vaccinations"

MODELS: dict[str, Any] = {
    "Patient": Patient,
    "Observation": Observation,
    "Device": Device,
    "DocumentReference": DocumentReference,
    "Immunization": Immunization,
    "Consent": Consent,
    "RelatedPerson": RelatedPerson,
    "Practitioner": Practitioner,
    "Condition": Condition,
    "AllergyIntolerance": AllergyIntolerance,
    "MedicationStatement": MedicationStatement,
    "FamilyMemberHistory": FamilyMemberHistory,
}

SCALE = {"manufacturer": "OMRONHEALTHCARE", "model": "HBF-702T", "identifier": "FE-ED-AB-AA-DE-AD-77-C5"}


def every_measure() -> list[dict[str, Any]]:
    """One measure of each of the 10 types, with the context each may carry."""
    return [
        {"type": "body_weight", "value": 71.25, "unit": "kg", "effectiveAt": at(60), "device": SCALE},
        {"type": "body_weight", "value": 158, "unit": "[lb_av]", "effectiveAt": at(50), "device": SCALE},
        {"type": "body_height", "value": 1.72, "unit": "m", "effectiveAt": at(59)},
        {"type": "heart_rate", "value": 64, "unit": "/min", "effectiveAt": at(58), "bodyPosition": "sitting"},
        {
            "type": "blood_pressure",
            "components": {"systolic": 121, "diastolic": 79},
            "unit": "mm[Hg]",
            "effectiveAt": at(57),
            "measurementLocation": "bras gauche",
            "device": {"manufacturer": "OMRONHEALTHCARE", "model": "HEM-9200T"},
        },
        {"type": "body_temperature", "value": 98.6, "unit": "[degF]", "effectiveAt": at(56)},
        {"type": "waist_circumference", "value": 84, "unit": "cm", "effectiveAt": at(55)},
        {
            "type": "blood_glucose",
            "value": 1.05,
            "unit": "g/L",
            "effectiveAt": at(54),
            "glucoseMoment": "fasting",
            "note": "à jeun depuis 12 h",
        },
        {"type": "steps_per_day", "value": 8432, "unit": "/d", "effectiveAt": at(60 * 24 * 2)},
        {"type": "pain_severity", "value": 3, "unit": "{score}", "effectiveAt": at(53)},
        {"type": "head_circumference", "value": 57.5, "unit": "cm", "effectiveAt": at(52)},
    ]


async def fill_every_kind(client: httpx.AsyncClient, person: Person) -> None:
    """Records of every kind, a booklet (full and partial dates), every measure and a document."""
    headers = person.headers

    async def ok(response: Any) -> None:
        answer = await response
        assert answer.status_code in (200, 201), answer.text

    await ok(client.put(TRUSTED_PERSON, json=trusted(alsoEmergencyContact=True), headers=headers))
    await ok(client.post(CONTACTS, json=contact("Paul", email="paul@example.test"), headers=headers))
    await ok(client.put(DIRECTIVES, json=structured(), headers=headers))
    await ok(client.put(DOCTOR, json=doctor(), headers=headers))
    condition = {"label": "Diabète de type 2", "since": "2019-03-01", "code": "E11.9"}
    await ok(client.post(f"{PROFILE}/conditions", json=condition, headers=headers))
    allergy = {"substance": "Pénicilline", "reaction": "urticaire", "severity": "severe"}
    await ok(client.post(f"{PROFILE}/allergies", json=allergy, headers=headers))
    treatment = {"medication": "Metformine", "dose": "1000 mg", "since": "2019-03-02"}
    await ok(client.post(f"{PROFILE}/treatments", json=treatment, headers=headers))
    family = {"relative": "mother", "condition": "Cancer du sein"}
    await ok(client.post(f"{PROFILE}/family-history", json=family, headers=headers))
    await ok(
        client.post(
            BOOKLET,
            json={
                "vaccineName": "Revaxis",
                "diseases": ["diphtheria", "tetanus", "polio"],
                "date": "2021-06-15",
                "doseNumber": 4,
                "lotNumber": "L123",
                "administeredBy": "Dr Martin",
            },
            headers=headers,
        )
    )
    partial = {"vaccineName": "DT Polio", "diseases": ["diphtheria", "tetanus", "polio"], "date": "1998-05"}
    await ok(client.post(BOOKLET, json=partial, headers=headers))
    await ok(client.post(VITALS, json={"measurements": every_measure()}, headers=headers))
    await ok(upload(client, headers, pdf(2000), meta=metadata(typeCode=LAB_REPORT, author="Laboratoire Biomed")))


def check_bundle(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every resource passes its R4B model, the Bundle too, and every reference resolves inside
    it; answers the resources by fullUrl."""
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    by_url: dict[str, dict[str, Any]] = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        MODELS[resource["resourceType"]].model_validate(resource)
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
        assert entry["fullUrl"] not in by_url, "each resource once"
        by_url[entry["fullUrl"]] = resource
    for url, resource in by_url.items():
        for reference in references_in(resource):
            assert reference in by_url, f"{url} refers to {reference}, which is not in the Bundle"
    return by_url


def references_in(value: Any) -> list[str]:
    """Every ``reference`` of every Reference in a resource, however deep."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "reference" and isinstance(inner, str):
                found.append(inner)
            else:
                found += references_in(inner)
    elif isinstance(value, list):
        for inner in value:
            found += references_in(inner)
    return found


async def every_record(space_id: uuid.UUID, *, with_hidden: bool = True) -> RecordsFhir:
    """Every record of the space as the export maps it: the directives' versions (oldest first),
    then the rest (:func:`records_as_fhir`)."""
    consents = [consent async for consent in directives_as_fhir(space_id, timezone="Europe/Paris")]
    rest = await records_as_fhir(space_id, timezone="Europe/Paris", with_hidden=with_hidden)
    return RecordsFhir(resources=[*consents, *rest.resources], general_practitioner=rest.general_practitioner)
