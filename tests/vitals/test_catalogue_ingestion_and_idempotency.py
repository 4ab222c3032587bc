"""The catalogue, batch ingestion, exact conversions, plausibility rules, idempotency, scopes."""

from __future__ import annotations

import asyncio
import re
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

import pytest

from tests.helpers.rows import one_row
from tests.helpers.vitals import VITALS, at, pressure, weight


async def count_rows(space_id) -> int:
    row = await one_row("SELECT COUNT(*) AS n FROM vital_measurements WHERE space_id = {}", space_id)
    assert row is not None
    return int(row["n"])


async def test_catalogue_is_public_and_lists_the_ten_types_and_the_derived_bmi(client):
    response = await client.get("/v1/vital-types")
    assert response.status_code == 200
    items = {item["code"]: item for item in response.json()["items"]}
    assert list(items) == [
        "body_weight",
        "body_height",
        "heart_rate",
        "blood_pressure",
        "body_temperature",
        "waist_circumference",
        "blood_glucose",
        "steps_per_day",
        "pain_severity",
        "head_circumference",
        "bmi",
    ]
    assert items["body_weight"]["loinc"] == "29463-7" and items["body_weight"]["unit"] == "kg"
    assert items["body_weight"]["label"] == "Poids"
    assert {u["unit"]: u["factor"] for u in items["body_weight"]["units"]} == {
        "kg": "1",
        "g": "0.001",
        "[lb_av]": "0.45359237",
    }
    assert {u["unit"]: (u["factor"], u["offset"]) for u in items["body_temperature"]["units"]} == {
        "Cel": ("1", "0"),
        "[degF]": ("5/9", "-32"),
    }
    assert {u["unit"]: u["factor"] for u in items["blood_glucose"]["units"]}["mmol/L"] == "18.016"
    assert items["blood_glucose"]["requiredContext"] == ["glucoseMoment"]
    bp = items["blood_pressure"]
    assert bp["loinc"] == "85354-9" and bp["unit"] == "mm[Hg]"
    assert [(c["code"], c["loinc"]) for c in bp["components"]] == [("systolic", "8480-6"), ("diastolic", "8462-4")]
    assert items["steps_per_day"]["unit"] == "1/(24.h)" and items["pain_severity"]["integer"] is True
    assert items["pain_severity"]["min"] == 0 and items["pain_severity"]["max"] == 10
    assert items["bmi"]["derived"] is True and items["bmi"]["units"] == [] and items["bmi"]["unit"] == "kg/m2"


def _expected(value: str, factor: str, offset: str, precision: int) -> Decimal:
    """Brute force with exact rationals, independent of the service's Decimal code."""
    exact = (Fraction(value) + Fraction(offset)) * Fraction(factor)
    as_decimal = Decimal(exact.numerator) / Decimal(exact.denominator)
    return as_decimal.quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_EVEN)


async def test_every_type_is_accepted_in_each_of_its_units_and_converted_exactly(client, person, post_vitals):
    catalogue = (await client.get("/v1/vital-types")).json()["items"]
    # A value per canonical unit inside each type's range; converted back to each unit below.
    targets: dict[str, Any] = {
        "body_weight": "72.34",
        "body_height": "171.3",
        "heart_rate": "64",
        "blood_pressure": ("123", "81"),
        "body_temperature": "37.4",
        "waist_circumference": "88.5",
        "blood_glucose": "96.2",
        "steps_per_day": "8421",
        "pain_severity": "4",
        "head_circumference": "41.2",
    }
    sent: list[dict[str, Any]] = []
    expected: list[Any] = []
    for vital in catalogue:
        if vital["derived"]:
            continue
        for unit in vital["units"]:
            factor, offset = Fraction(unit["factor"]), Fraction(unit["offset"])

            def in_unit(canonical: str, factor: Fraction = factor, offset: Fraction = offset) -> str:
                # The canonical target expressed in this unit, to 4 decimals (a realistic reading).
                value = Fraction(canonical) / factor - offset
                return str(round(Decimal(value.numerator) / Decimal(value.denominator), 4).normalize())

            item = {"type": vital["code"], "unit": unit["unit"], "effectiveAt": at(1440 * (len(sent) + 1))}
            if vital["code"] == "blood_glucose":
                item["glucoseMoment"] = "fasting"
            target = targets[vital["code"]]
            if vital["code"] == "blood_pressure":
                systolic, diastolic = in_unit(target[0]), in_unit(target[1])
                item["components"] = {"systolic": float(systolic), "diastolic": float(diastolic)}
                expected.append(
                    {
                        "systolic": _expected(systolic, unit["factor"], unit["offset"], vital["precision"]),
                        "diastolic": _expected(diastolic, unit["factor"], unit["offset"], vital["precision"]),
                    }
                )
            else:
                value = target if vital["integer"] else in_unit(target)
                item["value"] = float(value) if "." in value else int(value)
                expected.append(_expected(value, unit["factor"], unit["offset"], vital["precision"]))
            sent.append(item)
    assert len(sent) == 27
    response = await post_vitals(person, sent)
    assert response.status_code == 201, response.text
    ids = [item["id"] for item in response.json()["items"]]
    for item_id, item, want in zip(ids, sent, expected, strict=True):
        stored = (await client.get(f"{VITALS}/{item_id}", headers=person.headers)).json()
        assert stored["originalUnit"] == item["unit"]
        if item["type"] == "blood_pressure":
            assert stored["components"] == {"systolic": float(want["systolic"]), "diastolic": float(want["diastolic"])}
            assert stored["originalValue"] == item["components"]
        else:
            assert Decimal(repr(stored["value"])) == want, (item, stored["value"], want)
            assert stored["originalValue"] == item["value"]


