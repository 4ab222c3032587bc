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


async def test_a_contact_designated_trusted_person_and_listed_is_not_listed_twice(client, make_person):
    """Designating as trusted person, with ``alsoEmergencyContact``, someone listed already as an
    ordinary contact listed them twice (an outside audit of the records: the contacts' own route
    refused that copy, the trusted person's made it). Nothing changes: the holder designates them
    without listing them again, or removes the entry first."""
    holder = await make_person(given_name="Camille", family_name="Martin")
    h = holder.headers
    listed = await client.post(CONTACTS, json=contact(givenName="Élise", familyName="Durand"), headers=h)
    assert listed.status_code == 201, listed.text
    twice = await client.put(TRUSTED_PERSON, json=trusted("élise", "DURAND", alsoEmergencyContact=True), headers=h)
    assert twice.status_code == 409, twice.text
    assert [e["pointer"] for e in twice.json()["errors"]] == ["/alsoEmergencyContact"]
    assert (await client.get(TRUSTED_PERSON, headers=h)).status_code == 404
    # Designated without listing them again: they stay the one entry they were.
    once = await client.put(TRUSTED_PERSON, json=trusted("Élise", "Durand"), headers=h)
    assert once.status_code == 201, once.text
    items = (await client.get(CONTACTS, headers=h)).json()["items"]
    assert [(c["givenName"], c["trustedPerson"]) for c in items] == [("Élise", False)]

    # The same when a trusted person is listed already: the entry would show the new one, who is
    # listed at another place too.
    other = await client.post(CONTACTS, json=contact(givenName="Paul", familyName="Roux"), headers=h)
    assert other.status_code == 201, other.text
    tag = once.headers["etag"]
    first = await client.put(
        TRUSTED_PERSON, json=trusted("Élise", "Durand", alsoEmergencyContact=False), headers={**h, "If-Match": tag}
    )
    assert first.status_code == 200, first.text
    by_paul = await client.put(
        TRUSTED_PERSON,
        json=trusted("Paul", "Roux", alsoEmergencyContact=True),
        headers={**h, "If-Match": first.headers["etag"]},
    )
    assert by_paul.status_code == 409, by_paul.text
    items = (await client.get(CONTACTS, headers=h)).json()["items"]
    assert [(c["givenName"], c["trustedPerson"]) for c in items] == [("Élise", False), ("Paul", False)]


async def test_the_listed_trusted_person_designated_again_keeps_their_entry(client, make_person):
    """Their own entry is not a second listing: the same person's new details, still listed, keep it."""
    holder = await make_person(given_name="Camille", family_name="Martin")
    h = holder.headers
    first = await client.put(TRUSTED_PERSON, json=trusted("Élise", "Durand", alsoEmergencyContact=True), headers=h)
    assert first.status_code == 201, first.text
    again = await client.put(
        TRUSTED_PERSON,
        json=trusted("Élise", "Durand", phone="06 98 76 54 32", alsoEmergencyContact=True),
        headers={**h, "If-Match": first.headers["etag"]},
    )
    assert again.status_code == 200, again.text
    items = (await client.get(CONTACTS, headers=h)).json()["items"]
    assert [(c["givenName"], c["trustedPerson"], c["phones"]) for c in items] == [("Élise", True, ["+33698765432"])]
