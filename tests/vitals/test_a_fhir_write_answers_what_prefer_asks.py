"""``Prefer: return=minimal | representation | OperationOutcome`` on ``POST /fhir`` (FHIR R4
http.html, "Managing Return Content": for a transaction, what each entry of the
transaction-response carries). The header had been ignored (a review): every entry answered its
status and location alone, whatever the app asked."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from tests.helpers.vitals import VITALS
from tests.vitals.test_fhir_intake import body_weight, outcome, transaction

BOTH = ["vitals.body_weight:write", "vitals.body_weight:read"]


def answered(answer: Any) -> list[dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    Bundle.model_validate(answer.json())
    entries: list[dict[str, Any]] = answer.json()["entry"]
    return entries


def said_beside_warnings(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The issues of an entry's outcome other than the warnings naming what was not stored (the
    guide's example Bundle earns two: its reason extension and the scale's user-given name)."""
    outcome = entry["response"].get("outcome")
    if outcome is None:
        return []
    OperationOutcome.model_validate(outcome)
    issues: list[dict[str, Any]] = outcome["issue"]
    assert all(i["code"] == "not-supported" for i in issues if i["severity"] == "warning")
    return [i for i in issues if i["severity"] != "warning"]


def measure_of(entries: list[dict[str, Any]]) -> str:
    location: str = entries[-1]["response"]["location"]
    return location.removeprefix("Observation/")


async def test_return_representation_gives_each_entry_its_resource_as_the_read_gives_it(client, person, make_app_token):
    app = await make_app_token(person, BOTH)
    headers = {**app.headers, "Prefer": "return=representation"}
    device_entry, observation_entry = answered(
        await client.post("/fhir", json=transaction(body_weight(72)), headers=headers)
    )
    measure = measure_of([observation_entry])
    read = await client.get(f"/fhir/Observation/{measure}", headers=app.headers)
    # The Observation as GET /fhir/Observation/{id} reads it (its Device contained), the Device as the
    # search includes it, under the id the entry's fullUrl gives it.
    assert observation_entry["resource"] == read.json()
    assert observation_entry["resource"]["valueQuantity"]["value"] == 72
    assert observation_entry["response"]["status"] == "201 Created" and not said_beside_warnings(observation_entry)
    device = device_entry["resource"]
    assert device["resourceType"] == "Device" and device_entry["fullUrl"] == f"urn:uuid:{device['id']}"
    assert (device["manufacturer"], device["modelNumber"]) == ("OMRONHEALTHCARE", "HEM-9200T")
    # A re-send at the same version: 200 OK, the measure as stored.
    again = answered(await client.post("/fhir", json=transaction(body_weight(72)), headers=headers))
    assert again[-1]["response"]["status"] == "200 OK" and again[-1]["resource"]["id"] == measure
    # The preference's name and value as clients write them: quoted, in another case, among others.
    for prefer in (
        'return="representation"',
        "respond-async, RETURN=Representation",
        "handling=strict; return=representation",
    ):
        entries = answered(
            await client.post("/fhir", json=transaction(body_weight(72)), headers={**app.headers, "Prefer": prefer})
        )
        assert entries[-1]["resource"]["id"] == measure, prefer


async def test_return_minimal_and_no_preference_give_the_status_and_location_alone(client, person, make_app_token):
    app = await make_app_token(person, BOTH)
    for prefer in (None, "return=minimal", "return=nothing-known"):
        headers = {**app.headers, **({"Prefer": prefer} if prefer else {})}
        bundle = transaction(body_weight(70, identifier=[{"value": f"minimal-{prefer}"}]))
        for entry in answered(await client.post("/fhir", json=bundle, headers=headers)):
            assert "resource" not in entry and not said_beside_warnings(entry), prefer


async def test_return_operation_outcome_says_what_each_entry_did(client, person, make_app_token):
    app = await make_app_token(person, BOTH)
    headers = {**app.headers, "Prefer": "return=OperationOutcome"}

    def said(entry: dict[str, Any]) -> str:
        assert "resource" not in entry
        [only] = said_beside_warnings(entry)
        assert (only["severity"], only["code"]) == ("information", "informational")
        diagnostics: str = only["diagnostics"]
        return diagnostics

    device_entry, first = answered(await client.post("/fhir", json=transaction(body_weight(70)), headers=headers))
    assert said(first) == "Stored as a new measure." and "no resource of its own" in said(device_entry)
    again = answered(await client.post("/fhir", json=transaction(body_weight(70)), headers=headers))
    assert said(again[-1]).startswith("Already stored")
    newer = body_weight(71)
    newer["meta"]["versionId"] = "2"
    replaced = answered(await client.post("/fhir", json=transaction(newer), headers=headers))
    assert said(replaced[-1]).startswith("Replaced") and measure_of(replaced) == measure_of(again)


async def test_what_the_app_may_not_read_is_not_given_back(client, person, make_app_token):
    """A write-only app asking return=representation: the measure is stored, and the read's rules
    decide what comes back (nothing, and an outcome saying why), never more than the read gives."""
    app = await make_app_token(person, ["vitals.body_weight:write"])
    headers = {**app.headers, "Prefer": "return=representation"}
    device_entry, observation_entry = answered(
        await client.post("/fhir", json=transaction(body_weight(70)), headers=headers)
    )
    assert "resource" not in observation_entry and "resource" not in device_entry
    [issue] = said_beside_warnings(observation_entry)
    assert issue["severity"] == "information" and "may not read" in issue["diagnostics"]
    stored = (await client.get(f"{VITALS}/{measure_of([observation_entry])}", headers=person.headers)).json()
    assert stored["value"] == 70


async def test_a_measure_that_stays_deleted_is_said_so_whatever_is_asked(client, person, make_app_token):
    app = await make_app_token(person, BOTH)
    first = answered(await client.post("/fhir", json=transaction(body_weight(70)), headers=app.headers))
    assert (await client.delete(f"{VITALS}/{measure_of(first)}", headers=person.headers)).status_code == 204
    for prefer in ("return=representation", "return=OperationOutcome", "return=minimal"):
        entries = answered(
            await client.post("/fhir", json=transaction(body_weight(70)), headers={**app.headers, "Prefer": prefer})
        )
        assert "resource" not in entries[-1], prefer
        assert [i["code"] for i in said_beside_warnings(entries[-1])] == ["deleted"], prefer


async def test_a_prefer_header_past_its_length_is_refused_as_on_the_search(client, person, make_app_token):
    """The search declares Prefer at most 256 characters (400 past it); the transaction the same, so
    a return preference is never dropped unread: nothing is stored."""
    app = await make_app_token(person, BOTH)
    long = "return=representation, " + "x" * 256
    body = outcome(
        await client.post("/fhir", json=transaction(body_weight(70)), headers={**app.headers, "Prefer": long}), 400
    )
    assert body["issue"][0]["expression"] == ["Prefer"]
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []
    searched = await client.get("/fhir/Observation", headers={**app.headers, "Prefer": long})
    assert outcome(searched, 400)["issue"][0]["expression"] == ["Prefer"]