@pytest.mark.parametrize(
    ("value", "unit", "canonical"),
    [
        (160, "[lb_av]", 72.575),  # 72.57478 kg, kept to the gram
        (98.6, "[degF]", 37.0),
        (5.5, "mmol/L", 99.1),  # 99.088 mg/dL
        (0.95, "g/L", 95.0),
        (3450, "g", 3.45),
    ],
)
async def test_known_conversions(client, person, post_vitals, value, unit, canonical):
    vital_type = {"[lb_av]": "body_weight", "g": "body_weight", "[degF]": "body_temperature"}.get(unit, "blood_glucose")
    item = {"type": vital_type, "value": value, "unit": unit, "effectiveAt": at(5)}
    if vital_type == "blood_glucose":
        item["glucoseMoment"] = "before_meal"
    response = await post_vitals(person, [item])
    assert response.status_code == 201, response.text
    stored = (await client.get(f"{VITALS}/{response.json()['items'][0]['id']}", headers=person.headers)).json()
    assert stored["value"] == canonical


async def test_every_plausibility_rule_and_bad_item_is_named_and_nothing_is_stored(client, person, post_vitals):
    good = weight(70)
    bad = [
        ({"type": "body_temperature", "value": 60, "unit": "Cel", "effectiveAt": at(1)}, "/value"),
        ({"type": "body_temperature", "value": 140, "unit": "[degF]", "effectiveAt": at(1)}, "/value"),
        (pressure(80, 120), "/components/systolic"),
        (pressure(120, 120), "/components/systolic"),
        (pressure(400, 80), "/components/systolic"),
        (pressure(120, 5), "/components/diastolic"),
        ({"type": "blood_pressure", "value": 120, "unit": "mm[Hg]", "effectiveAt": at(1)}, "/value"),
        ({**weight(70), "components": {"systolic": 1, "diastolic": 1}}, "/components"),
        ({"type": "body_weight", "unit": "kg", "effectiveAt": at(1)}, "/value"),
        ({"type": "pain_severity", "value": 3.5, "unit": "{score}", "effectiveAt": at(1)}, "/value"),
        ({"type": "pain_severity", "value": 11, "unit": "{score}", "effectiveAt": at(1)}, "/value"),
        ({"type": "steps_per_day", "value": -5, "unit": "1/(24.h)", "effectiveAt": at(1)}, "/value"),
        ({"type": "heart_rate", "value": 900, "unit": "/min", "effectiveAt": at(1)}, "/value"),
        ({"type": "body_weight", "value": 0.01, "unit": "kg", "effectiveAt": at(1)}, "/value"),
        ({"type": "body_height", "value": 3, "unit": "m", "effectiveAt": at(1)}, "/value"),
        ({"type": "bmi", "value": 22, "unit": "kg/m2", "effectiveAt": at(1)}, "/type"),
        ({"type": "mood", "value": 3, "unit": "{score}", "effectiveAt": at(1)}, "/type"),
        ({"type": "body_weight", "value": 70, "unit": "stone", "effectiveAt": at(1)}, "/unit"),
        (weight(70, clientRecordId="   "), "/clientRecordId"),  # spaces only identify nothing
        ({"type": "blood_glucose", "value": 95, "unit": "mg/dL", "effectiveAt": at(1)}, "/glucoseMoment"),
        ({**weight(70), "glucoseMoment": "fasting"}, "/glucoseMoment"),
        ({**weight(70), "glucoseMoment": "after_lunch"}, "/glucoseMoment"),
        (weight(70, minutes_ago=-10), "/effectiveAt"),
        ({**weight(70), "effectiveAt": "2026-01-01T10:00:00"}, "/effectiveAt"),
        ({**weight(70), "effectiveAt": "yesterday"}, "/effectiveAt"),
        ({**weight(70), "effectiveAt": "1850-01-01T10:00:00Z"}, "/effectiveAt"),
        ({**weight(70), "value": "70"}, "/value"),
        ({**weight(70), "source": {"clientId": "forged"}}, "/source"),
        ({**weight(70), "recordingMethod": "guessed"}, "/recordingMethod"),
        ({**weight(70), "clientRecordVersion": -1}, "/clientRecordVersion"),
        ({**weight(70), "device": {"model": "X", "colour": "red"}}, "/device/colour"),
        ({**weight(70), "device": {}}, "/device"),  # names no device (it was taken as none)
        ({**weight(70), "device": {"model": "  "}}, "/device/model"),
        # Nothing visible says nothing: refused as every other text of a space (it was stored).
        ({**weight(70), "note": " \u200b "}, "/note"),
        ({**weight(70), "note": ""}, "/note"),
        ({**weight(70), "measurementLocation": "\u3164"}, "/measurementLocation"),
        ("not an object", ""),
    ]
    before = await count_rows(person.space_id)
    response = await post_vitals(person, [good] + [item for item, _ in bad])
    assert response.status_code == 422, response.text
    body = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert body["type"] == "urn:ens:problem:validation"
    pointers = {error["pointer"] for error in body["errors"]}
    for index, (_, suffix) in enumerate(bad, start=1):
        assert f"/measurements/{index}{suffix}" in pointers, (index, suffix, body["errors"])
    assert not any(p.startswith("/measurements/0/") or p == "/measurements/0" for p in pointers)
    # Details name the rule and the field, never echo a health value back beyond the rule.
    assert all(error["detail"] for error in body["errors"])
    assert await count_rows(person.space_id) == before


