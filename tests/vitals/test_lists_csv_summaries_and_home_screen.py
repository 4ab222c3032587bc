"""The list (JSON and CSV), its filters and pagination, the summary, one measure, the home screen."""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ens.core import db
from tests.helpers.vitals import VITALS, at, pressure, weight


async def test_list_is_newest_first_with_type_since_and_until(client, person, post_vitals, get_all):
    await post_vitals(person, [weight(70, minutes_ago=30), pressure(minutes_ago=20), weight(71, minutes_ago=10)])
    items = await get_all(person)
    assert [(i["type"], i.get("value")) for i in items] == [
        ("body_weight", 71),
        ("blood_pressure", None),
        ("body_weight", 70),
    ]
    first = items[0]
    assert set(first) >= {
        "id",
        "type",
        "value",
        "unit",
        "originalValue",
        "originalUnit",
        "effectiveAt",
        "recordingMethod",
        "source",
        "createdAt",
        "updatedAt",
    }
    assert first["source"]["clientId"] == "ens-mobile" and first["source"]["name"].startswith("Alex ")
    assert items[1]["components"] == {"systolic": 120, "diastolic": 80} and "value" not in items[1]
    weights = await get_all(person, "type=body_weight")
    assert [i["value"] for i in weights] == [71, 70]
    window = await get_all(person, f"since={at(25)}&until={at(15)}")
    assert [i["type"] for i in window] == ["blood_pressure"]
    # An offset with "+" must survive an unescaped query string.
    since = (datetime.now(UTC) - timedelta(minutes=25)).astimezone(ZoneInfo("Europe/Paris")).isoformat()
    assert len(await get_all(person, f"since={since.replace('+', '%2B')}")) == 2


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("limit=0", "/limit"),
        ("limit=501", "/limit"),
        ("limit=ten", "/limit"),
        ("since=yesterday", "/since"),
        ("until=2026-01-01T10:00:00", "/until"),
        ("since=2026-05-01&until=2026-04-01", "/since"),
        ("since=2026-05-01T10:00:00Z&until=2026-05-01T12:00:00%2B02:00", "/since"),
        ("type=bmi", "/type"),
        ("type=mood", "/type"),
        ("cursor=abc", "/cursor"),
        ("cursor=eyJ4IjoxfQ.AAAA", "/cursor"),
    ],
)
async def test_bad_list_parameters_are_4xx_problems_with_pointers(client, person, query, pointer):
    response = await client.get(f"{VITALS}?{query}", headers=person.headers)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert pointer in [e["pointer"] for e in response.json()["errors"]]


async def test_a_cursor_works_only_for_the_listing_that_issued_it(client, person, post_vitals):
    await post_vitals(person, [weight(70, minutes_ago=i + 1) for i in range(3)])
    page = (await client.get(f"{VITALS}?limit=1", headers=person.headers)).json()
    assert page["nextCursor"]
    other = await client.get(f"{VITALS}?limit=1&type=body_weight&cursor={page['nextCursor']}", headers=person.headers)
    assert other.status_code == 400
    tampered = page["nextCursor"][:-2] + ("AA" if not page["nextCursor"].endswith("AA") else "BB")
    assert (await client.get(f"{VITALS}?cursor={tampered}", headers=person.headers)).status_code == 400


