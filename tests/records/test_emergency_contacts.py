"""Emergency contacts: at most 10, in the order to call them, reordered without gaps."""

from __future__ import annotations

import asyncio

import pytest

from ens.core import db
from tests.helpers.records import CONTACTS, TRUSTED_PERSON, contact, pointers, trusted


async def _order(client, person) -> list[tuple[int, str]]:
    items = (await client.get(CONTACTS, headers=person.headers)).json()["items"]
    return [(c["priority"], c["givenName"]) for c in items]


async def test_add_read_reorder_and_remove_without_gaps(client, person):
    headers = person.headers
    ids = {}
    for name in ("Anne", "Bruno", "Chloé"):
        created = await client.post(CONTACTS, json=contact(name), headers=headers)
        assert created.status_code == 201, created.text
        ids[name] = created.json()["id"]
    assert await _order(client, person) == [(1, "Anne"), (2, "Bruno"), (3, "Chloé")]

    first = await client.post(CONTACTS, json=contact("Denis", priority=1), headers=headers)
    ids["Denis"] = first.json()["id"]
    assert await _order(client, person) == [(1, "Denis"), (2, "Anne"), (3, "Bruno"), (4, "Chloé")]

    one = await client.get(f"{CONTACTS}/{ids['Chloé']}", headers=headers)
    assert one.json()["phones"] == ["+33142685300"] and one.json()["priority"] == 4
    moved = await client.patch(
        f"{CONTACTS}/{ids['Chloé']}", json={"priority": 2}, headers={**headers, "If-Match": one.headers["etag"]}
    )
    assert moved.status_code == 200 and moved.json()["priority"] == 2
    assert await _order(client, person) == [(1, "Denis"), (2, "Chloé"), (3, "Anne"), (4, "Bruno")]
    down = await client.patch(f"{CONTACTS}/{ids['Denis']}", json={"priority": 4}, headers=headers)
    assert down.status_code == 200
    assert await _order(client, person) == [(1, "Chloé"), (2, "Anne"), (3, "Bruno"), (4, "Denis")]

    stale = await client.patch(
        f"{CONTACTS}/{ids['Chloé']}",
        json={"relationship": "sœur"},
        headers={**headers, "If-Match": one.headers["etag"]},
    )
    assert stale.status_code == 412
    changed = await client.patch(
        f"{CONTACTS}/{ids['Anne']}",
        json={"phones": ["06 11 22 33 44", "+33 4 72 00 00 00"], "email": "anne@example.test", "relationship": None},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["phones"] == ["+33611223344", "+33472000000"] and changed.json()["relationship"] is None
    assert changed.headers["etag"] == (await client.get(f"{CONTACTS}/{ids['Anne']}", headers=headers)).headers["etag"]

    assert (await client.delete(f"{CONTACTS}/{ids['Chloé']}", headers=headers)).status_code == 204
    assert await _order(client, person) == [(1, "Anne"), (2, "Bruno"), (3, "Denis")]
    assert (await client.get(f"{CONTACTS}/{ids['Chloé']}", headers=headers)).status_code == 404

    page = (await client.get(f"{CONTACTS}?limit=2", headers=headers)).json()
    assert [c["givenName"] for c in page["items"]] == ["Anne", "Bruno"]
    rest = (await client.get(f"{CONTACTS}?limit=2&cursor={page['nextCursor']}", headers=headers)).json()
    assert [c["givenName"] for c in rest["items"]] == ["Denis"] and rest["nextCursor"] is None


async def test_the_11th_contact_is_refused_and_the_trusted_person_counts(client, person):
    headers = person.headers
    for index in range(10):
        assert (await client.post(CONTACTS, json=contact(f"C{index}"), headers=headers)).status_code == 201
    eleventh = await client.post(CONTACTS, json=contact("Onzième"), headers=headers)
    assert eleventh.status_code == 422 and pointers(eleventh) == [""]
    assert "10" in eleventh.json()["detail"]
    listing_trusted = await client.put(TRUSTED_PERSON, json=trusted(alsoEmergencyContact=True), headers=headers)
    assert listing_trusted.status_code == 422 and pointers(listing_trusted) == ["/alsoEmergencyContact"]
    # Nothing was stored by either refusal.
    assert len((await client.get(CONTACTS, headers=headers)).json()["items"]) == 10
    assert (await client.get(TRUSTED_PERSON, headers=headers)).status_code == 404


async def test_two_devices_adding_the_10th_contact_at_once_make_10(client, person):
    for index in range(9):
        await client.post(CONTACTS, json=contact(f"C{index}"), headers=person.headers)
    one, other = await asyncio.gather(
        client.post(CONTACTS, json=contact("Téléphone"), headers=person.headers),
        client.post(CONTACTS, json=contact("Tablette"), headers=person.headers),
    )
    assert sorted([one.status_code, other.status_code]) == [201, 422]
    assert [p for p, _ in await _order(client, person)] == list(range(1, 11))


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (contact(phones=[]), "/phones"),
        (contact(phones=["06 12 34 56 78", "123"]), "/phones/1"),
        (contact(phones=["06 12 34 56 78", "+33 6 12 34 56 78"]), "/phones/1"),
        (contact(phones=["1", "2", "3", "4"]), "/phones"),
        (contact(givenName=""), "/givenName"),
        (contact(familyName=" "), "/familyName"),
        (contact(email="no-at-sign"), "/email"),
        (contact(priority=0), "/priority"),
        (contact(priority=11), "/priority"),
        (contact(priority=3), "/priority"),
        (contact(trustedPerson=True), "/trustedPerson"),
        ({"givenName": "Paul", "familyName": "Martin"}, "/phones"),
    ],
)
async def test_bad_contacts_are_422_at_their_pointer(client, person, body, pointer):
    response = await client.post(CONTACTS, json=body, headers=person.headers)
    assert response.status_code == 422, response.text
    assert pointer in pointers(response)
    assert (await client.get(CONTACTS, headers=person.headers)).json()["items"] == []