async def test_steps_take_one_value_per_day_and_same_client_record_id_twice_is_refused(person, post_vitals):
    steps = {"type": "steps_per_day", "unit": "1/(24.h)"}
    response = await post_vitals(
        person,
        [
            {**steps, "value": 1000, "effectiveAt": "2026-03-02T08:00:00+01:00"},
            {**steps, "value": 2000, "effectiveAt": "2026-03-02T21:00:00+01:00"},
            {**steps, "value": 3000, "effectiveAt": "2026-03-03T08:00:00+01:00"},
            weight(70, clientRecordId="r1"),
            weight(71, clientRecordId="r1"),
        ],
    )
    assert response.status_code == 422
    assert {e["pointer"] for e in response.json()["errors"]} == {
        "/measurements/1/effectiveAt",
        "/measurements/4/clientRecordId",
    }
    # Re-sending a day's count never duplicates it: the day is its key; a higher version replaces.
    first = await post_vitals(person, [{**steps, "value": 1000, "effectiveAt": "2026-03-02T08:00:00+01:00"}])
    again = await post_vitals(person, [{**steps, "value": 1000, "effectiveAt": "2026-03-02T20:00:00+01:00"}])
    later = await post_vitals(
        person,
        [{**steps, "value": 1800, "effectiveAt": "2026-03-02T22:00:00+01:00", "clientRecordVersion": 1}],
    )
    assert [r.json()["items"][0]["result"] for r in (first, again, later)] == ["created", "unchanged", "replaced"]
    assert len({r.json()["items"][0]["id"] for r in (first, again, later)}) == 1


