"""The booklet through the API: entries of the catalogue or by name, partial dates, every bad input
(a 422 at its pointer, nothing stored), duplicates, ETag / If-Match, Idempotency-Key, the history."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from ens.core import clock, db
from tests.helpers.vaccination import entry_count, paris_today, vaccine_id

BOOKLET = "/v1/spaces/me/vaccinations"


async def _post(client: Any, who: Any, body: dict[str, Any], space: str = "me", **headers: str) -> Any:
    return await client.post(f"/v1/spaces/{space}/vaccinations", json=body, headers={**who.headers, **headers})


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


async def test_an_entry_of_the_catalogue_gets_its_diseases_and_is_declared(client, person):
    hexyon = await vaccine_id(client, "hexyon", "HEXYON")
    body = {
        "vaccineId": hexyon,
        "date": "2024-03-12",
        "doseNumber": 1,
        "lotNumber": "X1234",
        "administeredBy": "Dr Martin",
        "location": "PMI de Lyon 3e",
        "note": "aucune réaction",
    }
    created = await _post(client, person, body)
    assert created.status_code == 201, created.text
    entry = created.json()
    assert entry["vaccineId"] == hexyon and entry["vaccineName"] == "HEXYON"
    assert entry["cis"] == "60645557" and entry["atc"] == "J07CA09"
    assert entry["diseases"] == ["diphtheria", "tetanus", "pertussis", "polio", "hib", "hepatitis_b"]
    assert entry["status"] == "declared"
    assert entry["date"] == "2024-03-12" and entry["datePrecision"] == "day"
    assert entry["recordedBy"] == {"role": "holder", "name": f"{person.given_name} {person.family_name}"}
    assert {k: entry[k] for k in ("doseNumber", "lotNumber", "administeredBy", "location", "note")} == {
        "doseNumber": 1,
        "lotNumber": "X1234",
        "administeredBy": "Dr Martin",
        "location": "PMI de Lyon 3e",
        "note": "aucune réaction",
    }
    one = await client.get(f"{BOOKLET}/{entry['id']}", headers=person.headers)
    assert one.status_code == 200 and one.json() == entry
    assert one.headers["etag"]
    again = await client.get(
        f"{BOOKLET}/{entry['id']}", headers={**person.headers, "If-None-Match": one.headers["etag"]}
    )
    assert again.status_code == 304
    listed = await client.get(BOOKLET, headers=person.headers)
    assert listed.status_code == 200 and listed.json() == {"items": [entry], "nextCursor": None}


async def test_a_vaccine_by_name_keeps_the_diseases_sent_and_checks_them(client, person):
    created = await _post(
        client, person, {"vaccineName": "Vaccin du Brésil", "diseases": ["yellow_fever"], "date": "2019"}
    )
    assert created.status_code == 201, created.text
    entry = created.json()
    assert entry["vaccineId"] is None and entry["cis"] is None and entry["diseases"] == ["yellow_fever"]
    assert entry["datePrecision"] == "year"
    # Diseases sent win over those the name would give.
    sent = await _post(client, person, {"vaccineName": "ROR", "diseases": ["measles"], "date": "2018"})
    assert sent.status_code == 201 and sent.json()["diseases"] == ["measles"], sent.text
    # ... among them only: a brand sent with a disease it does not protect against was counted a
    # dose of it (an outside audit: "Revaxis" with measles, mumps and rubella made MMR done).
    claimed = _problem(
        await _post(
            client, person, {"vaccineName": "Revaxis", "diseases": ["measles", "mumps", "rubella"], "date": "2018"}
        ),
        422,
    )
    assert [e["pointer"] for e in claimed["errors"]] == ["/diseases"]
    unknown = _problem(
        await _post(client, person, {"vaccineName": "Un vaccin", "diseases": ["measles", "grippe"], "date": "2019"}),
        422,
    )
    assert [e["pointer"] for e in unknown["errors"]] == ["/diseases/1"]
    twice = _problem(
        await _post(client, person, {"vaccineName": "Un vaccin", "diseases": ["measles", "measles"], "date": "2019"}),
        422,
    )
    assert [e["pointer"] for e in twice["errors"]] == ["/diseases/1"]
    assert await entry_count(person.space_id) == 2
    # A brand of the catalogue typed from a paper booklet: the server adds its diseases (API.md).
    listed = (await client.get("/v1/vaccines?q=hexyon", headers=person.headers)).json()["items"]
    hexyon = next(v for v in listed if v["brand"] == "HEXYON")
    by_brand = await _post(client, person, {"vaccineName": "Hexyon", "date": "2019-05"})
    assert by_brand.status_code == 201, by_brand.text
    assert by_brand.json()["vaccineId"] is None and by_brand.json()["diseases"] == hexyon["diseases"]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"date": "2024-03-12"}, "/vaccineId"),
        ({"vaccineName": "X", "vaccineId": "VACCINE", "date": "2024-03-12", "diseases": ["measles"]}, "/vaccineName"),
        ({"vaccineId": str(uuid.uuid4()), "date": "2024-03-12"}, "/vaccineId"),
        ({"vaccineId": "VACCINE", "date": "2024-03-12", "diseases": ["measles"]}, "/diseases"),
        ({"vaccineId": "VACCINE", "date": "2024-02-30"}, "/date"),
        ({"vaccineId": "VACCINE", "date": "12/03/2024"}, "/date"),
        ({"vaccineId": "VACCINE", "date": "2024-13"}, "/date"),
        ({"vaccineId": "VACCINE", "date": "1899"}, "/date"),
        ({"vaccineId": "VACCINE", "date": "2999-01-01"}, "/date"),
        ({"vaccineId": "VACCINE", "date": "TOMORROW"}, "/date"),
        ({"vaccineId": "VACCINE", "date": "NEXT_MONTH"}, "/date"),
        ({"vaccineId": "VACCINE", "date": "1990-05-16"}, "/date"),
        ({"vaccineId": "VACCINE", "date": "1990-04"}, "/date"),
        ({"vaccineId": "VACCINE", "date": "1989"}, "/date"),
        ({"vaccineId": "VACCINE", "date": "2024-03-12", "doseNumber": -1}, "/doseNumber"),
        ({"vaccineId": "VACCINE", "date": "2024-03-12", "doseNumber": 0}, "/doseNumber"),
        ({"vaccineId": "VACCINE", "date": "2024-03-12", "doseNumber": 1.5}, "/doseNumber"),
        ({"vaccineId": "VACCINE", "date": "2024-03-12", "status": "validated"}, "/status"),
        ({"vaccineId": "VACCINE", "date": "2024-03-12", "lotNumber": ""}, "/lotNumber"),
        ({"vaccineId": "VACCINE", "date": "2024-03-12", "note": "a\x00b"}, "/note"),
        ({"vaccineId": "VACCINE"}, "/date"),
    ],
    ids=[
        "no-vaccine",
        "both-vaccine-and-name",
        "unknown-vaccine-id",
        "diseases-of-a-listed-vaccine",
        "not-a-day",
        "not-iso",
        "not-a-month",
        "before-1900",
        "far-future",
        "tomorrow",
        "next-month",
        "day-before-birth",
        "month-before-birth",
        "year-before-birth",
        "negative-dose-number",
        "dose-number-zero",
        "dose-number-not-whole",
        "status-set-by-the-client",
        "empty-lot",
        "nul-in-note",
        "no-date",
    ],
)
async def test_every_bad_input_is_422_at_its_pointer_and_stores_nothing(client, person, body, pointer):
    await db.fetch("UPDATE spaces SET birthdate = {} WHERE id = {}", date(1990, 5, 17), person.space_id)
    today = paris_today()
    replacements = {
        "VACCINE": await vaccine_id(client, "prevenar 13", "PREVENAR 13"),
        "TOMORROW": (today + timedelta(days=1)).isoformat(),
        "NEXT_MONTH": (today.replace(day=1) + timedelta(days=32)).isoformat()[:7],
    }
    sent = {key: replacements.get(value, value) if isinstance(value, str) else value for key, value in body.items()}
    problem = _problem(await _post(client, person, sent), 422)
    assert problem["type"] == "urn:ens:problem:validation"
    assert [e["pointer"] for e in problem["errors"]] == [pointer]
    assert await entry_count(person.space_id) == 0


async def test_dates_at_the_edges_are_accepted(client, person):
    await db.fetch("UPDATE spaces SET birthdate = {} WHERE id = {}", date(1990, 5, 17), person.space_id)
    prevenar = await vaccine_id(client, "prevenar", "PREVENAR 13")
    today = paris_today()
    for when in ("1990", "1990-05", "1990-05-17", today.isoformat(), today.isoformat()[:7], str(today.year)):
        created = await _post(client, person, {"vaccineId": prevenar, "date": when})
        assert created.status_code == 201, (when, created.text)


async def test_the_same_vaccine_on_the_same_day_is_a_conflict_naming_the_entry(client, person):
    mmr = await vaccine_id(client, "priorix", "PRIORIX")
    first = (await _post(client, person, {"vaccineId": mmr, "date": "2021-06-01"})).json()
    twin = _problem(await _post(client, person, {"vaccineId": mmr, "date": "2021-06-01", "lotNumber": "B"}), 409)
    assert first["id"] in twin["detail"]
    assert twin["errors"] == [{"pointer": "/date", "detail": f"same vaccine, same day as entry {first['id']}"}]
    # Another day, another vaccine the same day, or a date without its day: not duplicates.
    other_day = await _post(client, person, {"vaccineId": mmr, "date": "2021-07-01"})
    other_vaccine = await _post(
        client, person, {"vaccineId": await vaccine_id(client, "hexyon", "HEXYON"), "date": "2021-06-01"}
    )
    month_only = [await _post(client, person, {"vaccineId": mmr, "date": "2021-06"}) for _ in range(2)]
    year_only = [await _post(client, person, {"vaccineId": mmr, "date": "2021"}) for _ in range(2)]
    assert [r.status_code for r in (other_day, other_vaccine, *month_only, *year_only)] == [201] * 6
    # A vaccine by name is the same whatever its case and accents.
    named = {"vaccineName": "Vaccin Fièvre Jaune", "diseases": ["yellow_fever"], "date": "2019-02-03"}
    assert (await _post(client, person, named)).status_code == 201
    _problem(await _post(client, person, {**named, "vaccineName": "vaccin fievre  jaune"}), 409)
    assert await entry_count(person.space_id) == 8


async def test_a_correction_keeps_the_rules_and_honours_if_match(client, person):
    mmr = await vaccine_id(client, "priorix", "PRIORIX")
    first = (await _post(client, person, {"vaccineId": mmr, "date": "2021-06-01"})).json()
    second = (await _post(client, person, {"vaccineId": mmr, "date": "2021-08-01", "lotNumber": "L1"})).json()
    url = f"{BOOKLET}/{second['id']}"
    etag = (await client.get(url, headers=person.headers)).headers["etag"]
    corrected = await client.patch(
        url, json={"lotNumber": "L2", "doseNumber": 2}, headers={**person.headers, "If-Match": etag}
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["lotNumber"] == "L2" and corrected.json()["doseNumber"] == 2
    assert corrected.json()["status"] == "declared" and corrected.json()["date"] == "2021-08-01"
    # The answer carries the entry's new ETag, the one its GET answers: the next change needs no read.
    assert corrected.headers["etag"] == (await client.get(url, headers=person.headers)).headers["etag"]
    stale = await client.patch(url, json={"note": "x"}, headers={**person.headers, "If-Match": etag})
    _problem(stale, 412)
    again = await client.patch(
        url, json={"note": "x"}, headers={**person.headers, "If-Match": corrected.headers["etag"]}
    )
    assert again.status_code == 200, again.text
    etag = (await client.get(url, headers=person.headers)).headers["etag"]
    onto_first = await client.patch(url, json={"date": "2021-06-01"}, headers={**person.headers, "If-Match": etag})
    assert _problem(onto_first, 409)["errors"][0]["detail"].endswith(first["id"])
    future = await client.patch(url, json={"date": "2999-01"}, headers=person.headers)
    assert [e["pointer"] for e in _problem(future, 422)["errors"]] == ["/date"]
    # Validating is a professional's (403 to the person); no other status can be sent.
    status = await client.patch(url, json={"status": "validated"}, headers=person.headers)
    assert _problem(status, 403)["detail"].startswith("Only a health professional")
    status = await client.patch(url, json={"status": "declared"}, headers=person.headers)
    assert [e["pointer"] for e in _problem(status, 422)["errors"]] == ["/status"]
    # Naming another vaccine by name replaces the listed one; its diseases are then the name's (none
    # for a name ENS does not know), or those sent.
    renamed = await client.patch(url, json={"vaccineName": "ROR (Inde)"}, headers=person.headers)
    assert renamed.status_code == 200 and renamed.json()["diseases"] == [], renamed.text
    renamed = await client.patch(url, json={"vaccineName": "Rougeole"}, headers=person.headers)
    assert renamed.status_code == 200 and renamed.json()["diseases"] == ["measles"], renamed.text
    renamed = await client.patch(
        url, json={"vaccineName": "ROR (Inde)", "diseases": ["measles", "mumps", "rubella"]}, headers=person.headers
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["vaccineId"] is None and renamed.json()["vaccineName"] == "ROR (Inde)"
    unchanged = (await client.get(f"{BOOKLET}/{first['id']}", headers=person.headers)).json()
    assert unchanged == first


async def test_a_deletion_honours_if_match(client, person):
    created = (
        await _post(
            client, person, {"vaccineId": await vaccine_id(client, "shingrix", "SHINGRIX"), "date": "2025-01-10"}
        )
    ).json()
    url = f"{BOOKLET}/{created['id']}"
    _problem(await client.delete(url, headers={**person.headers, "If-Match": '"stale"'}), 412)
    etag = (await client.get(url, headers=person.headers)).headers["etag"]
    assert (await client.delete(url, headers={**person.headers, "If-Match": etag})).status_code == 204
    _problem(await client.get(url, headers=person.headers), 404)
    _problem(await client.delete(url, headers=person.headers), 404)


async def test_the_booklet_is_newest_first_and_pages_with_a_cursor(client, person):
    prevenar = await vaccine_id(client, "prevenar", "PREVENAR 13")
    dates = ["2020-01-05", "2021", "2021-03", "2022-11-30", "2019-07-14"]
    for when in dates:
        assert (await _post(client, person, {"vaccineId": prevenar, "date": when})).status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(BOOKLET, params=params, headers=person.headers)).json()
        seen += [item["date"] for item in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == ["2022-11-30", "2021-03", "2021", "2020-01-05", "2019-07-14"]
    forged = await client.get(BOOKLET, params={"cursor": "abc.def"}, headers=person.headers)
    assert _problem(forged, 400)["errors"][0]["pointer"] == "/cursor"


async def test_a_retry_with_the_same_idempotency_key_creates_nothing(client, person):
    body = {"vaccineId": await vaccine_id(client, "prevenar", "PREVENAR 13"), "date": "2024-01-02"}
    first = await _post(client, person, body, **{"Idempotency-Key": "booklet-1"})
    again = await _post(client, person, body, **{"Idempotency-Key": "booklet-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert await entry_count(person.space_id) == 1


async def test_every_request_on_the_booklet_is_in_the_access_history(client, person, history):
    before = len(await history(person.space_id))
    body = {"vaccineId": await vaccine_id(client, "prevenar", "PREVENAR 13"), "date": "2024-01-02"}
    entry = (await _post(client, person, body)).json()
    await client.get(f"{BOOKLET}/{entry['id']}", headers=person.headers)
    await client.get(f"{BOOKLET}/schedule", headers=person.headers)
    await _post(client, person, body)  # a duplicate: refused, still recorded
    rows = (await history(person.space_id))[before:]
    assert [(r["action"], r["outcome"], r["resource_type"]) for r in rows] == [
        ("POST /v1/spaces/{space}/vaccinations", 201, "vaccination"),
        ("GET /v1/spaces/{space}/vaccinations/{id}", 200, "vaccination"),
        ("GET /v1/spaces/{space}/vaccinations/schedule", 200, "vaccination"),
        ("POST /v1/spaces/{space}/vaccinations", 409, "vaccination"),
    ]
    assert rows[1]["resource_id"] == entry["id"]


async def test_a_validated_entry_is_not_the_holders_to_change(client, person):
    entry = (
        await _post(
            client, person, {"vaccineId": await vaccine_id(client, "prevenar", "PREVENAR 13"), "date": "2024-01-02"}
        )
    ).json()
    await db.fetch(
        "UPDATE vaccinations SET status = 'validated' WHERE space_id = {} AND id = {}",
        person.space_id,
        uuid.UUID(entry["id"]),
    )
    url = f"{BOOKLET}/{entry['id']}"
    assert (await client.get(url, headers=person.headers)).json()["status"] == "validated"
    _problem(await client.patch(url, json={"note": "x"}, headers=person.headers), 403)
    _problem(await client.delete(url, headers=person.headers), 403)
    assert await entry_count(person.space_id) == 1


async def test_the_clock_decides_what_is_in_the_future(client, person):
    # The space's own day counts (Europe/Paris): today there is never refused, whatever the UTC date.
    today = clock.now().astimezone().date()
    response = await _post(
        client,
        person,
        {"vaccineId": await vaccine_id(client, "prevenar", "PREVENAR 13"), "date": paris_today().isoformat()},
    )
    assert response.status_code == 201, (today, response.text)
