"""Emergency contacts a holder hid, as their order goes: a representative's list is numbered 1, 2,
3... over the contacts they see (no gap gives a hidden one away), and the priority they send, to add
or to move one, is a place in that list; the hidden ones keep theirs in the holder's. The limit of
10 is counted over what the caller sees (a representative refused at 3 would learn that 7 are
hidden): the holder's list may so grow past 10, to 20 at most. The trusted person's entry is never
hidden."""

from __future__ import annotations

import json
from collections.abc import Mapping

import httpx
import pytest

from tests.helpers.carers import court_measure
from tests.helpers.people import Person
from tests.helpers.records import JUDGE, contact, pointers, trusted

HIDE = {"hiddenFromRepresentatives": True}


class Contacts:
    def __init__(self, client: httpx.AsyncClient, holder: Person, tutor: Person) -> None:
        self.client, self.holder, self.tutor = client, holder, tutor
        self.url = f"/v1/spaces/{holder.space_id}/emergency-contacts"
        self.ids: dict[str, str] = {}

    async def add(self, name: str, person: Person, **fields: object) -> httpx.Response:
        added = await self.client.post(self.url, json=contact(name, **fields), headers=person.headers)
        if added.status_code == 201:
            self.ids[name] = added.json()["id"]
        return added

    async def order(self, person: Person, *, limit: int | None = None) -> list[tuple[int, str]]:
        """The whole list as ``person`` sees it, page after page."""
        seen: list[tuple[int, str]] = []
        url: str | None = self.url + (f"?limit={limit}" if limit else "")
        while url is not None:
            page = (await self.client.get(url, headers=person.headers)).json()
            seen += [(c["priority"], c["givenName"]) for c in page["items"]]
            url = f"{self.url}?limit={limit}&cursor={page['nextCursor']}" if page["nextCursor"] else None
        return seen

    async def change(self, name: str, person: Person, body: Mapping[str, object]) -> httpx.Response:
        return await self.client.patch(f"{self.url}/{self.ids[name]}", json=body, headers=person.headers)


@pytest.fixture
async def contacts(client, make_person) -> Contacts:
    holder, tutor = await make_person(given_name="Marie"), await make_person(given_name="Tuteur")
    await court_measure(holder, tutor, "tutelle")
    built = Contacts(client, holder, tutor)
    for name in ("Anne", "Bruno", "Chloé", "Denis"):
        assert (await built.add(name, holder)).status_code == 201
    assert (await built.change("Bruno", holder, HIDE)).status_code == 200
    return built


async def test_the_representatives_list_is_numbered_over_what_they_see(contacts):
    holder, tutor = contacts.holder, contacts.tutor
    assert await contacts.order(tutor) == [(1, "Anne"), (2, "Chloé"), (3, "Denis")]
    assert await contacts.order(tutor, limit=1) == [(1, "Anne"), (2, "Chloé"), (3, "Denis")]
    assert await contacts.order(holder) == [(1, "Anne"), (2, "Bruno"), (3, "Chloé"), (4, "Denis")]
    one = await contacts.client.get(f"{contacts.url}/{contacts.ids['Denis']}", headers=tutor.headers)
    assert one.json()["priority"] == 3


async def test_a_representative_moves_and_adds_among_the_contacts_they_see(contacts):
    holder, tutor = contacts.holder, contacts.tutor
    # Denis first, in the guardian's list: before Anne, the first they see.
    moved = await contacts.change("Denis", tutor, {"priority": 1})
    assert moved.status_code == 200 and moved.json()["priority"] == 1
    assert await contacts.order(tutor) == [(1, "Denis"), (2, "Anne"), (3, "Chloé")]
    assert await contacts.order(holder) == [(1, "Denis"), (2, "Anne"), (3, "Bruno"), (4, "Chloé")]
    # Anne last of theirs: at the end of the whole list.
    assert (await contacts.change("Anne", tutor, {"priority": 3})).json()["priority"] == 3
    assert await contacts.order(tutor) == [(1, "Denis"), (2, "Chloé"), (3, "Anne")]
    assert await contacts.order(holder) == [(1, "Denis"), (2, "Bruno"), (3, "Chloé"), (4, "Anne")]
    # Past the end of their list is 422, though the whole list is longer.
    too_far = await contacts.change("Anne", tutor, {"priority": 4})
    assert too_far.status_code == 422 and pointers(too_far) == ["/priority"]
    assert "at most 3" in too_far.json()["errors"][0]["detail"]
    # Added second of theirs: before Chloé, whom they saw there.
    added = await contacts.add("Émile", tutor, priority=2)
    assert added.status_code == 201 and added.json()["priority"] == 2
    assert await contacts.order(tutor) == [(1, "Denis"), (2, "Émile"), (3, "Chloé"), (4, "Anne")]
    assert await contacts.order(holder) == [(1, "Denis"), (2, "Bruno"), (3, "Émile"), (4, "Chloé"), (5, "Anne")]
    late = await contacts.add("Fanny", tutor, priority=6)
    assert late.status_code == 422 and pointers(late) == ["/priority"]
    # The holder's own moves still count every contact.
    assert (await contacts.change("Bruno", holder, {"priority": 5})).json()["priority"] == 5
    assert await contacts.order(holder) == [(1, "Denis"), (2, "Émile"), (3, "Chloé"), (4, "Anne"), (5, "Bruno")]


