"""Booklet entries as FHIR R4 ``Immunization`` resources: they pass ``fhir.resources``' R4B models
(a structural check), and hold what ENS relies on: the CIS code first and the ATC code as a
translation, the occurrence as a date or (year, month) a string, the dose number, the lot, who gave
it, declared as a secondary report."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from fhir.resources.R4B.immunization import Immunization

from ens.core import db
from ens.vaccination.fhir import ATC_SYSTEM, CIS_SYSTEM, ORIGIN_SYSTEM
from ens.vaccination.service import immunizations
from tests.helpers.vaccination import vaccine_id

BOOKLET = "/v1/spaces/me/vaccinations"
FHIR = "application/fhir+json"


async def _as_fhir(client: Any, person: Any, entry_id: str) -> dict[str, Any]:
    response = await client.get(f"{BOOKLET}/{entry_id}", headers={**person.headers, "Accept": FHIR})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(FHIR)
    resource: dict[str, Any] = response.json()
    Immunization.model_validate(resource)
    return resource


async def test_a_full_entry_of_the_catalogue(client, person):
    body = {
        "vaccineId": await vaccine_id(client, "hexyon", "HEXYON"),
        "date": "2024-03-12",
        "doseNumber": 2,
        "lotNumber": "X1234",
        "administeredBy": "Dr Martin",
        "location": "PMI de Lyon 3e",
        "note": "aucune réaction",
    }
    entry = (await client.post(BOOKLET, json=body, headers=person.headers)).json()
    resource = await _as_fhir(client, person, entry["id"])
    assert resource["resourceType"] == "Immunization" and resource["id"] == entry["id"]
    assert resource["status"] == "completed"
    assert resource["patient"] == {"reference": f"urn:uuid:{person.space_id}"}
    codings = resource["vaccineCode"]["coding"]
    assert codings[0] == {"system": CIS_SYSTEM, "code": "60645557", "display": "HEXYON"}
    assert codings[1] == {"system": ATC_SYSTEM, "code": "J07CA09"}
    assert resource["vaccineCode"]["text"] == "HEXYON"
    assert resource["occurrenceDateTime"] == "2024-03-12" and "occurrenceString" not in resource
    assert resource["lotNumber"] == "X1234"
    assert resource["primarySource"] is False
    assert resource["reportOrigin"]["coding"][0]["system"] == ORIGIN_SYSTEM
    assert resource["reportOrigin"]["coding"][0]["code"] == "recall"
    assert resource["performer"][0]["actor"] == {"display": "Dr Martin"}
    assert resource["performer"][0]["function"]["coding"][0]["code"] == "AP"
    assert resource["location"] == {"display": "PMI de Lyon 3e"}
    assert resource["note"] == [{"text": "aucune réaction"}]
    applied = resource["protocolApplied"]
    assert [p["doseNumberPositiveInt"] for p in applied] == [2]
    assert [d["text"] for d in applied[0]["targetDisease"]] == [
        "Diphtérie",
        "Tétanos",
        "Coqueluche",
        "Poliomyélite",
        "Infections invasives à Haemophilus influenzae de type b",
        "Hépatite B",
    ]


async def test_partial_dates_and_vaccines_by_name(client, person):
    month = (
        await client.post(
            BOOKLET,
            json={"vaccineName": "DT Polio", "diseases": ["diphtheria", "tetanus", "polio"], "date": "1998-05"},
            headers=person.headers,
        )
    ).json()
    year = (
        await client.post(
            BOOKLET,
            json={"vaccineId": await vaccine_id(client, "priorix", "PRIORIX"), "date": "1992"},
            headers=person.headers,
        )
    ).json()
    by_month = await _as_fhir(client, person, month["id"])
    assert by_month["occurrenceString"] == "1998-05" and "occurrenceDateTime" not in by_month
    assert by_month["vaccineCode"] == {"text": "DT Polio"}  # no CIS code to give
    assert "lotNumber" not in by_month and "performer" not in by_month
    # No rank in the booklet: FHIR's protocolApplied still carries the diseases, the rank in words.
    applied = by_month["protocolApplied"][0]
    assert applied["doseNumberString"] == "rang non précisé" and "doseNumberPositiveInt" not in applied
    assert [c["coding"][0]["code"] for c in applied["targetDisease"]] == ["diphtheria", "tetanus", "polio"]
    by_year = await _as_fhir(client, person, year["id"])
    assert by_year["occurrenceString"] == "1992"
    assert by_year["vaccineCode"]["coding"][0]["system"] == CIS_SYSTEM


async def test_the_export_gives_every_entry_as_a_valid_immunization(client, person):
    prevenar = await vaccine_id(client, "prevenar 13", "PREVENAR 13")
    for when in ("2024-01-10", "2024-03-10", "2024-12"):
        assert (
            await client.post(BOOKLET, json={"vaccineId": prevenar, "date": when}, headers=person.headers)
        ).status_code == 201
    resources = await immunizations(person.space_id, with_hidden=True)
    assert len(resources) == 3
    for resource in resources:
        as_json = msgspec.to_builtins(resource)
        Immunization.model_validate(as_json)
        assert (
            as_json["resourceType"] == "Immunization"
            and as_json["patient"]["reference"] == f"urn:uuid:{person.space_id}"
        )


async def test_a_validated_entry_is_the_primary_source(client, person):
    entry = (
        await client.post(
            BOOKLET,
            json={"vaccineId": await vaccine_id(client, "shingrix", "SHINGRIX"), "date": "2025-01-10"},
            headers=person.headers,
        )
    ).json()
    await db.fetch(
        "UPDATE vaccinations SET status = 'validated' WHERE space_id = {} AND id = {}",
        person.space_id,
        uuid.UUID(entry["id"]),
    )
    resource = await _as_fhir(client, person, entry["id"])
    assert resource["primarySource"] is True and "reportOrigin" not in resource
