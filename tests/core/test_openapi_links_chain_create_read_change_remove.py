"""The OpenAPI document's links: what a created or listed item's answer gives to the operations on
that item, and the ETag a read gives, as If-Match, to a change or a removal. Generated clients and
the fuzzer's stateful phase (tests/fuzz) follow them; each must name a real operation and fill
every path parameter it needs."""

from __future__ import annotations

import re
from typing import Any

from ens.app import create_app
from ens.core.settings import Settings
from tests.helpers.openapi import operations


def _document(settings: Settings) -> dict[str, Any]:
    return create_app(settings).openapi_schema.to_schema()


def _links(document: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    links: dict[str, Any] = document["paths"][path][method]["responses"][status].get("links", {})
    return links


def test_a_created_item_links_to_its_read_change_and_removal(settings: Settings) -> None:
    document = _document(settings)
    created = _links(document, "/v1/spaces/{space}/vaccinations", "post", "201")
    assert set(created) == {"getVaccination", "updateVaccination", "deleteVaccination"}
    assert created["getVaccination"]["operationId"] == "getVaccination"
    assert created["getVaccination"]["parameters"] == {"space": "$request.path.space", "id": "$response.body#/id"}
    # A batch answers its items: the first one's id.
    recorded = _links(document, "/v1/spaces/{space}/vitals", "post", "201")
    assert recorded["correctVital"]["parameters"]["id"] == "$response.body#/items/0/id"


def test_a_list_links_its_first_item_and_a_read_gives_its_version_to_a_change(settings: Settings) -> None:
    document = _document(settings)
    listed = _links(document, "/v1/spaces/{space}/profile/allergies", "get", "200")
    assert listed["removeAllergy"]["parameters"]["id"] == "$response.body#/items/0/id"
    read = _links(document, "/v1/spaces/{space}/profile/allergies/{id}", "get", "200")
    assert set(read) == {"changeAllergy", "removeAllergy"}
    assert read["changeAllergy"]["parameters"] == {
        "space": "$request.path.space",
        "id": "$request.path.id",
        "header.If-Match": "$response.header.ETag",
    }
    # A one-per-space record: read, then replace or remove at the version read.
    doctor = _links(document, "/v1/spaces/{space}/doctor", "get", "200")
    assert set(doctor) == {"setDoctor", "removeDoctor"}
    # And the read documents the ETag it sends.
    assert "ETag" in document["paths"]["/v1/spaces/{space}/doctor"]["get"]["responses"]["200"]["headers"]


def test_every_link_names_a_real_operation_and_fills_its_path(settings: Settings) -> None:
    document = _document(settings)
    by_id = {operation["operationId"]: path for _, path, operation in operations(document)}
    count = 0
    for _, _, operation in operations(document):
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                count += 1
                target = by_id[link["operationId"]]
                needed = set(re.findall(r"\{(\w+)\}", target))
                given = {name for name in link["parameters"] if "." not in name}
                assert needed == given, (link, target)
    assert count >= 60  # 77 when written: every capability's items are linked
