"""Advance directives: every write a new version, revocation a version of its own, If-Match
required once a version exists (428 without it, 412 when stale), and every bad input a 422 at
its pointer with nothing stored."""

from __future__ import annotations

import asyncio
import contextvars
import uuid

import pytest

from ens.core import clock, db
from ens.records.concurrency import lock_records
from tests.helpers.records import DIRECTIVES, TRUSTED_PERSON, pointers, structured, trusted


async def test_the_first_version_is_201_and_every_later_change_needs_if_match(client, person):
    headers = person.headers
    missing = await client.get(DIRECTIVES, headers=headers)
    assert missing.status_code == 404 and missing.json()["type"] == "urn:ens:problem:not-found"

    first = await client.put(DIRECTIVES, json=structured(), headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 1 and first.json()["status"] == "active"
    read = await client.get(DIRECTIVES, headers=headers)
    # The PUT's answer is the GET's representation: same bytes, same ETag.
    assert read.headers["etag"] == first.headers["etag"] and read.json() == first.json()

    without = await client.put(DIRECTIVES, json=structured(situation="ill"), headers=headers)
    assert without.status_code == 428
    assert without.json()["type"] == "urn:ens:problem:precondition-required"

    second = await client.put(
        DIRECTIVES, json=structured(situation="ill"), headers={**headers, "If-Match": first.headers["etag"]}
    )
    assert second.status_code == 200 and second.json()["version"] == 2 and second.json()["situation"] == "ill"

    stale = await client.put(DIRECTIVES, json=structured(), headers={**headers, "If-Match": first.headers["etag"]})
    assert stale.status_code == 412 and stale.json()["type"] == "urn:ens:problem:precondition-failed"
    weak = await client.put(
        DIRECTIVES, json=structured(), headers={**headers, "If-Match": "W/" + second.headers["etag"]}
    )
    assert weak.status_code == 412
    # Neither refusal wrote anything.
    assert (await client.get(DIRECTIVES, headers=headers)).json()["version"] == 2


async def test_an_if_match_before_any_version_is_412(client, person):
    response = await client.put(DIRECTIVES, json=structured(), headers={**person.headers, "If-Match": '"abc"'})
    assert response.status_code == 412
    assert (await client.get(DIRECTIVES, headers=person.headers)).status_code == 404


async def test_the_version_history_after_update_revoke_and_a_new_version(client, person):
    headers = person.headers
    v1 = await client.put(DIRECTIVES, json=structured(), headers=headers)
    v2 = await client.put(
        DIRECTIVES, json=structured(wishes="Deuxième version."), headers={**headers, "If-Match": v1.headers["etag"]}
    )
    assert v2.status_code == 200

    no_tag = await client.delete(DIRECTIVES, headers=headers)
    assert no_tag.status_code == 428
    stale = await client.delete(DIRECTIVES, headers={**headers, "If-Match": v1.headers["etag"]})
    assert stale.status_code == 412
    revoked = await client.delete(DIRECTIVES, headers={**headers, "If-Match": v2.headers["etag"]})
    assert revoked.status_code == 200, revoked.text
    body = revoked.json()
    assert (body["version"], body["status"], body["form"], body["situation"], body["wishes"]) == (
        3,
        "revoked",
        None,
        None,
        None,
    )
    current = await client.get(DIRECTIVES, headers=headers)
    assert current.json()["status"] == "revoked" and current.headers["etag"] == revoked.headers["etag"]
    again = await client.delete(DIRECTIVES, headers={**headers, "If-Match": revoked.headers["etag"]})
    assert again.status_code == 409 and again.json()["type"] == "urn:ens:problem:conflict"

    v4 = await client.put(
        DIRECTIVES,
        json=structured(wishes="Après révocation."),
        headers={**headers, "If-Match": revoked.headers["etag"]},
    )
    assert v4.status_code == 200 and v4.json()["version"] == 4 and v4.json()["status"] == "active"

    listed = await client.get(f"{DIRECTIVES}/versions", headers=headers)
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [(i["version"], i["status"], i["wishes"]) for i in items] == [
        (4, "active", "Après révocation."),
        (3, "revoked", None),
        (2, "active", "Deuxième version."),
        (1, "active", structured()["wishes"]),
    ]
    assert all(i["createdBy"]["accountId"] == str(person.account_id) for i in items)
    assert all(i["author"]["familyName"] == person.family_name for i in items)
    assert [i["createdAt"] for i in items] == sorted((i["createdAt"] for i in items), reverse=True)
    assert listed.json()["nextCursor"] is None

    first_page = (await client.get(f"{DIRECTIVES}/versions?limit=3", headers=headers)).json()
    assert [i["version"] for i in first_page["items"]] == [4, 3, 2]
    rest = await client.get(f"{DIRECTIVES}/versions?limit=3&cursor={first_page['nextCursor']}", headers=headers)
    assert [i["version"] for i in rest.json()["items"]] == [1] and rest.json()["nextCursor"] is None
    # Which one is in force: every replaced version said "active" as the one in force does. Each
    # says whether it is the current one and when the next replaced it, on any page.
    assert [(i["version"], i["current"], i["supersededAt"]) for i in items] == [
        (4, True, None),
        (3, False, items[0]["createdAt"]),
        (2, False, items[1]["createdAt"]),
        (1, False, items[2]["createdAt"]),
    ]
    assert (rest.json()["items"][0]["current"], rest.json()["items"][0]["supersededAt"]) == (
        False,
        items[2]["createdAt"],
    )
    assert (first_page["items"][0]["current"], first_page["items"][0]["supersededAt"]) == (True, None)
    got = (await client.get(DIRECTIVES, headers=headers)).json()
    assert (got["version"], got["current"], got["supersededAt"]) == (4, True, None)


async def test_two_devices_writing_at_once_cannot_overwrite_each_other(client, person):
    headers = person.headers
    v1 = await client.put(DIRECTIVES, json=structured(), headers=headers)
    tag = {**headers, "If-Match": v1.headers["etag"]}
    one, other = await asyncio.gather(
        client.put(DIRECTIVES, json=structured(wishes="Téléphone."), headers=tag),
        client.put(DIRECTIVES, json=structured(wishes="Tablette."), headers=tag),
    )
    assert sorted([one.status_code, other.status_code]) == [200, 412]
    versions = (await client.get(f"{DIRECTIVES}/versions", headers=headers)).json()["items"]
    assert [v["version"] for v in versions] == [2, 1]


async def test_a_pointer_to_directives_on_paper(client, person):
    body = {"pointer": {"location": "Dans le tiroir du secrétaire, salon", "keeper": "Maître Lefèvre, notaire"}}
    written = await client.put(DIRECTIVES, json=body, headers=person.headers)
    assert written.status_code == 201, written.text
    assert written.json()["form"] == "pointer" and written.json()["pointer"] == body["pointer"]
    assert written.json()["situation"] is None and written.json()["treatments"] is None
    summary = (await client.get("/v1/spaces/me", headers=person.headers)).json()["records"]
    assert summary["directives"] == "pointer"


async def test_a_pointer_comes_alone(client, person):
    body = {"pointer": {"location": "Chez moi"}, "situation": "ill", "wishes": "Rien."}
    response = await client.put(DIRECTIVES, json=body, headers=person.headers)
    assert response.status_code == 422
    assert sorted(pointers(response)) == ["/situation", "/wishes"]
    assert (await client.get(DIRECTIVES, headers=person.headers)).status_code == 404


LONG = "é" * 4001


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (structured(treatments={"dialysis": {"choice": "maybe"}}), "/treatments/dialysis/choice"),
        (structured(treatments={"transfusion": {"choice": "yes"}}), "/treatments/transfusion/choice"),
        (structured(reliefOfSuffering={"choice": "sometimes"}), "/reliefOfSuffering/choice"),
        (structured(organDonation={"choice": "let_doctors_decide"}), "/organDonation/choice"),
        (structured(wishes=LONG), "/wishes"),
        (structured(treatments={"surgery": {"choice": "refuse", "note": LONG}}), "/treatments/surgery/note"),
        (structured(deepSedation={"choice": "accept", "note": LONG}), "/deepSedation/note"),
        (structured(situation="maybe"), "/situation"),
        ({"wishes": "Sans situation."}, "/situation"),
        ({}, "/situation"),
        (structured(treatments={"chemotherapy": {"choice": "refuse"}}), "/treatments/chemotherapy"),
        (structured(colour="blue"), "/colour"),
        (structured(wishes="nul\u0000"), "/wishes"),
        (
            structured(witnesses=[{"givenName": "", "familyName": "Roux", "quality": "ami"}] * 2),
            "/witnesses/0/givenName",
        ),
        (
            structured(
                witnesses=[
                    {"givenName": "Anne", "familyName": "Roux", "quality": "amie"},
                    {"givenName": "Marc", "familyName": "   ", "quality": "voisin"},
                ]
            ),
            "/witnesses/1/familyName",
        ),
        (structured(witnesses=[{"givenName": "Anne", "familyName": "Roux", "quality": "amie"}]), "/witnesses"),
        (
            structured(witnesses=[{"givenName": f"A{i}", "familyName": "Roux", "quality": "ami"} for i in range(3)]),
            "/witnesses",
        ),
        (
            structured(
                witnesses=[
                    {"givenName": "Anne", "familyName": "Roux", "quality": "amie"},
                    {"givenName": "anne", "familyName": "ROUX", "quality": "amie"},
                ]
            ),
            "/witnesses/1",
        ),
        (
            structured(protectionAuthorisation={"authority": "mayor", "reference": "X"}),
            "/protectionAuthorisation/authority",
        ),
        (structured(pointer={"location": ""}), "/pointer/location"),
        # An outside review: it was stored.
        (
            structured(protectionAuthorisation={"authority": "judge", "reference": "RG 1", "grantedOn": "2999-01-01"}),
            "/protectionAuthorisation/grantedOn",
        ),
    ],
)
async def test_bad_directives_are_422_at_their_pointer_and_store_nothing(client, person, body, pointer):
    response = await client.put(DIRECTIVES, json=body, headers=person.headers)
    assert response.status_code == 422, response.text
    assert response.json()["type"] == "urn:ens:problem:validation"
    assert pointer in pointers(response)
    assert (await client.get(DIRECTIVES, headers=person.headers)).status_code == 404


