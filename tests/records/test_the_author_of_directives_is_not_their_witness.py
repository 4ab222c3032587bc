"""The witnesses of directives the author cannot write attest that the document is the author's
will (CSP R1111-17): the author is not one of them. An outside audit stored directives with the
holder as her own first witness; her name is now refused there, compared as two witnesses' names
are (case, accents, spacing), by the space's names and by those the identity provider gives."""

from __future__ import annotations

from typing import Any

from ens.core import db
from tests.helpers.records import DIRECTIVES, PROBLEM, TRUSTED_PERSON, pointers, structured, trusted


async def test_the_holder_cannot_be_one_of_her_own_two_witnesses(client, make_person):
    camille = await make_person(given_name="Camille", family_name="Martin")
    headers = camille.headers
    await client.put(TRUSTED_PERSON, json=trusted("Paul", "Martin"), headers=headers)
    first = await client.put(DIRECTIVES, json=structured(), headers=headers)
    assert first.status_code == 201, first.text

    async def before(witnesses: list[dict[str, str]]) -> Any:
        return await client.put(
            DIRECTIVES,
            json=structured(situation="ill", witnesses=witnesses),
            headers={**headers, "If-Match": first.headers["etag"]},
        )

    witnesses = [
        {"givenName": "Camille", "familyName": "Martin", "quality": "x"},
        {"givenName": "Paul", "familyName": "Martin", "quality": "y"},
    ]
    refused = await before(witnesses)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith(PROBLEM)
    assert pointers(refused) == ["/witnesses/0"]
    assert (await client.get(DIRECTIVES, headers=headers)).json()["version"] == 1

    # Written otherwise (case, accents, spaces), second in the list: the same person.
    witnesses = [
        {"givenName": "Paul", "familyName": "Martin", "quality": "y"},
        {"givenName": " CAMÍLLE ", "familyName": "martin", "quality": "x"},
    ]
    refused = await before(witnesses)
    assert refused.status_code == 422, refused.text
    assert pointers(refused) == ["/witnesses/1"]

    # Another witness beside the trusted person: taken.
    witnesses[1] = {"givenName": "Anne", "familyName": "Roux", "quality": "amie"}
    taken = await before(witnesses)
    assert taken.status_code == 200, taken.text
    assert [w["givenName"] for w in taken.json()["witnesses"]] == ["Paul", "Anne"]


async def test_the_author_is_known_by_the_spaces_names_as_well_as_the_identitys(client, make_person):
    person = await make_person(given_name="Camille", family_name="Martin")
    # The space names its holder otherwise than the identity provider does (a married name).
    await db.fetch(
        "UPDATE spaces SET given_name = {}, family_name = {} WHERE id = {}", "Camille", "Durand", person.space_id
    )
    witnesses = [
        {"givenName": "Anne", "familyName": "Roux", "quality": "amie"},
        {"givenName": "Camille", "familyName": "Durand", "quality": "elle-même"},
    ]
    refused = await client.put(
        DIRECTIVES, json=structured(situation="ill", witnesses=witnesses), headers=person.headers
    )
    assert refused.status_code == 422, refused.text
    assert pointers(refused) == ["/witnesses/1"]
    assert (await client.get(DIRECTIVES, headers=person.headers)).status_code == 404


async def test_what_shows_nothing_hides_no_name_and_oe_is_written_as_it_is_typed(client, make_person):
    """An outside audit signed directives as the author's own witness with "Cam\u200bille" (a zero-width
    space) or "Mar\u00adtin" (a soft hyphen): printed, the same name. Names are compared without what
    shows nothing; and "Dubœuf" is "Duboeuf", as a French keyboard types it. The holder is not
    their own trusted person either (CSP L1111-6: another person)."""
    camille = await make_person(given_name="Camille", family_name="Martin")
    headers = camille.headers
    designated = await client.put(TRUSTED_PERSON, json=trusted("Hélène", "Lefèvre-Dubœuf"), headers=headers)
    assert designated.status_code == 201, designated.text
    for given, family in (("Cam\u200bille", "Martin"), ("Camille", "Mar\u00adtin"), ("Cam\u3164ille", "Martin")):
        witnesses = [
            {"givenName": "Hélène", "familyName": "Lefèvre-Dubœuf", "quality": "soeur"},
            {"givenName": given, "familyName": family, "quality": "x"},
        ]
        refused = await client.put(DIRECTIVES, json=structured(situation="ill", witnesses=witnesses), headers=headers)
        assert refused.status_code == 422, (given, family, refused.text)
        assert pointers(refused) == ["/witnesses/1"]
    witnesses = [
        {"givenName": "Helene", "familyName": "LEFEVRE DUBOEUF", "quality": "soeur"},
        {"givenName": "Anne", "familyName": "Roux", "quality": "amie"},
    ]
    taken = await client.put(DIRECTIVES, json=structured(situation="ill", witnesses=witnesses), headers=headers)
    assert taken.status_code == 201, taken.text
    current = (await client.get(TRUSTED_PERSON, headers=headers)).headers["etag"]
    for given, family in (("Camille", "Martin"), ("CAMILLE", "mar\u200btin")):
        herself = await client.put(
            TRUSTED_PERSON, json=trusted(given, family), headers={**headers, "If-Match": current}
        )
        assert herself.status_code == 422, herself.text
        assert pointers(herself) == ["/familyName"]
    assert (await client.get(TRUSTED_PERSON, headers=headers)).json()["familyName"] == "Lefèvre-Dubœuf"


async def test_a_variation_selector_hides_no_name(client, make_person):
    """A variation selector (U+FE00-U+FE0F, U+E0100-U+E01EF) or a Mongolian free variation selector
    chooses how the character before it is drawn; after a Latin letter it draws nothing: printed,
    "Cam\ufe0fille" is "Camille". Names were compared with them kept, so the author signed as their
    own witness with one, as with the zero-width space the audit used (a review)."""
    camille = await make_person(given_name="Camille", family_name="Martin")
    for given, family in (("Cam\ufe0fille", "Martin"), ("Camille", "Mar\u180btin"), ("Cami\U000e0100lle", "Martin")):
        witnesses = [
            {"givenName": "Anne", "familyName": "Roux", "quality": "amie"},
            {"givenName": given, "familyName": family, "quality": "x"},
        ]
        refused = await client.put(
            DIRECTIVES, json=structured(situation="ill", witnesses=witnesses), headers=camille.headers
        )
        assert refused.status_code == 422, (given, family, refused.text)
        assert pointers(refused) == ["/witnesses/1"]
