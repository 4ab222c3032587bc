"""The import goes into a space that holds nothing the caller sees: a representative's import into a
space whose items are all hidden from them answers as on a truly empty space (it was 409, telling
them the holder hid something: a review), and what is hidden stays, untouched, beside what they
imported — none of it met."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from ens.core import db
from tests.helpers.carers import court_measure
from tests.helpers.documents import metadata, pdf, uploaded
from tests.helpers.hidden import hide_item
from tests.helpers.people import MakePerson, Person
from tests.helpers.records import contact
from tests.helpers.vitals import weight

EXPORT = "/v1/spaces/me/export"
REVAXIS = {"vaccineName": "Revaxis", "diseases": ["diphtheria", "tetanus", "polio"], "date": "2021-06-15"}
HIDEABLE = ("vitals", "vaccinations", "profile/allergies", "emergency-contacts")

# What the import's "empty" looks at, and what it leaves aside (rows that are no items, written by
# hidden items' writes as by the others). A capability's new table goes in one or the other.
JUDGED = {
    "vital_measurements",
    "vital_tombstones",
    "vaccinations",
    "directive_versions",
    "trusted_persons",
    "emergency_contacts",
    "doctors",
    "profile_conditions",
    "profile_allergies",
    "profile_treatments",
    "profile_family_history",
    "documents",
}
BOOKKEEPING = {
    "vital_feed_counters",
    "vital_deleted_records",
    "vital_deletion_free_spaces",
    "vital_hides",
    "vaccination_booklets",
    "directive_reviews",
    "document_keys",
    "document_views",
    "document_pending_objects",
}


async def _bundle(client: httpx.AsyncClient, make_person: MakePerson) -> dict[str, Any]:
    """A weight, a vaccination, an allergy and a contact, as their holder exports them."""
    source = await make_person("Source")
    for path, body in (
        ("vitals", {"measurements": [weight(70.0)]}),
        ("vaccinations", REVAXIS),
        ("profile/allergies", {"substance": "Pénicilline"}),
        ("emergency-contacts", contact("Paul")),
    ):
        answer = await client.post(f"/v1/spaces/me/{path}", json=body, headers=source.headers)
        assert answer.status_code == 201, answer.text
    bundle: dict[str, Any] = (await client.get(EXPORT, headers=source.headers)).json()
    return bundle


async def _items(client: httpx.AsyncClient, space: str, path: str, who: Person) -> list[dict[str, Any]]:
    answer = await client.get(f"{space}/{path}", headers=who.headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def _tutored(make_person: MakePerson) -> tuple[Person, Person, str]:
    holder, tutor = await make_person("Titulaire"), await make_person("Tuteur")
    await court_measure(holder, tutor, "tutelle")
    return holder, tutor, f"/v1/spaces/{holder.space_id}"


async def test_a_representatives_import_meets_nothing_hidden_from_them(client, make_person: MakePerson) -> None:
    bundle = await _bundle(client, make_person)

    # The holder moved the same data in (their measure is then an import's, under its former id),
    # hid each item from the representatives, and keeps a document hidden from them.
    holder, tutor, space = await _tutored(make_person)
    moved = await client.post(f"{space}/import", json=bundle, headers=holder.headers)
    assert moved.status_code == 201, moved.text
    for path in HIDEABLE:
        [item] = await _items(client, space, path, holder)
        hid = await hide_item(client, holder.headers, f"{space}/{path}/{item['id']}")
        assert hid.status_code == 200, hid.text
    await uploaded(client, holder.headers, pdf(500), meta=metadata(hiddenFromRepresentatives=True), space=space[11:])
    hidden = {path: await _items(client, space, path, holder) for path in (*HIDEABLE, "documents")}
    for path in (*HIDEABLE, "documents"):
        assert await _items(client, space, path, tutor) == [], path

    # The same import by a tutor of a space truly empty: what the first tutor must be answered.
    _, other_tutor, empty_space = await _tutored(make_person)
    expected = await client.post(f"{empty_space}/import", json=bundle, headers=other_tutor.headers)
    assert expected.status_code == 201, expected.text

    answer = await client.post(f"{space}/import", json=bundle, headers=tutor.headers)
    assert answer.status_code == 201, answer.text
    assert answer.json() == expected.json()
    for path in HIDEABLE:
        # The tutor sees what they imported, as the other tutor does (the measure was not taken for
        # the hidden one of the same former id: it was "unchanged", and invisible to them)...
        theirs = await _items(client, space, path, tutor)
        assert len(theirs) == 1 and not theirs[0].get("hiddenFromRepresentatives"), (path, theirs)
        # ... and the holder both: theirs untouched, the tutor's beside it.
        mine = await _items(client, space, path, holder)
        assert [item for item in mine if item["id"] != theirs[0]["id"]] == hidden[path], path
    assert await _items(client, space, "documents", holder) == hidden["documents"]


async def test_an_empty_bundle_answers_a_representative_alike_whatever_is_hidden(
    client, make_person: MakePerson
) -> None:
    """The review's case: a tutor sees no allergy; the import answered 409, and 201 on a space
    truly empty."""
    empty = {"resourceType": "Bundle", "type": "collection", "entry": []}
    holder, tutor, space = await _tutored(make_person)
    secret = await client.post(
        f"{space}/profile/allergies",
        json={"substance": "Pénicilline", "hiddenFromRepresentatives": True},
        headers=holder.headers,
    )
    assert secret.status_code == 201, secret.text
    _, other_tutor, empty_space = await _tutored(make_person)

    answer = await client.post(f"{space}/import", json=empty, headers=tutor.headers)
    expected = await client.post(f"{empty_space}/import", json=empty, headers=other_tutor.headers)
    assert (
        (answer.status_code, answer.json())
        == (expected.status_code, expected.json())
        == (
            201,
            {"imported": {}, "notImported": [], "keptWithout": []},
        )
    )
    assert await _items(client, space, "profile/allergies", holder) == [secret.json()]
    # What the holder sees is not empty to them, nor what a representative sees to the representative.
    assert (await client.post(f"{space}/import", json=empty, headers=holder.headers)).status_code == 409
    shown = await client.post(f"{space}/profile/allergies", json={"substance": "Pollen"}, headers=tutor.headers)
    assert shown.status_code == 201, shown.text
    assert (await client.post(f"{space}/import", json=empty, headers=tutor.headers)).status_code == 409


async def test_a_document_held_back_from_the_holder_does_not_make_their_space_not_empty(client, person: Person) -> None:
    """A professional's document held back from the holder (until they explain it) does not exist
    for the holder: the import must not tell them of it either."""
    held = await uploaded(client, person.headers, pdf(300))
    await db.fetch(
        "UPDATE documents SET hidden_from_holder = TRUE, author_account_id = {} WHERE space_id = {} AND id = {}",
        uuid.uuid4(),
        person.space_id,
        uuid.UUID(held["id"]),
    )
    assert await _items(client, "/v1/spaces/me", "documents", person) == []
    empty = {"resourceType": "Bundle", "type": "collection", "entry": []}
    answer = await client.post("/v1/spaces/me/import", json=empty, headers=person.headers)
    assert answer.status_code == 201, answer.text
    rows = await db.fetch("SELECT id FROM documents WHERE space_id = {}", person.space_id)
    assert [str(row["id"]) for row in rows] == [held["id"]]


def test_every_table_of_a_capability_is_judged_by_the_imports_empty_or_is_no_item() -> None:
    bookkeeping_apps = ("ens.spaces.", "ens.auth.", "ens.core.")
    tables = {
        table._meta.tablename
        for table in db.all_tables()
        if not table.__module__.startswith(bookkeeping_apps)
        and "space_id" in {column._meta.name for column in table._meta.columns}
    }
    assert tables == JUDGED | BOOKKEEPING
