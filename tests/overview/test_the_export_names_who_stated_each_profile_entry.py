"""A profile entry's FHIR resource says who stated it: a Condition's and an AllergyIntolerance's
``asserter``, a MedicationStatement's ``informationSource``. The export named the patient for
every entry, even one a professional or a parent recorded in the space: what the doctor found, or
what a parent typed into their child's space, became, in the Bundle, what the patient said."""

from __future__ import annotations

from typing import Any

import httpx

from ens.core.settings import Settings
from tests.helpers.carers import create_child_space, today_in_paris, years_before
from tests.helpers.fhir import check_bundle
from tests.helpers.people import MakePerson, Person
from tests.helpers.professionals import GP, authorise, sign_in_pro

ENTRIES = {
    "conditions": ({"label": "Asthme"}, "Condition", "asserter"),
    "allergies": ({"substance": "Pénicilline"}, "AllergyIntolerance", "asserter"),
    "treatments": ({"medication": "Salbutamol"}, "MedicationStatement", "informationSource"),
}


async def _entry(client: httpx.AsyncClient, space: str, kind: str, headers: dict[str, str]) -> str:
    answer = await client.post(f"/v1/spaces/{space}/profile/{kind}", json=ENTRIES[kind][0], headers=headers)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _by_id(by_url: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {resource["id"]: resource for resource in by_url.values()}


async def test_an_entry_a_professional_recorded_is_stated_by_them_and_the_persons_by_the_patient(
    client: httpx.AsyncClient, settings: Settings, person: Person
) -> None:
    doctor = await sign_in_pro(settings, GP, given_name="Hélène", family_name="Bernard")
    await authorise(client, person, doctor, space=person.space_id)
    by_doctor = {kind: await _entry(client, str(person.space_id), kind, doctor.headers) for kind in ENTRIES}
    by_person = {kind: await _entry(client, "me", kind, person.headers) for kind in ENTRIES}
    resources = _by_id(check_bundle((await client.get("/v1/spaces/me/export", headers=person.headers)).json()))
    patient = next(r for r in resources.values() if r["resourceType"] == "Patient")
    for kind, (_, resource_type, element) in ENTRIES.items():
        theirs, own = resources[by_doctor[kind]], resources[by_person[kind]]
        assert theirs["resourceType"] == own["resourceType"] == resource_type
        assert theirs[element] == {"display": "Hélène Bernard"}, kind
        assert own[element] == {"reference": f"urn:uuid:{patient['id']}"}, kind


async def test_an_entry_a_parent_recorded_is_stated_by_them(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    parent = await make_person("Jeanne", "Moreau")
    child = await create_child_space(client, parent, birthdate=years_before(today_in_paris(), 6))
    typed = {kind: await _entry(client, str(child), kind, parent.headers) for kind in ENTRIES}
    export = await client.get(f"/v1/spaces/{child}/export", headers=parent.headers)
    resources = _by_id(check_bundle(export.json()))
    for kind, (_, _, element) in ENTRIES.items():
        assert resources[typed[kind]][element] == {"display": "Jeanne Moreau"}, kind