async def test_another_count_of_a_day_without_a_higher_version_is_refused_not_dropped(
    client, person, make_app_token, post_vitals
):
    """A day's count typed again in the evening (or sent again by an app that knows no versions)
    with another value was answered "unchanged" and dropped without a word (an outside audit): it
    is 422, naming the stored measure and how to correct it; the same count again stays a retry."""
    steps = {"type": "steps_per_day", "unit": "/d", "effectiveAt": "2026-03-02T08:00:00+01:00"}
    first = await post_vitals(person, [{**steps, "value": 4000}])
    stored_id = first.json()["items"][0]["id"]
    evening = await post_vitals(
        person, [weight(70), {**steps, "value": 9000, "effectiveAt": "2026-03-02T21:00:00+01:00"}]
    )
    assert evening.status_code == 422, evening.text
    assert evening.headers["content-type"].startswith("application/problem+json")
    [error] = evening.json()["errors"]
    assert error["pointer"] == "/measurements/1/value"
    assert stored_id in error["detail"] and "2026-03-02" in error["detail"] and "PATCH" in error["detail"]
    assert await count_rows(person.space_id) == 1  # the batch's weight was not stored either
    stored = (await client.get(f"{VITALS}/{stored_id}", headers=person.headers)).json()
    assert stored["value"] == 4000
    # The person corrects it; the corrected count sent again is the day's count, unchanged.
    corrected = await client.patch(f"{VITALS}/{stored_id}", json={"value": 9000}, headers=person.headers)
    assert corrected.status_code == 200, corrected.text
    again = await post_vitals(person, [{**steps, "value": 9000}])
    assert again.json()["items"] == [{"id": stored_id, "result": "unchanged"}]
    # An app's day counts: the same rule; a higher version replaces.
    counter = await make_app_token(person, ["vitals.steps_per_day:write"])
    morning = await post_vitals(counter, [{**steps, "value": 2500}])
    assert morning.json()["items"][0]["result"] == "created"
    assert (await post_vitals(counter, [{**steps, "value": 7000}])).status_code == 422
    replaced = await post_vitals(counter, [{**steps, "value": 7000, "clientRecordVersion": 2}])
    assert replaced.json()["items"][0]["result"] == "replaced"
    # A lower version arriving late (an offline queue) is out of date: "unchanged", not refused
    # (sending it higher, as the refusal says, would put the older count back).
    late = await post_vitals(counter, [{**steps, "value": 5000, "clientRecordVersion": 1}])
    assert late.status_code == 201 and late.json()["items"][0]["result"] == "unchanged"


async def test_a_1000_item_batch_with_one_bad_item_stores_nothing(person, post_vitals):
    items = [weight(70 + (i % 10) / 10, minutes_ago=i + 1) for i in range(1000)]
    items[637] = weight(7000, minutes_ago=5)
    response = await post_vitals(person, items)
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["/measurements/637/value"]
    assert await count_rows(person.space_id) == 0
    items[637] = weight(70, minutes_ago=5)
    response = await post_vitals(person, items)
    assert response.status_code == 201
    assert [item["result"] for item in response.json()["items"]] == ["created"] * 1000
    assert await count_rows(person.space_id) == 1000


async def test_empty_and_oversize_batches_are_422_at_measurements(client, person):
    for measurements in ([], [weight()] * 1001):
        response = await client.post(VITALS, json={"measurements": measurements}, headers=person.headers)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["pointer"] for e in response.json()["errors"]] == ["/measurements"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "measurements"),
        ({"measurements": [weight()], "extra": 1}, "extra"),
        ({"measurements": {"type": "body_weight"}}, "array"),
        ([weight()], "object"),
    ],
)
async def test_malformed_batches_are_4xx_problems_that_say_what_is_wrong(client, person, body, words):
    response = await client.post(VITALS, json=body, headers=person.headers)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:ens:problem:validation"
    assert words in problem["detail"] + " ".join(e["detail"] + e["pointer"] for e in problem.get("errors", []))


