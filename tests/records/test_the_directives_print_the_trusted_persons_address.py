"""The official form designates the trusted person with their address; a version of the directives
copied their names, relationship, phone and e-mail, not the address, and the PDF printed none (an
audit). A version now copies it, answers it, prints it; one written before has none to show (the
field is absent, not null), and is not told its trusted person changed for it."""

from __future__ import annotations

import io
import json

import httpx
from pypdf import PdfReader

from ens.core import db
from tests.helpers.people import Person
from tests.helpers.records import DIRECTIVES, TRUSTED_PERSON, structured, trusted

PDF = {"Accept": "application/pdf"}
LYON = {"line": "3 rue des Lilas", "postalCode": "69003", "city": "Lyon", "country": "France"}


def _flat(content: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).split())


async def test_a_version_copies_answers_and_prints_the_trusted_persons_address(
    client: httpx.AsyncClient, person: Person
) -> None:
    headers = person.headers
    assert (await client.put(TRUSTED_PERSON, json=trusted(address=LYON), headers=headers)).status_code in (200, 201)
    written = await client.put(DIRECTIVES, json=structured(), headers=headers)
    assert written.status_code == 201, written.text
    assert written.json()["trustedPerson"]["address"] == LYON
    current = (await client.get(DIRECTIVES, headers=headers)).json()
    assert current["trustedPerson"]["address"] == LYON and current["trustedPersonChanged"] is False
    flat = _flat((await client.get(DIRECTIVES, headers={**headers, **PDF})).content)
    assert "Adresse 3 rue des Lilas, 69003 Lyon" in flat
    assert "a changé depuis" not in flat

    # Abroad, the country follows; moved, the trusted person is not the one the version copied.
    geneva = {"line": "12 rue du Rhône", "postalCode": "1204", "city": "Genève", "country": "Suisse"}
    etag = (await client.get(TRUSTED_PERSON, headers=headers)).headers["etag"]
    moved = await client.put(TRUSTED_PERSON, json=trusted(address=geneva), headers={**headers, "If-Match": etag})
    assert moved.status_code == 200, moved.text
    assert (await client.get(DIRECTIVES, headers=headers)).json()["trustedPersonChanged"] is True
    etag = (await client.get(DIRECTIVES, headers=headers)).headers["etag"]
    again = await client.put(DIRECTIVES, json=structured(), headers={**headers, "If-Match": etag})
    assert again.status_code == 200, again.text
    assert "Adresse 12 rue du Rhône, 1204 Genève, Suisse" in _flat(
        (await client.get(DIRECTIVES, headers={**headers, **PDF})).content
    )


async def test_a_version_written_before_addresses_were_copied_shows_none_and_did_not_change(
    client: httpx.AsyncClient, person: Person
) -> None:
    headers = person.headers
    await client.put(TRUSTED_PERSON, json=trusted(address=LYON), headers=headers)
    assert (await client.put(DIRECTIVES, json=structured(), headers=headers)).status_code == 201
    # The version as ENS stored it before: its copy of the trusted person without an address.
    row = await db.fetch_one("SELECT id, content FROM directive_versions WHERE space_id = {}", person.space_id)
    assert row is not None
    content = json.loads(row["content"])
    del content["trustedPerson"]["address"]
    await db.fetch(
        "UPDATE directive_versions SET content = {} WHERE space_id = {} AND id = {}",
        json.dumps(content),
        person.space_id,
        row["id"],
    )

    current = (await client.get(DIRECTIVES, headers=headers)).json()
    assert "address" not in current["trustedPerson"]
    assert current["trustedPersonChanged"] is False
    flat = _flat((await client.get(DIRECTIVES, headers={**headers, **PDF})).content)
    assert "DURAND Élise" in flat and "Adresse" not in flat and "a changé depuis" not in flat
