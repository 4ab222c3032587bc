"""GET /fhir/Observation with several codes, as FHIR R4 search reads a token parameter: codes
separated by commas are any of them (``\\,`` a comma within a code), a repeated ``code`` is each of
them (a measure has one type: only the types every ``code`` names)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.helpers.vitals import VITALS, at
from tests.vitals.test_fhir_intake import outcome

WEIGHT, HEART_RATE, TEMPERATURE = "29463-7", "8867-4", "8310-5"
LOINC = "http://loinc.org|"
READS = ["vitals.body_weight:read", "vitals.heart_rate:read", "vitals.body_temperature:read"]


async def record(client: Any, person: Any) -> None:
    """Weights, heart rates and a temperature, interleaved in time (minutes ago)."""
    measures = [
        {"type": "body_weight", "value": 70, "unit": "kg", "effectiveAt": at(10)},
        {"type": "body_temperature", "value": 37, "unit": "Cel", "effectiveAt": at(15)},
        {"type": "heart_rate", "value": 60, "unit": "/min", "effectiveAt": at(20)},
        {"type": "body_weight", "value": 71, "unit": "kg", "effectiveAt": at(30)},
        {"type": "heart_rate", "value": 61, "unit": "/min", "effectiveAt": at(40)},
        {"type": "body_weight", "value": 72, "unit": "kg", "effectiveAt": at(50)},
    ]
    answer = await client.post(VITALS, json={"measurements": measures}, headers=person.headers)
    assert answer.status_code == 201, answer.text


def matches(bundle: dict[str, Any]) -> list[tuple[str, float]]:
    """The found measures as (LOINC code, value), in the Bundle's order."""
    return [
        (e["resource"]["code"]["coding"][0]["code"], e["resource"]["valueQuantity"]["value"])
        for e in bundle.get("entry", [])
        if e["search"]["mode"] == "match"
    ]


def link(bundle: dict[str, Any], relation: str) -> str | None:
    return next((item["url"] for item in bundle["link"] if item["relation"] == relation), None)


async def search(client: Any, reader: Any, params: Any) -> dict[str, Any]:
    answer = await client.get("/fhir/Observation", params=params, headers=reader.headers)
    assert answer.status_code == 200, (params, answer.text)
    found: dict[str, Any] = answer.json()
    return found


async def every_page(client: Any, reader: Any, params: Any) -> tuple[list[list[tuple[str, float]]], list[str]]:
    """The pages the search gives, following its ``next`` links, and those links."""
    bundle = await search(client, reader, params)
    pages, links = [matches(bundle)], []
    while (following := link(bundle, "next")) is not None:
        links.append(following)
        answer = await client.get(following.removeprefix("http://testserver.local"), headers=reader.headers)
        assert answer.status_code == 200, answer.text
        bundle = answer.json()
        pages.append(matches(bundle))
    return pages, links


async def test_codes_separated_by_commas_find_any_of_them_newest_first_across_pages(client, person, make_app_token):
    await record(client, person)
    reader = await make_app_token(person, READS)
    both = f"{LOINC}{WEIGHT},{LOINC}{HEART_RATE}"
    pages, links = await every_page(client, reader, {"code": both, "_count": 2})
    assert pages == [
        [(WEIGHT, 70), (HEART_RATE, 60)],
        [(WEIGHT, 71), (HEART_RATE, 61)],
        [(WEIGHT, 72)],
    ]
    # Each next link keeps the code as asked.
    assert [parse_qs(urlsplit(url).query)["code"] for url in links] == [[both], [both]]
    # Codes without their system, in another order, named twice: the same measures.
    pages, _ = await every_page(client, reader, {"code": f"{HEART_RATE},{WEIGHT},{LOINC}{WEIGHT}"})
    assert pages == [[(WEIGHT, 70), (HEART_RATE, 60), (WEIGHT, 71), (HEART_RATE, 61), (WEIGHT, 72)]]
    # One code alone is as before; no code is every type the app may read.
    assert matches(await search(client, reader, {"code": TEMPERATURE})) == [(TEMPERATURE, 37)]
    assert len(matches(await search(client, reader, {}))) == 6


async def test_an_unknown_or_foreign_code_among_several_is_a_400_naming_it(client, person, make_app_token):
    await record(client, person)
    reader = await make_app_token(person, READS)
    cases = (
        (f"{WEIGHT},1-1", "1-1"),
        (f"{LOINC}{WEIGHT},http://snomed.info/sct|27113001", "http://snomed.info/sct|27113001"),
        (f"{WEIGHT},", "(empty)"),
        # An escaped comma is a comma within one code: no LOINC code holds one.
        (f"{WEIGHT}\\,{HEART_RATE}", f"{WEIGHT}\\,{HEART_RATE}"),
    )
    for code, named in cases:
        answer = await client.get("/fhir/Observation", params={"code": code}, headers=reader.headers)
        body = outcome(answer, 400)
        assert [issue["expression"] for issue in body["issue"]] == [["code"]], (code, body)
        assert body["issue"][0]["diagnostics"].startswith(f"{named}: "), (code, body)
    # In a repeated code too.
    answer = await client.get("/fhir/Observation", params={"code": [WEIGHT, "1-1"]}, headers=reader.headers)
    assert outcome(answer, 400)["issue"][0]["diagnostics"].startswith("1-1: ")


