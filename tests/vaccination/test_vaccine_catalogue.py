"""The vaccine catalogue: loaded by the migration from the shipped list, searched by brand and by
disease (accents and case ignored), paged in brand order, reloaded from a newer list by
``ens vaccines load FILE`` without changing any vaccine's id."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from ens.core import db
from ens.vaccination.catalogue import SHIPPED_VACCINES, CatalogueFileError, load_vaccines, vaccine_id
from tests.helpers.pages import every_item
from tests.helpers.server import ROOT, ens_command

SHIPPED = json.loads(SHIPPED_VACCINES.read_text())["vaccines"]


async def _search(client: Any, q: str | None = None, **params: Any) -> list[dict[str, Any]]:
    return await every_item(client, "/v1/vaccines", params={**params, **({"q": q} if q is not None else {})})


async def test_the_migration_loaded_every_vaccine_of_the_shipped_list(client):
    items = await _search(client, limit=500)
    by_cis = {item["cis"]: item for item in items}
    assert set(by_cis) >= {v["cis"] for v in SHIPPED}
    for vaccine in SHIPPED:
        item = by_cis[vaccine["cis"]]
        assert item == {
            "id": str(vaccine_id(vaccine["cis"])),
            "brand": vaccine["brand"],
            "cis": vaccine["cis"],
            "atc": vaccine["atc"],
            "diseases": vaccine["disease_codes"],
            "marketed": vaccine["marketed"],
        }


@pytest.mark.parametrize(
    ("q", "brands"),
    [
        ("prevenar", {"PREVENAR 13", "PREVENAR 20"}),
        ("PRÉVENAR 13", {"PREVENAR 13"}),
        ("rougeole", {"M-M-RVAXPRO (prefilled syringe)", "M-M-RVAXPRO (vial)", "PRIORIX"}),
        ("ROUGEOLE", {"M-M-RVAXPRO (prefilled syringe)", "M-M-RVAXPRO (vial)", "PRIORIX"}),
        ("mmrvaxpro vial", {"M-M-RVAXPRO (vial)"}),
        ("zona", {"SHINGRIX", "ZOSTAVAX"}),
        (
            "hépatite a",
            {
                "AVAXIM 160 U",
                "AVAXIM 80 U PEDIATRIQUE",
                "HAVRIX 1440 ADULTES",
                "HAVRIX 720 NOURRISSONS ET ENFANTS",
                "TWINRIX ADULTE",
                "TWINRIX ENFANT",
                "TYAVAX",
                "VAQTA 50 U",
            },
        ),
        ("papillomavirus", {"CERVARIX", "GARDASIL", "GARDASIL 9"}),
        ("hpv", {"CERVARIX", "GARDASIL", "GARDASIL 9"}),
        ("méningocoque b", {"BEXSERO", "TRUMENBA"}),
        ("fièvre jaune", {"STAMARIL (multidose)", "STAMARIL (prefilled syringe)"}),
        ("zzz-nothing", set()),
    ],
)
async def test_search_finds_brands_and_diseases_whatever_the_accents_and_case(client, q, brands):
    found = {item["brand"] for item in await _search(client, q)}
    assert found == brands


async def test_hexavalent_vaccines_are_found_by_every_disease_they_cover(client):
    for word in ("diphtérie", "tétanos", "coqueluche", "poliomyélite", "haemophilus", "hépatite b"):
        assert {"HEXYON", "INFANRIX HEXA", "VAXELIS"} <= {item["brand"] for item in await _search(client, word)}, word


async def test_pages_walk_the_catalogue_once_in_brand_order(client):
    paged = await _search(client, limit=7)
    whole = await _search(client, limit=500)
    assert paged == whole
    assert len({item["id"] for item in paged}) == len(paged)
    shipped_order = sorted(SHIPPED, key=lambda v: (v["brand"].casefold().replace("-", ""), v["cis"]))
    assert [i["brand"] for i in paged if i["cis"] in {v["cis"] for v in SHIPPED}][:5] == [
        v["brand"] for v in shipped_order
    ][:5]


async def test_bad_listing_parameters_are_400(client):
    for params in ({"limit": 0}, {"limit": 501}, {"cursor": "forged.cursor"}, {"q": "x" * 101}):
        response = await client.get("/v1/vaccines", params=params)
        assert response.status_code == 400, params
        assert response.headers["content-type"].startswith("application/problem+json")
    # A cursor is bound to its query: another query's is refused.
    page = (await client.get("/v1/vaccines", params={"limit": 1, "q": "prevenar"})).json()
    other = await client.get("/v1/vaccines", params={"limit": 1, "q": "gardasil", "cursor": page["nextCursor"]})
    assert other.status_code == 400


def _list_file(tmp_path: Path, vaccines: list[dict[str, Any]]) -> Path:
    path = tmp_path / "vaccines.json"
    path.write_text(json.dumps({"schema_version": "1.0", "vaccines": vaccines}))
    return path


async def test_a_newer_list_updates_vaccines_in_place_adds_new_ones_and_keeps_the_others(client, tmp_path, migrated):
    prevenar = next(v for v in SHIPPED if v["brand"] == "PREVENAR 13")
    newer = [
        {**prevenar, "marketed": False},
        {"cis": "99999901", "brand": "VACCINOTEST", "disease_codes": ["measles"], "marketed": True, "atc": "J07BD01"},
        *[v for v in SHIPPED if v["brand"] not in ("PREVENAR 13", "PRIORIX")],
    ]
    try:
        loaded = await load_vaccines(_list_file(tmp_path, newer))
        assert (loaded.added, loaded.updated, loaded.kept) == (1, loaded.updated, 1)
        assert loaded.updated >= 1
        found = {item["brand"]: item for item in await _search(client, "prevenar 13")}
        assert found["PREVENAR 13"]["marketed"] is False
        assert found["PREVENAR 13"]["id"] == str(vaccine_id(prevenar["cis"]))
        assert [i["brand"] for i in await _search(client, "vaccinotest")] == ["VACCINOTEST"]
        assert [i["brand"] for i in await _search(client, "priorix")] == ["PRIORIX"]  # kept: entries may name it
    finally:
        restored = await load_vaccines(SHIPPED_VACCINES)
        await db.fetch("DELETE FROM vaccines WHERE id = {}", vaccine_id("99999901"))
    assert restored.added == 0
    again = await load_vaccines(SHIPPED_VACCINES)
    assert (again.added, again.updated, again.kept) == (0, 0, 0)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("not json", "not JSON"),
        ('{"vaccines": [{"cis": "123", "brand": "X", "disease_codes": ["measles"], "marketed": true}]}', "8 digits"),
        ('{"vaccines": [{"cis": "12345678", "brand": "", "disease_codes": ["measles"], "marketed": true}]}', "brand"),
        ('{"vaccines": [{"cis": "12345678", "brand": "X", "disease_codes": [], "marketed": true}]}', "disease_codes"),
        (
            '{"vaccines": [{"cis": "12345678", "brand": "X", "disease_codes": ["Measles!"], "marketed": true}]}',
            "disease_codes",
        ),
        ('{"vaccines": []}', "no vaccine"),
        ('{"other": 1}', "not a vaccine list"),
    ],
)
async def test_a_bad_list_is_refused_and_changes_nothing(client, tmp_path, migrated, content, words):
    path = tmp_path / "bad.json"
    path.write_text(content)
    before = await _search(client, limit=500)
    with pytest.raises(CatalogueFileError, match=words):
        await load_vaccines(path)
    assert await _search(client, limit=500) == before


def test_the_command_loads_a_list_and_says_plainly_when_it_cannot(settings, migrated, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT), "ENS_ENV": "dev", "ENS_DATABASE_URL": settings.database_url}

    def ens(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 (our own console script)
            [*ens_command(), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )

    done = ens("vaccines", "load", str(SHIPPED_VACCINES))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"vaccines: 0 added, 0 updated, {len(SHIPPED)} unchanged"
    missing = ens("vaccines", "load", str(tmp_path / f"{uuid.uuid4()}.json"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.startswith("ens: cannot load the vaccine list: cannot read")
