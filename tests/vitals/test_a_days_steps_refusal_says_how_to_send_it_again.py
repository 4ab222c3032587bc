"""A second step count of a day from the same app, under another key, is refused with advice the app
can follow: a count sent without clientRecordId is kept under the day (``day:<date>``, which no app
may send), so the advice "under its clientRecordId" led an app to send ``day:...``, refused again.
Found by an outside audit (a connected-device app's engineer)."""

from __future__ import annotations

import httpx

from tests.helpers.people import AppToken, MakeAppToken, Person
from tests.helpers.vitals import VITALS

STEPS = ["vitals.steps_per_day:write"]


def _count(value: int, hour: int, **record: object) -> dict[str, object]:
    effective = f"2026-11-30T{hour:02d}:00:00+01:00"
    return {"type": "steps_per_day", "value": value, "unit": "/d", "effectiveAt": effective, **record}


async def _second_count_refused(client: httpx.AsyncClient, app: AppToken, second: dict[str, object]) -> str:
    answer = await client.post(VITALS, json={"measurements": [second]}, headers=app.headers)
    assert answer.status_code == 422, answer.text
    (error,) = answer.json()["errors"]
    assert error["pointer"] == "/measurements/0/effectiveAt"
    return str(error["detail"])


async def test_the_advice_names_how_the_days_count_was_sent(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    phone = await make_app_token(person, STEPS, client_id="a-phone", name="Téléphone")
    sent = await client.post(VITALS, json={"measurements": [_count(3000, 20)]}, headers=phone.headers)
    assert sent.status_code == 201, sent.text
    detail = await _second_count_refused(client, phone, _count(3500, 21, clientRecordId="steps-1"))
    assert "send it again without clientRecordId (its day is its record) with a higher clientRecordVersion" in detail
    # Following it stores the day's new count.
    again = _count(3500, 21, clientRecordVersion=1)
    answer = await client.post(VITALS, json={"measurements": [again]}, headers=phone.headers)
    assert answer.status_code == 201 and answer.json()["items"][0]["result"] == "replaced", answer.text

    watch = await make_app_token(person, STEPS, client_id="a-watch", name="Montre")
    first = _count(9000, 20, clientRecordId="w-2026-11-30", clientRecordVersion=1)
    sent = await client.post(VITALS, json={"measurements": [first]}, headers=watch.headers)
    assert sent.status_code == 201, sent.text
    detail = await _second_count_refused(client, watch, _count(9500, 21, clientRecordId="w-other"))
    assert "send it again under its clientRecordId 'w-2026-11-30' with a higher clientRecordVersion" in detail