async def test_blank_wishes_are_none(client, person):
    response = await client.put(DIRECTIVES, json=structured(wishes="  \n "), headers=person.headers)
    assert response.status_code == 201 and response.json()["wishes"] is None


async def test_wishes_and_notes_with_nothing_visible_are_none(client, make_person):
    """Zero-width spaces, a word joiner or Hangul fillers, which strip() keeps, and notes of spaces or
    non-breaking spaces were stored, and printed as an empty block (an outside audit)."""
    person = await make_person()
    body = structured(
        wishes="\u200b\u2060\u3164",
        treatments={
            "resuscitation": {"choice": "refuse", "note": "   "},
            "surgery": {"choice": "accept", "note": "Oui."},
        },
        reliefOfSuffering={"choice": "accept", "note": "\u00a0\u00a0"},
        organDonation={"choice": "not_stated", "note": "\u200b"},
    )
    response = await client.put(DIRECTIVES, json=body, headers=person.headers)
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["wishes"] is None
    assert stored["treatments"]["resuscitation"] == {"choice": "refuse", "note": None}
    assert stored["treatments"]["surgery"]["note"] == "Oui."
    assert stored["reliefOfSuffering"]["note"] is None and stored["organDonation"]["note"] is None


async def test_free_text_of_exactly_4000_characters_is_kept(client, person):
    text = "œ" * 4000
    response = await client.put(DIRECTIVES, json=structured(wishes=text), headers=person.headers)
    assert response.status_code == 201 and response.json()["wishes"] == text


