"""The holder hides an emergency contact or a profile entry from the representatives (CSP R1111-50,
issue 12 point 6): to a guardian it then does not exist — not listed, not counted on the home
screen, 404 when read, changed or removed, left out of the FHIR mapping the export uses — while the
holder still sees it, marked. Only the holder hides or shows: anyone else is refused, even to show."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from ens.core.fhir import encode as as_json
from tests.helpers.carers import court_measure
from tests.helpers.fhir import every_record
from tests.helpers.people import Person
from tests.helpers.records import contact

HIDE, SHOW = {"hiddenFromRepresentatives": True}, {"hiddenFromRepresentatives": False}

# Each profile list: its path, an entry to hide, one to leave visible, and the field that names it.
PROFILE = [
    ("conditions", {"label": "Dépression", "since": "2021-09-01", "code": "F32.1"}, {"label": "Asthme"}, "label"),
    ("allergies", {"substance": "Latex", "severity": "mild"}, {"substance": "Pénicilline"}, "substance"),
    ("treatments", {"medication": "Sertraline", "dose": "50 mg"}, {"medication": "Ventoline"}, "medication"),
    ("family-history", {"relative": "mother", "condition": "Maladie de Huntington"}, None, "condition"),
]


class Space:
    """A holder's space with a guardian (tutelle), and the holder's items: three contacts, the
    middle one hidden, and in each profile list an entry hidden (and, but for family history, one
    visible)."""

    def __init__(self, client: httpx.AsyncClient, holder: Person, tutor: Person) -> None:
        self.client, self.holder, self.tutor = client, holder, tutor
        self.url = f"/v1/spaces/{holder.space_id}"
        self.contacts: dict[str, str] = {}
        self.hidden: dict[str, str] = {}  # list -> the hidden entry's id
        self.visible: dict[str, str] = {}

    async def fill(self) -> None:
        for name in ("Paul", "Jeanne", "Luc"):
            added = await self.client.post(f"{self.url}/emergency-contacts", json=contact(name), headers=self.as_holder)
            assert added.status_code == 201, added.text
            self.contacts[name] = added.json()["id"]
        for path, hidden, visible, _field in PROFILE:
            added = await self.client.post(f"{self.url}/profile/{path}", json=hidden, headers=self.as_holder)
            assert added.status_code == 201, added.text
            self.hidden[path] = added.json()["id"]
            if visible is not None:
                added = await self.client.post(f"{self.url}/profile/{path}", json=visible, headers=self.as_holder)
                self.visible[path] = added.json()["id"]

    @property
    def as_holder(self) -> dict[str, str]:
        return self.holder.headers

    @property
    def as_tutor(self) -> dict[str, str]:
        return self.tutor.headers

    def hidden_urls(self) -> list[str]:
        return [f"{self.url}/emergency-contacts/{self.contacts['Jeanne']}"] + [
            f"{self.url}/profile/{path}/{item}" for path, item in self.hidden.items()
        ]

    async def hide_all(self, body: dict[str, Any] = HIDE) -> list[httpx.Response]:
        answers = []
        for url in self.hidden_urls():
            etag = (await self.client.get(url, headers=self.as_holder)).headers["etag"]
            answers.append(await self.client.patch(url, json=body, headers={**self.as_holder, "If-Match": etag}))
        return answers

    async def names(self, headers: dict[str, str]) -> dict[str, list[Any]]:
        """What each list shows the caller: the contacts as (priority, name, hidden), the entries' names."""
        listed: dict[str, list[Any]] = {}
        items = (await self.client.get(f"{self.url}/emergency-contacts", headers=headers)).json()["items"]
        listed["emergency-contacts"] = [(c["priority"], c["givenName"], c["hiddenFromRepresentatives"]) for c in items]
        for path, _hidden, _visible, field in PROFILE:
            answer = await self.client.get(f"{self.url}/profile/{path}", headers=headers)
            assert answer.status_code == 200, answer.text
            listed[path] = [(entry[field], entry["hiddenFromRepresentatives"]) for entry in answer.json()["items"]]
        return listed

    async def counts(self, headers: dict[str, str]) -> tuple[int, int]:
        records = (await self.client.get(self.url, headers=headers)).json()["records"]
        return records["emergencyContacts"], records["profile"]


@pytest.fixture
async def space(client, make_person) -> Space:
    holder, tutor = await make_person(given_name="Marie"), await make_person(given_name="Tuteur")
    await court_measure(holder, tutor, "tutelle")
    built = Space(client, holder, tutor)
    await built.fill()
    return built


