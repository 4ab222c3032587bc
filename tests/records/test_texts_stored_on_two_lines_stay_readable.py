"""Names, labels and an address's parts are one line since 2026-12-06 (``ONE_LINE``), checked on
what is written. What was stored before on two lines (an address "3 rue des Lilas" then
"Bâtiment B", a pointer naming the notary then their street) stays readable: the stored address
and directives were decoded with the write types, and every read of them was a 500 (a review)."""

from __future__ import annotations

import json

import httpx

from ens.core import db
from tests.helpers.people import Person
from tests.helpers.records import DIRECTIVES, DOCTOR, TRUSTED_PERSON, VALID_RPPS, structured, trusted

TWO_LINES = "3 rue des Lilas\nBâtiment B"


async def _store_address_on_two_lines(table: str, person: Person) -> None:
    """The address as a write took it before the rule: its line on two lines."""
    row = await db.fetch_one(f"SELECT address FROM {table} WHERE space_id = {{}}", person.space_id)
    assert row is not None and row["address"]
    address = {**json.loads(row["address"]), "line": TWO_LINES}
    await db.fetch(f"UPDATE {table} SET address = {{}} WHERE space_id = {{}}", json.dumps(address), person.space_id)


async def test_a_trusted_persons_address_stored_on_two_lines_is_read_and_copied(
    client: httpx.AsyncClient, person: Person
) -> None:
    headers = person.headers
    assert (await client.put(TRUSTED_PERSON, json=trusted(), headers=headers)).status_code in (200, 201)
    await _store_address_on_two_lines("trusted_persons", person)

    read = await client.get(TRUSTED_PERSON, headers=headers)
    assert read.status_code == 200, read.text
    assert read.json()["address"]["line"] == TWO_LINES
    # A version copies the trusted person as stored, and is read back.
    written = await client.put(DIRECTIVES, json=structured(), headers=headers)
    assert written.status_code == 201, written.text
    current = await client.get(DIRECTIVES, headers=headers)
    assert current.status_code == 200, current.text
    assert current.json()["trustedPerson"]["address"]["line"] == TWO_LINES
    assert current.json()["trustedPersonChanged"] is False
    printed = await client.get(DIRECTIVES, headers={**headers, "Accept": "application/pdf"})
    assert printed.status_code == 200, printed.text
    # A new address is one line still.
    etag = read.headers["etag"]
    again = trusted(address={"line": "1 rue Neuve\nBât. C", "postalCode": "69003", "city": "Lyon"})
    refused = await client.put(TRUSTED_PERSON, json=again, headers={**headers, "If-Match": etag})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["pointer"] == "/address/line"


async def test_a_doctors_address_stored_on_two_lines_is_read(client: httpx.AsyncClient, person: Person) -> None:
    headers = person.headers
    doctor = {
        "givenName": "Anne",
        "familyName": "Martin",
        "rpps": VALID_RPPS,
        "address": {"line": "8 place Bellecour", "postalCode": "69002", "city": "Lyon"},
    }
    assert (await client.put(DOCTOR, json=doctor, headers=headers)).status_code in (200, 201)
    await _store_address_on_two_lines("doctors", person)

    read = await client.get(DOCTOR, headers=headers)
    assert read.status_code == 200, read.text
    assert read.json()["address"]["line"] == TWO_LINES


async def test_a_directives_pointer_stored_on_two_lines_is_read(client: httpx.AsyncClient, person: Person) -> None:
    headers = person.headers
    pointer = {"location": "Chez Maître Dupont, notaire", "keeper": "Maître Dupont"}
    assert (await client.put(DIRECTIVES, json={"pointer": pointer}, headers=headers)).status_code == 201
    row = await db.fetch_one("SELECT id, content FROM directive_versions WHERE space_id = {}", person.space_id)
    assert row is not None
    content = json.loads(row["content"])
    content["pointer"]["location"] = "Chez Maître Dupont, notaire\n12 quai Saint-Antoine, Lyon"
    await db.fetch(
        "UPDATE directive_versions SET content = {} WHERE space_id = {} AND id = {}",
        json.dumps(content),
        person.space_id,
        row["id"],
    )

    current = await client.get(DIRECTIVES, headers=headers)
    assert current.status_code == 200, current.text
    assert current.json()["pointer"]["location"].endswith("12 quai Saint-Antoine, Lyon")
    versions = await client.get(f"{DIRECTIVES}/versions", headers=headers)
    assert versions.status_code == 200, versions.text
