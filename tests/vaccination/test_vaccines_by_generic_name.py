"""A vaccine typed from a paper booklet by its generic name or abbreviation (ROR, DT Polio, Hépatite
B...): the server adds its diseases, as API.md says, so a client that never sends ``diseases`` is
not refused; a name ENS does not know is kept with none and counts for no dose. And the texts of an
entry are never blank (only spaces, or invisible characters): a 422 at the field's pointer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ens.vaccination.calendar import disease_labels, schedule_data
from ens.vaccination.generic_names import NAMES_FILE, diseases_of_generic_name, read_generic_names
from tests.helpers.vaccination import entry_count, vaccine_id

BOOKLET = "/v1/spaces/me/vaccinations"
DTP = ["diphtheria", "tetanus", "polio"]
DTCAP = ["diphtheria", "tetanus", "pertussis", "polio"]


async def _post(client: Any, who: Any, body: dict[str, Any]) -> Any:
    return await client.post(BOOKLET, json=body, headers=who.headers)


@pytest.mark.parametrize(
    ("name", "diseases"),
    [
        ("ROR", ["measles", "mumps", "rubella"]),
        ("ror", ["measles", "mumps", "rubella"]),
        ("Vaccin ROR, 2ème dose", ["measles", "mumps", "rubella"]),
        ("DTP", DTP),
        ("DTPolio", DTP),
        ("DT-Polio", DTP),
        ("dT Polio", DTP),
        ("dTP", DTP),
        ("Rappel DTP", DTP),
        ("DTCaP", DTCAP),
        ("dTcaP", DTCAP),
        ("DTCoq-Polio", DTCAP),
        ("Hib", ["hib"]),
        ("BCG", ["tuberculosis"]),
        ("hépatite B", ["hepatitis_b"]),
        ("HEPATITE B", ["hepatitis_b"]),
        ("Vaccin contre l'hépatite B", ["hepatitis_b"]),
        ("HepB", ["hepatitis_b"]),
        ("VHB", ["hepatitis_b"]),
        ("pneumocoque", ["pneumococcus"]),
        ("Méningocoque C", ["meningococcus_c"]),
        ("HPV", ["hpv"]),
        ("Papillomavirus", ["hpv"]),
        ("Grippe 2019-2020", ["influenza"]),
        ("Zona", ["herpes_zoster"]),
        ("Covid-19", ["covid19"]),
        ("varicelle", ["varicella"]),
        ("Coqueluche", ["pertussis"]),
        ("Tétanos", ["tetanus"]),
        ("VAT", ["tetanus"]),
    ],
)
async def test_a_generic_name_gets_its_diseases_from_the_server(client, person, name, diseases):
    created = await _post(client, person, {"vaccineName": name, "date": "2019-05"})
    assert created.status_code == 201, created.text
    entry = created.json()
    assert (entry["vaccineId"], entry["vaccineName"], entry["diseases"]) == (None, name, diseases)


async def test_the_contracts_own_example_is_accepted_and_counts_in_the_schedule(client, person):
    """The audit's request: ROR in 1998, from a client that sends what API.md lists."""
    created = await _post(client, person, {"vaccineName": "ROR", "date": "1998"})
    assert created.status_code == 201, created.text
    assert created.json()["diseases"] == ["measles", "mumps", "rubella"]
    schedule = (await client.get(f"{BOOKLET}/schedule", headers=person.headers)).json()
    filled = [
        dose
        for disease in schedule["diseases"]
        for dose in disease["doses"]
        if dose["vaccinationId"] == created.json()["id"]
    ]
    assert {dose["doseId"].split(".")[0] for dose in filled} == {"measles", "mumps", "rubella"}


async def test_an_unknown_name_is_kept_with_no_disease_and_fills_no_dose(client, person):
    before = (await client.get(f"{BOOKLET}/schedule", headers=person.headers)).json()
    unknown = await _post(client, person, {"vaccineName": "Vaccin du dispensaire", "date": "2001-03-04"})
    assert unknown.status_code == 201, unknown.text
    assert unknown.json()["diseases"] == []
    # An empty list says no more than no list: the name's diseases when ENS knows it, else none.
    empty = await _post(client, person, {"vaccineName": "Un vaccin", "diseases": [], "date": "2002"})
    assert empty.status_code == 201 and empty.json()["diseases"] == [], empty.text
    known = await _post(client, person, {"vaccineName": "Rubéole", "diseases": [], "date": "2002"})
    assert known.status_code == 201 and known.json()["diseases"] == ["rubella"], known.text
    read = (await client.get(f"{BOOKLET}/{unknown.json()['id']}", headers=person.headers)).json()
    assert read == unknown.json()
    # The schedule, the certificate and the export take it: it is in the booklet, it fills nothing.
    schedule = (await client.get(f"{BOOKLET}/schedule", headers=person.headers)).json()
    ids = {dose["vaccinationId"] for disease in schedule["diseases"] for dose in disease["doses"]}
    assert unknown.json()["id"] not in ids and empty.json()["id"] not in ids
    assert schedule["counts"] == before["counts"]
    certificate = await client.get(BOOKLET, headers={**person.headers, "Accept": "application/pdf"})
    assert certificate.status_code == 200 and certificate.content.startswith(b"%PDF")
    exported = await client.get("/v1/spaces/me/export", headers=person.headers)
    assert exported.status_code == 200, exported.text
    immunizations = {
        item["resource"]["id"]: item["resource"]
        for item in exported.json()["entry"]
        if item["resource"]["resourceType"] == "Immunization"
    }
    resource = immunizations[unknown.json()["id"]]
    assert resource["vaccineCode"]["text"] == "Vaccin du dispensaire"
    assert "targetDisease" not in json.dumps(resource)
    # A correction that names no disease keeps it so.
    url = f"{BOOKLET}/{unknown.json()['id']}"
    corrected = await client.patch(url, json={"lotNumber": "A12"}, headers=person.headers)
    assert corrected.status_code == 200 and corrected.json()["diseases"] == [], corrected.text


