"""The generic names and abbreviations of a paper booklet (``ROR``, ``DT Polio``, ``dTcaP``,
``Hépatite B``, ``Grippe``...) and the diseases each stands for (``data/vaccine-names-fr.json``).

A vaccine typed by name takes its diseases from here when the name is no brand of the catalogue:
API.md has the server add them, and a client following it never sends them. A name is compared
folded as the catalogue folds a brand (accents, case and punctuation aside), spaces aside too
(``DT Polio``, ``DT-Polio`` and ``DTPolio`` are one name), and without the words a booklet writes
around it (``Vaccin contre la grippe``, ``Rappel DTP``, ``ROR 2e dose``, ``Grippe 2019-2020``).
Nothing else is guessed: a name that is none of these counts for no dose of the schedule.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import msgspec

from ens.vaccination.calendar import DATA, disease_labels
from ens.vaccination.catalogue import fold

NAMES_FILE = DATA / "vaccine-names-fr.json"

# Words around a vaccine's name in a booklet, which name no vaccine ("l" and "d": elisions).
_AROUND = frozenset(
    "vaccin vaccins vaccination vaccinations contre rappel rappels dose doses injection "
    "le la les l de du des d et".split()
)
# A dose's rank or a season's years: "1", "2e", "3eme" (folded "3ème"), "1ere", "1re", "20192020".
_RANK = re.compile(r"[0-9]+(er|ere|re|e|eme|nd|nde)?")


class GenericName(msgspec.Struct, frozen=True):
    names: list[str]
    disease_codes: list[str]


class GenericNames(msgspec.Struct, frozen=True):
    names: list[GenericName]


def name_key(name: str) -> str:
    """What a name is compared by: folded, without the words around it, spaces aside."""
    words = fold(re.sub(r"['\u2019]", " ", name)).split()
    return "".join(word for word in words if word not in _AROUND and not _RANK.fullmatch(word))


def read_generic_names(path: Path) -> dict[str, tuple[str, ...]]:
    """Each name's key to its diseases. ``ValueError`` when a name stands for a disease code that
    neither the calendar nor the vaccine list knows, says nothing once folded, or stands for two
    different sets of diseases."""
    listed = msgspec.json.decode(path.read_bytes(), type=GenericNames).names
    known = disease_labels()
    problems: list[str] = []
    table: dict[str, tuple[str, ...]] = {}
    for group in listed:
        unknown = [code for code in group.disease_codes if code not in known]
        if unknown or not group.disease_codes:
            problems.append(f"{group.names[:1]}: unknown disease codes {unknown}" if unknown else "no disease")
            continue
        diseases = tuple(dict.fromkeys(group.disease_codes))
        for name in group.names:
            key = name_key(name)
            if not key:
                problems.append(f"{name!r} names nothing once folded")
            elif table.get(key, diseases) != diseases:
                problems.append(f"{name!r} stands for {list(diseases)} and {list(table[key])}")
            else:
                table[key] = diseases
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return table


@cache
def _shipped() -> dict[str, tuple[str, ...]]:
    return read_generic_names(NAMES_FILE)


def diseases_of_generic_name(name: str) -> list[str] | None:
    """The diseases a booklet's generic name or abbreviation stands for; ``None`` for another name."""
    key = name_key(name)
    diseases = _shipped().get(key) if key else None
    return list(diseases) if diseases is not None else None