async def test_two_witnesses_one_of_them_the_trusted_person_who_is_copied_as_named_then(client, person):
    headers = person.headers
    designated = await client.put(TRUSTED_PERSON, json=trusted("Élise", "Durand"), headers=headers)
    assert designated.status_code == 201
    strangers = [
        {"givenName": "Anne", "familyName": "Roux", "quality": "amie"},
        {"givenName": "Marc", "familyName": "Petit", "quality": "voisin"},
    ]
    refused = await client.put(DIRECTIVES, json=structured(witnesses=strangers), headers=headers)
    assert refused.status_code == 422 and pointers(refused) == ["/witnesses"]
    # The trusted person's name, whatever the case and accents.
    witnesses = [strangers[0], {"givenName": "ELISE", "familyName": "durand", "quality": "personne de confiance"}]
    written = await client.put(DIRECTIVES, json=structured(witnesses=witnesses), headers=headers)
    assert written.status_code == 201, written.text
    copy = written.json()["trustedPerson"]
    assert (copy["givenName"], copy["familyName"], copy["phone"]) == ("Élise", "Durand", "+33612345678")

    # A later trusted person does not rewrite the directives already written.
    replaced = await client.put(
        TRUSTED_PERSON, json=trusted("Hugo", "Bernard"), headers={**headers, "If-Match": designated.headers["etag"]}
    )
    assert replaced.status_code == 200
    still = (await client.get(DIRECTIVES, headers=headers)).json()
    assert still["trustedPerson"]["givenName"] == "Élise" and still["witnesses"][1]["givenName"] == "ELISE"


