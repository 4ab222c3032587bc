"""The access matrix shipped with the product, cell by cell against this test's own copy (the
README's table), and the checks that stop the service on an inconsistent one."""

from __future__ import annotations

import msgspec
import pytest
from litestar import Litestar

from ens.app.doors import declared_matrix_names
from ens.spaces.matrix import AccessMatrix, Cell, MatrixError, access_matrix, check_matrix
from tests.spaces.test_authorization_matrix import EVERY_PROFESSION, PRO_READ, PRO_WRITE, ROUTE_RESOURCE

GP, PHARMACIST, DENTIST, MIDWIFE, NURSE, PHYSIO, PODIATRIST = "10", "21", "40", "50", "60", "70", "80"
EVERYONE = EVERY_PROFESSION

# Document types (LOINC) -> (who reads, who adds): the README's second table.
DOCUMENTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "11488-4": (EVERYONE, EVERYONE - {PHARMACIST}),
    "18842-5": (frozenset({GP, PHARMACIST, MIDWIFE, NURSE}), frozenset({GP, MIDWIFE})),
    "11502-2": (frozenset({GP, PHARMACIST, MIDWIFE, NURSE}), frozenset({GP})),
    "18748-4": (EVERYONE - {PHARMACIST}, frozenset({GP, DENTIST})),
    "57833-6": (EVERYONE, EVERYONE - {PHARMACIST}),
    "60591-5": (EVERYONE, frozenset({GP})),
}
NOBODY = ("access-history", "representatives", "grants", "professionals", "access-requests", "export")


def test_every_profession_against_every_resource(app: Litestar) -> None:
    matrix = access_matrix()
    assert set(matrix.professions) == EVERY_PROFESSION
    resources = set(declared_matrix_names(app)) - {"test-note"}
    assert {"profile/conditions", "profile/family-history", "vitals"} <= resources
    wrong = []
    for resource in sorted(resources):
        for profession in sorted(EVERY_PROFESSION):
            for write, table in ((False, PRO_READ), (True, PRO_WRITE)):
                want = profession in table.get(resource, frozenset())
                if matrix.may(profession, resource, write=write) != want:
                    wrong.append(f"{profession} {'writes' if write else 'reads'} {resource}: want {want}")
    assert wrong == []
    for resource in NOBODY:
        assert not any(matrix.may(p, resource, write=False) for p in EVERY_PROFESSION), resource


def test_every_profession_against_every_document_type() -> None:
    matrix = access_matrix()
    assert set(matrix.documents) == set(DOCUMENTS)
    for type_code, (readers, writers) in DOCUMENTS.items():
        for profession in EVERY_PROFESSION:
            assert matrix.may_document(profession, type_code, write=False) == (profession in readers), type_code
            assert matrix.may_document(profession, type_code, write=True) == (profession in writers), type_code
    assert not matrix.may_document(GP, "00000-0", write=False)


def test_who_vaccinates_and_unknown_professions() -> None:
    matrix = access_matrix()
    assert {p for p in EVERY_PROFESSION if matrix.vaccinates(p)} == {GP, PHARMACIST, MIDWIFE, NURSE}
    assert not matrix.vaccinates("95") and not matrix.may("95", "space", write=False)
    assert matrix.label("60") == "infirmier" and matrix.label("95") == "professionnel de santé"


def test_every_product_route_names_a_resource_the_matrix_decides(app: Litestar) -> None:
    """Every resource a product route declares has its decision per profession in the matrix (the
    tests' own routes, ``test-note``, aside: no professional reaches them)."""
    declared = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            need = handler.opt.get("need")
            if need is not None:
                declared.add(need.matrix_name)
    assert declared - set(access_matrix().resources) == {"test-note"}
    # A part's resource is named by its parts alone: a matrix row "profile" would open nothing.
    assert "profile" not in access_matrix().resources
    assert set(ROUTE_RESOURCE.values()) - {"test-note"} <= set(access_matrix().resources)


def _matrix(**changes: object) -> AccessMatrix:
    return msgspec.structs.replace(access_matrix(), **changes)


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({"sources": []}, "no source"),
        ({"resources": {"vitals": Cell(read=frozenset({"99"}), write=frozenset())}}, "unknown professions"),
        ({"resources": {"nowhere": Cell(read=frozenset(), write=frozenset())}}, "not one the routes declare"),
        # The profile's routes name its lists: a row for the whole profile would be a dead letter.
        ({"resources": {"profile": Cell(read=frozenset({GP}), write=frozenset())}}, "not one the routes declare"),
        ({"resources": {"vitals": Cell(read=frozenset(), write=frozenset({GP}))}}, "write what they cannot read"),
        ({"documents": {"11488-4": Cell(read=frozenset(), write=frozenset({GP}))}}, "write what they cannot read"),
    ],
)
def test_an_inconsistent_matrix_stops_the_service(app: Litestar, broken: dict[str, object], message: str) -> None:
    check_matrix(access_matrix(), known_resources=declared_matrix_names(app))
    with pytest.raises(MatrixError, match=message):
        check_matrix(_matrix(**broken), known_resources=declared_matrix_names(app))


def test_the_matrix_file_cites_its_sources_and_rationale() -> None:
    matrix = access_matrix()
    assert any("legifrance" in source.url for source in matrix.sources)
    assert any("matrice-habilitation" in source.url for source in matrix.sources)
    assert "conservative" in matrix.rationale


def test_each_operation_says_which_professions_it_lets_through(app: Litestar) -> None:
    paths = app.openapi_schema.to_schema()["paths"]
    record = paths["/v1/spaces/{space}/vitals"]["post"]["description"]
    assert "Professionals (the access matrix): médecin (10), sage-femme (50), infirmier (60)" in record
    assert "never in an emergency access" in record
    listing = paths["/v1/spaces/{space}/vitals"]["get"]["description"]
    assert "pédicure-podologue (80) (also in an emergency access)" in listing
    assert "Professionals: never." in paths["/v1/spaces/{space}/access-history"]["get"]["description"]
    conditions = paths["/v1/spaces/{space}/profile/conditions"]["get"]["description"]
    assert "médecin (10), chirurgien-dentiste (40), sage-femme (50) (also" in conditions
    allergies = paths["/v1/spaces/{space}/profile/allergies"]["get"]["description"]
    assert "pharmacien (21)" in allergies and "infirmier (60)" in allergies