async def test_bad_changes_are_422_and_the_trusted_persons_entry_takes_only_a_priority(client, person):
    headers = person.headers
    paul = (await client.post(CONTACTS, json=contact("Paul"), headers=headers)).json()
    await client.put(TRUSTED_PERSON, json=trusted(alsoEmergencyContact=True), headers=headers)
    entry = (await client.get(CONTACTS, headers=headers)).json()["items"][1]
    refused = await client.patch(
        f"{CONTACTS}/{entry['id']}", json={"givenName": "Autre", "phones": []}, headers=headers
    )
    assert refused.status_code == 422 and set(pointers(refused)) >= {"/phones"}
    copy = await client.patch(f"{CONTACTS}/{entry['id']}", json={"givenName": "Autre"}, headers=headers)
    assert copy.status_code == 422 and pointers(copy) == ["/givenName"]
    moved = await client.patch(f"{CONTACTS}/{entry['id']}", json={"priority": 1}, headers=headers)
    assert moved.status_code == 200 and moved.json()["trustedPerson"] is True
    assert await _order(client, person) == [(1, "Élise"), (2, "Paul")]
    past_the_end = await client.patch(f"{CONTACTS}/{paul['id']}", json={"priority": 3}, headers=headers)
    assert past_the_end.status_code == 422 and pointers(past_the_end) == ["/priority"]
    bad_phone = await client.patch(f"{CONTACTS}/{paul['id']}", json={"phones": ["0000"]}, headers=headers)
    assert bad_phone.status_code == 422 and pointers(bad_phone) == ["/phones/0"]
    # Deleting the entry unlists the trusted person, who stays designated (If-Match required: it
    # changes the trusted person).
    tag = (await client.get(f"{CONTACTS}/{entry['id']}", headers=headers)).headers["etag"]
    unlisted = await client.delete(f"{CONTACTS}/{entry['id']}", headers={**headers, "If-Match": tag})
    assert unlisted.status_code == 204
    assert (await client.get(TRUSTED_PERSON, headers=headers)).json()["alsoEmergencyContact"] is False
    assert await _order(client, person) == [(1, "Paul")]


async def test_a_retried_creation_with_its_idempotency_key_creates_one_contact(client, person):
    key = {**person.headers, "Idempotency-Key": "add-paul-0001"}
    first = await client.post(CONTACTS, json=contact("Paul"), headers=key)
    retried = await client.post(CONTACTS, json=contact("Paul"), headers=key)
    assert first.status_code == retried.status_code == 201
    assert retried.json() == first.json()
    other_body = await client.post(CONTACTS, json=contact("Zoé"), headers=key)
    assert other_body.status_code == 422
    assert await _order(client, person) == [(1, "Paul")]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("06 92 12 34 56", "+262692123456"),  # a mobile in La Réunion, dialled from France
        ("0590 12 34 56", "+590590123456"),  # Guadeloupe
        ("0696 12 34 56", "+596696123456"),  # Martinique
        ("0594 12 34 56", "+594594123456"),  # Guyane
        ("06 12 34 56 78", "+33612345678"),
        ("+262 692 12 34 56", "+262692123456"),
    ],
)
async def test_french_overseas_numbers_typed_the_national_way(client, person, typed, stored):
    """France overseas dials as the mainland does (an outside review: "0692123456" was refused)."""
    added = await client.post(CONTACTS, json=contact("Anne", phones=[typed]), headers=person.headers)
    assert added.status_code == 201, added.text
    assert added.json()["phones"] == [stored]


