"""A booklet entry the holder hides from the representatives is nowhere in what they read: the list,
one entry, its FHIR form, the schedule (computed as if it were not there), the home screen's counts,
the certificate (issue 12, point 6) — nor in what they write: the same vaccine on the same day is
recorded beside it, as if it were not there."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import httpx
from pypdf import PdfReader

from ens.core.settings import Settings
from tests.core.test_openapi_responses_are_what_the_server_sends import assert_sent_as_documented
from tests.helpers.carers import court_measure, create_child_space, today_in_paris, years_before
from tests.helpers.hidden import hide_item
from tests.helpers.people import MakeAppToken, MakePerson
from tests.helpers.professionals import GP, authorise, sign_in_pro
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
    refused = await hide_item(client, tutor.headers, f"{booklet}/{shown.json()['id']}")
    assert refused.status_code == 403
    # Shown again by the holder: back for the representative.
    again = await hide_item(client, holder.headers, f"{booklet}/{hidden_id}", hidden=False)
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
    assert (await hide_item(client, app.headers, entry)).status_code == 403
    by_holder = await hide_item(client, holder.headers, entry)
    assert by_holder.status_code == 200 and by_holder.json()["hiddenFromRepresentatives"] is True
    # The app still sees and corrects its entry (apps the holder connected see what the holder sees).
    etag = (await client.get(entry, headers=app.headers)).headers["etag"]
    corrected = await client.patch(entry, json={"lotNumber": "L1"}, headers={**app.headers, "If-Match": etag})
    assert corrected.status_code == 200 and corrected.json()["hiddenFromRepresentatives"] is True


async def test_a_representative_records_the_same_vaccine_the_same_day_as_a_hidden_entry_as_if_it_did_not_exist(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """One entry per vaccine and day as each caller sees the booklet. A tutor recording the vaccine of
    a hidden entry on its day was refused (409 "already in the booklet"): the refusal told them the
    hidden entry existed (found by a review). Their entry is now recorded beside it; the holder, who
    sees both, counts the injection once and cannot hide or show one of the two into the other."""
    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    booklet = f"/v1/spaces/{holder.space_id}/vaccinations"
    priorix = await vaccine_id(client, "priorix", "PRIORIX")
    entry = {"vaccineId": priorix, "date": "2021-06-01"}
    hidden = await client.post(booklet, json={**entry, "hiddenFromRepresentatives": True}, headers=holder.headers)
    assert hidden.status_code == 201, hidden.text
    hidden_id = hidden.json()["id"]
    # The holder's own second entry of that day is a 409 naming the first.
    twin = await client.post(booklet, json=entry, headers=holder.headers)
    assert twin.status_code == 409 and hidden_id in twin.json()["detail"]

    # The tutor's is recorded as if the hidden one did not exist; nothing they read names it.
    by_tutor = await client.post(booklet, json={**entry, "lotNumber": "T1"}, headers=tutor.headers)
    assert by_tutor.status_code == 201, by_tutor.text
    shown_id = by_tutor.json()["id"]
    assert shown_id != hidden_id and by_tutor.json()["hiddenFromRepresentatives"] is False
    assert hidden_id not in by_tutor.text
    theirs = await client.get(booklet, headers=tutor.headers)
    assert [item["id"] for item in theirs.json()["items"]] == [shown_id]
    history = await client.get(f"/v1/spaces/{holder.space_id}/access-history?limit=500", headers=tutor.headers)
    assert history.status_code == 200 and hidden_id not in history.text
    # Their own second entry of that day is refused, naming theirs; their corrections of it pass.
    again = await client.post(booklet, json=entry, headers=tutor.headers)
    assert again.status_code == 409 and shown_id in again.text and hidden_id not in again.text
    etag = (await client.get(f"{booklet}/{shown_id}", headers=tutor.headers)).headers["etag"]
    noted = await client.patch(
        f"{booklet}/{shown_id}", json={"note": "carnet papier"}, headers={**tutor.headers, "If-Match": etag}
    )
    assert noted.status_code == 200 and hidden_id not in noted.text

    # The holder sees both entries, and one injection: one dose, one line, one Immunization.
    mine = (await client.get(booklet, headers=holder.headers)).json()["items"]
    assert {item["id"] for item in mine} == {hidden_id, shown_id}
    schedule = (await client.get(f"{booklet}/schedule", headers=holder.headers)).json()
    named = [dose["vaccinationId"] for disease in schedule["diseases"] for dose in disease["doses"]]
    measles = next(disease for disease in schedule["diseases"] if disease["disease"] == "measles")
    assert [dose["vaccinationId"] for dose in measles["doses"] if dose["vaccinationId"]] == [hidden_id]
    assert shown_id not in named
    tutors_schedule = (await client.get(f"{booklet}/schedule", headers=tutor.headers)).json()
    assert schedule["counts"] == tutors_schedule["counts"]
    summary = (await client.get(f"/v1/spaces/{holder.space_id}", headers=holder.headers)).json()
    assert summary["vaccination"] == schedule["counts"]
    pdf = await client.get(booklet, headers={**holder.headers, "Accept": "application/pdf"})
    assert "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages).count("PRIORIX") == 1
    export = (await client.get(f"/v1/spaces/{holder.space_id}/export", headers=holder.headers)).json()
    immunizations = [e["resource"]["id"] for e in export["entry"] if e["resource"]["resourceType"] == "Immunization"]
    assert immunizations == [hidden_id]

    # Showing the hidden one, or hiding the shown one, would make two of one kind: 409, nothing changed.
    document = (await client.get("/schema/openapi.json")).json()
    for entry_id, hide, other in ((hidden_id, False, shown_id), (shown_id, True, hidden_id)):
        etag = (await client.get(f"{booklet}/{entry_id}", headers=holder.headers)).headers["etag"]
        refused = await client.patch(
            f"{booklet}/{entry_id}",
            json={"hiddenFromRepresentatives": hide},
            headers={**holder.headers, "If-Match": etag},
        )
        assert refused.status_code == 409 and refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["errors"][0]["pointer"] == "/hiddenFromRepresentatives"
        assert other in refused.json()["detail"]
        assert_sent_as_documented(document, "patch", "/v1/spaces/{space}/vaccinations/{id}", refused)
        assert (await client.get(f"{booklet}/{entry_id}", headers=holder.headers)).headers["etag"] == etag
    assert [item["id"] for item in (await client.get(booklet, headers=tutor.headers)).json()["items"]] == [shown_id]
    # A correction of either that keeps its vaccine and day is no duplicate; moving one onto the
    # other's day is, for the holder who sees both.
    etag = (await client.get(f"{booklet}/{hidden_id}", headers=holder.headers)).headers["etag"]
    lot = await client.patch(
        f"{booklet}/{hidden_id}", json={"lotNumber": "H1"}, headers={**holder.headers, "If-Match": etag}
    )
    assert lot.status_code == 200, lot.text
    elsewhere = (await client.post(booklet, json={**entry, "date": "2021-07-01"}, headers=holder.headers)).json()
    onto = await client.patch(f"{booklet}/{elsewhere['id']}", json={"date": "2021-06-01"}, headers=holder.headers)
    assert onto.status_code == 409 and onto.json()["errors"][0]["pointer"] == "/date"
    # Once the tutor's entry is removed, the holder shows theirs again.
    etag = (await client.get(f"{booklet}/{shown_id}", headers=holder.headers)).headers["etag"]
    assert (
        await client.delete(f"{booklet}/{shown_id}", headers={**holder.headers, "If-Match": etag})
    ).status_code == 204
    shown = await hide_item(client, holder.headers, f"{booklet}/{hidden_id}", hidden=False)
    assert shown.status_code == 200 and shown.json()["hiddenFromRepresentatives"] is False


async def test_a_tutor_moves_an_entry_onto_the_day_of_a_hidden_one(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """A correction collides only with what its writer sees, as a new entry does."""
    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    booklet = f"/v1/spaces/{holder.space_id}/vaccinations"
    priorix = await vaccine_id(client, "priorix", "PRIORIX")
    hidden = await client.post(
        booklet,
        json={"vaccineId": priorix, "date": "2021-06-01", "hiddenFromRepresentatives": True},
        headers=holder.headers,
    )
    assert hidden.status_code == 201, hidden.text
    theirs = (
        await client.post(booklet, json={"vaccineId": priorix, "date": "2021-05-01"}, headers=tutor.headers)
    ).json()
    moved = await client.patch(f"{booklet}/{theirs['id']}", json={"date": "2021-06-01"}, headers=tutor.headers)
    assert moved.status_code == 200, moved.text
    assert hidden.json()["id"] not in moved.text and moved.json()["date"] == "2021-06-01"


async def test_a_parent_records_the_vaccination_a_doctor_hid_on_a_minors_space(
    client: httpx.AsyncClient, settings: Settings, make_person: MakePerson
) -> None:
    """A minor's confidential vaccination (CSP L1111-5), recorded by their doctor hidden from the
    parents: a parent who writes the same vaccine on the same day learns nothing of it; the doctor
    counts one dose, the validated one."""
    parent = await make_person(birthdate=date(1980, 1, 1))
    child = await create_child_space(client, parent, birthdate=years_before(today_in_paris(), 15))
    doctor = await sign_in_pro(settings, GP)
    await authorise(client, parent, doctor, space=child)
    booklet = f"/v1/spaces/{child}/vaccinations"
    gardasil = await vaccine_id(client, "gardasil", "GARDASIL 9")
    day = (today_in_paris() - timedelta(days=30)).isoformat()
    hidden = await client.post(
        booklet, json={"vaccineId": gardasil, "date": day, "hiddenFromRepresentatives": True}, headers=doctor.headers
    )
    assert hidden.status_code == 201 and hidden.json()["status"] == "validated", hidden.text
    by_parent = await client.post(booklet, json={"vaccineId": gardasil, "date": day}, headers=parent.headers)
    assert by_parent.status_code == 201, by_parent.text
    assert hidden.json()["id"] not in by_parent.text
    assert [i["id"] for i in (await client.get(booklet, headers=parent.headers)).json()["items"]] == [
        by_parent.json()["id"]
    ]
    seen = (await client.get(booklet, headers=doctor.headers)).json()["items"]
    assert {i["id"] for i in seen} == {hidden.json()["id"], by_parent.json()["id"]}
    schedule = (await client.get(f"{booklet}/schedule", headers=doctor.headers)).json()
    hpv = next(disease for disease in schedule["diseases"] if disease["disease"] == "hpv")
    assert [dose["vaccinationId"] for dose in hpv["doses"] if dose["vaccinationId"]] == [hidden.json()["id"]]


async def test_moving_an_entry_and_changing_its_visibility_at_once_moves_both(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """The visibility was written before the date: at the old date it met the unique index (the
    twin of the other visibility there), a 500 (a review). Now one statement, after every check."""
    holder, tutor = await make_person(), await make_person(given_name="Tuteur")
    await court_measure(holder, tutor, "tutelle")
    booklet = f"/v1/spaces/{holder.space_id}/vaccinations"
    body = {"vaccineName": "Revaxis", "diseases": ["tetanus"], "date": "2020-03-12"}
    hidden = await client.post(booklet, json={**body, "hiddenFromRepresentatives": True}, headers=holder.headers)
    theirs = await client.post(booklet, json=body, headers=tutor.headers)
    assert hidden.status_code == theirs.status_code == 201, (hidden.text, theirs.text)
    moved = await client.patch(
        f"{booklet}/{theirs.json()['id']}",
        json={"date": "2021-03-12", "hiddenFromRepresentatives": True},
        headers=holder.headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["date"] == "2021-03-12" and moved.json()["hiddenFromRepresentatives"] is True
    shown = await client.patch(
        f"{booklet}/{hidden.json()['id']}",
        json={"date": "2019-03-12", "hiddenFromRepresentatives": False},
        headers=holder.headers,
    )
    assert shown.status_code == 200, shown.text
    assert shown.json()["date"] == "2019-03-12" and shown.json()["hiddenFromRepresentatives"] is False
    seen = (await client.get(booklet, headers=tutor.headers)).json()["items"]
    assert [item["date"] for item in seen] == ["2019-03-12"]


async def test_the_holders_certificate_tag_is_not_the_representatives(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """The printed certificate's tag names what it is drawn from (85b049e), not its bytes: a tag
    shared by the holder's print and the representative's, which leaves the hidden entry out, would
    answer the representative 304 for the holder's, and a cache would then show it the entry (a
    review of the merged tag). Each caller's tag is its own, and the other's is 200."""
    holder, tutor = await make_person(), await make_person()
    await court_measure(holder, tutor, "tutelle")
    booklet = f"/v1/spaces/{holder.space_id}/vaccinations"
    repevax = await vaccine_id(client, "repevax", "REPEVAX")
    hidden = await client.post(
        booklet,
        json={"vaccineId": repevax, "date": "2024-05-03", "hiddenFromRepresentatives": True},
        headers=holder.headers,
    )
    assert hidden.status_code == 201, hidden.text
    pdf = {"Accept": "application/pdf"}
    mine = await client.get(booklet, headers={**holder.headers, **pdf})
    theirs = await client.get(booklet, headers={**tutor.headers, **pdf})
    assert mine.status_code == theirs.status_code == 200
    assert mine.headers["etag"] != theirs.headers["etag"]
    asked = await client.get(booklet, headers={**tutor.headers, **pdf, "If-None-Match": mine.headers["etag"]})
    assert asked.status_code == 200 and asked.headers["etag"] == theirs.headers["etag"]
    again = await client.get(booklet, headers={**tutor.headers, **pdf, "If-None-Match": theirs.headers["etag"]})
    assert again.status_code == 304
