"""A day's step count is one per source (a phone and a watch both count the day), and a moved space
keeps each source's: the import writes every measure as its own writer, and had taken two counts of
one day from two former sources for two counts of one source — a holder whose watch and phone
counted the same day could not import their own export (422 "steps_per_day takes one value per
day", found by an outside audit of data portability). Nor is one source's second count of a day
refused: a space holds such days (a review)."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import httpx

from ens.auth.tokens import AccessTokens, new_app_token
from ens.core.settings import Settings
from tests.helpers.carers import court_measure
from tests.helpers.fhir import FHIR, check_bundle
from tests.helpers.hidden import hide_measure
from tests.helpers.people import MakeAppToken, MakePerson, Person
from tests.helpers.vitals import VITALS

EXPORT = "/v1/spaces/me/export"
IMPORT = "/v1/spaces/me/import"
STEPS = ["vitals.steps_per_day:write", "vitals.steps_per_day:read"]
STEPS_LOINC = "41950-7"


def _count(value: int, day: str, hour: int) -> dict[str, object]:
    return {"type": "steps_per_day", "value": value, "unit": "/d", "effectiveAt": f"{day}T{hour:02d}:00:00+01:00"}


def _heart_rate(minute: int) -> dict[str, object]:
    return {
        "type": "heart_rate",
        "value": 60 + minute % 30,
        "unit": "/min",
        "effectiveAt": f"2026-11-{1 + minute // 1440:02d}T{minute // 60 % 24:02d}:{minute % 60:02d}:00+01:00",
    }


async def _two_sources_count_one_day(client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken) -> None:
    """The watch counts 9,000 steps on 30 November, the holder types 3,000 for the same day."""
    watch = await make_app_token(person, STEPS, client_id="a-watch", name="Montre")
    sent = await client.post(VITALS, json={"measurements": [_count(9000, "2026-11-30", 21)]}, headers=watch.headers)
    assert sent.status_code == 201, sent.text
    sent = await client.post(VITALS, json={"measurements": [_count(3000, "2026-11-30", 22)]}, headers=person.headers)
    assert sent.status_code == 201, sent.text


async def _imported(client: httpx.AsyncClient, bundle: dict[str, Any], newcomer: Person) -> httpx.Response:
    return await client.post(
        IMPORT, content=json.dumps(bundle).encode(), headers={**newcomer.headers, "Content-Type": FHIR}
    )


def _step_counts(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation" and e["resource"]["code"]["coding"][0]["code"] == STEPS_LOINC
    ]


async def test_a_day_two_sources_counted_moves_with_both_counts(
    client: httpx.AsyncClient, person: Person, make_person: MakePerson, make_app_token: MakeAppToken
) -> None:
    await _two_sources_count_one_day(client, person, make_app_token)
    exported = (await client.get(EXPORT, headers=person.headers)).json()
    check_bundle(exported)

    newcomer = await make_person("Jade")
    answer = await _imported(client, exported, newcomer)
    assert answer.status_code == 201, answer.text
    assert answer.json()["imported"] == {"Observation": 2}
    listed = (await client.get(VITALS, params={"type": "steps_per_day"}, headers=newcomer.headers)).json()["items"]
    assert sorted(item["value"] for item in listed) == [3000, 9000]
    # The day's count is still the higher of its sources'.
    span = {"since": "2026-11-30T00:00:00+01:00", "until": "2026-12-01T00:00:00+01:00"}
    summary = await client.get(
        f"{VITALS}/summary", params={"type": "steps_per_day", "bucket": "day", **span}, headers=newcomer.headers
    )
    assert [(i["start"], i["count"], i["max"]) for i in summary.json()["items"]] == [("2026-11-30", 1, 9000)]


async def test_one_sources_two_counts_of_a_day_come_in_in_a_batch_and_across_batches(
    client: httpx.AsyncClient, person: Person, make_person: MakePerson, make_app_token: MakeAppToken
) -> None:
    """Two counts of one source on one day are each the record of their former id (a space holds
    such days: the next test); the day's count is still the higher, as for two sources."""
    await _two_sources_count_one_day(client, person, make_app_token)
    exported = (await client.get(EXPORT, headers=person.headers)).json()
    [watch_count] = [e for e in _step_counts(exported) if e["resource"]["meta"]["source"] == "urn:ens:client:a-watch"]

    # The watch's count of the day, twice (another id, another value).
    second = copy.deepcopy(watch_count)
    other = str(uuid.uuid4())
    second["fullUrl"], second["resource"]["id"] = f"urn:uuid:{other}", other
    second["resource"]["valueQuantity"]["value"] = 9500
    second["resource"]["extension"] = [
        x for x in second["resource"]["extension"] if x["url"] != "urn:ens:fhir:original-quantity"
    ]
    twice = copy.deepcopy(exported)
    twice["entry"].append(second)
    newcomer = await make_person("Jade")
    answer = await _imported(client, twice, newcomer)
    assert answer.status_code == 201, answer.text
    listed = (await client.get(VITALS, params={"type": "steps_per_day"}, headers=newcomer.headers)).json()["items"]
    assert sorted(item["value"] for item in listed) == [3000, 9000, 9500]
    span = {"since": "2026-11-30T00:00:00+01:00", "until": "2026-12-01T00:00:00+01:00"}
    summary = await client.get(
        f"{VITALS}/summary", params={"type": "steps_per_day", "bucket": "day", **span}, headers=newcomer.headers
    )
    assert [(i["start"], i["count"], i["max"]) for i in summary.json()["items"]] == [("2026-11-30", 1, 9500)]

    # The same, the two counts a thousand measures apart: in two batches of the import's writes.
    many = await client.post(
        VITALS, json={"measurements": [_heart_rate(m) for m in range(1000)]}, headers=person.headers
    )
    assert many.status_code == 201, many.text
    exported = (await client.get(EXPORT, headers=person.headers)).json()
    apart = copy.deepcopy(exported)
    apart["entry"] = [e for e in apart["entry"] if e not in _step_counts(exported)]
    apart["entry"][1:1] = _step_counts(exported)  # before the heart rates
    apart["entry"].append(second)  # after them
    elsewhere = await make_person("Noé")
    answer = await _imported(client, apart, elsewhere)
    assert answer.status_code == 201, answer.text
    listed = (await client.get(VITALS, params={"type": "steps_per_day"}, headers=elsewhere.headers)).json()["items"]
    assert sorted(item["value"] for item in listed) == [3000, 9000, 9500]