async def test_pagination_never_skips_or_repeats_while_writes_arrive(client, person, post_vitals):
    base = datetime.now(UTC) - timedelta(days=10)
    # Several measures share an instant: the id breaks ties.
    initial = [
        {**weight(70 + i % 7), "effectiveAt": (base + timedelta(minutes=10 * (i // 3))).isoformat()} for i in range(120)
    ]
    created = await post_vitals(person, initial)
    expected_ids = {item["id"] for item in created.json()["items"]}
    seen: list[str] = []
    cursor = None
    rng = random.Random(4)
    while True:
        query = "limit=7" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(f"{VITALS}?{query}", headers=person.headers)).json()
        seen += [item["id"] for item in page["items"]]
        # Writes land between pages: newer than everything, inside the range, and older than it.
        offsets = [rng.uniform(-2, 200) * 60 for _ in range(3)]
        await post_vitals(
            person, [{**weight(80), "effectiveAt": (base + timedelta(minutes=m)).isoformat()} for m in offsets]
        )
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "an item was repeated"
    assert expected_ids <= set(seen), "an item that existed before paging was skipped"
    everything = (await client.get(f"{VITALS}?limit=500", headers=person.headers)).json()["items"]
    effective = [(item["effectiveAt"], item["id"]) for item in everything]
    assert effective == sorted(effective, reverse=True)


async def test_csv_gives_the_same_rows(client, person, post_vitals):
    await post_vitals(
        person,
        [
            weight(70, note='après le sport, "léger"'),
            pressure(131, 85, minutes_ago=20, device={"manufacturer": "Omron", "model": "M3"}),
            {**weight(160, "[lb_av]"), "effectiveAt": at(50)},
        ],
    )
    as_json = (await client.get(f"{VITALS}?limit=2", headers=person.headers)).json()
    response = await client.get(f"{VITALS}?limit=2", headers={**person.headers, "Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["id"] for row in rows] == [item["id"] for item in as_json["items"]]
    assert rows[0]["note"] == 'après le sport, "léger"' and rows[0]["value"] == "70.0"
    assert (rows[1]["systolic"], rows[1]["diastolic"], rows[1]["deviceManufacturer"]) == ("131", "85", "Omron")
    # Instants as the JSON writes them (``Z``, not ``+00:00``).
    for row, item in zip(rows, as_json["items"], strict=True):
        assert [row[key] for key in ("effectiveAt", "createdAt", "updatedAt")] == [
            item[key] for key in ("effectiveAt", "createdAt", "updatedAt")
        ]
    assert response.headers["next-cursor"] == as_json["nextCursor"]


async def test_one_measure_has_an_etag_and_answers_304(client, person, post_vitals):
    created = await post_vitals(person, [weight()])
    path = f"{VITALS}/{created.json()['items'][0]['id']}"
    first = await client.get(path, headers=person.headers)
    assert first.status_code == 200 and first.headers["etag"]
    again = await client.get(path, headers={**person.headers, "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    other = await client.get(f"{VITALS}/00000000-0000-0000-0000-000000000000", headers=person.headers)
    assert other.status_code == 404


def _brute_force(items, bucket: str, zone: ZoneInfo, pressure_type: bool):
    groups: dict[date, list[Any]] = defaultdict(list)
    for item in items:
        day = datetime.fromisoformat(item["effectiveAt"]).astimezone(zone).date()
        if bucket == "week":
            day -= timedelta(days=day.weekday())
        elif bucket == "month":
            day = day.replace(day=1)
        groups[day].append(item)
    result = []
    for start in sorted(groups):
        rows = groups[start]
        if pressure_type:
            parts = {k: [r["components"][k] for r in rows] for k in ("systolic", "diastolic")}
            figures = {
                "min": {k: min(v) for k, v in parts.items()},
                "max": {k: max(v) for k, v in parts.items()},
                "mean": {k: sum(v) / len(v) for k, v in parts.items()},
            }
        else:
            values = [r["value"] for r in rows]
            figures = {"min": min(values), "max": max(values), "mean": sum(values) / len(values)}
        result.append({"start": start.isoformat(), "count": len(rows), **figures})
    return result


def _close(a, b) -> bool:
    if isinstance(a, dict):
        return all(_close(a[k], b[k]) for k in a)
    # The mean is given to one decimal more than the type's precision (0 for blood pressure).
    return bool(abs(a - b) <= 0.05 + 1e-9)


@pytest.mark.parametrize("timezone", ["Europe/Paris", "America/New_York"])
async def test_summary_figures_equal_a_brute_force_computation(client, person, post_vitals, get_all, timezone):
    await db.fetch("UPDATE spaces SET timezone = {} WHERE id = {}", timezone, person.space_id)
    zone = ZoneInfo(timezone)
    rng = random.Random(11)
    # Around the spring DST change and local midnights, over about five months.
    start = datetime(2026, 3, 1, tzinfo=zone)
    items = []
    for _ in range(400):
        moment = start + timedelta(minutes=rng.randrange(0, 150 * 24 * 60))
        if rng.random() < 0.3:
            moment = moment.replace(hour=rng.choice([0, 23]), minute=rng.choice([0, 1, 59]))
        stamp = moment.astimezone(UTC).isoformat()
        items.append({**weight(round(rng.uniform(60, 90), 2)), "effectiveAt": stamp})
        if rng.random() < 0.5:
            s = rng.randrange(100, 170)
            items.append({**pressure(s, s - rng.randrange(20, 60)), "effectiveAt": stamp})
    assert (await post_vitals(person, items)).status_code == 201
    for vital_type in ("body_weight", "blood_pressure"):
        stored = await get_all(person, f"type={vital_type}")
        for bucket in ("day", "week", "month"):
            response = await client.get(
                f"{VITALS}/summary?type={vital_type}&bucket={bucket}&since=2026-02-01&until=2026-09-01",
                headers=person.headers,
            )
            assert response.status_code == 200, response.text
            summary = response.json()
            assert summary["timeZone"] == timezone and summary["bucket"] == bucket
            expected = _brute_force(stored, bucket, zone, vital_type == "blood_pressure")
            assert [(i["start"], i["count"]) for i in summary["items"]] == [(e["start"], e["count"]) for e in expected]
            for got, want in zip(summary["items"], expected, strict=True):
                assert got["min"] == want["min"] and got["max"] == want["max"]
                assert _close(got["mean"], want["mean"]), (got, want)
    # since/until cut inside a bucket: only the measures in [since, until) count.
    since, until = "2026-03-10T12:00:00Z", "2026-03-20T12:00:00Z"
    weights = await get_all(person, "type=body_weight")
    inside = [i for i in weights if since <= i["effectiveAt"] < until]
    response = await client.get(
        f"{VITALS}/summary?type=body_weight&bucket=month&since={since}&until={until}", headers=person.headers
    )
    assert sum(i["count"] for i in response.json()["items"]) == len(inside)


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("", "/type"),
        ("type=body_weight&bucket=year", "/bucket"),
        ("type=bmi", "/type"),
        ("type=body_weight&since=2026-05-01&until=2026-04-01", "/since"),
        ("type=body_weight&bucket=day&since=2000-01-01&until=2026-01-01", "/since"),
    ],
)
async def test_bad_summary_parameters(client, person, query, pointer):
    """A bad query parameter is 400, as everywhere in the API (the span of too many buckets was
    422, an outside audit)."""
    response = await client.get(f"{VITALS}/summary?{query}", headers=person.headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert pointer in [e["pointer"] for e in response.json().get("errors", [])], response.text


async def test_home_screen_shows_the_latest_of_each_type_and_the_bmi(client, person, post_vitals):
    summary = (await client.get("/v1/spaces/me", headers=person.headers)).json()
    assert summary["vitals"] == [] and summary["bmi"] is None
    await post_vitals(
        person,
        [
            weight(80, minutes_ago=60),
            weight(72, minutes_ago=30),
            {"type": "body_height", "value": 1.75, "unit": "m", "effectiveAt": at(90)},
            pressure(128, 84, minutes_ago=5),
        ],
    )
    summary = (await client.get("/v1/spaces/me", headers=person.headers)).json()
    latest = {item["type"]: item for item in summary["vitals"]}
    assert latest["body_weight"]["value"] == 72 and latest["body_height"]["value"] == 175
    assert latest["blood_pressure"]["components"] == {"systolic": 128, "diastolic": 84}
    assert summary["bmi"]["value"] == 23.5 and summary["bmi"]["unit"] == "kg/m2"  # 72 / 1.75² = 23.51
    assert summary["bmi"]["loinc"] == "39156-5"
    # A height and a weight each plausible alone that make no body's BMI (a head circumference sent
    # as a height: 72 / 0.45² = 355.6, an outside audit): no BMI, rather than one outside its range.
    await post_vitals(person, [{"type": "body_height", "value": 45, "unit": "cm", "effectiveAt": at(1)}])
    summary = (await client.get("/v1/spaces/me", headers=person.headers)).json()
    assert summary["bmi"] is None
    assert {item["type"]: item for item in summary["vitals"]}["body_height"]["value"] == 45


async def test_a_child_s_bmi_needs_a_height_taken_near_the_weight(client, person, post_vitals):
    """A child grows: the height of months ago beside today's weight made a BMI well above the
    child's (an earlier session's note). Under 18, the two are taken within 92 days of each other
    (31 under 2 years old); an adult's height of any age serves, unless taken as a child."""
    from tests.helpers.carers import create_child_space, years_before

    today = datetime.now(UTC).date()
    day = 24 * 60

    async def bmi_after(space: str, measures: list[dict[str, Any]]) -> Any:
        assert (await post_vitals(person, measures, space=space)).status_code == 201
        return (await client.get(f"/v1/spaces/{space}", headers=person.headers)).json()["bmi"]

    child = str(await create_child_space(client, person, birthdate=years_before(today, 8)))
    height = {"type": "body_height", "value": 128, "unit": "cm"}
    assert await bmi_after(child, [weight(26, minutes_ago=10), {**height, "effectiveAt": at(200 * day)}]) is None
    assert (await bmi_after(child, [{**height, "value": 131, "effectiveAt": at(60 * day)}]))["value"] == 15.2
    baby = str(await create_child_space(client, person, given_name="Noé", birthdate=today - timedelta(days=300)))
    assert (
        await bmi_after(baby, [weight(9, minutes_ago=10), {**height, "value": 72, "effectiveAt": at(40 * day)}]) is None
    )
    assert (await bmi_after(baby, [{**height, "value": 73, "effectiveAt": at(20 * day)}]))["value"] == 16.9
    # The holder, an adult: a height of years ago serves.
    adult = (await client.get("/v1/spaces/me", headers=person.headers)).json()["holder"]["birthdate"]
    assert date.fromisoformat(adult) < years_before(today, 25)
    assert (await bmi_after("me", [weight(70), {**height, "value": 175, "effectiveAt": at(3 * 365 * day)}]))[
        "value"
    ] == 22.9


@pytest.mark.parametrize(
    ("timezone", "day"),
    # Clocks go back an hour at midnight: the day's first hour happens twice, and the day starts at
    # the first midnight.
    [("Atlantic/Azores", date(2026, 10, 25)), ("America/Havana", date(2026, 11, 1))],
)
async def test_a_day_whose_midnight_happens_twice_starts_at_the_first(
    client, person, post_vitals, get_all, timezone, day
):
    await db.fetch("UPDATE spaces SET timezone = {} WHERE id = {}", timezone, person.space_id)
    zone = ZoneInfo(timezone)
    first_midnight = datetime.combine(day, datetime.min.time(), zone).astimezone(UTC)  # fold=0: the earlier
    moments = [first_midnight + timedelta(minutes=m) for m in (-30, 1, 30, 59, 61, 90, 150)]
    items = [{**weight(70 + n), "effectiveAt": moment.isoformat()} for n, moment in enumerate(moments)]
    assert (await post_vitals(person, items)).status_code == 201
    stored = await get_all(person, "type=body_weight")
    for bucket in ("day", "week", "month"):
        response = await client.get(
            f"{VITALS}/summary?type=body_weight&bucket={bucket}&since=2026-09-01&until=2026-12-31",
            headers=person.headers,
        )
        assert response.status_code == 200, response.text
        expected = _brute_force(stored, bucket, zone, False)
        assert [(i["start"], i["count"]) for i in response.json()["items"]] == [
            (e["start"], e["count"]) for e in expected
        ]
    following = day + timedelta(days=1)
    one_day = await client.get(
        f"{VITALS}/summary?type=body_weight&bucket=day&since={day.isoformat()}&until={following.isoformat()}",
        headers=person.headers,
    )
    assert one_day.status_code == 200, one_day.text
    assert [(i["start"], i["count"]) for i in one_day.json()["items"]] == [(day.isoformat(), 6)]


async def test_a_summary_before_any_measure_is_empty(client, person, post_vitals):
    assert (await post_vitals(person, [weight(70, minutes_ago=5)])).status_code == 201
    response = await client.get(f"{VITALS}/summary?type=body_weight&until=2001-01-01", headers=person.headers)
    assert response.status_code == 200 and response.json()["items"] == []
    nothing = await client.get(f"{VITALS}/summary?type=heart_rate", headers=person.headers)
    assert nothing.status_code == 200 and nothing.json()["items"] == []


async def test_a_measure_taken_a_few_minutes_ahead_is_in_the_default_summary(client, person, post_vitals):
    """A measure may be dated up to 5 minutes ahead (clocks drift): it was listed and on the home
    screen but in no summary, whose ``until`` defaulted to now (an outside audit)."""
    ahead = await post_vitals(person, [weight(70, minutes_ago=-4)])
    assert ahead.status_code == 201, ahead.text
    summary = (await client.get(f"{VITALS}/summary?type=body_weight", headers=person.headers)).json()
    assert sum(item["count"] for item in summary["items"]) == 1, summary
