"""An app a representative connected does not find, rewrite or learn of the measures the holder hid
from the representatives, though the holder's connection of the same app wrote them under the
same ``clientRecordId``s (review of the FHIR app API, finding 4): its records are only those it
sees; a record key or a step count's day a hidden measure holds takes its new measure under its
own writer key, as if the hidden one were not there."""

from __future__ import annotations

from typing import Any

import httpx

from ens.auth.tokens import AccessTokens, new_app_token
from ens.core.settings import Settings
from tests.helpers.carers import court_measure
from tests.helpers.hidden import hide_measure
from tests.helpers.people import AppToken, MakePerson, Person
from tests.helpers.vitals import at, weight
from tests.vitals.test_fhir_intake import body_weight, transaction

SCOPES = [
    "vitals.body_weight:write",
    "vitals.body_weight:read",
    "vitals.steps_per_day:write",
    "vitals.steps_per_day:read",
]


async def _scale(settings: Settings, who: Person, space_of: Person) -> AppToken:
    """The app ``scale-x`` connected to ``space_of``'s space by ``who`` (a new consent replaces
    the grant the app had there)."""
    grant_id, token = await new_app_token(
        AccessTokens(settings),
        who.account_id,
        space_id=space_of.space_id,
        client_id="scale-x",
        client_name="Scale",
        scopes=SCOPES,
    )
    return AppToken("scale-x", grant_id, token)


def _location(answer: httpx.Response) -> str:
    assert answer.status_code == 200, answer.text
    location: str = answer.json()["entry"][-1]["response"]["location"]
    return location.removeprefix("Observation/").split("/")[0]


def _steps(value: float, day: str, **extra: Any) -> dict[str, Any]:
    return {"type": "steps_per_day", "value": value, "unit": "1/(24.h)", "effectiveAt": day, **extra}


