"""The French commune an INSEE code stands for, to print a place of birth by its name: the identity
provider gives the commune of birth as its code in INSEE's Code officiel géographique
(FranceConnect's ``birthplace`` claim), and a person or a doctor reading a printed document
expects "Lyon (69)", not "69123".

The names come from ``data/communes-fr.csv`` (see ``data/README.md`` for its source and how
``scripts/communes-fr`` rebuilds it), read once per process, on first use.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

COMMUNES_FILE = Path(__file__).parent / "data" / "communes-fr.csv"
COUNTRIES_FILE = Path(__file__).parent / "data" / "countries-fr.csv"
FRANCE = "99100"


@cache
def _countries() -> dict[str, str]:
    with COUNTRIES_FILE.open(encoding="utf-8", newline="") as file:
        return {row["code"]: row["nom"] for row in csv.DictReader(file)}


def country_of_birth(code: str) -> str | None:
    """The country or territory ``code`` names in INSEE's list (FranceConnect's ``birthcountry``:
    "99350" is "Maroc"); ``None`` for France (99100: its commune says where) and a code the list
    does not know."""
    code = code.strip()
    return None if code == FRANCE else _countries().get(code)


@cache
def _communes() -> dict[str, tuple[str, str, str]]:
    """Code -> (name, département code, name of the commune it is part of today when it differs)."""
    with COMMUNES_FILE.open(encoding="utf-8", newline="") as file:
        return {row["code"]: (row["nom"], row["departement"], row["commune"]) for row in csv.DictReader(file)}


def commune_of_birth(code: str) -> str | None:
    """The commune ``code`` names, with its département: "Lyon (69)", "Paris 5e Arrondissement
    (75)", "Ajaccio (2A)", "Saint-Denis (974)". A commune merged into another since (commune
    déléguée or associée) is named with the one it is part of today: "Saint-Bois, aujourd'hui
    Arboys en Bugey (01)"; an older code the list keeps without its name, by that commune:
    "code INSEE 91182, aujourd'hui Évry-Courcouronnes (91)". ``None`` for a code the list does
    not know (a commune gone before its history, a typo)."""
    known = _communes().get(code.strip().upper())
    if known is None:
        return None
    name, department, today = known
    if not today:
        return f"{name} ({department})"
    return f"{name or f'code INSEE {code}'}, aujourd'hui {today} ({department})"
