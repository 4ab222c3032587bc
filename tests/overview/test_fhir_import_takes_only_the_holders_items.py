"""An export is one person's: every item names the Bundle's ``Patient`` (its ``subject`` or
``patient``). An item naming someone else — another Patient than the Bundle's, or, in a Bundle
without its Patient, another than the other items name — is someone else's measure, vaccination or
record: the import had taken it into the importer's space without a word (found by an outside audit
of data portability: two family members' exports merged into one Bundle came in as one person's).
It is refused, 422 at the entry, before anything is written; an item naming no one stays the
space's own, as on ``/fhir``."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from tests.helpers.fhir import FHIR, fill_every_kind
from tests.helpers.people import MakePerson, Person

EXPORT = "/v1/spaces/me/export"
IMPORT = "/v1/spaces/me/import"
STRANGER = "urn:uuid:11111111-1111-4111-8111-111111111111"
# Where each kind the export writes names the person it is about.
ABOUT = {
    "Observation": "subject",
    "Condition": "subject",
    "MedicationStatement": "subject",
    "DocumentReference": "subject",
    "Immunization": "patient",
    "AllergyIntolerance": "patient",
    "FamilyMemberHistory": "patient",
    "RelatedPerson": "patient",
    "Consent": "patient",
    "Device": "patient",
}


async def _imported(client: httpx.AsyncClient, bundle: dict[str, Any], newcomer: Person) -> httpx.Response:
    return await client.post(
        IMPORT, content=json.dumps(bundle).encode(), headers={**newcomer.headers, "Content-Type": FHIR}
    )


async def _nothing_kept(client: httpx.AsyncClient, newcomer: Person) -> None:
    after = (await client.get(EXPORT, headers=newcomer.headers)).json()
    assert [e["resource"]["resourceType"] for e in after["entry"]] == ["Patient"]


@pytest.fixture
async def exported(client: httpx.AsyncClient, person: Person) -> dict[str, Any]:
    await fill_every_kind(client, person)
    bundle: dict[str, Any] = (await client.get(EXPORT, headers=person.headers)).json()
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} >= set(ABOUT)
    return bundle


async def test_an_item_naming_someone_the_bundle_does_not_hold_is_refused(
    client: httpx.AsyncClient, exported: dict[str, Any], make_person: MakePerson
) -> None:
    newcomer = await make_person("Jade")
    for kind, element in ABOUT.items():
        edited = copy.deepcopy(exported)
        index, entry = next((i, e) for i, e in enumerate(edited["entry"]) if e["resource"]["resourceType"] == kind)
        entry["resource"][element] = {"reference": STRANGER}
        answer = await _imported(client, edited, newcomer)
        assert answer.status_code == 422, (kind, answer.text)
        assert answer.json()["errors"] == [
            {"pointer": f"/entry/{index}/resource", "detail": f"{kind}.{element}: not the Bundle's Patient"}
        ], kind
    await _nothing_kept(client, newcomer)


async def test_a_second_person_s_items_in_the_bundle_are_refused(
    client: httpx.AsyncClient, exported: dict[str, Any], make_person: MakePerson
) -> None:
    """Two exports merged: the second person's Patient, and their items naming it, before or after it."""
    newcomer = await make_person("Jade")
    patient = exported["entry"][0]
    assert patient["resource"]["resourceType"] == "Patient"
    other = copy.deepcopy(patient)
    other["fullUrl"], other["resource"]["id"] = STRANGER, STRANGER.removeprefix("urn:uuid:")
    merged = copy.deepcopy(exported)
    merged["entry"].append(other)
    answer = await _imported(client, merged, newcomer)
    assert answer.status_code == 422, answer.text
    last = len(merged["entry"]) - 1
    assert answer.json()["errors"] == [{"pointer": f"/entry/{last}", "detail": "a second Patient: an export holds one"}]

    # Their measure, named before either Patient comes.
    measure = next(e for e in exported["entry"] if e["resource"]["resourceType"] == "Observation")
    theirs = copy.deepcopy(measure)
    theirs["resource"]["subject"] = {"reference": STRANGER}
    merged = copy.deepcopy(exported)
    merged["entry"] = [theirs, *[e for e in merged["entry"] if e["fullUrl"] != measure["fullUrl"]]]
    answer = await _imported(client, merged, newcomer)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == [
        {"pointer": "/entry/0/resource", "detail": "Observation.subject: not the Bundle's Patient"}
    ]

    # Without the Patients: the items of two people still name two.
    without = [e for e in merged["entry"] if e["resource"]["resourceType"] != "Patient"]
    answer = await _imported(client, {**merged, "entry": without[1:] + without[:1]}, newcomer)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == [
        {"pointer": f"/entry/{len(without) - 1}/resource", "detail": "Observation.subject: not the Bundle's Patient"}
    ]
    await _nothing_kept(client, newcomer)


async def test_an_item_naming_the_patient_in_any_order_or_no_one_is_imported(
    client: httpx.AsyncClient, exported: dict[str, Any], make_person: MakePerson
) -> None:
    newcomer = await make_person("Jade")
    reordered = copy.deepcopy(exported)
    reordered["entry"].append(reordered["entry"].pop(0))  # the Patient last
    patient_id = reordered["entry"][-1]["resource"]["id"]
    for entry in reordered["entry"]:
        if entry["resource"]["resourceType"] == "Condition":
            del entry["resource"]["subject"]  # named by no one: the space's own
        if entry["resource"]["resourceType"] == "Immunization":
            # By the Patient's type and id, as FHIR resolves a relative reference inside a Bundle.
            entry["resource"]["patient"] = {"reference": f"Patient/{patient_id}"}
    answer = await _imported(client, reordered, newcomer)
    assert answer.status_code == 201, answer.text
    assert answer.json()["imported"]["Condition"] == 1
    assert answer.json()["imported"]["Immunization"] == 2


async def test_a_reference_that_is_no_reference_is_refused(
    client: httpx.AsyncClient, exported: dict[str, Any], make_person: MakePerson
) -> None:
    newcomer = await make_person("Jade")
    for about in ("x", {"display": "Camille"}, {"reference": 3}):
        edited = copy.deepcopy(exported)
        index = next(i for i, e in enumerate(edited["entry"]) if e["resource"]["resourceType"] == "Immunization")
        edited["entry"][index]["resource"]["patient"] = about
        answer = await _imported(client, edited, newcomer)
        assert answer.status_code == 422, (about, answer.text)
        assert answer.json()["errors"][0]["pointer"] == f"/entry/{index}/resource", about
    await _nothing_kept(client, newcomer)
