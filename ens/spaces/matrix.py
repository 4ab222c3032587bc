"""The access matrix: what each health profession may read and write in a space.

The table is data shipped with the product (``data/access_matrix.json``, with its sources and
rationale), loaded once and checked when the app starts (:func:`check_matrix`). The space door
decides a professional's right from it: what the route declares it works on (``Need.matrix_name``:
its resource, or a part of it such as ``profile/allergies``) and
whether the route reads or writes (``Need.action``); emergency access reads only. The documents
capability asks :meth:`AccessMatrix.may_document` for each document type.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from importlib import resources

import msgspec


class Profession(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    label: str
    vaccinates: bool
    # DOMAIN.md §5: nurses and midwives record the vaccine's name, the day and the lot number.
    records_lot_number: bool = False


class Cell(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    read: frozenset[str]
    write: frozenset[str]
    why: str = ""
    label: str = ""


class Source(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    url: str


class AccessMatrix(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    title: str
    version: str
    sources: list[Source]
    rationale: str
    # TRE_G15 profession codes (10 médecin, 21 pharmacien, 50 sage-femme, 60 infirmier...).
    professions: dict[str, Profession]
    # What a route works on (``Need.matrix_name``) -> who reads, who writes.
    resources: dict[str, Cell]
    # LOINC document type -> who reads, who adds.
    documents: dict[str, Cell]

    def may(self, profession: str, resource: str, *, write: bool) -> bool:
        """Whether ``profession`` may read (or write) ``resource``; unnamed resources open nothing."""
        cell = self.resources.get(resource)
        if cell is None:
            return False
        return profession in (cell.write if write else cell.read)

    def may_document(self, profession: str, type_code: str, *, write: bool) -> bool:
        """Whether ``profession`` may read (or add) documents of LOINC type ``type_code``."""
        cell = self.documents.get(type_code)
        if cell is None:
            return False
        return profession in (cell.write if write else cell.read)

    def vaccinates(self, profession: str) -> bool:
        """Whether the profession may vaccinate (its entries in the booklet are ``validated``)."""
        known = self.professions.get(profession)
        return known is not None and known.vaccinates

    def records_lot_number(self, profession: str | None) -> bool:
        """Whether the profession's vaccinations name a full day and the lot number."""
        known = self.professions.get(profession or "")
        return known is not None and known.records_lot_number

    def label(self, profession: str | None) -> str:
        """The profession in French ("médecin"), or "professionnel de santé" for an unknown code."""
        known = self.professions.get(profession or "")
        return known.label if known else "professionnel de santé"


class MatrixError(ValueError):
    """The shipped matrix is inconsistent: the app refuses to start."""


@cache
def access_matrix() -> AccessMatrix:
    """The matrix shipped in ``ens/spaces/data/access_matrix.json`` (read once per process)."""
    raw = resources.files("ens.spaces").joinpath("data/access_matrix.json").read_bytes()
    try:
        return msgspec.json.decode(raw, type=AccessMatrix)
    except msgspec.ValidationError as exc:
        raise MatrixError(f"the access matrix is malformed: {exc}") from exc


def check_matrix(matrix: AccessMatrix, *, known_resources: Collection[str]) -> None:
    """Refuse a matrix that names an unknown profession or resource, lets a profession write what it
    may not read, or has no source."""
    problems: list[str] = []
    if not matrix.sources:
        problems.append("it cites no source")
    for code in matrix.professions:
        if not (code.isdigit() and len(code) == 2):
            problems.append(f"profession code {code!r} is not a TRE_G15 code")
    for kind, cells in (("resource", matrix.resources), ("document type", matrix.documents)):
        for name, cell in cells.items():
            if kind == "resource" and name not in known_resources:
                problems.append(f"resource {name!r} is not one the routes declare")
            unknown = (cell.read | cell.write) - matrix.professions.keys()
            if unknown:
                problems.append(f"{kind} {name!r} names unknown professions {sorted(unknown)}")
            if not cell.write <= cell.read:
                problems.append(f"{kind} {name!r}: {sorted(cell.write - cell.read)} would write what they cannot read")
    if problems:
        raise MatrixError("the access matrix is inconsistent: " + "; ".join(problems))
