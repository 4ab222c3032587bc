"""A vaccine typed as a booklet writes its brand — without its presentation, strength or version —
is that brand (an outside audit: "M-M-RVAXPRO", "Rotarix", "Engerix B10", "Prevenar",
"Comirnaty" were kept with no disease, filled no dose, and a child's certificate printed a
mandatory vaccination given twice as still to do). A name that several brands begin with and
whose diseases differ is none of them; entries stored before are given their diseases once."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from ens.core import db
from tests.helpers.carers import create_child_space
from tests.helpers.people import Person

MMR = ["measles", "mumps", "rubella"]
DTCAP = ["diphtheria", "tetanus", "pertussis", "polio"]


@pytest.mark.parametrize(
    ("name", "diseases"),
    [
        ("M-M-RVAXPRO", MMR),
        ("mmrvaxpro", MMR),
        ("Rotarix", ["rotavirus"]),
        ("Engerix B10", ["hepatitis_b"]),
        ("Engerix B 20", ["hepatitis_b"]),
        ("Prevenar", ["pneumococcus"]),
        ("Prevenar20", ["pneumococcus"]),
        ("Tetravac", DTCAP),
        ("Infanrix Tetra", DTCAP),
        ("Infanrix Quinta", [*DTCAP, "hib"]),
        ("Comirnaty", ["covid19"]),
        ("Comirnaty 30", ["covid19"]),
        ("Twinrix", ["hepatitis_a", "hepatitis_b"]),
        ("HBVaxpro", ["hepatitis_b"]),
        ("Vaccin Rotarix, 2e dose", ["rotavirus"]),
        ("Rappel Repevax", DTCAP),
        ("Vaccin rabique", ["rabies"]),
        # Brands that begin alike and differ: none of them. A product the catalogue does not hold,
        # whose name begins another's, is not that other: Boostrix has no polio (BoostrixTetra has),
        # and is among the old booklets' names, with what it covers, never polio.
        ("Infanrix", []),
        ("Boostrix", ["diphtheria", "pertussis", "tetanus"]),
        # Brands withdrawn before the catalogue, in old booklets (an outside audit found them with none).
        ("GenHevac B", ["hepatitis_b"]),
        ("Rudivax", ["rubella"]),
        ("Rouvax", ["measles"]),
        ("Trimovax", ["measles", "mumps", "rubella"]),
        ("ROR Vax", ["measles", "mumps", "rubella"]),
        ("Imovax Oreillons", ["mumps"]),
        ("Vaccin", []),
        # Too short to name a brand by its first letters.
        ("M-M", []),
    ],
)
async def test_a_brand_typed_as_a_booklet_writes_it(
    client: httpx.AsyncClient, person: Person, name: str, diseases: list[str]
) -> None:
    created = await client.post(
        "/v1/spaces/me/vaccinations", json={"vaccineName": name, "date": "2020-05-04"}, headers=person.headers
    )
    assert created.status_code == 201, created.text
    assert sorted(created.json()["diseases"]) == sorted(diseases)


def _status(schedule: dict[str, Any], dose_id: str) -> str:
    disease = dose_id.split(".")[0]
    [found] = [
        d["status"]
        for block in schedule["diseases"]
        if block["disease"] == disease
        for d in block["doses"]
        if d["doseId"] == dose_id
    ]
    return str(found)


async def test_two_mmr_doses_typed_by_brand_fill_the_schedule_and_the_certificate(
    client: httpx.AsyncClient, person: Person
) -> None:
    child = await create_child_space(client, person, birthdate=date(2023, 3, 10))
    booklet = f"/v1/spaces/{child}/vaccinations"
    for day in ("2024-03-11", "2024-07-10"):
        written = await client.post(booklet, json={"vaccineName": "M-M-RVAXPRO", "date": day}, headers=person.headers)
        assert written.status_code == 201 and written.json()["diseases"] == MMR, written.text
    schedule = (await client.get(f"{booklet}/schedule", headers=person.headers)).json()
    assert _status(schedule, "measles.mmr-1") == "done" and _status(schedule, "measles.mmr-2") == "done"


async def test_entries_stored_before_get_their_diseases_once(client: httpx.AsyncClient, person: Person) -> None:
    from ens.vaccination.piccolo_migrations.m2026_12_19_0002_brands_as_booklets_write_them import (
        name_the_brands_typed_before,
    )

    written = await client.post(
        "/v1/spaces/me/vaccinations", json={"vaccineName": "Rotarix", "date": "2021-02-03"}, headers=person.headers
    )
    unknown = await client.post(
        "/v1/spaces/me/vaccinations",
        json={"vaccineName": "Vaccin du dispensaire", "date": "2021"},
        headers=person.headers,
    )
    assert written.status_code == 201 and unknown.status_code == 201
    # As stored before brands were read as booklets write them: no disease.
    await db.fetch("UPDATE vaccinations SET diseases = '' WHERE space_id = {}", person.space_id)
    assert await name_the_brands_typed_before() >= 1
    await name_the_brands_typed_before()  # once more: nothing changes
    entries = {
        e["vaccineName"]: e["diseases"]
        for e in (await client.get("/v1/spaces/me/vaccinations", headers=person.headers)).json()["items"]
    }
    assert entries == {"Rotarix": ["rotavirus"], "Vaccin du dispensaire": []}
