"""A name, a label, a title or an address's part is one line (``ens.core.api.ONE_LINE``): a name
holding a line break was stored and broke the line it was printed in (the directives, a history
sentence, a CSV cell) — an audit. Line feed, carriage return, tab, the other Unicode line ends are
refused at the field (422), nothing is stored; notes and reactions keep their lines."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from ens.core.api import ONE_LINE
from tests.helpers.carers import child_body
from tests.helpers.documents import metadata, pdf, upload
from tests.helpers.people import MakePerson
from tests.helpers.records import contact, pointers, trusted

BREAKS = ("Marie\nLouise", "Marie\r\nLouise", "Marie\n", "\nMarie", "Marie\tLouise", "Marie\u2028Louise", "A\x0bB")


def test_the_pattern_takes_one_visible_line_and_nothing_else() -> None:
    for text in ("Marie", "Jean-Pierre", "Lé\u00adonie", "N'Diaye", "de La Fontaine", "x" * 100):
        assert re.search(ONE_LINE, text), repr(text)
    for text in (*BREAKS, "", " ", "\u00ad", "\u200b \u200b"):
        assert not re.search(ONE_LINE, text), repr(text)


CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("put", "/v1/spaces/me/trusted-person", trusted(given_name="Élise\nDurand"), "/givenName"),
    ("put", "/v1/spaces/me/trusted-person", trusted(family_name="Durand\t"), "/familyName"),
    (
        "put",
        "/v1/spaces/me/trusted-person",
        trusted(address={"line": "3 rue\ndes Lilas", "postalCode": "69003", "city": "Lyon"}),
        "/address/line",
    ),
    ("post", "/v1/spaces/me/emergency-contacts", contact(given_name="Paul\r\n"), "/givenName"),
    ("post", "/v1/spaces/me/emergency-contacts", contact(relationship="voisin\nami"), "/relationship"),
    ("post", "/v1/spaces/me/profile/allergies", {"substance": "Pollen\nde bouleau"}, "/substance"),
]


@pytest.mark.parametrize(("method", "path", "body", "pointer"), CASES)
async def test_a_line_break_in_a_name_or_label_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, make_person: MakePerson, method: str, path: str, body: dict[str, Any], pointer: str
) -> None:
    person = await make_person()
    before = await client.get(path, headers=person.headers)
    answer = await client.request(method.upper(), path, json=body, headers=person.headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert pointers(answer) == [pointer]
    assert "no line break" in answer.json()["errors"][0]["detail"]
    after = await client.get(path, headers=person.headers)
    assert (after.status_code, after.content) == (before.status_code, before.content)


async def test_a_childs_name_on_two_lines_is_refused(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    parent = await make_person()
    body = child_body("Martin", given_name="Léo")
    for broken in BREAKS:
        answer = await client.post("/v1/spaces", json={**body, "familyName": broken}, headers=parent.headers)
        assert answer.status_code == 422, (repr(broken), answer.text)
        assert pointers(answer) == ["/familyName"]


async def test_a_reaction_keeps_its_lines(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    person = await make_person()
    allergy = {"substance": "Pollen de bouleau", "reaction": "Rhinite.\nConjonctivite au printemps."}
    added = await client.post("/v1/spaces/me/profile/allergies", json=allergy, headers=person.headers)
    assert added.status_code == 201, added.text
    assert added.json()["reaction"] == allergy["reaction"]


async def test_a_documents_title_on_two_lines_is_refused(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    person = await make_person()
    for field in ("title", "author"):
        answer = await upload(client, person.headers, pdf(), meta=metadata(**{field: "Compte rendu\nopératoire"}))
        assert answer.status_code == 422, answer.text
        assert pointers(answer) == [f"/metadata/{field}"], answer.text
    assert (await client.get("/v1/spaces/me/documents", headers=person.headers)).json()["items"] == []