EVERYTHING = {
    "emergency-contacts": [(1, "Paul", False), (2, "Jeanne", False), (3, "Luc", False)],
    "conditions": [("Dépression", False), ("Asthme", False)],
    "allergies": [("Latex", False), ("Pénicilline", False)],
    "treatments": [("Sertraline", False), ("Ventoline", False)],
    "family-history": [("Maladie de Huntington", False)],
}
# What the holder sees once the items are hidden: every one, marked.
MARKED = {
    "emergency-contacts": [(1, "Paul", False), (2, "Jeanne", True), (3, "Luc", False)],
    "conditions": [("Dépression", True), ("Asthme", False)],
    "allergies": [("Latex", True), ("Pénicilline", False)],
    "treatments": [("Sertraline", True), ("Ventoline", False)],
    "family-history": [("Maladie de Huntington", True)],
}


async def test_the_representative_never_sees_what_the_holder_hid(space):
    assert await space.names(space.as_tutor) == EVERYTHING
    assert await space.counts(space.as_tutor) == (3, 7)

    hidden = await space.hide_all()
    assert [answer.status_code for answer in hidden] == [200] * 5
    assert all(answer.json()["hiddenFromRepresentatives"] is True for answer in hidden)

    # The guardian's lists close up over them; the contacts are numbered among those they see.
    assert await space.names(space.as_tutor) == {
        "emergency-contacts": [(1, "Paul", False), (2, "Luc", False)],
        "conditions": [("Asthme", False)],
        "allergies": [("Pénicilline", False)],
        "treatments": [("Ventoline", False)],
        "family-history": [],
    }
    # The home screen counts without them.
    assert await space.counts(space.as_tutor) == (2, 3)
    # Named, each is 404 exactly as an item that never existed.
    for url in space.hidden_urls():
        never = url.rsplit("/", 1)[0] + f"/{uuid.uuid4()}"
        read, absent = (
            await space.client.get(url, headers=space.as_tutor),
            await space.client.get(never, headers=space.as_tutor),
        )
        assert (read.status_code, read.json()["detail"]) == (absent.status_code, absent.json()["detail"]), url
        assert read.status_code == 404
        assert read.headers["content-type"] == "application/problem+json"

    # The holder still sees everything, each hidden item marked, and counts it.
    assert await space.names(space.as_holder) == MARKED
    assert await space.counts(space.as_holder) == (3, 7)
    for url in space.hidden_urls():
        read = await space.client.get(url, headers=space.as_holder)
        assert read.status_code == 200 and read.json()["hiddenFromRepresentatives"] is True


async def test_the_representative_can_neither_change_nor_remove_a_hidden_item(space):
    await space.hide_all()
    changes = {
        "emergency-contacts": {"relationship": "amie"},
        "conditions": {"label": "Guérie"},
        "allergies": {"severity": "severe"},
        "treatments": {"dose": "100 mg"},
        "family-history": {"relative": "father"},
    }
    for url, (_name, change) in zip(space.hidden_urls(), changes.items(), strict=True):
        assert (await space.client.patch(url, json=change, headers=space.as_tutor)).status_code == 404, url
        assert (await space.client.delete(url, headers=space.as_tutor)).status_code == 404, url
    # Nothing changed, nothing removed.
    assert await space.names(space.as_holder) == MARKED
    # What the guardian sees, they still keep.
    paul = f"{space.url}/emergency-contacts/{space.contacts['Paul']}"
    assert (await space.client.patch(paul, json={"relationship": "frère"}, headers=space.as_tutor)).status_code == 200
    asthma = f"{space.url}/profile/conditions/{space.visible['conditions']}"
    assert (await space.client.delete(asthma, headers=space.as_tutor)).status_code == 204


async def test_only_the_holder_hides_or_shows_an_item(space):
    await space.hide_all()
    visible = [
        f"{space.url}/emergency-contacts/{space.contacts['Paul']}",
        *(f"{space.url}/profile/{path}/{item}" for path, item in space.visible.items()),
    ]
    # 403 whatever the item — visible, hidden, or none at all — and whichever way: the refusal comes
    # before the item is looked up, so it says nothing of it.
    for url in [*visible, *space.hidden_urls(), f"{space.url}/profile/allergies/{uuid.uuid4()}"]:
        for body in (HIDE, SHOW):
            refused = await space.client.patch(url, json=body, headers=space.as_tutor)
            assert refused.status_code == 403, (url, refused.text)
            assert refused.json()["detail"] == "The guardian (tutelle) may not hide an item from the representatives."
    # Nor may they add an item hidden (or say it is not).
    for path, body in [("emergency-contacts", contact("Zoé")), ("profile/allergies", {"substance": "Arachide"})]:
        for flag in (True, False):
            added = await space.client.post(
                f"{space.url}/{path}", json={**body, "hiddenFromRepresentatives": flag}, headers=space.as_tutor
            )
            assert added.status_code == 403, added.text
    assert await space.counts(space.as_tutor) == (2, 3)
    assert await space.names(space.as_holder) == MARKED


