"""POST /v1/spaces/{space}/import: no text an import keeps holds a direction override, embedding or
isolate (U+202A-U+202E, U+2066-U+2069), as no route's body does (ens.core.strict_json). The import
converted its items without that reading and took "Zo\u202eé" as a contact's name, shown reversed
to whoever reads it (an outside audit of the import). What an item is refuses the import (422 at
its entry, nothing kept); an optional text is left out and said (``keptWithout``)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.helpers.fhir import fill_every_kind

EXPORT = "/v1/spaces/me/export"
IMPORT = "/v1/spaces/me/import"
OVERRIDE = "\u202e"


def _index(bundle: dict[str, Any], kind: str, where: Callable[[dict[str, Any]], bool] = lambda _r: True) -> int:
    return next(
        i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == kind and where(e["resource"])
    )


def _contact(resource: dict[str, Any]) -> bool:
    return "period" not in resource  # not the trusted person, whom the import leaves to designate again


def _contact_name(bundle: dict[str, Any]) -> int:
    index = _index(bundle, "RelatedPerson", _contact)
    bundle["entry"][index]["resource"]["name"][0]["family"] = f"Zo{OVERRIDE}é"
    return index


def _condition_label(bundle: dict[str, Any]) -> int:
    index = _index(bundle, "Condition")
    bundle["entry"][index]["resource"]["code"]["text"] = f"Asth{OVERRIDE}me"
    return index


def _vaccine_name(bundle: dict[str, Any]) -> int:
    index = _index(bundle, "Immunization")
    bundle["entry"][index]["resource"]["vaccineCode"]["text"] = f"Rev{OVERRIDE}axis"
    return index


def _device_model(bundle: dict[str, Any]) -> int:
    index = _index(bundle, "Device")
    bundle["entry"][index]["resource"]["modelNumber"] = f"HBF{OVERRIDE}702T"
    return index


@pytest.mark.parametrize("breaks", [_contact_name, _condition_label, _vaccine_name, _device_model])
async def test_what_an_item_is_holding_a_direction_control_refuses_the_import(client, person, make_person, breaks):
    await fill_every_kind(client, person)
    bundle = (await client.get(EXPORT, headers=person.headers)).json()
    index = breaks(bundle)
    newcomer = await make_person("Camille")
    answer = await client.post(IMPORT, json=bundle, headers=newcomer.headers)
    assert answer.status_code == 422, answer.text
    errors = answer.json()["errors"]
    assert [e["pointer"] for e in errors] == [f"/entry/{index}/resource"], errors
    assert "direction" in errors[0]["detail"], errors
    after = (await client.get(EXPORT, headers=newcomer.headers)).json()
    assert [e["resource"]["resourceType"] for e in after["entry"]] == ["Patient"]  # nothing was kept


async def test_an_optional_text_holding_a_direction_control_is_left_out_and_said(client, person, make_person):
    await fill_every_kind(client, person)
    exported = (await client.get(EXPORT, headers=person.headers)).json()
    bundle = copy.deepcopy(exported)
    at_contact = _index(bundle, "RelatedPerson", _contact)
    bundle["entry"][at_contact]["resource"]["relationship"] = [{"text": f"voi{OVERRIDE}sin"}]
    at_measure = _index(bundle, "Observation", lambda r: "note" in r)
    bundle["entry"][at_measure]["resource"]["note"] = [{"text": f"à j{OVERRIDE}eun"}]
    at_booklet = _index(bundle, "Immunization", lambda r: "lotNumber" in r)
    bundle["entry"][at_booklet]["resource"]["lotNumber"] = f"L1{OVERRIDE}23"
    newcomer = await make_person("Camille")
    answer = await client.post(IMPORT, json=bundle, headers=newcomer.headers)
    assert answer.status_code == 201, answer.text
    assert OVERRIDE not in answer.text
    said = {item["pointer"]: item["detail"] for item in answer.json()["keptWithout"]}
    assert said.keys() == {f"/entry/{i}/resource" for i in (at_contact, at_measure, at_booklet)}
    assert said[f"/entry/{at_contact}/resource"].startswith("RelatedPerson.relationship.text: holds a direction")
    assert said[f"/entry/{at_measure}/resource"].startswith("Observation.note[0].text: holds a direction")
    assert said[f"/entry/{at_booklet}/resource"].startswith("Immunization.lotNumber: holds a direction")
    after = (await client.get(EXPORT, headers=newcomer.headers)).json()
    assert OVERRIDE not in json.dumps(after, ensure_ascii=False)
    contacts = (await client.get("/v1/spaces/me/emergency-contacts", headers=newcomer.headers)).json()["items"]
    assert [(c["givenName"], c.get("relationship")) for c in contacts] == [("Paul", None)]
