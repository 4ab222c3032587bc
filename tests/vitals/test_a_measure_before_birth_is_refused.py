"""A measure of a day before the person was born is refused at its ``effectiveAt`` (422, nothing
stored): a weight of 1950 in the space of a person born in 1990 was stored and drawn in their curves
(an outside audit). The day is the space's (its time zone); the birthday itself is taken; a
correction moving a measure before the birth is refused too."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx

from ens.core import db
from tests.helpers.carers import create_child_space, today_in_paris, years_before
from tests.helpers.people import MakePerson

VITALS = "/v1/spaces/{}/vitals"


def _weight(day: str, value: float = 70) -> dict[str, object]:
    return {"type": "body_weight", "value": value, "unit": "kg", "effectiveAt": day}


async def test_a_day_before_the_birth_is_refused_the_birthday_taken(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    person = await make_person()
    row = await db.fetch_one("SELECT birthdate FROM spaces WHERE id = {}", person.space_id)
    assert row is not None and row["birthdate"] is not None
    born = row["birthdate"] if isinstance(row["birthdate"], date) else date.fromisoformat(row["birthdate"])
    url = VITALS.format("me")
    # 23:30 in Paris the day before the birth: 22:30 or 21:30 UTC, that day too.
    eve = f"{(born - timedelta(days=1)).isoformat()}T21:30:00Z"
    refused = await client.post(
        url, json={"measurements": [_weight("1950-06-01T08:00:00Z"), _weight(eve)]}, headers=person.headers
    )
    assert refused.status_code == 422, refused.text
    assert [e["pointer"] for e in refused.json()["errors"]] == [
        "/measurements/0/effectiveAt",
        "/measurements/1/effectiveAt",
    ]
    assert born.isoformat() in refused.json()["errors"][0]["detail"]
    assert (await client.get(url, headers=person.headers)).json()["items"] == []
    # Just after midnight in Paris on the birthday (22:30 UTC the day before, in summer or winter).
    birthday = f"{(born - timedelta(days=1)).isoformat()}T23:30:00Z"
    taken = await client.post(url, json={"measurements": [_weight(birthday, 3.4)]}, headers=person.headers)
    assert taken.status_code == 201, taken.text
    measure = f"{url}/{taken.json()['items'][0]['id']}"
    moved = await client.patch(measure, json={"effectiveAt": "1950-06-01T08:00:00Z"}, headers=person.headers)
    assert moved.status_code == 422 and [e["pointer"] for e in moved.json()["errors"]] == ["/effectiveAt"], moved.text


async def test_a_childs_measure_before_the_child_was_born_is_refused(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    parent = await make_person()
    born = years_before(today_in_paris(), 3)
    child = await create_child_space(client, parent, birthdate=born)
    url = VITALS.format(child)
    before = f"{years_before(born, 1).isoformat()}T08:00:00Z"
    refused = await client.post(url, json={"measurements": [_weight(before, 12)]}, headers=parent.headers)
    assert refused.status_code == 422, refused.text
    after = f"{(born + timedelta(days=30)).isoformat()}T08:00:00Z"
    assert (
        await client.post(url, json={"measurements": [_weight(after, 4.2)]}, headers=parent.headers)
    ).status_code == 201


async def test_a_measure_stored_before_the_rule_stays_correctable(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """A measure of a day before the birth stored before the rule is corrected as any other: its
    value alone, or with its effectiveAt sent again as it is (an app's form sends every field back).
    The second was 422 "is before the person's birth" (a review): only a moved measure is checked."""
    person = await make_person()
    url = VITALS.format("me")
    taken = await client.post(url, json={"measurements": [_weight("2020-06-01T08:00:00Z")]}, headers=person.headers)
    assert taken.status_code == 201, taken.text
    measure = f"{url}/{taken.json()['items'][0]['id']}"
    # The measure as a write took it before the rule: of a day in 1950.
    row = await db.fetch_one("SELECT body FROM vital_measurements WHERE space_id = {}", person.space_id)
    assert row is not None
    await db.fetch(
        "UPDATE vital_measurements SET body = {}, effective_at = {} WHERE space_id = {}",
        row["body"].replace("2020-06-01T08:00:00", "1950-06-01T08:00:00"),
        datetime(1950, 6, 1, 8, tzinfo=UTC),
        person.space_id,
    )
    read = await client.get(measure, headers=person.headers)
    assert read.json()["effectiveAt"] == "1950-06-01T08:00:00Z", read.text

    value = await client.patch(
        measure, json={"value": 71}, headers={**person.headers, "If-Match": read.headers["etag"]}
    )
    assert value.status_code == 200, value.text
    again = await client.patch(
        measure,
        json={"value": 72, "effectiveAt": "1950-06-01T08:00:00Z"},
        headers={**person.headers, "If-Match": value.headers["etag"]},
    )
    assert again.status_code == 200, again.text
    assert again.json()["value"] == 72 and again.json()["effectiveAt"] == "1950-06-01T08:00:00Z"
