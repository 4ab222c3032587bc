"""A booklet entry the holder hides from the representatives is nowhere in what they read: the list,
one entry, its FHIR form, the schedule (computed as if it were not there), the home screen's counts,
the certificate (issue 12, point 6)."""

from __future__ import annotations

import io
from typing import Any

import httpx
from pypdf import PdfReader

from tests.helpers.carers import court_measure
from tests.helpers.people import MakeAppToken, MakePerson
from tests.helpers.vaccination import vaccine_id


async def test_a_hidden_entry_is_in_no_read_of_a_representative(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    booklet = f"/v1/spaces/{holder.space_id}/vaccinations"
    repevax = await vaccine_id(client, "repevax", "REPEVAX")
    shown = await client.post(booklet, json={"vaccineName": "Vaccin antigrippal", "diseases": ["influenza"],
                                             "date": "2025-11-02"}, headers=holder.headers)  # fmt: skip
    hidden = await client.post(
        booklet,
        json={"vaccineId": repevax, "date": "2024-05-03", "hiddenFromRepresentatives": True},
        headers=holder.headers,
    )
    assert shown.status_code == 201 and hidden.status_code == 201, hidden.text
    hidden_id = hidden.json()["id"]
    assert hidden.json()["hiddenFromRepresentatives"] is True
    # The holder sees both; the representative one.
    mine = (await client.get(booklet, headers=holder.headers)).json()["items"]
    assert {item["id"] for item in mine} == {shown.json()["id"], hidden_id}
    theirs = (await client.get(booklet, headers=tutor.headers)).json()["items"]
    assert [item["id"] for item in theirs] == [shown.json()["id"]]
    assert (await client.get(f"{booklet}/{hidden_id}", headers=tutor.headers)).status_code == 404
    fhir = await client.get(f"{booklet}/{hidden_id}", headers={**tutor.headers, "Accept": "application/fhir+json"})
    assert fhir.status_code == 404

    # The schedule is computed without it: the dose it filled is not done for the representative.
    def done_by(schedule: dict[str, Any]) -> set[str]:
        return {
            dose["vaccinationId"]
            for disease in schedule["diseases"]
            for dose in disease["doses"]
            if dose.get("vaccinationId")
        }

    assert hidden_id in done_by((await client.get(f"{booklet}/schedule", headers=holder.headers)).json())
    assert hidden_id not in done_by((await client.get(f"{booklet}/schedule", headers=tutor.headers)).json())
    # The certificate leaves it out.
    pdf = await client.get(booklet, headers={**tutor.headers, "Accept": "application/pdf"})
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "REPEVAX" not in text and "antigrippal" in text
    holders_pdf = await client.get(booklet, headers={**holder.headers, "Accept": "application/pdf"})
    assert "REPEVAX" in "".join(page.extract_text() for page in PdfReader(io.BytesIO(holders_pdf.content)).pages)
    # Writes on it are 404 to the representative; they may not hide or show (403).
    assert (
        await client.delete(f"{booklet}/{hidden_id}", headers={**tutor.headers, "If-Match": "*"})
    ).status_code == 404
    etag = (await client.get(f"{booklet}/{shown.json()['id']}", headers=tutor.headers)).headers["etag"]
    refused = await client.patch(
        f"{booklet}/{shown.json()['id']}",
        json={"hiddenFromRepresentatives": True},
        headers={**tutor.headers, "If-Match": etag},
    )
    assert refused.status_code == 403
    # Shown again by the holder: back for the representative.
    etag = (await client.get(f"{booklet}/{hidden_id}", headers=holder.headers)).headers["etag"]
    again = await client.patch(
        f"{booklet}/{hidden_id}",
        json={"hiddenFromRepresentatives": False},
        headers={**holder.headers, "If-Match": etag},
    )
    assert again.status_code == 200 and again.json()["hiddenFromRepresentatives"] is False
    assert (await client.get(f"{booklet}/{hidden_id}", headers=tutor.headers)).status_code == 200


async def test_the_holder_hides_an_apps_entry_and_the_app_still_corrects_it(
    client: httpx.AsyncClient, make_person: MakePerson, make_app_token: MakeAppToken
) -> None:
    holder = await make_person()
    app = await make_app_token(holder, ["vaccinations:write", "vaccinations:read"])
    created = await client.post(
        "/v1/spaces/me/vaccinations",
        json={"vaccineName": "Vaccin antigrippal", "diseases": ["influenza"], "date": "2025-10-20"},
        headers=app.headers,
    )
    entry = f"/v1/spaces/me/vaccinations/{created.json()['id']}"
    # An app may not hide, even its own entry.
    etag = (await client.get(entry, headers=app.headers)).headers["etag"]
    by_app = await client.patch(
        entry, json={"hiddenFromRepresentatives": True}, headers={**app.headers, "If-Match": etag}
    )
    assert by_app.status_code == 403
    by_holder = await client.patch(
        entry, json={"hiddenFromRepresentatives": True}, headers={**holder.headers, "If-Match": etag}
    )
    assert by_holder.status_code == 200 and by_holder.json()["hiddenFromRepresentatives"] is True
    # The app still sees and corrects its entry (apps the holder connected see what the holder sees).
    etag = (await client.get(entry, headers=app.headers)).headers["etag"]
    corrected = await client.patch(entry, json={"lotNumber": "L1"}, headers={**app.headers, "If-Match": etag})
    assert corrected.status_code == 200 and corrected.json()["hiddenFromRepresentatives"] is True


async def test_the_same_vaccine_the_same_day_does_not_name_a_hidden_entry_to_a_representative(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """One entry per vaccine and day: the refusal names the entry to the holder, not to a tutor from
    whom it is hidden (the 409 gave its id away before, found by a review)."""
    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    booklet = f"/v1/spaces/{holder.space_id}/vaccinations"
    priorix = await vaccine_id(client, "priorix", "PRIORIX")
    entry = {"vaccineId": priorix, "date": "2021-06-01"}
    hidden = await client.post(booklet, json={**entry, "hiddenFromRepresentatives": True}, headers=holder.headers)
    assert hidden.status_code == 201, hidden.text
    by_tutor = await client.post(booklet, json=entry, headers=tutor.headers)
    assert by_tutor.status_code == 409 and hidden.json()["id"] not in by_tutor.text
    by_holder = await client.post(booklet, json=entry, headers=holder.headers)
    assert by_holder.status_code == 409 and hidden.json()["id"] in by_holder.text