async def test_a_type_the_app_may_not_read_among_several_is_a_403(client, person, make_app_token):
    await record(client, person)
    reader = await make_app_token(person, ["vitals.body_weight:read", "vitals.body_temperature:read"])
    for params in (
        {"code": f"{WEIGHT},{HEART_RATE}"},
        {"code": f"{HEART_RATE},{TEMPERATURE}", "_count": 1},
        # Named in a repeated code that rules it out: still asked for.
        {"code": [f"{WEIGHT},{HEART_RATE}", WEIGHT]},
    ):
        body = outcome(await client.get("/fhir/Observation", params=params, headers=reader.headers), 403)
        assert body["issue"][0]["code"] == "forbidden"
        assert "vitals.heart_rate:read" in body["issue"][0]["diagnostics"], body
    assert matches(await search(client, reader, {"code": f"{WEIGHT},{TEMPERATURE}"})) == [
        (WEIGHT, 70),
        (TEMPERATURE, 37),
        (WEIGHT, 71),
        (WEIGHT, 72),
    ]


async def test_a_repeated_code_finds_only_the_types_every_one_names(client, person, make_app_token):
    """FHIR R4 search: a repeated parameter ANDs. Each code was read and the last kept: code=weight
    &code=heart_rate gave the heart rates."""
    await record(client, person)
    reader = await make_app_token(person, READS)
    assert matches(
        await search(client, reader, {"code": [f"{WEIGHT},{HEART_RATE}", f"{HEART_RATE},{TEMPERATURE}"]})
    ) == [
        (HEART_RATE, 60),
        (HEART_RATE, 61),
    ]
    assert matches(await search(client, reader, {"code": [WEIGHT, f"{LOINC}{WEIGHT}"]})) == [
        (WEIGHT, 70),
        (WEIGHT, 71),
        (WEIGHT, 72),
    ]
    # No measure is both a weight and a heart rate: an empty searchset, with no next page.
    nothing = await search(client, reader, {"code": [WEIGHT, HEART_RATE], "_count": 1})
    assert nothing["type"] == "searchset" and matches(nothing) == [] and link(nothing, "next") is None
    assert parse_qs(urlsplit(link(nothing, "self") or "").query)["code"] == [WEIGHT, HEART_RATE]
    # Paging keeps every code parameter.
    pages, links = await every_page(
        client, reader, {"code": [f"{WEIGHT},{HEART_RATE}", f"{HEART_RATE},{TEMPERATURE}"], "_count": 1}
    )
    assert pages == [[(HEART_RATE, 60)], [(HEART_RATE, 61)]]
    assert parse_qs(urlsplit(links[0]).query)["code"] == [f"{WEIGHT},{HEART_RATE}", f"{HEART_RATE},{TEMPERATURE}"]


async def test_a_cursor_serves_only_the_codes_it_was_issued_for(client, person, make_app_token):
    await record(client, person)
    reader = await make_app_token(person, READS)
    first = await search(client, reader, {"code": f"{WEIGHT},{HEART_RATE}", "_count": 1})
    following = link(first, "next")
    assert following is not None
    cursor = parse_qs(urlsplit(following).query)["_cursor"][0]
    for code in (WEIGHT, HEART_RATE, f"{WEIGHT},{TEMPERATURE}", f"{WEIGHT},{HEART_RATE},{TEMPERATURE}", None):
        params = {"_cursor": cursor, "_count": 1} | ({"code": code} if code else {})
        body = outcome(await client.get("/fhir/Observation", params=params, headers=reader.headers), 400)
        assert [issue["expression"] for issue in body["issue"]] == [["_cursor"]], (code, body)
    # Nor another listing's (the /v1 list of one type).
    refused = await client.get(VITALS, params={"type": "body_weight", "cursor": cursor}, headers=person.headers)
    assert refused.status_code == 400, refused.text
    # The same codes in another order are the same search.
    same = await search(client, reader, {"code": f"{HEART_RATE},{LOINC}{WEIGHT}", "_count": 1, "_cursor": cursor})
    assert matches(same) == [(HEART_RATE, 60)]
    # A search that can find nothing issued no cursor: none serves it.
    params = {"code": [WEIGHT, HEART_RATE], "_cursor": cursor}
    body = outcome(await client.get("/fhir/Observation", params=params, headers=reader.headers), 400)
    assert [issue["expression"] for issue in body["issue"]] == [["_cursor"]]


async def test_the_capability_statement_says_how_code_is_read(client):
    statement = (await client.get("/fhir/metadata")).json()
    observation = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Observation")
    code = next(p for p in observation["searchParam"] if p["name"] == "code")
    assert "commas are ORed" in code["documentation"] and "repeated code parameter ANDs" in code["documentation"]


async def test_how_many_codes_and_dates_a_search_takes_is_enforced_and_documented_as_array_limits(
    client, app, person, make_app_token
) -> None:
    """16 ``code`` and 64 ``date`` parameters at most: more is a 400; the OpenAPI document says so
    as ``maxItems`` (it said ``maxLength``, a string's limit, which no client reads on an array)."""
    reader = await make_app_token(person, READS)
    assert (
        await client.get("/fhir/Observation", params=[("code", WEIGHT)] * 16, headers=reader.headers)
    ).status_code == 200
    outcome(await client.get("/fhir/Observation", params=[("code", WEIGHT)] * 17, headers=reader.headers), 400)
    outcome(await client.get("/fhir/Observation", params=[("date", "2026")] * 65, headers=reader.headers), 400)
    parameters = app.openapi_schema.to_schema()["paths"]["/fhir/Observation"]["get"]["parameters"]
    limits = {p["name"]: p["schema"] for p in parameters if p["name"] in ("code", "date")}
    assert limits["code"]["maxItems"] == 16 and "maxLength" not in limits["code"]
    assert limits["date"]["maxItems"] == 64 and "maxLength" not in limits["date"]
