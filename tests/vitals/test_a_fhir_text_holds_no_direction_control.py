"""No text the /fhir door keeps holds a direction override, embedding or isolate control (U+202A to
U+202E, U+2066 to U+2069): 422 at the element, as every route's JSON body (``ens.core.strict_json``)
and the space import refuse them. The door reads its Bundle itself, not through a route's Struct,
and took them: a measure's note "Pesée \u202e..." or a Device's model was stored and shown so to
professionals and in the holder's own reads (a review of the morning's merges)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.vitals.test_fhir_intake import FHIR, body_weight, outcome, transaction


def _raw(bundle: dict[str, Any]) -> bytes:
    """The Bundle with its non-ASCII characters as UTF-8, as a device writes them."""
    return json.dumps(bundle, ensure_ascii=False).encode()


@pytest.mark.parametrize("control", ["\u202e", "\u2066"])
async def test_a_note_place_or_identifier_holding_a_direction_control_is_refused_at_the_element(
    client, person, make_app_token, control: str
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"])
    headers = {**app.headers, "Content-Type": FHIR}
    cases = [
        (body_weight(note=[{"text": f"Pesée {control}tnemelas"}]), "Bundle.entry[1].resource.note[0].text"),
        (body_weight(bodySite={"text": f"bras {control}gauche"}), "Bundle.entry[1].resource.bodySite.text"),
        (
            body_weight(identifier=[{"system": "urn:oid:1.2.3.4.5", "value": f"w{control}1"}]),
            "Bundle.entry[1].resource.identifier[0].value",
        ),
    ]
    for observation, where in cases:
        refused = outcome(await client.post("/fhir", content=_raw(transaction(observation)), headers=headers), 422)
        assert [issue["expression"] for issue in refused["issue"]] == [[where]], refused
        assert "direction" in refused["issue"][0]["diagnostics"]
    found = await client.get("/fhir/Observation", params={"_summary": "count"}, headers=app.headers)
    assert found.json()["total"] == 0  # nothing stored


async def test_a_devices_text_holding_a_direction_control_is_refused_at_the_devices_element(
    client, person, make_app_token
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"])
    headers = {**app.headers, "Content-Type": FHIR}
    bundle = transaction(body_weight())
    bundle["entry"][0]["resource"]["manufacturer"] = "OMRON\u202eHEALTHCARE"
    refused = outcome(await client.post("/fhir", content=_raw(bundle), headers=headers), 422)
    assert [issue["expression"] for issue in refused["issue"]] == [["Bundle.entry[0].resource.manufacturer"]]
    # Contained in the Observation (the shape the read answers), the Device's model likewise.
    observation = body_weight(
        device={"reference": "#scale"},
        contained=[{"resourceType": "Device", "id": "scale", "modelNumber": "HEM\u20669200T"}],
    )
    alone = transaction(observation, with_device=False)  # (which drops the Observation's device)
    alone["entry"][0]["resource"]["device"] = {"reference": "#scale"}
    refused = outcome(await client.post("/fhir", content=_raw(alone), headers=headers), 422)
    assert [issue["expression"] for issue in refused["issue"]] == [
        ["Bundle.entry[0].resource.contained[0].modelNumber"]
    ]
    found = await client.get("/fhir/Observation", params={"_summary": "count"}, headers=app.headers)
    assert found.json()["total"] == 0