async def test_malformed_json_is_400(client, person):
    response = await client.post(
        VITALS, content=b'{"measurements": [', headers={**person.headers, "content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_number_beyond_a_double_is_refused_where_it_stands(client, person):
    """``1e400`` is no double: msgspec refused the whole body (400, "Number out of range" at
    `$[...][1][...]`, no field named) while ``1e300`` was a 422 at the value. Both are now."""
    items = b"""{"measurements": [
        {"type": "body_weight", "value": 71, "unit": "kg", "effectiveAt": "2026-11-01T08:00:00+01:00"},
        {"type": "body_weight", "value": 1e400, "unit": "kg", "effectiveAt": "2026-11-01T08:00:00+01:00"},
        {"type": "blood_pressure", "components": {"systolic": -1e400, "diastolic": 80}, "unit": "mm[Hg]",
         "effectiveAt": "2026-11-01T08:00:00+01:00"}]}"""
    headers = {**person.headers, "content-type": "application/json"}
    response = await client.post(VITALS, content=items, headers=headers)
    assert response.status_code == 422, response.text
    assert [e["pointer"] for e in response.json()["errors"]] == [
        "/measurements/1/value",
        "/measurements/2/components/systolic",
    ]
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []
    typed = await client.post(VITALS, json={"measurements": [weight(70.0)]}, headers=person.headers)
    measure = typed.json()["items"][0]["id"]
    corrected = await client.patch(f"{VITALS}/{measure}", content=b'{"value": 1e400}', headers=headers)
    assert corrected.status_code == 422 and corrected.json()["errors"][0]["pointer"] == "/value"
    assert (await client.get(VITALS, headers=person.headers)).json()["items"][0]["value"] == 70.0


async def test_resends_never_duplicate_and_a_higher_version_replaces(client, person, make_app_token, post_vitals):
    scale = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"], name="Balance X")
    first = await post_vitals(scale, [weight(70, clientRecordId="w-1", clientRecordVersion=3)])
    assert first.status_code == 201
    record_id = first.json()["items"][0]["id"]
    same = await post_vitals(scale, [weight(75, clientRecordId="w-1", clientRecordVersion=3)])
    lower = await post_vitals(scale, [weight(75, clientRecordId="w-1", clientRecordVersion=2)])
    assert same.json()["items"] == [{"id": record_id, "result": "unchanged"}]
    assert lower.json()["items"] == [{"id": record_id, "result": "unchanged"}]
    stored = (await client.get(f"{VITALS}/{record_id}", headers=scale.headers)).json()
    assert stored["value"] == 70
    assert stored["source"] == {"clientId": scale.client_id, "name": "Balance X"}
    assert stored["recordingMethod"] == "automatic"
    higher = await post_vitals(
        scale, [weight(71.2, clientRecordId="w-1", clientRecordVersion=4), weight(80, clientRecordId="w-2")]
    )
    assert higher.json()["items"][0] == {"id": record_id, "result": "replaced"}
    assert higher.json()["items"][1]["result"] == "created"
    stored = (await client.get(f"{VITALS}/{record_id}", headers=scale.headers)).json()
    assert stored["value"] == 71.2 and stored["updatedAt"] > stored["createdAt"]
    # Another app's record ids are its own: the same id from it is another measure.
    other = await make_app_token(person, ["vitals.body_weight:write"])
    response = await post_vitals(other, [weight(70, clientRecordId="w-1", clientRecordVersion=3)])
    assert response.json()["items"][0]["result"] == "created"
    assert response.json()["items"][0]["id"] != record_id
    assert await count_rows(person.space_id) == 3


@pytest.mark.parametrize("key", ['w "1", \\ é', "w\t2 \u2028", '["w-3"]', "🩺 w-4"])
async def test_a_record_id_any_json_escapes_is_found_again_at_every_resend(person, make_app_token, post_vitals, key):
    """The batch's record ids go to PostgreSQL as one JSON array: quotes, backslashes, control
    characters and characters beyond the BMP are the same id when found again, at each of the
    resends that take the lookup from its first plans to the one it keeps (after five)."""
    scale = await make_app_token(person, ["vitals.body_weight:write"])
    first = await post_vitals(scale, [weight(70, clientRecordId=key, clientRecordVersion=1)])
    assert first.status_code == 201, first.text
    record_id = first.json()["items"][0]["id"]
    for _ in range(7):
        again = await post_vitals(scale, [weight(70, clientRecordId=key, clientRecordVersion=1)])
        assert again.json()["items"] == [{"id": record_id, "result": "unchanged"}]
    newer = await post_vitals(scale, [weight(71, clientRecordId=key, clientRecordVersion=2)])
    assert newer.json()["items"] == [{"id": record_id, "result": "replaced"}]
    assert await count_rows(person.space_id) == 1


async def test_two_identical_concurrent_posts_store_each_measure_once(person, make_app_token, post_vitals):
    scale = await make_app_token(person, ["vitals.body_weight:write", "vitals.blood_pressure:write"])
    batch = [weight(70 + i / 10, minutes_ago=i + 1, clientRecordId=f"c-{i}") for i in range(50)]
    batch.append(pressure(clientRecordId="bp-1"))
    first, second = await asyncio.gather(post_vitals(scale, batch), post_vitals(scale, batch))
    assert first.status_code == second.status_code == 201
    results = sorted([first.json()["items"][0]["result"], second.json()["items"][0]["result"]])
    assert results == ["created", "unchanged"]
    assert [i["id"] for i in first.json()["items"]] == [i["id"] for i in second.json()["items"]]
    for response in (first, second):
        assert len({item["result"] for item in response.json()["items"]}) == 1
    assert await count_rows(person.space_id) == 51


async def test_an_app_writes_only_the_types_it_was_granted(person, make_app_token, post_vitals):
    scale = await make_app_token(person, ["vitals.body_weight:write"])
    response = await post_vitals(scale, [weight(), pressure(), {**weight(), "type": "heart_rate", "unit": "/min"}])
    assert response.status_code == 403
    assert response.json()["type"] == "urn:ens:problem:forbidden"
    assert "blood_pressure" in response.json()["detail"] and "heart_rate" in response.json()["detail"]
    assert await count_rows(person.space_id) == 0
    assert (await post_vitals(scale, [weight()])).status_code == 201


@pytest.mark.parametrize("kind", [{}, [], ["body_weight"], 7, None])
async def test_an_apps_item_whose_type_is_not_a_string_is_a_422_of_its_own(person, make_app_token, post_vitals, kind):
    """The scope check reads each item's type before validation: an object or a list there was a
    500 (unhashable), found by the fuzzer once the document typed the batch's items."""
    scale = await make_app_token(person, ["vitals.body_weight:write"])
    response = await post_vitals(scale, [weight(), {**weight(), "type": kind}])
    assert response.status_code == 422, response.text
    assert [error["pointer"] for error in response.json()["errors"]] == ["/measurements/1/type"]
    assert await count_rows(person.space_id) == 0


async def test_an_app_reads_nothing_without_a_read_scope(client, person, make_app_token, post_vitals):
    await post_vitals(person, [weight(), pressure()])
    writer = await make_app_token(person, ["vitals.body_weight:write"])
    for path in ("", "/summary?type=body_weight", "/changes"):
        response = await client.get(f"{VITALS}{path}", headers=writer.headers)
        assert response.status_code == 403, path
    reader = await make_app_token(person, ["vitals.body_weight:read"])
    listed = (await client.get(VITALS, headers=reader.headers)).json()["items"]
    assert [item["type"] for item in listed] == ["body_weight"]
    feed = (await client.get(f"{VITALS}/changes", headers=reader.headers)).json()["changes"]
    assert [change["measurement"]["type"] for change in feed] == ["body_weight"]
    assert (await client.get(f"{VITALS}?type=blood_pressure", headers=reader.headers)).status_code == 403
    assert (await client.get(f"{VITALS}/summary?type=blood_pressure", headers=reader.headers)).status_code == 403
    assert (await client.get("/v1/spaces/me", headers=reader.headers)).status_code == 403


async def test_new_measure_ids_are_random_version_4_uuids_stored_and_read_back_as_sent(
    client, person, make_app_token, post_vitals
):
    from uuid import RFC_4122, UUID

    from ens.vitals.ingest import new_ids

    ids = [UUID(str(made)) for _ in range(50) for made in new_ids(20)]
    assert all(made.version == 4 and made.variant == RFC_4122 for made in ids)
    assert len(set(ids)) == 1000
    scale = await make_app_token(person, ["vitals.body_weight:write"])
    sent = await post_vitals(scale, [weight(70 + i / 10, minutes_ago=i + 1) for i in range(30)])
    created = [item["id"] for item in sent.json()["items"]]
    for measurement_id in created:
        assert UUID(measurement_id).version == 4
        read = await client.get(f"{VITALS}/{measurement_id}", headers=person.headers)
        assert read.status_code == 200 and read.json()["id"] == measurement_id


async def test_a_client_record_id_may_not_take_the_key_of_a_days_count(client, person, make_app_token, post_vitals):
    """A steps_per_day without clientRecordId is recorded under "day:<date>": a measure naming such a
    key, in the same batch or a later one, would be that record (a weight came back "unchanged"
    with the count's id, and was never stored, before a review found it)."""
    app = await make_app_token(person, ["vitals.steps_per_day:write", "vitals.heart_rate:write"])
    day = {"type": "steps_per_day", "value": 8000, "unit": "1/(24.h)", "effectiveAt": "2026-11-10T20:00:00Z"}
    named = {
        "type": "heart_rate",
        "value": 60,
        "unit": "/min",
        "effectiveAt": "2026-11-10T08:00:00Z",
        "clientRecordId": "day:2026-11-10",
    }
    for items, pointer in (
        ([day, named], "/measurements/1/clientRecordId"),
        ([named], "/measurements/0/clientRecordId"),
    ):
        response = await post_vitals(app, items)
        assert response.status_code == 422, response.text
        assert [e["pointer"] for e in response.json()["errors"]] == [pointer]
    assert await count_rows(person.space_id) == 0
    assert (await post_vitals(app, [day])).status_code == 201
    assert (await post_vitals(app, [named])).status_code == 422
    assert await count_rows(person.space_id) == 1


async def test_a_record_keeps_its_type(client, person, post_vitals):
    """A re-send under a clientRecordId that holds a weight, as a heart rate with a higher version,
    replaced the weight (found by a review; an app needed only heart_rate:write to erase a weight it
    may not delete): refused at its clientRecordId, the weight kept."""
    typed = await post_vitals(person, [weight(70, clientRecordId="y")])
    assert typed.status_code == 201
    other = {"type": "heart_rate", "value": 60, "unit": "/min", "effectiveAt": at(5)}
    changed = await post_vitals(person, [{**other, "clientRecordId": "y", "clientRecordVersion": 2}])
    assert changed.status_code == 422, changed.text
    assert [e["pointer"] for e in changed.json()["errors"]] == ["/measurements/0/clientRecordId"]
    kept = (await client.get(f"{VITALS}/{typed.json()['items'][0]['id']}", headers=person.headers)).json()
    assert kept["type"] == "body_weight" and kept["value"] == 70
    assert await count_rows(person.space_id) == 1


def test_a_race_over_a_record_is_recognised_on_a_partitioned_table_too():
    from ens.vitals.ingest import is_record_index

    assert is_record_index("vital_measurements_client_record")
    # ens partition: each partition has its own copy of the index, named by PostgreSQL.
    assert is_record_index("vital_measurements_p003_space_id_writer_client_record_id_idx")
    assert not is_record_index("vital_measurements_pkey") and not is_record_index(None)


async def test_one_step_count_per_day_across_batches_too(client, person, make_app_token, post_vitals):
    """Three batches of one app, each with the same day's count under another key (an id, another
    id, none), stored three counts for the day (a review): the second and third are refused; the
    count is re-sent under its own key with a higher version."""
    app = await make_app_token(person, ["vitals.steps_per_day:write", "vitals.steps_per_day:read"])
    day = {"type": "steps_per_day", "unit": "1/(24.h)", "effectiveAt": "2026-03-02T20:00:00Z"}
    assert (await post_vitals(app, [{**day, "value": 8000, "clientRecordId": "a"}])).status_code == 201
    for other in ({"clientRecordId": "b"}, {}):
        refused = await post_vitals(app, [{**day, "value": 9000, **other}])
        assert refused.status_code == 422, refused.text
        assert [e["pointer"] for e in refused.json()["errors"]] == ["/measurements/0/effectiveAt"]
    updated = await post_vitals(app, [{**day, "value": 9500, "clientRecordId": "a", "clientRecordVersion": 2}])
    assert updated.json()["items"][0]["result"] == "replaced"
    next_day = await post_vitals(app, [{**day, "value": 7000, "effectiveAt": "2026-03-03T20:00:00Z"}])
    assert next_day.status_code == 201
    # Another writer's count of the day is its own.
    assert (await post_vitals(person, [{**day, "value": 8100}])).status_code == 201
    assert await count_rows(person.space_id) == 3


async def test_a_day_that_holds_two_counts_already_takes_a_resend_of_either(
    client, person, make_app_token, post_vitals
):
    """Counts stored before the one-count-per-day rule: a day may hold two of one writer. Either is
    corrected under its own key; a third key for that day is refused."""
    app = await make_app_token(person, ["vitals.steps_per_day:write", "vitals.steps_per_day:read"])
    day = {"type": "steps_per_day", "unit": "1/(24.h)", "effectiveAt": "2026-03-02T20:00:00Z"}
    assert (await post_vitals(app, [{**day, "value": 8000, "clientRecordId": "a"}])).status_code == 201
    later = {**day, "value": 500, "clientRecordId": "b", "effectiveAt": "2026-03-03T20:00:00Z"}
    assert (await post_vitals(app, [later])).status_code == 201
    # As the rule's absence left it: "b" counted the same day as "a".
    moved = await one_row(
        "UPDATE vital_measurements SET effective_at = (SELECT effective_at FROM vital_measurements "
        "WHERE space_id = {} AND client_record_id = 'a'), local_date = (SELECT local_date FROM vital_measurements "
        "WHERE space_id = {} AND client_record_id = 'a') WHERE space_id = {} AND client_record_id = 'b' RETURNING id",
        person.space_id,
        person.space_id,
        person.space_id,
    )
    assert moved is not None
    for key, value in (("a", 8200), ("b", 600)):
        resent = await post_vitals(app, [{**day, "value": value, "clientRecordId": key, "clientRecordVersion": 2}])
        assert resent.status_code == 201, resent.text
        assert resent.json()["items"][0]["result"] == "replaced"
    third = await post_vitals(app, [{**day, "value": 9000, "clientRecordId": "c"}])
    assert third.status_code == 422, third.text
    assert [e["pointer"] for e in third.json()["errors"]] == ["/measurements/0/effectiveAt"]
    assert await count_rows(person.space_id) == 2


async def test_a_negative_zero_is_stored_as_zero(client, person, post_vitals):
    """``-0.0`` is 0: a pain of -0.0 was stored and answered as -0.0, in the JSON and the CSV (an
    outside audit)."""
    item = {"type": "pain_severity", "value": -0.0, "unit": "{score}", "effectiveAt": at(5)}
    response = await post_vitals(person, [item])
    assert response.status_code == 201, response.text
    stored = await client.get(f"{VITALS}/{response.json()['items'][0]['id']}", headers=person.headers)
    # A pain is a whole number: 0, as JSON writes an integer.
    assert re.search(r'"value":0[,}]', stored.text) and re.search(r'"originalValue":0[,}]', stored.text), stored.text
    assert '"value":-0' not in stored.text.replace(" ", "")


async def test_a_higher_version_does_not_move_a_days_count_to_another_day(client, person, post_vitals):
    """A day's count is that day's: a correction by hand may not move it (PATCH, 422), and an app's
    higher ``clientRecordVersion`` of the same ``clientRecordId`` moved it, the day it left then
    taking a new count (an outside audit). It is 422 at the item's ``effectiveAt``; nothing changes."""
    steps = {"type": "steps_per_day", "unit": "/d", "clientRecordId": "s-1"}
    first = await post_vitals(person, [{**steps, "value": 5000, "effectiveAt": "2026-03-02T22:00:00+01:00"}])
    assert first.json()["items"][0]["result"] == "created", first.text
    stored_id = first.json()["items"][0]["id"]
    moved = await post_vitals(
        person, [{**steps, "value": 5200, "effectiveAt": "2026-03-03T08:00:00+01:00", "clientRecordVersion": 2}]
    )
    assert moved.status_code == 422, moved.text
    assert [e["pointer"] for e in moved.json()["errors"]] == ["/measurements/0/effectiveAt"]
    stored = (await client.get(f"{VITALS}/{stored_id}", headers=person.headers)).json()
    assert (stored["value"], stored["effectiveAt"][:10]) == (5000, "2026-03-02")
    # On its own day, the higher version replaces it.
    same_day = await post_vitals(
        person, [{**steps, "value": 5200, "effectiveAt": "2026-03-02T23:00:00+01:00", "clientRecordVersion": 2}]
    )
    assert same_day.json()["items"][0] == {"id": stored_id, "result": "replaced"}


async def test_a_blank_text_is_refused_in_words_not_in_a_pattern(client, person, post_vitals):
    """The refusal of a note with nothing visible quoted the pattern, a line of escapes."""
    response = await post_vitals(person, [{**weight(70), "note": " \u200b "}])
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["pointer"] == "/measurements/0/note"
    assert error["detail"].startswith("nothing visible") and "regex" not in response.text


async def test_a_correction_with_a_blank_note_is_refused_and_changes_nothing(client, person, post_vitals):
    typed = await post_vitals(person, [{**weight(70), "note": "après le sport"}])
    assert typed.status_code == 201, typed.text
    url = f"/v1/spaces/me/vitals/{typed.json()['items'][0]['id']}"
    current = await client.get(url, headers=person.headers)
    corrected = await client.patch(
        url, json={"note": "\u3164"}, headers={**person.headers, "If-Match": current.headers["etag"]}
    )
    assert corrected.status_code == 422, corrected.text
    assert [e["pointer"] for e in corrected.json()["errors"]] == ["/note"]
    assert (await client.get(url, headers=person.headers)).json()["note"] == "après le sport"