async def test_showing_an_item_again_gives_it_back_to_the_representative(space):
    await space.hide_all()
    shown = await space.hide_all(SHOW)
    assert [answer.status_code for answer in shown] == [200] * 5
    assert all(answer.json()["hiddenFromRepresentatives"] is False for answer in shown)
    assert await space.names(space.as_tutor) == EVERYTHING
    assert await space.counts(space.as_tutor) == (3, 7)
    jeanne = f"{space.url}/emergency-contacts/{space.contacts['Jeanne']}"
    assert (await space.client.get(jeanne, headers=space.as_tutor)).json()["priority"] == 2


async def test_hiding_is_a_change_its_etag_says(space):
    url = f"{space.url}/profile/allergies/{space.hidden['allergies']}"
    before = await space.client.get(url, headers=space.as_holder)
    hidden = await space.client.patch(url, json=HIDE, headers={**space.as_holder, "If-Match": before.headers["etag"]})
    assert hidden.status_code == 200 and hidden.headers["etag"] != before.headers["etag"]
    assert (await space.client.get(url, headers=space.as_holder)).headers["etag"] == hidden.headers["etag"]
    # The If-Match rules hold as for any change: a tag from before the hiding is stale.
    stale = await space.client.patch(url, json=SHOW, headers={**space.as_holder, "If-Match": before.headers["etag"]})
    assert stale.status_code == 412
    # Hiding what is hidden changes nothing, not even the tag.
    again = await space.client.patch(url, json=HIDE, headers={**space.as_holder, "If-Match": hidden.headers["etag"]})
    assert again.status_code == 200 and again.headers["etag"] == hidden.headers["etag"]
    # Hidden along with another change, in one request.
    contact_url = f"{space.url}/emergency-contacts/{space.contacts['Luc']}"
    both = await space.client.patch(contact_url, json={**HIDE, "email": "luc@example.test"}, headers=space.as_holder)
    assert both.status_code == 200 and both.json()["email"] == "luc@example.test"
    assert both.json()["hiddenFromRepresentatives"] is True


async def test_the_holder_may_add_an_item_already_hidden(space):
    added = await space.client.post(
        f"{space.url}/profile/treatments",
        json={"medication": "Lithium", "hiddenFromRepresentatives": True},
        headers=space.as_holder,
    )
    assert added.status_code == 201 and added.json()["hiddenFromRepresentatives"] is True
    listed = await space.client.get(f"{space.url}/profile/treatments", headers=space.as_tutor)
    assert "Lithium" not in [entry["medication"] for entry in listed.json()["items"]]
    contact_added = await space.client.post(
        f"{space.url}/emergency-contacts", json={**contact("Inès"), **HIDE}, headers=space.as_holder
    )
    assert contact_added.status_code == 201 and contact_added.json()["priority"] == 4
    assert (await space.names(space.as_tutor))["emergency-contacts"] == EVERYTHING["emergency-contacts"]


async def test_the_fhir_mapping_leaves_hidden_items_out_for_a_representative(space):
    await space.hide_all()
    hidden_ids = {url.rsplit("/", 1)[1] for url in space.hidden_urls()}
    everything = await every_record(space.holder.space_id)
    theirs = await every_record(space.holder.space_id, with_hidden=False)
    every_id = {resource.id for resource in everything.resources}
    their_ids = {resource.id for resource in theirs.resources}
    assert hidden_ids <= every_id
    assert their_ids == every_id - hidden_ids
    # Nothing in what is left names a hidden item.
    text = b"".join(as_json(resource) for resource in theirs.resources)
    for word in (b"Jeanne", b"Latex", b"Sertraline", b"Huntington", b"F32.1", "Dépression".encode()):
        assert word not in text


CHANGES = [
    ("/emergency-contacts/{id}", "EmergencyContact"),
    ("/profile/conditions/{id}", "Condition"),
    ("/profile/allergies/{id}", "Allergy"),
    ("/profile/treatments/{id}", "Treatment"),
    ("/profile/family-history/{id}", "FamilyHistory"),
]


@pytest.mark.parametrize(("path", "name"), CHANGES)
def test_the_openapi_document_says_who_hides_and_what_it_does(openapi, path, name):
    schemas = openapi["components"]["schemas"]
    body = openapi["paths"]["/v1/spaces/{space}" + path]["patch"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].endswith(f"/{name}Update")
    flag = schemas[f"{name}Update"]["properties"]["hiddenFromRepresentatives"]["description"]
    assert "holder alone" in flag and "403" in flag and "404" in flag and "ETag" in flag
    assert "holder alone" in schemas[f"{name}Create"]["properties"]["hiddenFromRepresentatives"]["description"]
    assert "hiddenFromRepresentatives" in schemas[f"{name}Read"]["required"]
    assert "holder alone" in openapi["paths"]["/v1/spaces/{space}" + path]["patch"]["description"]
    if name == "EmergencyContact":
        added = openapi["paths"]["/v1/spaces/{space}/emergency-contacts"]["post"]["description"]
        assert "hidden from the representatives" in added and "10" in added
