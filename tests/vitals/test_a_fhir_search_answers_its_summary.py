"""FHIR's ``_summary`` on ``GET /fhir/Observation``. It had been ignored as a parameter the search
does not read (a review): ``_summary=count`` answered every measure, in pages, and no ``total``;
``_summary=true`` answered whole resources as if they were the summary asked."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle

from tests.helpers.carers import court_measure
from tests.helpers.vitals import at
from tests.vitals.test_a_representatives_app_never_meets_hidden_measures import _scale
from tests.vitals.test_fhir_intake import body_weight, outcome, restricted, transaction

SEARCH = "/fhir/Observation"


def searchset(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    Bundle.model_validate(found)
    assert found["type"] == "searchset"
    return found


async def test_summary_count_answers_the_total_of_every_page_and_no_entry(client, person, make_app_token):
    writer = await make_app_token(person, ["vitals.body_weight:write", "vitals.heart_rate:write"])
    for value, minutes in ((70, 60 * 24 * 3), (71, 60 * 24 * 2), (72, 60)):
        measure = body_weight(value, identifier=[{"value": f"w{value}"}], effectiveDateTime=at(minutes))
        assert (await client.post("/fhir", json=transaction(measure), headers=writer.headers)).status_code == 200
    reader = await make_app_token(person, ["vitals.body_weight:read"])
    counted = searchset(await client.get(SEARCH, params={"_summary": "count", "_count": 1}, headers=reader.headers))
    assert counted["total"] == 3 and "entry" not in counted
    [self_link] = [link["url"] for link in counted["link"]]
    assert "_summary=count" in self_link
    # The same filters as the search's pages: code, date.
    since = at(60 * 24 * 2 + 30)[:19] + "+00:00"
    params = {"code": "http://loinc.org|29463-7", "date": f"ge{since}", "_summary": "count"}
    assert searchset(await client.get(SEARCH, params=params, headers=reader.headers))["total"] == 2
    # Pages give the same measures (what the count stands for).
    paged = searchset(await client.get(SEARCH, params={**params, "_summary": "false"}, headers=reader.headers))
    assert len([e for e in paged["entry"] if e["search"]["mode"] == "match"]) == 2
    # A type the app may not read is 403, as on the pages.
    refused = await client.get(SEARCH, params={"code": "8867-4", "_summary": "count"}, headers=reader.headers)
    assert outcome(refused, 403)["issue"][0]["code"] == "forbidden"
    # No _cursor: the count is every page's.
    first = searchset(await client.get(SEARCH, params={"_count": 1}, headers=reader.headers))
    cursor = next(link["url"] for link in first["link"] if link["relation"] == "next").split("_cursor=")[1]
    body = outcome(
        await client.get(SEARCH, params={"_summary": "count", "_cursor": cursor}, headers=reader.headers), 400
    )
    assert body["issue"][0]["expression"] == ["_cursor"]


async def test_a_count_leaves_out_what_the_caller_may_not_see(client, make_person, settings):
    """A representative's app counts what it would read: a measure the holder hid is not counted (a
    total of one more than the pages give would tell it something is hidden)."""
    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    holders_app = await _scale(settings, holder, holder)
    hidden = restricted(body_weight(70, identifier=[{"value": "hidden"}]))
    shown = body_weight(71, identifier=[{"value": "shown"}])
    for observation in (hidden, shown):
        assert (
            await client.post("/fhir", json=transaction(observation), headers=holders_app.headers)
        ).status_code == 200
    tutors_app = await _scale(settings, tutor, holder)
    counted = await client.get(SEARCH, params={"_summary": "count"}, headers=tutors_app.headers)
    assert searchset(counted)["total"] == 1
    assert searchset(await client.get(SEARCH, params={"_summary": "count"}, headers=holders_app.headers))["total"] == 2


async def test_summary_data_or_false_is_the_whole_resource_true_or_text_is_refused(client, person, make_app_token):
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"])
    assert (await client.post("/fhir", json=transaction(body_weight(70)), headers=app.headers)).status_code == 200
    whole = searchset(await client.get(SEARCH, headers=app.headers))
    for summary in ("data", "false"):
        found = searchset(await client.get(SEARCH, params={"_summary": summary}, headers=app.headers))
        # ENS writes no narrative: all but the text is everything, nothing marked SUBSETTED.
        assert [e["resource"] for e in found["entry"]] == [e["resource"] for e in whole["entry"]], summary
        assert "total" not in found
        assert f"_summary={summary}" in next(link["url"] for link in found["link"] if link["relation"] == "self")
    for summary in ("true", "text", "bogus", "COUNT"):
        body = outcome(await client.get(SEARCH, params={"_summary": summary}, headers=app.headers), 400)
        [issue] = body["issue"]
        assert issue["expression"] == ["_summary"] and "count, data or false" in issue["diagnostics"], summary
    # Given twice, as every parameter read once.
    twice = await client.get(SEARCH, params=[("_summary", "count"), ("_summary", "false")], headers=app.headers)
    assert outcome(twice, 400)["issue"][0]["expression"] == ["_summary"]
    # Strict handling takes it, as a parameter the search reads.
    strict = {**app.headers, "Prefer": "handling=strict"}
    assert searchset(await client.get(SEARCH, params={"_summary": "count"}, headers=strict))["total"] == 1
