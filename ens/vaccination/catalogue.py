"""The vaccine catalogue: loaded into the database from a vaccine list (the shipped one by the
migration, a newer one by ``ens vaccines load FILE``), searched by brand and by disease.

A vaccine's id is derived from its CIS code (a UUID v5), so a newer list updates the rows the
booklet's entries point at instead of replacing them; a vaccine that a newer list no longer holds
is kept (entries may name it). Search is accent- and case-insensitive: each row keeps its brand,
its diseases' codes and French names folded (``search_text``), and the folded query must be found in
one of them ("hépatite a" finds the hepatitis A vaccines, not the hepatitis B ones).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec

from ens.core import clock
from ens.core.api import Cursors, check_limit
from ens.core.db import as_uuid, fetch, fetch_one, insert_rows, write_transaction
from ens.core.errors import BadRequest, FieldError
from ens.vaccination.calendar import DATA, disease_labels
from ens.vaccination.schemas import VaccinePage, VaccineRead

SHIPPED_VACCINES = DATA / "vaccines-fr.json"

# Ids of catalogue rows: uuid5(this namespace, "cis:<CIS>").
VACCINE_NAMESPACE = UUID("6f0c5d56-2f7e-4a52-9b1e-1f6c0a7d3e11")

_CIS = re.compile(r"\d{8}")
_CODE = re.compile(r"[a-z0-9_]{1,40}")


class VaccineRecord(msgspec.Struct):
    """One vaccine of a list, as ``vaccines-fr.json`` gives it (other fields are ignored)."""

    cis: str
    brand: str
    disease_codes: list[str]
    marketed: bool
    atc: str | None = None
    vaccine_type: str = ""


class VaccineList(msgspec.Struct):
    vaccines: list[VaccineRecord]


class CatalogueFileError(ValueError):
    """A vaccine list that cannot be loaded; the message says where and why."""


@dataclass(frozen=True)
class Loaded:
    added: int
    updated: int
    unchanged: int
    kept: int


def vaccine_id(cis: str) -> UUID:
    return uuid.uuid5(VACCINE_NAMESPACE, f"cis:{cis}")


def _plain(text: str) -> str:
    """Lower case, accents aside (``Rougeole`` and ``rougéole`` alike)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def fold(text: str) -> str:
    """Lower case, no accents, letters and digits only (words kept apart): ``M-M-RVAXPRO`` and
    ``mmrvaxpro`` fold alike, ``Rougeole`` and ``rougeole`` too."""
    words = [re.sub(r"[^\w]|_", "", word) for word in _plain(text).split()]
    return " ".join(word for word in words if word)