async def test_a_moved_space_whose_watch_counts_again_imports_again(
    client: httpx.AsyncClient, person: Person, make_person: MakePerson, make_app_token: MakeAppToken
) -> None:
    """A space is moved (export, import), its watch connected again re-sends its last days, as a
    watch does: the import's count of 30 November (its former source the watch) and the watch's own
    are two counts of one source that day, both stored (the import writes as a writer of its own).
    That space's export was refused on import (422 "one value per day ... from the same source"):
    the export says which source counted, not under which writer, so the import cannot tell such a
    day from two counts the Bundle made up. An import takes each count as its own record."""
    watch = await make_app_token(person, STEPS, client_id="a-watch", name="Montre")
    sent = await client.post(VITALS, json={"measurements": [_count(9000, "2026-11-30", 21)]}, headers=watch.headers)
    assert sent.status_code == 201, sent.text
    moved = await make_person("Jade")
    answer = await _imported(client, (await client.get(EXPORT, headers=person.headers)).json(), moved)
    assert answer.status_code == 201, answer.text
    watch_again = await make_app_token(moved, STEPS, client_id="a-watch", name="Montre")
    sent = await client.post(
        VITALS, json={"measurements": [_count(9400, "2026-11-30", 23)]}, headers=watch_again.headers
    )
    assert sent.status_code == 201, sent.text

    exported = (await client.get(EXPORT, headers=moved.headers)).json()
    check_bundle(exported)
    assert len(_step_counts(exported)) == 2
    again = await make_person("Noé")
    answer = await _imported(client, exported, again)
    assert answer.status_code == 201, answer.text
    listed = (await client.get(VITALS, params={"type": "steps_per_day"}, headers=again.headers)).json()["items"]
    assert sorted(item["value"] for item in listed) == [9000, 9400]
    # And once more: the counts now both came from the watch through an import.
    exported = (await client.get(EXPORT, headers=again.headers)).json()
    answer = await _imported(client, exported, await make_person("Lou"))
    assert answer.status_code == 201, answer.text


async def test_a_day_an_apps_two_connections_counted_imports(
    client: httpx.AsyncClient, make_person: MakePerson, settings: Settings
) -> None:
    """The holder's connection of a pedometer counts a day the holder then hides from their
    representatives; the tutor's connection of the same app counts that day again, under a key of
    its own (it must not learn of the hidden count). The holder sees two counts of one source on
    one day, and their export did not import (422 "from the same source")."""
    holder, tutor = await make_person(), await make_person("Tuteur")
    await court_measure(holder, tutor, "tutelle")
    vitals = f"/v1/spaces/{holder.space_id}/vitals"
    holders_app = await _pedometer(settings, holder, holder)
    sent = await client.post(vitals, json={"measurements": [_count(7000, "2026-11-30", 21)]}, headers=holders_app)
    assert sent.status_code == 201, sent.text
    hidden = sent.json()["items"][0]["id"]
    assert (await hide_measure(client, holder.headers, f"/v1/spaces/{holder.space_id}", hidden)).status_code == 200
    tutors_app = await _pedometer(settings, tutor, holder)
    sent = await client.post(vitals, json={"measurements": [_count(7100, "2026-11-30", 22)]}, headers=tutors_app)
    assert sent.status_code == 201, sent.text

    exported = (await client.get(EXPORT, headers=holder.headers)).json()
    sources = {e["resource"]["meta"]["source"] for e in _step_counts(exported)}
    assert len(_step_counts(exported)) == 2 and sources == {"urn:ens:client:a-pedometer"}
    newcomer = await make_person("Jade")
    answer = await _imported(client, exported, newcomer)
    assert answer.status_code == 201, answer.text
    listed = (await client.get(VITALS, params={"type": "steps_per_day"}, headers=newcomer.headers)).json()["items"]
    assert sorted((item["value"], item.get("hiddenFromRepresentatives", False)) for item in listed) == [
        (7000, True),
        (7100, False),
    ]


async def _pedometer(settings: Settings, who: Person, space_of: Person) -> dict[str, str]:
    """The headers of the app ``a-pedometer`` connected to ``space_of``'s space by ``who``."""
    _, token = await new_app_token(
        AccessTokens(settings),
        who.account_id,
        space_id=space_of.space_id,
        client_id="a-pedometer",
        client_name="Podomètre",
        scopes=STEPS,
    )
    return {"Authorization": f"Bearer {token}"}
