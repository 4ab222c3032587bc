"""What the import keeps of a Bundle's Devices: what identifies each (all a measure takes of it),
never the whole resource — it kept every Device whole, named by a measure or not, until the end
(150 Devices of 1 MiB took 147 MiB), then dropped the unused ones without a word (a review)."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ens.overview import space_import
from tests.helpers.fhir import FHIR
from tests.helpers.people import MakePerson, Person
from tests.helpers.vitals import VITALS, weight

IMPORT = "/v1/spaces/me/import"
EXPORT = "/v1/spaces/me/export"
SCALE = {"manufacturer": "Withings", "model": "Body+", "identifier": "00:24:e4:aa:bb:cc"}
MIB = 1024 * 1024


async def _weighed(client: httpx.AsyncClient, make_person: MakePerson) -> tuple[dict[str, Any], dict[str, Any]]:
    """A weight taken by a scale, as exported: its Observation entry and its Device entry."""
    source = await make_person("Source")
    sent = await client.post(VITALS, json={"measurements": [weight(device=SCALE)]}, headers=source.headers)
    assert sent.status_code == 201, sent.text
    entries = (await client.get(EXPORT, headers=source.headers)).json()["entry"]
    [observation] = [e for e in entries if e["resource"]["resourceType"] == "Observation"]
    [device] = [e for e in entries if e["resource"]["resourceType"] == "Device"]
    assert observation["resource"]["device"]["reference"] == device["fullUrl"]
    return observation, device


def _entries(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": list(entries)}


async def _nothing_kept(client: httpx.AsyncClient, person: Person) -> None:
    after = (await client.get(EXPORT, headers=person.headers)).json()
    assert [e["resource"]["resourceType"] for e in after["entry"]] == ["Patient"]


async def test_large_devices_cost_what_identifies_them_and_the_unused_ones_are_listed(
    client, make_person: MakePerson
) -> None:
    observation, device = await _weighed(client, make_person)
    newcomer = await make_person("Camille")
    note = [{"text": "x" * MIB}]  # a megabyte that identifies nothing
    count = 100

    async def body() -> AsyncIterator[bytes]:
        # The measure comes before the Device it names: the import reads the whole Bundle first.
        yield b'{"resourceType": "Bundle", "type": "collection", "entry": [' + json.dumps(observation).encode()
        yield b"," + json.dumps({**device, "resource": {**device["resource"], "note": note}}).encode()
        for index in range(1, count):
            unused = {"fullUrl": f"urn:uuid:unused-{index}", "resource": {"resourceType": "Device", "note": note}}
            yield b"," + json.dumps(unused).encode()
        yield b"]}"

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        answer = await client.post(IMPORT, content=body(), headers={**newcomer.headers, "Content-Type": FHIR})
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert answer.status_code == 201, answer.text
    assert peak < 24 * MIB, f"{peak / MIB:.0f} MiB for {count} Devices of 1 MiB"
    assert answer.json() == {
        "imported": {"Observation": 1},
        "notImported": [{"resourceType": "Device", "count": count - 1, "reason": space_import.UNUSED_DEVICE}],
        "keptWithout": [],
    }
    [measure] = (await client.get(VITALS, headers=newcomer.headers)).json()["items"]
    assert measure["device"] == SCALE


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"manufacturer": "W" * 256}, id="an identifying field past the ingestion's 255 characters"),
        pytest.param({"modelNumber": 7}, id="an identifying field of the wrong type"),
    ],
)
async def test_a_device_the_ingestion_could_not_take_is_422_at_its_entry(
    client, make_person: MakePerson, bad: dict[str, Any]
) -> None:
    observation, device = await _weighed(client, make_person)
    newcomer = await make_person("Noé")
    unused = {"fullUrl": "urn:uuid:another", "resource": {"resourceType": "Device", **bad}}
    answer = await client.post(IMPORT, json=_entries(observation, device, unused), headers=newcomer.headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["pointer"] == "/entry/2/resource"
    await _nothing_kept(client, newcomer)


async def test_two_devices_of_one_full_url_are_422(client, make_person: MakePerson) -> None:
    """A measure naming that fullUrl would take one of the two, which the Bundle does not say."""
    observation, device = await _weighed(client, make_person)
    newcomer = await make_person("Inès")
    twin = {**device, "resource": {**device["resource"], "serialNumber": "other"}}
    answer = await client.post(IMPORT, json=_entries(observation, device, twin), headers=newcomer.headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["pointer"] == "/entry/2/fullUrl"
    await _nothing_kept(client, newcomer)


async def test_more_devices_than_an_import_keeps_is_422(
    client, make_person: MakePerson, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most MAX_DEVICES (10,000; here 3, so that the test sends few)."""
    monkeypatch.setattr(space_import, "MAX_DEVICES", 3)
    observation, device = await _weighed(client, make_person)
    newcomer = await make_person("Maëlle")
    others = [{"fullUrl": f"urn:uuid:d-{i}", "resource": {"resourceType": "Device"}} for i in range(3)]
    answer = await client.post(IMPORT, json=_entries(observation, device, *others), headers=newcomer.headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["pointer"] == "/entry/4"
    await _nothing_kept(client, newcomer)
    fits = await client.post(IMPORT, json=_entries(observation, device, *others[:2]), headers=newcomer.headers)
    assert fits.status_code == 201, fits.text
    assert fits.json()["notImported"][0]["count"] == 2


async def test_a_measure_naming_a_device_the_bundle_does_not_hold_is_422(client, make_person: MakePerson) -> None:
    """Imported without it, the app that took the measure was dropped without a word (an outside
    audit). Its Device may come before or after it in the Bundle."""
    observation, device = await _weighed(client, make_person)
    newcomer = await make_person("Lou")
    alone = await client.post(IMPORT, json=_entries(observation), headers=newcomer.headers)
    assert alone.status_code == 422, alone.text
    [error] = alone.json()["errors"]
    assert error == {
        "pointer": "/entry/0/resource",
        "detail": "Observation.device: no Device of the Bundle has this fullUrl",
    }
    await _nothing_kept(client, newcomer)
    after = await client.post(IMPORT, json=_entries(observation, device), headers=newcomer.headers)
    assert after.status_code == 201, after.text
    other = await make_person("Léon")
    before = await client.post(IMPORT, json=_entries(device, observation), headers=other.headers)
    assert before.status_code == 201, before.text


async def test_a_device_that_names_nothing_is_kept_with_no_measure_and_listed(client, make_person: MakePerson) -> None:
    """A Device that gives no manufacturer, model or identifier (its type alone) identifies nothing
    a measure keeps: the measure naming it is imported without a device, and the answer says the
    Device was not (the ingestion refuses ``device: {}``, which it was handed before)."""
    observation, device = await _weighed(client, make_person)
    newcomer = await make_person("Inès")
    bare = {**device, "resource": {"resourceType": "Device", "type": {"text": "balance"}}}
    answer = await client.post(IMPORT, json=_entries(observation, bare), headers=newcomer.headers)
    assert answer.status_code == 201, answer.text
    assert answer.json() == {
        "imported": {"Observation": 1},
        "notImported": [{"resourceType": "Device", "count": 1, "reason": space_import.UNUSED_DEVICE}],
        "keptWithout": [],
    }
    [measure] = (await client.get(VITALS, headers=newcomer.headers)).json()["items"]
    assert "device" not in measure