async def test_a_tutors_app_re_sending_a_hidden_record_neither_touches_nor_reveals_it(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    space = f"/v1/spaces/{holder.space_id}"
    vitals = f"{space}/vitals"
    # The holder's connection of the app writes weigh-1, weigh-2 and a day's step count.
    holders_app = await _scale(settings, holder, holder)
    weigh_1 = body_weight(70, identifier=[{"value": "weigh-1"}])
    hidden = _location(await client.post("/fhir", json=transaction(weigh_1), headers=holders_app.headers))
    shown = _location(
        await client.post(
            "/fhir", json=transaction(body_weight(72, identifier=[{"value": "weigh-2"}])), headers=holders_app.headers
        )
    )
    day = at(60 * 24)
    steps = await client.post(
        vitals, json={"measurements": [_steps(5000, day, clientRecordId="steps-a")]}, headers=holders_app.headers
    )
    assert steps.status_code == 201, steps.text
    hidden_steps = steps.json()["items"][0]["id"]
    # The holder hides weigh-1 and the step count; then the tutor connects the same app.
    assert (await hide_measure(client, holder.headers, space, hidden)).status_code == 200
    assert (await hide_measure(client, holder.headers, space, hidden_steps)).status_code == 200
    tutors_app = await _scale(settings, tutor, holder)
    found = (await client.get("/fhir/Observation", headers=tutors_app.headers)).json()
    assert hidden not in str(found) and shown in str(found)
    # Nor does FHIR's read of one measure, at the location the holder's app was answered.
    assert (await client.get(f"/fhir/Observation/{hidden}", headers=tutors_app.headers)).status_code == 404
    assert (await client.get(f"/fhir/Observation/{shown}", headers=tutors_app.headers)).status_code == 200
    assert (await client.get(f"/fhir/Observation/{hidden}", headers=holders_app.headers)).status_code == 200

    # Re-sending weigh-1 as it was: a new measure (201), not the hidden one's "200, unchanged".
    again = await client.post("/fhir", json=transaction(weigh_1), headers=tutors_app.headers)
    assert again.status_code == 200, again.text
    assert again.json()["entry"][-1]["response"]["status"] == "201 Created"
    copy = _location(again)
    assert copy != hidden
    # A higher version replaces the tutor's copy, never the hidden measure.
    newer = body_weight(99, identifier=[{"value": "weigh-1"}])
    newer["meta"]["versionId"] = "5"
    replaced = await client.post("/fhir", json=transaction(newer), headers=tutors_app.headers)
    assert replaced.json()["entry"][-1]["response"]["status"] == "200 OK" and _location(replaced) == copy
    kept = (await client.get(f"{vitals}/{hidden}", headers=holder.headers)).json()
    assert kept["value"] == 70.0 and kept["hiddenFromRepresentatives"] is True
    assert (await client.get(f"{vitals}/{copy}", headers=tutors_app.headers)).json()["value"] == 99.0

    # Another count of the hidden count's day: the rule counts only what the tutor's app sees.
    second = await client.post(
        vitals, json={"measurements": [_steps(10, day, clientRecordId="steps-b")]}, headers=tutors_app.headers
    )
    assert second.status_code == 201, second.text
    assert hidden_steps not in second.text
    # Without a clientRecordId (keyed on its day): the tutor's count of the day is named, not the hidden one.
    by_day = await client.post(vitals, json={"measurements": [_steps(20, day)]}, headers=tutors_app.headers)
    assert by_day.status_code == 422 and second.json()["items"][0]["id"] in by_day.text
    assert hidden_steps not in by_day.text
    # Another type under the hidden count's record: no word of the hidden record's type.
    other_type = await client.post(
        vitals,
        json={"measurements": [weight(10, clientRecordId="steps-a")]},
        headers=tutors_app.headers,
    )
    assert other_type.status_code == 201, other_type.text
    assert other_type.json()["items"][0]["id"] != hidden_steps
    # The holder's hidden measures are as they were.
    mine = {m["id"]: m for m in (await client.get(vitals, headers=holder.headers)).json()["items"]}
    assert (mine[hidden]["value"], mine[hidden]["hiddenFromRepresentatives"]) == (70.0, True)
    assert (mine[hidden_steps]["value"], mine[hidden_steps]["hiddenFromRepresentatives"]) == (5000.0, True)

    # What it sees of the app's records stays its record: weigh-2 re-sent is unchanged, not doubled.
    resent = await client.post(
        "/fhir", json=transaction(body_weight(72, identifier=[{"value": "weigh-2"}])), headers=tutors_app.headers
    )
    assert resent.json()["entry"][-1]["response"]["status"] == "200 OK" and _location(resent) == shown
    # It deletes the app's measures it sees (its own copy, the holder's connection's weigh-2), not a hidden one.
    for measure, status in ((copy, 204), (shown, 204), (hidden, 404)):
        deleted = await client.delete(f"{vitals}/{measure}", headers={**tutors_app.headers, "If-Match": "*"})
        assert deleted.status_code == status, deleted.text


async def test_a_record_of_the_tutors_app_the_holder_hides_is_refused_naming_nothing_of_it(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    space = f"/v1/spaces/{holder.space_id}"
    holders_app = await _scale(settings, holder, holder)
    first = await client.post(
        f"{space}/vitals", json={"measurements": [weight(70, clientRecordId="w-1")]}, headers=holders_app.headers
    )
    assert (await hide_measure(client, holder.headers, space, first.json()["items"][0]["id"])).status_code == 200
    tutors_app = await _scale(settings, tutor, holder)
    # The tutor's app writes w-1 under its own key (the hidden one holds the app's), then the holder
    # hides that one too: the app cannot write w-1 again, and is told nothing of the measure.
    own = await client.post(
        f"{space}/vitals", json={"measurements": [weight(80, clientRecordId="w-1")]}, headers=tutors_app.headers
    )
    assert own.status_code == 201, own.text
    own_id = own.json()["items"][0]["id"]
    assert (await hide_measure(client, holder.headers, space, own_id)).status_code == 200
    refused = await client.post(
        f"{space}/vitals",
        json={"measurements": [weight(81, clientRecordId="w-1", clientRecordVersion=2)]},
        headers=tutors_app.headers,
    )
    assert refused.status_code == 422, refused.text
    assert own_id not in refused.text and "80" not in refused.text
    assert refused.json()["errors"][0]["pointer"] == "/measurements/0/clientRecordId"
    values = {
        m["id"]: m["value"] for m in (await client.get(f"{space}/vitals", headers=holder.headers)).json()["items"]
    }
    assert values == {first.json()["items"][0]["id"]: 70.0, own_id: 80.0}
    # The holder's connection of the app still finds its w-1 (the hidden first one) as before.
    holders_again = await _scale(settings, holder, holder)
    resent = await client.post(
        f"{space}/vitals",
        json={"measurements": [weight(70, clientRecordId="w-1")]},
        headers=holders_again.headers,
    )
    assert resent.json()["items"] == [{"id": first.json()["items"][0]["id"], "result": "unchanged"}]


async def _sent(client: httpx.AsyncClient, app: AppToken, space: str, **record: Any) -> httpx.Response:
    answer = await client.post(f"{space}/vitals", json={"measurements": [weight(**record)]}, headers=app.headers)
    assert answer.status_code == 201, answer.text
    return answer


async def test_a_representatives_app_may_send_a_record_whose_hidden_holder_measure_was_once_deleted(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """The app's key holds ``w-1`` in a measure hidden from the representatives, and an earlier
    ``w-1`` of that key was deleted. The app as the tutor connected it sends ``w-1`` at a higher
    version: a new measure under its own key, as if the hidden one were not there. A check added
    after the COPY looked the key up among the deleted records where the lookup before it had not
    (a hidden row counted as the record), and the batch ran again three times, then was 409 (a
    review)."""
    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    space = f"/v1/spaces/{holder.space_id}"
    holders_app = await _scale(settings, holder, holder)
    first = (await _sent(client, holders_app, space, value=70, clientRecordId="w-1", clientRecordVersion=1)).json()
    assert (await client.delete(f"{space}/vitals/{first['items'][0]['id']}", headers=holder.headers)).status_code == 204
    second = await _sent(client, holders_app, space, value=71, clientRecordId="w-1", clientRecordVersion=2)
    assert (await hide_measure(client, holder.headers, space, second.json()["items"][0]["id"])).status_code == 200
    tutors_app = await _scale(settings, tutor, holder)
    third = await _sent(client, tutors_app, space, value=72, clientRecordId="w-1", clientRecordVersion=3)
    assert third.json()["items"][0]["result"] == "created"


async def test_a_representatives_app_sending_its_deleted_copy_again_does_not_bring_it_back(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """The app as the tutor connected it stored its own copy of ``w-1`` (the app's key holds ``w-1``
    in a measure hidden from the representatives), and the tutor's app deleted that copy. Sent again
    as it was, it stays deleted: ``unchanged``. The deleted records were not looked up for a key a
    hidden row held, and the copy came back (a review)."""
    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    space = f"/v1/spaces/{holder.space_id}"
    holders_app = await _scale(settings, holder, holder)
    first = (await _sent(client, holders_app, space, value=70, clientRecordId="w-1", clientRecordVersion=1)).json()
    assert (await hide_measure(client, holder.headers, space, first["items"][0]["id"])).status_code == 200
    tutors_app = await _scale(settings, tutor, holder)
    copy = (await _sent(client, tutors_app, space, value=70, clientRecordId="w-1", clientRecordVersion=1)).json()
    assert copy["items"][0]["result"] == "created"
    copy_id = copy["items"][0]["id"]
    deleted = await client.delete(f"{space}/vitals/{copy_id}", headers={**tutors_app.headers, "If-Match": "*"})
    assert deleted.status_code == 204, deleted.text
    again = await _sent(client, tutors_app, space, value=70, clientRecordId="w-1", clientRecordVersion=1)
    assert again.json()["items"] == [{"id": copy_id, "result": "unchanged"}]
    assert (await client.get(f"{space}/vitals", headers=tutors_app.headers)).json()["items"] == []
