"""Explicit direction controls (embeddings and overrides U+202A-U+202E, isolates U+2066-U+2069) make
text display in another order than it is stored: an outside audit had wishes holding a
right-to-left override print reversed in the signed directives. Every text the directives print
(their own, and the trusted person's) refuses them with a 422 at the field; right-to-left text
(Arabic, Hebrew) and the direction marks U+200E/U+200F stay accepted, stored as sent. Directives
stored before the rule stay readable."""

from __future__ import annotations

import json

import pytest

from ens.core import db
from tests.helpers.records import (
    DIRECTIVES,
    PROBLEM,
    TRUSTED_PERSON,
    pointers,
    structured,
    trusted,
)

CONTROLS = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
WITNESSES = [
    {"givenName": "Anne", "familyName": "Roux", "quality": "amie"},
    {"givenName": "Marc", "familyName": "Petit", "quality": "voisin"},
]


def _witnesses(**changed: str) -> list[dict[str, str]]:
    return [{**WITNESSES[0], **changed}, WITNESSES[1]]


@pytest.mark.parametrize("control", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
async def test_wishes_holding_a_direction_control_are_refused(client, person, control):
    body = structured(wishes=f"Je souhaite {control}être réanimé en toute circonstance.")
    refused = await client.put(DIRECTIVES, json=body, headers=person.headers)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith(PROBLEM)
    assert pointers(refused) == ["/wishes"]
    assert (await client.get(DIRECTIVES, headers=person.headers)).status_code == 404


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (
            structured(treatments={"resuscitation": {"choice": "refuse", "note": "\u202eNe pas réanimer"}}),
            "/treatments/resuscitation/note",
        ),
        (structured(deepSedation={"choice": "accept", "note": "oui\u2067non"}), "/deepSedation/note"),
        (structured(organDonation={"choice": "refuse", "note": "\u202dnon"}), "/organDonation/note"),
        (structured(situation="ill", witnesses=_witnesses(familyName="\u202exuoR")), "/witnesses/0/familyName"),
        (structured(situation="ill", witnesses=_witnesses(quality="amie\u2066")), "/witnesses/0/quality"),
        (
            structured(protectionAuthorisation={"authority": "judge", "reference": "RG \u202e43210"}),
            "/protectionAuthorisation/reference",
        ),
        ({"pointer": {"location": "\u202eTiroir du bureau"}}, "/pointer/location"),
        ({"pointer": {"location": "Tiroir", "keeper": "Maître \u202bDurand"}}, "/pointer/keeper"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
async def test_every_text_the_directives_print_refuses_direction_controls(client, person, body, pointer):
    refused = await client.put(DIRECTIVES, json=body, headers=person.headers)
    assert refused.status_code == 422, refused.text
    assert pointers(refused) == [pointer]
    assert (await client.get(DIRECTIVES, headers=person.headers)).status_code == 404


async def test_the_trusted_person_the_directives_print_refuses_direction_controls(client, person):
    for body, pointer in [
        (trusted("\u202eluaP", "Martin"), "/givenName"),
        (trusted("Paul", "Martin", relationship="\u2066époux\u2069"), "/relationship"),
        (trusted("Paul", "Martin", email="\u202emoc.elpmaxe@luap"), "/email"),
    ]:
        refused = await client.put(TRUSTED_PERSON, json=body, headers=person.headers)
        assert refused.status_code == 422, refused.text
        assert pointers(refused) == [pointer]
    assert (await client.get(TRUSTED_PERSON, headers=person.headers)).status_code == 404


async def test_right_to_left_text_and_direction_marks_are_kept(client, person):
    arabic, hebrew = "أريد أن أموت في بيتي", "אני רוצה למות בבית"
    await client.put(TRUSTED_PERSON, json=trusted("مريم", "حداد", relationship="أخت"), headers=person.headers)
    body = structured(
        situation="ill",
        wishes=f"{arabic}\u200f (à la maison), {hebrew}\u200e.",
        treatments={"dialysis": {"choice": "refuse", "note": f"\u200f{hebrew}"}},
        witnesses=[
            {"givenName": "مريم", "familyName": "حداد", "quality": "أخت"},
            {"givenName": "דוד", "familyName": "לוי", "quality": "שכן"},
        ],
    )
    taken = await client.put(DIRECTIVES, json=body, headers=person.headers)
    assert taken.status_code == 201, taken.text
    stored = (await client.get(DIRECTIVES, headers=person.headers)).json()
    assert stored["wishes"] == body["wishes"]
    assert stored["treatments"]["dialysis"]["note"] == f"\u200f{hebrew}"
    assert stored["witnesses"] == body["witnesses"]
    printed = await client.get(DIRECTIVES, headers={**person.headers, "Accept": "application/pdf"})
    assert printed.status_code == 200, printed.text


async def test_directives_stored_before_the_rule_still_read_print_and_are_replaced(client, person):
    """Versions are never changed: one stored with a control before the rule (here written into the
    table) still reads, prints, and can be replaced by a new version."""
    written = await client.put(DIRECTIVES, json=structured(), headers=person.headers)
    assert written.status_code == 201, written.text
    row = await db.fetch_one("SELECT content FROM directive_versions WHERE space_id = {}", person.space_id)
    assert row is not None
    content = json.loads(row["content"])
    content["wishes"] = "Je souhaite \u202eêtre réanimé."
    content["treatments"]["resuscitation"]["note"] = "\u2067Ne pas réanimer\u2069"
    content["pointer"] = None
    await db.fetch(
        "UPDATE directive_versions SET content = {} WHERE space_id = {}", json.dumps(content), person.space_id
    )
    current = await client.get(DIRECTIVES, headers=person.headers)
    assert current.status_code == 200, current.text
    assert current.json()["wishes"] == "Je souhaite \u202eêtre réanimé."
    printed = await client.get(DIRECTIVES, headers={**person.headers, "Accept": "application/pdf"})
    assert printed.status_code == 200, printed.text
    replaced = await client.put(
        DIRECTIVES, json=structured(), headers={**person.headers, "If-Match": current.headers["etag"]}
    )
    assert replaced.status_code == 200, replaced.text