async def test_the_contract_says_organ_donation_wishes_are_informative(openapi):
    schemas = openapi["components"]["schemas"]
    for description in (
        schemas["DirectivesWrite"]["properties"]["organDonation"]["description"],
        schemas["DirectiveVersionRead"]["properties"]["organDonation"]["description"],
        schemas["OrganDonationWish"]["properties"]["choice"]["description"],
    ):
        assert "Informative only" in description and "L1232-1" in description and "refusal register" in description


async def test_the_contract_says_which_version_is_in_force(openapi):
    version = openapi["components"]["schemas"]["DirectiveVersionRead"]
    assert {"current", "supersededAt"} <= set(version["required"])
    assert "in force" in version["properties"]["current"]["description"]
    assert "replaced" in version["properties"]["supersededAt"]["description"]


async def test_a_write_waits_for_the_one_in_progress_then_finds_its_tag_stale(client, person):
    """The race two devices run, forced: a writer holds the space's records (as a request does between
    reading the current version and adding the next); a PUT sent with the same If-Match waits for it,
    then is refused (412) instead of overwriting what it never saw."""
    headers = person.headers
    v1 = await client.put(DIRECTIVES, json=structured(), headers=headers)
    tag = {**headers, "If-Match": v1.headers["etag"]}
    async with db.write_transaction():
        await lock_records(person.space_id)
        # Sent once the test holds the records (sent before, it could take them first: a flaky
        # test under load). It runs in a context of its own: it must not join the test's transaction.
        put = asyncio.create_task(
            client.put(DIRECTIVES, json=structured(wishes="Tablette."), headers=tag), context=contextvars.Context()
        )
        await asyncio.sleep(0.5)
        assert not put.done()  # waiting for the records of the space
        row = await db.fetch_one("SELECT * FROM directive_versions WHERE space_id = {}", person.space_id)
        assert row is not None
        await db.fetch(
            "INSERT INTO directive_versions (space_id, id, version, status, form, content, author_given_name, "
            "author_family_name, created_at, created_by_account_id) VALUES ({}, {}, 2, 'active', 'structured', {}, "
            "{}, {}, {}, {})",
            person.space_id,
            uuid.uuid4(),
            row["content"],
            row["author_given_name"],
            row["author_family_name"],
            clock.now(),
            person.account_id,
        )
    response = await put
    assert response.status_code == 412, response.text
    versions = (await client.get(f"{DIRECTIVES}/versions", headers=headers)).json()["items"]
    assert [v["version"] for v in versions] == [2, 1]
