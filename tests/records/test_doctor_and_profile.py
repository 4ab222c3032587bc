"""The médecin traitant (RPPS with its Luhn check digit) and the medical profile's four lists."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.helpers.records import DOCTOR, VALID_RPPS, pointers

PROFILE = "/v1/spaces/me/profile"


def doctor(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "givenName": "Jacques",
        "familyName": "Lefèvre",
        "rpps": VALID_RPPS,
        "phone": "04 72 00 00 00",
        "address": {"line": "12 place Bellecour", "postalCode": "69002", "city": "Lyon"},
    }
    body.update(overrides)
    return body


async def test_the_doctor_recorded_replaced_and_forgotten(client, person):
    headers = person.headers
    assert (await client.get(DOCTOR, headers=headers)).status_code == 404
    recorded = await client.put(DOCTOR, json=doctor(), headers=headers)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["phone"] == "+33472000000" and recorded.json()["rpps"] == VALID_RPPS
    read = await client.get(DOCTOR, headers=headers)
    assert read.json() == recorded.json() and read.headers["etag"] == recorded.headers["etag"]
    replaced = await client.put(DOCTOR, json=doctor(familyName="Nguyen", rpps=None), headers=headers)
    assert replaced.status_code == 200 and replaced.json()["rpps"] is None
    assert replaced.json()["id"] == recorded.json()["id"]
    stale = await client.put(DOCTOR, json=doctor(), headers={**headers, "If-Match": recorded.headers["etag"]})
    assert stale.status_code == 412
    stale_delete = await client.delete(DOCTOR, headers={**headers, "If-Match": recorded.headers["etag"]})
    assert stale_delete.status_code == 412
    removed = await client.delete(DOCTOR, headers={**headers, "If-Match": replaced.headers["etag"]})
    assert removed.status_code == 204
    assert (await client.get(DOCTOR, headers=headers)).status_code == 404


@pytest.mark.parametrize(
    ("overrides", "pointer"),
    [
        ({"rpps": "10003826474"}, "/rpps"),  # one digit off: the Luhn check fails
        ({"rpps": "1000382647"}, "/rpps"),
        ({"rpps": "1000382647A"}, "/rpps"),
        ({"rpps": "00000000000"}, "/rpps"),  # passes the Luhn check, names no one
        ({"phone": "04 72"}, "/phone"),
        ({"familyName": ""}, "/familyName"),
        ({"address": {"line": "", "postalCode": "69002", "city": "Lyon"}}, "/address/line"),
    ],
)
async def test_bad_doctors_are_422_at_their_pointer(client, person, overrides, pointer):
    response = await client.put(DOCTOR, json=doctor(**overrides), headers=person.headers)
    assert response.status_code == 422, response.text
    assert pointer in pointers(response)
    assert (await client.get(DOCTOR, headers=person.headers)).status_code == 404


LISTS = [
    (
        "conditions",
        {"label": "Diabète de type 2", "since": "2019-03-01", "code": "E11.9"},
        {"label": "Appendicectomie", "code": None},
    ),
    (
        "allergies",
        {"substance": "Pénicilline", "reaction": "Urticaire", "severity": "moderate"},
        {"severity": "severe"},
    ),
    (
        "treatments",
        {"medication": "Metformine", "dose": "1000 mg matin et soir", "since": "2019-03-02"},
        {"until": "2026-06-30"},
    ),
    ("family-history", {"relative": "mother", "condition": "Cancer du sein"}, {"relative": "grandmother"}),
]


@pytest.mark.parametrize(("path", "created", "change"), LISTS, ids=[item[0] for item in LISTS])
async def test_each_profile_list_has_the_usual_shape_and_crud(client, person, path, created, change):
    headers, url = person.headers, f"{PROFILE}/{path}"
    assert (await client.get(url, headers=headers)).json() == {"items": [], "nextCursor": None}
    added = await client.post(url, json=created, headers=headers)
    assert added.status_code == 201, added.text
    item = added.json()
    assert {k: item[k] for k in created} == created
    second = (await client.post(url, json=created, headers=headers)).json()
    listed = (await client.get(url, headers=headers)).json()
    assert [i["id"] for i in listed["items"]] == [item["id"], second["id"]]
    page = (await client.get(f"{url}?limit=1", headers=headers)).json()
    assert [i["id"] for i in page["items"]] == [item["id"]]
    rest = (await client.get(f"{url}?limit=1&cursor={page['nextCursor']}", headers=headers)).json()
    assert [i["id"] for i in rest["items"]] == [second["id"]] and rest["nextCursor"] is None

    read = await client.get(f"{url}/{item['id']}", headers=headers)
    assert read.json() == item
    changed = await client.patch(
        f"{url}/{item['id']}", json=change, headers={**headers, "If-Match": read.headers["etag"]}
    )
    assert changed.status_code == 200, changed.text
    assert {k: changed.json()[k] for k in change} == change
    untouched = {k: v for k, v in created.items() if k not in change}
    assert {k: changed.json()[k] for k in untouched} == untouched
    stale = await client.patch(
        f"{url}/{item['id']}", json=change, headers={**headers, "If-Match": read.headers["etag"]}
    )
    assert stale.status_code == 412
    assert (
        await client.delete(f"{url}/{item['id']}", headers={**headers, "If-Match": read.headers["etag"]})
    ).status_code == 412
    assert (await client.delete(f"{url}/{item['id']}", headers=headers)).status_code == 204
    assert (await client.get(f"{url}/{item['id']}", headers=headers)).status_code == 404
    assert (await client.patch(f"{url}/{item['id']}", json=change, headers=headers)).status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "pointer"),
    [
        ("conditions", {"label": ""}, "/label"),
        ("conditions", {"label": "Asthme", "since": "2999-01-01"}, "/since"),
        ("conditions", {"label": "Asthme", "since": "0001-01-01"}, "/since"),  # before 1900 (outside review)
        ("treatments", {"medication": "Lévothyrox", "since": "1899-12-31"}, "/since"),
        ("conditions", {"label": "Asthme", "code": "asthma"}, "/code"),
        ("conditions", {"label": "Asthme", "since": "mars 2019"}, "/since"),
        ("allergies", {"substance": "Arachide", "severity": "deadly"}, "/severity"),
        ("allergies", {"reaction": "Œdème"}, "/substance"),
        ("treatments", {"medication": "Lévothyrox", "since": "2024-05-01", "until": "2024-04-01"}, "/until"),
        ("treatments", {"medication": "x" * 256}, "/medication"),
        ("family-history", {"relative": "neighbour", "condition": "Diabète"}, "/relative"),
        ("family-history", {"relative": "father", "condition": " "}, "/condition"),
    ],
)
async def test_bad_profile_entries_are_422_at_their_pointer(client, person, path, body, pointer):
    response = await client.post(f"{PROFILE}/{path}", json=body, headers=person.headers)
    assert response.status_code == 422, response.text
    assert pointer in pointers(response)
    assert (await client.get(f"{PROFILE}/{path}", headers=person.headers)).json()["items"] == []


async def test_a_change_is_checked_against_what_is_kept(client, person):
    url = f"{PROFILE}/treatments"
    item = (
        await client.post(url, json={"medication": "Lévothyrox", "since": "2024-05-01"}, headers=person.headers)
    ).json()
    refused = await client.patch(f"{url}/{item['id']}", json={"until": "2024-01-01"}, headers=person.headers)
    assert refused.status_code == 422 and pointers(refused) == ["/until"]
    cleared = await client.patch(f"{url}/{item['id']}", json={"since": None, "dose": "75 µg"}, headers=person.headers)
    assert cleared.status_code == 200 and cleared.json()["since"] is None and cleared.json()["dose"] == "75 µg"
    null_name = await client.patch(f"{url}/{item['id']}", json={"medication": None}, headers=person.headers)
    assert null_name.status_code == 422 and pointers(null_name) == ["/medication"]


async def test_a_change_of_one_date_points_at_the_date_sent(client, person):
    """A JSON Pointer points into the request: a ``since`` moved past the ``until`` kept was told at
    ``/until``, a field the client had not sent (an outside audit of the records)."""
    url = f"{PROFILE}/treatments"
    item = (
        await client.post(
            url, json={"medication": "Lévothyrox", "since": "2024-01-01", "until": "2024-06-30"}, headers=person.headers
        )
    ).json()
    moved = await client.patch(f"{url}/{item['id']}", json={"since": "2024-09-01"}, headers=person.headers)
    assert moved.status_code == 422 and pointers(moved) == ["/since"], moved.text
    both = await client.patch(
        f"{url}/{item['id']}", json={"since": "2024-09-01", "until": "2024-08-01"}, headers=person.headers
    )
    assert both.status_code == 422 and pointers(both) == ["/until"], both.text


async def test_two_changes_sent_with_the_same_if_match_cannot_both_win(client, person):
    url = f"{PROFILE}/allergies"
    item = (await client.post(url, json={"substance": "Arachide"}, headers=person.headers)).json()
    read = await client.get(f"{url}/{item['id']}", headers=person.headers)
    tag = {**person.headers, "If-Match": read.headers["etag"]}
    one, other = await asyncio.gather(
        client.patch(f"{url}/{item['id']}", json={"severity": "mild"}, headers=tag),
        client.patch(f"{url}/{item['id']}", json={"severity": "severe"}, headers=tag),
    )
    assert sorted([one.status_code, other.status_code]) == [200, 412]
    winner = one if one.status_code == 200 else other
    assert (await client.get(f"{url}/{item['id']}", headers=person.headers)).json() == winner.json()


async def test_a_day_of_the_profile_is_in_the_holders_life(client, person):
    """A condition since 2005 was taken for a child born in 2019, and a treatment until 2999 (an
    outside audit): a day of the medical history is not before the holder's birth, a planned end
    not past the calendar ENS keeps (2199)."""
    from datetime import date

    from ens.core import db

    await db.fetch("UPDATE spaces SET birthdate = {} WHERE id = {}", date(2019, 4, 2), person.space_id)
    before = await client.post(
        f"{PROFILE}/conditions", json={"label": "Asthme", "since": "2005-01-01"}, headers=person.headers
    )
    assert before.status_code == 422 and pointers(before) == ["/since"]
    born = await client.post(
        f"{PROFILE}/conditions", json={"label": "Cardiopathie", "since": "2019-04-02"}, headers=person.headers
    )
    assert born.status_code == 201, born.text
    moved = await client.patch(
        f"{PROFILE}/conditions/{born.json()['id']}", json={"since": "2019-04-01"}, headers=person.headers
    )
    assert moved.status_code == 422 and pointers(moved) == ["/since"]
    far = await client.post(
        f"{PROFILE}/treatments", json={"medication": "Ventoline", "until": "2999-01-01"}, headers=person.headers
    )
    assert far.status_code == 422 and pointers(far) == ["/until"]
    # ... and before a life, or before the holder's (born 2019 here): both were taken (an audit).
    for until in ("1800-01-01", "2019-04-01"):
        early = await client.post(
            f"{PROFILE}/treatments", json={"medication": "Ventoline", "until": until}, headers=person.headers
        )
        assert early.status_code == 422 and pointers(early) == ["/until"], (until, early.text)
    planned = await client.post(
        f"{PROFILE}/treatments", json={"medication": "Ventoline", "until": "2031-01-01"}, headers=person.headers
    )
    assert planned.status_code == 201, planned.text


async def test_a_profile_list_is_bounded_apart_for_what_the_representatives_see(client, person, monkeypatch):
    """A client in a loop filled a list without end, which the export and the home screen read whole
    (an outside audit of the records). Entries shown to the representatives and entries hidden from
    them are bounded apart: a representative is never told how many are hidden, and an import brings
    back whatever an export held."""
    from ens.records.profile import entries

    monkeypatch.setattr(entries, "MAX_ENTRIES", 3)

    async def add(label: str, **extra: Any) -> Any:
        return await client.post(f"{PROFILE}/conditions", json={"label": label, **extra}, headers=person.headers)

    shown = await asyncio.gather(*(add(f"Affection {n}") for n in range(4)))
    assert sorted(r.status_code for r in shown) == [201, 201, 201, 422]
    [full] = [r for r in shown if r.status_code == 422]
    assert full.headers["content-type"] == "application/problem+json"
    assert pointers(full) == [""] and "remove one first" in full.json()["detail"]
    hidden = [await add(f"Secrète {n}", hiddenFromRepresentatives=True) for n in range(4)]
    assert [r.status_code for r in hidden] == [201, 201, 201, 422]
    assert "hidden from the representatives" in hidden[-1].json()["detail"]
    listed = (await client.get(f"{PROFILE}/conditions", headers=person.headers)).json()["items"]
    assert len(listed) == 6
    gone = listed[0]
    assert (await client.delete(f"{PROFILE}/conditions/{gone['id']}", headers=person.headers)).status_code == 204
    assert (await add("Affection 5", hiddenFromRepresentatives=gone["hiddenFromRepresentatives"])).status_code == 201


async def test_hiding_or_showing_an_entry_keeps_each_list_bounded(client, person, monkeypatch):
    """The bound held for adds only: hiding an entry moved it among the hidden ones however many
    there were, so adding, hiding, adding again filled a list without end (a review of the merged
    bound). Moved to a full side, the change is 422 at /hiddenFromRepresentatives, nothing changed."""
    from ens.records.profile import entries

    monkeypatch.setattr(entries, "MAX_ENTRIES", 2)
    url = f"{PROFILE}/conditions"

    async def add(label: str, **extra: Any) -> Any:
        added = await client.post(url, json={"label": label, **extra}, headers=person.headers)
        assert added.status_code == 201, added.text
        return added.json()

    for n in range(2):
        await add(f"Secrète {n}", hiddenFromRepresentatives=True)
    shown = await add("Affection 0")
    hide = await client.patch(f"{url}/{shown['id']}", json={"hiddenFromRepresentatives": True}, headers=person.headers)
    assert hide.status_code == 422, hide.text
    assert hide.headers["content-type"] == "application/problem+json"
    assert pointers(hide) == ["/hiddenFromRepresentatives"] and "remove one first" in hide.json()["detail"]
    assert (await client.get(f"{url}/{shown['id']}", headers=person.headers)).json()[
        "hiddenFromRepresentatives"
    ] is False
    second = await add("Affection 1")
    listed = (await client.get(url, headers=person.headers)).json()["items"]
    secret = next(item for item in listed if item["hiddenFromRepresentatives"])
    show = await client.patch(
        f"{url}/{secret['id']}", json={"hiddenFromRepresentatives": False}, headers=person.headers
    )
    assert show.status_code == 422 and pointers(show) == ["/hiddenFromRepresentatives"], show.text
    # With room on the other side, the entry moves (and its other fields with it).
    gone = await client.delete(f"{url}/{second['id']}", headers=person.headers)
    assert gone.status_code == 204
    moved = await client.patch(
        f"{url}/{secret['id']}", json={"hiddenFromRepresentatives": False, "label": "Dite"}, headers=person.headers
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["hiddenFromRepresentatives"] is False and moved.json()["label"] == "Dite"
    # Sent as it already is, it is no move: the side being full does not matter.
    same = await client.patch(f"{url}/{shown['id']}", json={"hiddenFromRepresentatives": False}, headers=person.headers)
    assert same.status_code == 200, same.text