async def test_a_representatives_ten_are_the_contacts_they_see(contacts):
    holder, tutor = contacts.holder, contacts.tutor
    for n in range(6):
        assert (await contacts.add(f"Caché {n}", holder, **HIDE)).status_code == 201
    assert len(await contacts.order(holder)) == 10
    # The holder's ten are full; the tutor, who sees 3, adds as if nothing were hidden.
    by_holder = await contacts.add("Gilles", holder)
    assert by_holder.status_code == 422 and "hidden from representatives included" in by_holder.json()["detail"]
    for n in range(7):
        assert (await contacts.add(f"Vu {n}", tutor)).status_code == 201
    assert len(await contacts.order(tutor)) == 10
    refused = await contacts.add("Gilles", tutor)
    assert refused.status_code == 422 and pointers(refused) == [""]
    assert "At most 10" in refused.json()["detail"] and "hidden" not in refused.json()["detail"]
    # The holder sees 17; they move one to the end, and may not add.
    assert len(await contacts.order(holder)) == 17
    assert (await contacts.change("Anne", holder, {"priority": 17})).json()["priority"] == 17
    assert (await contacts.order(holder))[-1] == (17, "Anne")
    assert (await contacts.add("Gilles", holder)).status_code == 422
    # Showing a hidden one again would make the tutor's list 11.
    shown = await contacts.change("Bruno", holder, {"hiddenFromRepresentatives": False})
    assert shown.status_code == 422 and pointers(shown) == ["/hiddenFromRepresentatives"]
    assert len(await contacts.order(tutor)) == 10
    # At most 10 hidden: the list never passes 20.
    for name in ("Vu 0", "Vu 1", "Vu 2"):
        assert (await contacts.change(name, holder, HIDE)).status_code == 200
    tenth = await contacts.change("Vu 3", holder, HIDE)
    assert tenth.status_code == 422 and pointers(tenth) == ["/hiddenFromRepresentatives"]
    assert "10 contacts are hidden already" in tenth.json()["errors"][0]["detail"]
    assert len(await contacts.order(tutor)) == 7


async def test_an_export_of_more_than_ten_contacts_is_imported_whole(contacts, client, make_person):
    holder, tutor = contacts.holder, contacts.tutor
    for n in range(6):
        assert (await contacts.add(f"Caché {n}", holder, **HIDE)).status_code == 201
    for n in range(7):
        assert (await contacts.add(f"Vu {n}", tutor)).status_code == 201
    exported = (await client.get(f"/v1/spaces/{holder.space_id}/export", headers=holder.headers)).json()
    newcomer = await make_person(given_name="Marie")
    imported = await client.post(
        "/v1/spaces/me/import",
        content=json.dumps(exported).encode(),
        headers={**newcomer.headers, "Content-Type": "application/fhir+json"},
    )
    assert imported.status_code == 201, imported.text
    again = (await client.get("/v1/spaces/me/emergency-contacts?limit=50", headers=newcomer.headers)).json()["items"]
    assert [(c["givenName"], c["hiddenFromRepresentatives"]) for c in again] == [
        (name, hidden)
        for _, name, hidden in sorted(
            (c["priority"], c["givenName"], c["hiddenFromRepresentatives"])
            for c in (await client.get(contacts.url + "?limit=50", headers=holder.headers)).json()["items"]
        )
    ]


async def test_the_trusted_persons_entry_is_never_hidden(contacts, client):
    holder, tutor = contacts.holder, contacts.tutor
    designated = await client.put(
        f"/v1/spaces/{holder.space_id}/trusted-person",
        json=trusted(alsoEmergencyContact=True, protectionAuthorisation=JUDGE),
        headers=holder.headers,
    )
    assert designated.status_code == 201, designated.text
    [entry] = [
        c for c in (await client.get(contacts.url, headers=holder.headers)).json()["items"] if c["trustedPerson"]
    ]
    url = f"{contacts.url}/{entry['id']}"
    refused = await client.patch(url, json=HIDE, headers=holder.headers)
    assert refused.status_code == 422 and pointers(refused) == ["/hiddenFromRepresentatives"]
    assert "/trusted-person" in refused.json()["errors"][0]["detail"]
    # Saying it is not hidden changes nothing; moving it is still allowed.
    kept = await client.patch(url, json={"hiddenFromRepresentatives": False, "priority": 1}, headers=holder.headers)
    assert kept.status_code == 200 and kept.json()["hiddenFromRepresentatives"] is False
    assert (await contacts.order(tutor))[0] == (1, "Élise")
