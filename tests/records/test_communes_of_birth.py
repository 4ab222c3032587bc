"""A place of birth, given by the identity provider as an INSEE code, named by its commune and
département from the shipped list (ens/records/data/communes-fr.csv); a code the list does not
know stays a code."""

from __future__ import annotations

import csv

import pytest

from ens.records.communes import COMMUNES_FILE, commune_of_birth


@pytest.mark.parametrize(
    ("code", "named"),
    [
        ("75056", "Paris (75)"),
        ("69123", "Lyon (69)"),
        ("13055", "Marseille (13)"),
        ("2A004", "Ajaccio (2A)"),
        ("2B033", "Bastia (2B)"),
        # The municipal arrondissements of Paris, Lyon and Marseille, as birth certificates give them.
        ("75105", "Paris 5e Arrondissement (75)"),
        ("75120", "Paris 20e Arrondissement (75)"),
        ("69381", "Lyon 1er Arrondissement (69)"),
        ("13201", "Marseille 1er Arrondissement (13)"),
        # Overseas: départements and collectivités, their three-figure codes.
        ("97411", "Saint-Denis (974)"),
        ("97105", "Basse-Terre (971)"),
        ("97611", "Mamoudzou (976)"),
        ("98735", "Papeete (987)"),
        # Merged since: a commune déléguée (its own code), one sharing its code with the commune
        # nouvelle under another name, an older code kept without its name, a commune associée.
        ("01340", "Saint-Bois, aujourd'hui Arboys en Bugey (01)"),
        ("01033", "Bellegarde-sur-Valserine, aujourd'hui Valserhône (01)"),
        ("91182", "code INSEE 91182, aujourd'hui Évry-Courcouronnes (91)"),
        ("02300", "Fargniers, aujourd'hui Tergnier (02)"),
        # A commune associée of a commune of the Nord: the département is today's, not the code's.
        ("02285", "Escaufourt, aujourd'hui Saint-Souplet (59)"),
        # A commune déléguée named as the commune nouvelle is named once.
        ("74010", "Annecy (74)"),
        # As typed in lower case, or with spaces around it.
        (" 2a004 ", "Ajaccio (2A)"),
    ],
)
def test_a_known_code_is_named_by_its_commune_and_departement(code: str, named: str) -> None:
    assert commune_of_birth(code) == named


@pytest.mark.parametrize("code", ["99999", "75999", "7505", "2C004", "99100", "abcde"])
def test_a_code_the_list_does_not_know_is_none(code: str) -> None:
    # 99100 is INSEE's code of France as a country of birth (birthcountry), not a commune.
    assert commune_of_birth(code) is None


def test_the_list_holds_the_communes_of_every_departement_and_only_the_fields_printed() -> None:
    with COMMUNES_FILE.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        rows = list(reader)
    assert reader.fieldnames == ["code", "nom", "departement", "commune"]
    codes = [row["code"] for row in rows]
    assert codes == sorted(set(codes))  # one row a code, sorted
    departements = {row["departement"] for row in rows if row["nom"] and not row["commune"]}
    metropolitan = {f"{n:02d}" for n in range(1, 96) if n != 20} | {"2A", "2B"}
    assert metropolitan | {"971", "972", "973", "974", "976"} <= departements
    assert all(row["nom"] or row["commune"] for row in rows)
    assert 34_000 < sum(1 for row in rows if row["nom"] and not row["commune"]) < 37_000