def read_vaccine_list(path: Path) -> list[VaccineRecord]:
    """Decode and check a vaccine list (``CatalogueFileError`` names the first problems)."""
    try:
        listed = msgspec.json.decode(path.read_bytes(), type=VaccineList).vaccines
    except OSError as exc:
        raise CatalogueFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except msgspec.ValidationError as exc:
        raise CatalogueFileError(f"{path} is not a vaccine list: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise CatalogueFileError(f"{path} is not JSON: {exc}") from exc
    problems: list[str] = []
    seen: set[str] = set()
    for index, record in enumerate(listed):
        where = f"vaccines[{index}]"
        if not _CIS.fullmatch(record.cis):
            problems.append(f"{where}.cis: 8 digits expected")
        elif record.cis in seen:
            problems.append(f"{where}.cis: {record.cis} appears twice")
        seen.add(record.cis)
        if not record.brand.strip() or len(record.brand) > 255:
            problems.append(f"{where}.brand: 1 to 255 characters")
        if not record.disease_codes or any(not _CODE.fullmatch(code) for code in record.disease_codes):
            problems.append(f"{where}.disease_codes: one or more lowercase codes")
        if record.atc is not None and not re.fullmatch(r"[A-Z][0-9A-Z]{1,15}", record.atc):
            problems.append(f"{where}.atc: an ATC code or null")
    if not listed:
        problems.append("the list holds no vaccine")
    if problems:
        raise CatalogueFileError(f"{path}: " + "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else ""))
    return listed


def _search_text(record: VaccineRecord) -> str:
    labels = disease_labels()
    parts = [record.brand, record.vaccine_type]
    for code in record.disease_codes:
        parts += [code.replace("_", " "), labels.get(code, "")]
    # Parts apart (" | " never folds from a query), so that a phrase cannot run from one to the next.
    return " | ".join(folded for folded in (fold(part) for part in parts) if folded)


async def load_vaccines(path: Path) -> Loaded:
    """Add and update the vaccines of a list, in one transaction; vaccines it no longer holds stay."""
    records = read_vaccine_list(path)
    now = clock.now()
    ordered = sorted(records, key=lambda r: (fold(r.brand), r.cis))
    rows: dict[UUID, tuple[Any, ...]] = {}
    for ordinal, record in enumerate(ordered):
        rows[vaccine_id(record.cis)] = (
            record.cis,
            record.brand.strip(),
            record.atc,
            " ".join(record.disease_codes),
            record.marketed,
            _search_text(record),
            ordinal,
        )
    async with write_transaction():
        existing = {
            as_uuid(row["id"]): row
            for row in await fetch("SELECT id, cis, brand, atc, diseases, marketed, search_text, ordinal FROM vaccines")
        }
        added = [(id_, *values, now) for id_, values in rows.items() if id_ not in existing]
        changed = [
            (id_, values) for id_, values in rows.items() if id_ in existing and _stored(existing[id_]) != values
        ]
        await insert_rows(
            "vaccines",
            ("id", "cis", "brand", "atc", "diseases", "marketed", "search_text", "ordinal", "updated_at"),
            rows=added,
        )
        # Rows the new list no longer holds go after it in the brand order.
        kept = sorted((row for id_, row in existing.items() if id_ not in rows), key=lambda r: int(r["ordinal"]))
        for offset, row in enumerate(kept):
            await fetch("UPDATE vaccines SET ordinal = {} WHERE id = {}", len(rows) + offset, row["id"])
        for id_, values in changed:
            await fetch(
                """UPDATE vaccines SET cis = {}, brand = {}, atc = {}, diseases = {}, marketed = {}, search_text = {},
                       ordinal = {}, updated_at = {} WHERE id = {}""",
                *values,
                now,
                id_,
            )
    return Loaded(
        added=len(added), updated=len(changed), unchanged=len(rows) - len(added) - len(changed), kept=len(kept)
    )


def _stored(row: Any) -> tuple[Any, ...]:
    return (
        row["cis"],
        row["brand"],
        row["atc"],
        row["diseases"],
        bool(row["marketed"]),
        row["search_text"],
        int(row["ordinal"]),
    )


def _like(word: str) -> str:
    """A LIKE pattern finding ``word`` anywhere (its own ``%`` and ``_`` escaped)."""
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def search_vaccines(cursors: Cursors, *, q: str | None, limit: int | None, cursor: str | None) -> VaccinePage:
    """The catalogue in brand order, or the vaccines whose brand or one of whose diseases (French
    name or code) holds ``q``, accents, case and punctuation aside."""
    size = check_limit(limit)
    phrase = fold(q or "")
    purpose = "vaccines:" + phrase
    where = "1 = 1"
    args: list[Any] = []
    if phrase:
        where += " AND search_text LIKE {} ESCAPE '\\'"
        args.append(_like(phrase))
    if cursor is not None:
        position = cursors.decode(purpose, cursor)
        try:
            after_ordinal, after_id = int(position[0]), UUID(str(position[1]))
        except (IndexError, TypeError, ValueError) as exc:
            raise BadRequest("The cursor is malformed.", [FieldError("/cursor", "malformed")]) from exc
        where += " AND (ordinal > {} OR (ordinal = {} AND id > {}))"
        args += [after_ordinal, after_ordinal, after_id]
    rows = await fetch(
        f"SELECT id, cis, brand, atc, diseases, marketed, ordinal FROM vaccines WHERE {where} "
        "ORDER BY ordinal, id LIMIT {}",
        *args,
        size + 1,
    )
    items = [_read(row) for row in rows[:size]]
    next_cursor = None
    if len(rows) > size:
        last = rows[size - 1]
        next_cursor = cursors.encode(purpose, [int(last["ordinal"]), str(last["id"])])
    return VaccinePage(items=items, next_cursor=next_cursor)


# A typed name shorter than this names no brand by its first words ("M" of "M-M-RVAXPRO").
MIN_BRAND_KEY = 4


def brand_words(text: str) -> list[str]:
    """A brand's words as a booklet may write them: folded (accents and case aside), split at
    spaces and punctuation, its presentation in brackets left out: ``M-M-RVAXPRO (vial)`` is
    ``m m rvaxpro``, ``ENGERIX B 10`` and ``Engerix B10`` both ``engerix b10`` once joined."""
    return re.findall(r"[^\W_]+", _plain(re.sub(r"\([^)]*\)", " ", text)))


@dataclass(frozen=True)
class Brand:
    """A vaccine of the catalogue by its brand's words (:func:`brand_words`), ``key`` them joined."""

    id: UUID
    words: list[str]
    key: str
    diseases: str


async def catalogue_brands() -> list[Brand]:
    """The catalogue's brands, read whole (one row per marketed presentation, about a hundred):
    once for every look-up of a name an entry makes."""
    rows = await fetch("SELECT id, brand, diseases FROM vaccines")
    brands = []
    for row in rows:
        words = brand_words(str(row["brand"]))
        brands.append(Brand(as_uuid(row["id"]), words, "".join(words), str(row["diseases"])))
    return brands


def diseases_of_brand(name: str, brands: list[Brand]) -> list[str] | None:
    """The diseases of the catalogue's vaccines that ``name`` names, when they all agree; else
    ``None``. A booklet writes a brand without its presentation, strength or version ("Rotarix"
    for "ROTARIX (tube)", "Engerix B10", "Prevenar", "Comirnaty"): ``name`` names a brand when,
    spaces and punctuation aside, it is the brand's first words ("Tetravac" of
    "TETRAVAC-ACELLULAIRE"), and every vaccine whose name begins so must agree on the diseases
    ("Infanrix" begins INFANRIX HEXA, INFANRIXQUINTA and INFANRIXTETRA, which do not: none). A
    name that is a brand's whole name is that brand. "Boostrix" is the start of no brand's words
    (BOOSTRIXTETRA is one): none, rather than a polio dose it may not be."""
    key = "".join(brand_words(name))
    if len(key) < MIN_BRAND_KEY:
        return None
    found = {brand.diseases for brand in brands if brand.key == key}
    if not found:
        named = {brand.diseases for brand in brands if key in _leading(brand.words)}
        if named:
            found = named | {brand.diseases for brand in brands if brand.key.startswith(key)}
    return found.pop().split() if len(found) == 1 else None


def vaccine_of_brand(name: str, brands: list[Brand]) -> UUID | None:
    """The catalogue's vaccine whose whole brand ``name`` is (spaces, punctuation, case and accents
    aside), when one vaccine has it: a booklet's "Hexyon" typed by name is the catalogue's HEXYON."""
    key = "".join(brand_words(name))
    found = [brand.id for brand in brands if brand.key == key] if len(key) >= MIN_BRAND_KEY else []
    return found[0] if len(found) == 1 else None


def _leading(words: list[str]) -> set[str]:
    """The brand's first word, first two words... joined: what a booklet may write of it."""
    return {"".join(words[:count]) for count in range(1, len(words) + 1)}


async def get_vaccine(vaccine: UUID) -> VaccineRead | None:
    row = await fetch_one("SELECT id, cis, brand, atc, diseases, marketed FROM vaccines WHERE id = {}", vaccine)
    return _read(row) if row is not None else None


def _read(row: Any) -> VaccineRead:
    return VaccineRead(
        id=as_uuid(row["id"]),
        brand=row["brand"],
        cis=row["cis"],
        atc=row["atc"],
        diseases=str(row["diseases"]).split(),
        marketed=bool(row["marketed"]),
    )