async def test_an_extension_is_refused_rather_than_dropped(client, person):
    """Stored without it, the number would reach the switchboard (it was dropped without a word)."""
    refused = await client.post(
        CONTACTS, json=contact("Anne", phones=["06 12 34 56 78 ext 12"]), headers=person.headers
    )
    assert refused.status_code == 422 and pointers(refused) == ["/phones/0"]
    assert (await client.get(CONTACTS, headers=person.headers)).json()["items"] == []


async def test_a_trusted_person_replaced_by_another_stays_an_emergency_contact(client, person):
    """Replacing the trusted person (Élise, listed among the contacts) by another took Élise off the
    emergency contacts without a word (an outside audit): she stays at her place, an ordinary
    contact with her details; the new trusted person is listed only if asked. Updating the same
    person's details, or removing the trusted person, is another matter (their entry goes)."""
    headers = person.headers
    await client.post(CONTACTS, json=contact("Paul"), headers=headers)
    await client.put(TRUSTED_PERSON, json=trusted(alsoEmergencyContact=True), headers=headers)
    moved = (await client.get(CONTACTS, headers=headers)).json()["items"][1]
    assert (await client.patch(f"{CONTACTS}/{moved['id']}", json={"priority": 1}, headers=headers)).status_code == 200
    tag = (await client.get(TRUSTED_PERSON, headers=headers)).headers["etag"]
    replaced = await client.put(TRUSTED_PERSON, json=trusted("Luc", "Bernard"), headers={**headers, "If-Match": tag})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["alsoEmergencyContact"] is False
    items = (await client.get(CONTACTS, headers=headers)).json()["items"]
    assert [(c["priority"], c["givenName"], c["trustedPerson"]) for c in items] == [
        (1, "Élise", False),
        (2, "Paul", False),
    ]
    assert items[0]["phones"] == ["+33612345678"] and items[0]["relationship"] == "sœur"
    assert items[0]["id"] == moved["id"]
    # An ordinary contact now: the holder changes or removes it as any other.
    assert (await client.delete(f"{CONTACTS}/{items[0]['id']}", headers=headers)).status_code == 204
    # Luc listed, then replaced by Zoé, listed too: the entry is the trusted person's, whoever they
    # are: Zoé takes Luc's place.
    tag = (await client.get(TRUSTED_PERSON, headers=headers)).headers["etag"]
    listed = await client.put(
        TRUSTED_PERSON, json=trusted("Luc", "Bernard", alsoEmergencyContact=True), headers={**headers, "If-Match": tag}
    )
    assert listed.status_code == 200, listed.text
    tag = listed.headers["etag"]
    zoe = await client.put(
        TRUSTED_PERSON, json=trusted("Zoé", "Petit", alsoEmergencyContact=True), headers={**headers, "If-Match": tag}
    )
    assert zoe.status_code == 200, zoe.text
    items = (await client.get(CONTACTS, headers=headers)).json()["items"]
    assert [(c["givenName"], c["trustedPerson"]) for c in items] == [("Paul", False), ("Zoé", True)]


async def test_a_trusted_person_without_a_phone_replaced_by_another_leaves_the_list(client, make_person):
    """A contact is a number to call: a former trusted person without one kept as a contact would be
    a contact the route refuses, and made the space's export one its import refused (a review)."""
    person = await make_person("Camille")
    headers = person.headers
    # Listed without a phone is refused now (an outside audit), nothing stored ...
    refused = await client.put(TRUSTED_PERSON, json=trusted(phone=None, alsoEmergencyContact=True), headers=headers)
    assert refused.status_code == 422 and pointers(refused) == ["/alsoEmergencyContact"], refused.text
    assert (await client.get(CONTACTS, headers=headers)).json()["items"] == []
    assert (await client.get(TRUSTED_PERSON, headers=headers)).status_code == 404
    # ... but was taken before: a designation stored so (its phone taken away here) still leaves.
    listed = await client.put(TRUSTED_PERSON, json=trusted(alsoEmergencyContact=True), headers=headers)
    assert listed.status_code == 201, listed.text
    await db.fetch("UPDATE trusted_persons SET phone = NULL WHERE space_id = {}", person.space_id)
    listed = await client.get(TRUSTED_PERSON, headers=headers)
    assert [c["givenName"] for c in (await client.get(CONTACTS, headers=headers)).json()["items"]] == ["Élise"]
    replaced = await client.put(
        TRUSTED_PERSON, json=trusted("Luc", "Bernard"), headers={**headers, "If-Match": listed.headers["etag"]}
    )
    assert replaced.status_code == 200, replaced.text
    assert (await client.get(CONTACTS, headers=headers)).json()["items"] == []
    export = await client.get("/v1/spaces/me/export", headers=headers)
    newcomer = await make_person("Camille")
    imported = await client.post("/v1/spaces/me/import", json=export.json(), headers=newcomer.headers)
    assert imported.status_code == 201, imported.text