async def test_a_brand_of_the_catalogue_comes_before_a_generic_name(client, person):
    listed = (await client.get("/v1/vaccines?q=revaxis", headers=person.headers)).json()["items"]
    revaxis = next(v for v in listed if v["brand"] == "REVAXIS")
    created = await _post(client, person, {"vaccineName": "revaxis", "date": "2010"})
    assert created.status_code == 201 and created.json()["diseases"] == revaxis["diseases"], created.text


def test_every_generic_name_stands_for_diseases_the_schedule_data_knows():
    known = disease_labels()
    table = read_generic_names(NAMES_FILE)
    assert len(table) > 100
    assert all(diseases and set(diseases) <= set(known) for diseases in table.values())
    calendar = {disease.code for disease in schedule_data().calendar.diseases}
    # Every disease of the calendar can be written by a generic name.
    assert calendar <= {code for diseases in table.values() for code in diseases}
    assert diseases_of_generic_name("Vaccin") is None and diseases_of_generic_name("ROR (Inde)") is None


def test_a_names_file_with_an_unknown_disease_or_a_clash_is_refused(tmp_path: Path):
    bad = tmp_path / "names.json"
    bad.write_text(json.dumps({"names": [{"names": ["BCG"], "disease_codes": ["tuberculosis", "scurvy"]}]}))
    with pytest.raises(ValueError, match="unknown disease codes"):
        read_generic_names(bad)
    bad.write_text(
        json.dumps(
            {
                "names": [
                    {"names": ["DT Polio"], "disease_codes": ["diphtheria", "tetanus", "polio"]},
                    {"names": ["DTPolio"], "disease_codes": ["polio"]},
                ]
            }
        )
    )
    with pytest.raises(ValueError, match="'DTPolio' stands for"):
        read_generic_names(bad)
    bad.write_text(json.dumps({"names": [{"names": ["Vaccin 1"], "disease_codes": ["polio"]}]}))
    with pytest.raises(ValueError, match="names nothing once folded"):
        read_generic_names(bad)


BLANKS = [" ", "   ", "\t\n", "\u200b", "\u200b\u200b", "\ufeff", "\u2060 \u200d"]
TEXT_FIELDS = ["vaccineName", "lotNumber", "administeredBy", "location", "note"]


@pytest.mark.parametrize("blank", BLANKS, ids=[repr(b) for b in BLANKS])
@pytest.mark.parametrize("field", TEXT_FIELDS)
async def test_a_blank_text_is_refused_at_its_pointer(client, person, field, blank):
    body = {"vaccineName": "X", "diseases": ["tetanus"], "date": "2009-05", field: blank}
    refused = await _post(client, person, body)
    assert refused.status_code == 422, refused.text
    assert [e["pointer"] for e in refused.json()["errors"]] == [f"/{field}"]
    assert await entry_count(person.space_id) == 0


async def test_a_blank_text_is_refused_in_a_correction_too(client, person):
    created = await _post(
        client, person, {"vaccineId": await vaccine_id(client, "revaxis", "REVAXIS"), "date": "2015-06-01"}
    )
    assert created.status_code == 201, created.text
    url = f"{BOOKLET}/{created.json()['id']}"
    for field in TEXT_FIELDS:
        refused = await client.patch(url, json={field: "\u200b "}, headers=person.headers)
        assert refused.status_code == 422, refused.text
        assert [e["pointer"] for e in refused.json()["errors"]] == [f"/{field}"]
    unchanged = (await client.get(url, headers=person.headers)).json()
    assert unchanged == created.json()
    # A text with something visible in it is fine; null clears an optional one.
    kept = await client.patch(url, json={"lotNumber": " L-42 ", "note": None}, headers=person.headers)
    assert kept.status_code == 200 and kept.json()["lotNumber"] == " L-42 ", kept.text
