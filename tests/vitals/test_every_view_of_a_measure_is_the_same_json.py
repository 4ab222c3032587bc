"""Measures are built as JSON by the database (ens.vitals.representation): every view of one measure
(the list, the measure itself, the change feed, the correction's answer) gives the same bytes, and
they decode strictly into the documented MeasurementRead, with no null member."""

from __future__ import annotations

import json
from typing import Any

import httpx
import msgspec

from ens.vitals.schemas import MeasurementRead
from tests.helpers.people import MakeAppToken, Person
from tests.helpers.vitals import VITALS, pressure, weight


def _no_nulls(value: Any) -> bool:
    if isinstance(value, dict):
        return all(v is not None and _no_nulls(v) for v in value.values())
    return True


async def test_list_single_feed_and_correction_agree_byte_for_byte(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    scale = await make_app_token(person, ["vitals.blood_pressure:write", "vitals.pain_severity:write"])
    by_app = [
        pressure(131, 84, device={"manufacturer": "Omron"}, bodyPosition="sitting"),
        {"type": "pain_severity", "value": 3, "unit": "{score}", "effectiveAt": weight()["effectiveAt"]},
    ]
    assert (await client.post(VITALS, json={"measurements": by_app}, headers=scale.headers)).status_code == 201
    typed = await client.post(
        VITALS, json={"measurements": [weight(70.25, note="après le café", minutes_ago=3)]}, headers=person.headers
    )
    typed_id = typed.json()["items"][0]["id"]
    page = await client.get(VITALS, headers=person.headers)
    raw_items = [json.dumps(item, separators=(",", ":")) for item in page.json()["items"]]
    assert len(raw_items) == 3
    for item in page.json()["items"]:
        decoded = msgspec.convert(item, MeasurementRead, strict=False)
        assert (decoded.value is None) != (decoded.components is None)
        assert _no_nulls(item)
        single = await client.get(f"{VITALS}/{item['id']}", headers=person.headers)
        assert single.json() == item
        assert single.content.decode() in page.text  # the same bytes, embedded in the page
    feed = (await client.get(f"{VITALS}/changes", headers=person.headers)).json()
    assert {json.dumps(c["measurement"], sort_keys=True) for c in feed["changes"]} == {
        json.dumps(item, sort_keys=True) for item in page.json()["items"]
    }
    corrected = await client.patch(f"{VITALS}/{typed_id}", json={"value": 70.5}, headers=person.headers)
    again = await client.get(f"{VITALS}/{typed_id}", headers=person.headers)
    assert corrected.content == again.content and again.json()["value"] == 70.5
    assert again.json()["note"] == "après le café" and again.json()["unit"] == "kg"
    units = {item["type"]: item["unit"] for item in page.json()["items"]}
    assert units == {"blood_pressure": "mm[Hg]", "pain_severity": "{score}", "body_weight": "kg"}
    device = next(i for i in page.json()["items"] if i["type"] == "blood_pressure")["device"]
    assert device == {"manufacturer": "Omron"}  # absent parts are omitted, never null


async def test_if_match_takes_the_etag_of_the_measure_as_served(client: httpx.AsyncClient, person: Person) -> None:
    created = await client.post(VITALS, json={"measurements": [weight(71.0)]}, headers=person.headers)
    measure_id = created.json()["items"][0]["id"]
    served = await client.get(f"{VITALS}/{measure_id}", headers=person.headers)
    etag = served.headers["etag"]
    weak = await client.patch(
        f"{VITALS}/{measure_id}", json={"value": 72.0}, headers={**person.headers, "If-Match": f"W/{etag}"}
    )
    assert weak.status_code == 412  # RFC 9110 §13.1.1: If-Match compares strongly
    strong = await client.patch(
        f"{VITALS}/{measure_id}", json={"value": 72.0}, headers={**person.headers, "If-Match": etag}
    )
    assert strong.status_code == 200
    stale = await client.delete(f"{VITALS}/{measure_id}", headers={**person.headers, "If-Match": etag})
    assert stale.status_code == 412
    now = (await client.get(f"{VITALS}/{measure_id}", headers=person.headers)).headers["etag"]
    fresh = await client.get(f"{VITALS}/{measure_id}", headers={**person.headers, "If-None-Match": f"W/{now}"})
    assert fresh.status_code == 304  # If-None-Match compares weakly


async def test_a_pages_etag_changes_with_any_of_its_measures_and_only_then(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    """The list's validator comes from its rows' change numbers, not its bytes: it must still change
    whenever the bytes would."""
    scale = await make_app_token(person, ["vitals.body_weight:write"])
    sent = [weight(70 + n, minutes_ago=10 + n, clientRecordId=f"r{n}") for n in range(3)]
    await client.post(VITALS, json={"measurements": sent}, headers=scale.headers)

    async def page() -> httpx.Response:
        return await client.get(f"{VITALS}?limit=2", headers=person.headers)

    first = await page()
    assert (await page()).headers["etag"] == first.headers["etag"]
    cached = await client.get(f"{VITALS}?limit=2", headers={**person.headers, "If-None-Match": first.headers["etag"]})
    assert cached.status_code == 304
    # The same rows through a cursor, CSV, or another limit: other representations, other tags.
    assert (await client.get(f"{VITALS}?limit=3", headers=person.headers)).headers["etag"] != first.headers["etag"]
    as_csv = await client.get(f"{VITALS}?limit=2", headers={**person.headers, "Accept": "text/csv"})
    assert as_csv.headers["etag"] != first.headers["etag"]
    tags = [first.headers["etag"]]
    # A replacement (higher version), a measure typed by hand in the page's range, a deletion.
    replaced = [weight(80, minutes_ago=10, clientRecordId="r0", clientRecordVersion=1)]
    await client.post(VITALS, json={"measurements": replaced}, headers=scale.headers)
    tags.append((await page()).headers["etag"])
    typed = await client.post(VITALS, json={"measurements": [weight(66, minutes_ago=1)]}, headers=person.headers)
    tags.append((await page()).headers["etag"])
    await client.delete(f"{VITALS}/{typed.json()['items'][0]['id']}", headers=person.headers)
    final = await page()
    tags.append(final.headers["etag"])
    # Each change shows; deleting the measure just typed brings back the very page before it.
    assert len(set(tags[:3])) == 3 and tags[3] == tags[1]
    # Unchanged re-sends change nothing.
    await client.post(VITALS, json={"measurements": replaced}, headers=scale.headers)
    assert (await page()).headers["etag"] == final.headers["etag"]
