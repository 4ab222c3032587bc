"""A day's step count, where two apps count it (a phone and a watch), is the higher of the two on
the home screen and in a summary: they count the same steps, so their mean was no day's count, and
a week's mean of both halved the days the watch saw more. The list keeps every count as sent."""

from __future__ import annotations

import httpx

from tests.helpers.carers import court_measure
from tests.helpers.hidden import hide_measure
from tests.helpers.people import MakeAppToken, MakePerson, Person
from tests.helpers.vitals import VITALS

STEPS = ["vitals.steps_per_day:write", "vitals.steps_per_day:read"]


def _count(value: int, day: str, hour: int) -> dict[str, object]:
    return {"type": "steps_per_day", "value": value, "unit": "/d", "effectiveAt": f"{day}T{hour:02d}:00:00+01:00"}


async def test_a_day_counted_by_two_apps_is_its_higher_count(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    watch = await make_app_token(person, STEPS, client_id="a-watch", name="Montre")
    # Monday: the watch counted more, the phone synced last; Tuesday: the phone alone.
    sent = await client.post(VITALS, json={"measurements": [_count(9000, "2026-11-30", 21)]}, headers=watch.headers)
    assert sent.status_code == 201, sent.text
    sent = await client.post(
        VITALS,
        json={"measurements": [_count(3000, "2026-11-30", 22), _count(4000, "2026-12-01", 20)]},
        headers=person.headers,
    )
    assert sent.status_code == 201, sent.text
    listed = (await client.get(VITALS, params={"type": "steps_per_day"}, headers=person.headers)).json()["items"]
    assert sorted(item["value"] for item in listed) == [3000, 4000, 9000]
    span = {"since": "2026-11-30T00:00:00+01:00", "until": "2026-12-02T00:00:00+01:00"}
    by_day = await client.get(
        f"{VITALS}/summary", params={"type": "steps_per_day", "bucket": "day", **span}, headers=person.headers
    )
    assert by_day.status_code == 200, by_day.text
    assert [(i["start"], i["count"], i["min"], i["max"], i["mean"]) for i in by_day.json()["items"]] == [
        ("2026-11-30", 1, 9000, 9000, 9000),
        ("2026-12-01", 1, 4000, 4000, 4000),
    ]
    by_week = await client.get(
        f"{VITALS}/summary", params={"type": "steps_per_day", "bucket": "week", **span}, headers=person.headers
    )
    assert [(i["count"], i["min"], i["max"], i["mean"]) for i in by_week.json()["items"]] == [(2, 4000, 9000, 6500)]
    # The home screen: the newest day's count, the higher of its apps' (Tuesday, the phone alone).
    home = (await client.get("/v1/spaces/me", headers=person.headers)).json()
    [steps] = [vital for vital in home["vitals"] if vital["type"] == "steps_per_day"]
    assert steps["value"] == 4000
    # Wednesday, both count again: the watch's higher count shows, though the phone synced last.
    await client.post(VITALS, json={"measurements": [_count(7000, "2026-12-02", 20)]}, headers=watch.headers)
    await client.post(VITALS, json={"measurements": [_count(2500, "2026-12-02", 21)]}, headers=person.headers)
    home = (await client.get("/v1/spaces/me", headers=person.headers)).json()
    [steps] = [vital for vital in home["vitals"] if vital["type"] == "steps_per_day"]
    assert (steps["value"], steps["effectiveAt"]) == (7000, "2026-12-02T19:00:00Z")


async def test_a_representative_meets_the_highest_count_they_may_see(
    client: httpx.AsyncClient, make_person: MakePerson, make_app_token: MakeAppToken
) -> None:
    """The day's count a representative meets is taken among the counts they see: the higher one,
    hidden from them, is not it (nor does it show through the summary or the home screen)."""
    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    space = f"/v1/spaces/{holder.space_id}"
    watch = await make_app_token(holder, STEPS, client_id="a-watch", name="Montre")
    mine = await client.post(
        f"{space}/vitals", json={"measurements": [_count(3000, "2026-11-30", 20)]}, headers=holder.headers
    )
    theirs = await client.post(
        f"{space}/vitals", json={"measurements": [_count(9000, "2026-11-30", 21)]}, headers=watch.headers
    )
    assert (mine.status_code, theirs.status_code) == (201, 201), (mine.text, theirs.text)
    hidden = theirs.json()["items"][0]["id"]
    assert (await hide_measure(client, holder.headers, space, hidden)).status_code == 200
    params = {"type": "steps_per_day", "bucket": "day", "since": "2026-11-30T00:00:00+01:00"}
    for who, expected in ((holder, 9000), (tutor, 3000)):
        summary = (await client.get(f"{space}/vitals/summary", params=params, headers=who.headers)).json()
        assert [(i["count"], i["max"]) for i in summary["items"]] == [(1, expected)]
        home = (await client.get(space, headers=who.headers)).json()
        assert [v["value"] for v in home["vitals"] if v["type"] == "steps_per_day"] == [expected]
