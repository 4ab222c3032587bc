"""No text a JSON body sends holds a direction override, embedding or isolate control: 422 at the
field, nothing stored. The directives, a document's title, the trusted person and an emergency's
reason refused them, while a child's name, a contact's and a condition's label took them:
"Zo\u202eé" was shown so to professionals and in the parents' e-mails (an outside audit)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.helpers.carers import child_body
from tests.helpers.people import MakePerson
from tests.helpers.records import contact


def _raw(body: dict[str, Any]) -> bytes:
    """The body with its non-ASCII characters as UTF-8, not as escapes."""
    return json.dumps(body, ensure_ascii=False).encode()


@pytest.mark.parametrize("control", ["\u202e", "\u202a", "\u2066", "\u2069"])
@pytest.mark.parametrize("escaped", [False, True], ids=["utf8", "escaped"])
async def test_a_childs_name_holding_a_direction_control_is_refused_at_the_field(
    client: httpx.AsyncClient, make_person: MakePerson, control: str, escaped: bool
) -> None:
    parent = await make_person()
    body = child_body(parent.family_name, given_name=f"Zo{control}é")
    content = json.dumps(body).encode() if escaped else _raw(body)
    answer = await client.post(
        "/v1/spaces", content=content, headers={**parent.headers, "Content-Type": "application/json"}
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert [e["pointer"] for e in answer.json()["errors"]] == ["/givenName"]
    me = await client.get("/v1/me", headers=parent.headers)
    assert me.status_code == 200 and "Zo" not in me.text


async def test_a_contact_and_a_condition_are_refused_at_their_fields_and_nothing_is_stored(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    holder = await make_person()
    space = f"/v1/spaces/{holder.space_id}"
    headers = {**holder.headers, "Content-Type": "application/json"}
    refused = await client.post(
        f"{space}/emergency-contacts",
        content=_raw(contact("Paul", familyName="Mar\u202etin", relationship="voi\u2067sin")),
        headers=headers,
    )
    assert refused.status_code == 422, refused.text
    assert sorted(e["pointer"] for e in refused.json()["errors"]) == ["/familyName", "/relationship"]
    label = await client.post(
        f"{space}/profile/conditions", content=_raw({"label": "Allergie \u202eenillicinép"}), headers=headers
    )
    assert label.status_code == 422 and [e["pointer"] for e in label.json()["errors"]] == ["/label"]
    assert (await client.get(f"{space}/emergency-contacts", headers=holder.headers)).json()["items"] == []
    assert (await client.get(f"{space}/profile/conditions", headers=holder.headers)).json()["items"] == []


async def test_right_to_left_names_and_the_direction_marks_are_taken(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """Arabic and Hebrew carry their own direction; the marks U+200E and U+200F reorder nothing, and
    an escaped backslash before "u202e" is text like any other."""
    holder = await make_person()
    headers = {**holder.headers, "Content-Type": "application/json"}
    for given_name, relationship in [("ياسين", "جار\u200f"), ("נועה", "voisine"), ("Paul", "voir \\u202e")]:
        answer = await client.post(
            f"/v1/spaces/{holder.space_id}/emergency-contacts",
            content=_raw(contact(given_name, relationship=relationship)),
            headers=headers,
        )
        assert answer.status_code == 201, answer.text
        assert (answer.json()["givenName"], answer.json()["relationship"]) == (given_name, relationship)
