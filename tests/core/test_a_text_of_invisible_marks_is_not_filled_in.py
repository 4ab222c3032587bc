"""A text a person must fill in holds something visible (``ens.core.api.VISIBLE``, and
``is_visible`` for the measures' texts): the soft hyphen (shown only where a line breaks inside a
word), the variation selectors (which choose how the character before them is drawn: alone, none)
and Mongolian's free variation selectors show nothing on their own, and were taken as filled in —
a child named "\\u00ad" was made, a measure's note of "\\ufe0f" stored (a review, after the
combining marks were refused: e510000). A name that holds them beside letters is still a name."""

from __future__ import annotations

import re

import httpx

from ens.core.api import VISIBLE, is_visible
from tests.helpers.carers import child_body
from tests.helpers.people import MakePerson, Person

# Each shows nothing alone: the soft hyphen, a variation selector (text and emoji), Mongolian's free
# variation selectors and the interlinear annotation marks (format characters); noncharacters, never
# a character to show (a condition labelled "\uffff" was kept: an outside audit of the records).
INVISIBLE = ("\u00ad", "\ufe0e", "\ufe0f", "\u00ad\ufe0f", "\u180b", "\u180f", "\ufff9\ufffb", "\uffff", "\ufdd0")


def test_these_marks_alone_are_nothing_visible() -> None:
    for text in INVISIBLE:
        assert re.search(VISIBLE, text) is None, repr(text)
        assert not is_visible(text), repr(text)
    # Beside something visible, they do not make it blank.
    for text in ("Lé\u00adonie", "\u2764\ufe0f", "Ana"):
        assert re.search(VISIBLE, text) is not None and is_visible(text), repr(text)


async def test_a_childs_name_of_them_alone_is_refused(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    parent = await make_person()
    body = child_body("Martin", given_name="Léo")
    for blank in INVISIBLE:
        answer = await client.post("/v1/spaces", json={**body, "givenName": blank}, headers=parent.headers)
        assert answer.status_code == 422, (repr(blank), answer.text)
        assert [e["pointer"] for e in answer.json()["errors"]] == ["/givenName"], answer.text


async def test_a_measures_note_of_them_alone_is_refused(client: httpx.AsyncClient, person: Person) -> None:
    for blank in INVISIBLE:
        measure = {"type": "body_weight", "value": 70, "unit": "kg", "effectiveAt": "2026-11-02T08:00:00Z"}
        answer = await client.post(
            "/v1/spaces/me/vitals", json={"measurements": [{**measure, "note": blank}]}, headers=person.headers
        )
        assert answer.status_code == 422, (repr(blank), answer.text)
        assert [e["pointer"] for e in answer.json()["errors"]] == ["/measurements/0/note"], answer.text
