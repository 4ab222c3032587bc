"""One entry a person among the emergency contacts (an outside audit, 2026-12-05): the same
contact sent twice, or the trusted person listed already and added again, made two entries (the
copy left behind when the trusted person changed); the holder was accepted as their own contact."""

from __future__ import annotations

from tests.helpers.records import CONTACTS, TRUSTED_PERSON, contact, trusted


async def test_the_same_person_is_listed_once(client, make_person):
    holder = await make_person(given_name="Camille", family_name="Martin")
    h = holder.headers
    first = await client.post(CONTACTS, json=contact(givenName="Paul", familyName="Roux"), headers=h)
    assert first.status_code == 201, first.text
    # A double tap, or the same person written otherwise (case, accents, spacing).
    again = await client.post(CONTACTS, json=contact(givenName=" paul ", familyName="ROUX"), headers=h)
    assert again.status_code == 409, again.text
    assert [e["pointer"] for e in again.json()["errors"]] == ["/familyName"]
    # Another person of the same family, sharing the home phone, is listed.
    sister = await client.post(CONTACTS, json=contact(givenName="Léa", familyName="Roux"), headers=h)
    assert sister.status_code == 201, sister.text
    # Renaming one into the other is refused too; renaming it to itself is not.
    url = f"{CONTACTS}/{sister.json()['id']}"
    assert (await client.patch(url, json={"givenName": "Paul"}, headers=h)).status_code == 409
    assert (await client.patch(url, json={"givenName": "Léa"}, headers=h)).status_code == 200
    items = (await client.get(CONTACTS, headers=h)).json()["items"]
    assert [(c["givenName"], c["familyName"]) for c in items] == [("Paul", "Roux"), ("Léa", "Roux")]


async def test_the_trusted_person_listed_is_not_added_again(client, make_person):
    holder = await make_person(given_name="Camille", family_name="Martin")
    h = holder.headers
    designated = await client.put(TRUSTED_PERSON, json=trusted("Élise", "Durand", alsoEmergencyContact=True), headers=h)
    assert designated.status_code == 201, designated.text
    copy = await client.post(CONTACTS, json=contact(givenName="Élise", familyName="Durand"), headers=h)
    assert copy.status_code == 409, copy.text


async def test_the_holder_is_not_their_own_emergency_contact(client, make_person):
    holder = await make_person(given_name="Camille", family_name="Martin")
    own = await client.post(CONTACTS, json=contact(givenName="Camille", familyName="MARTIN"), headers=holder.headers)
    assert own.status_code == 422, own.text
    assert [e["pointer"] for e in own.json()["errors"]] == ["/familyName"]
