"""Documents in the space's FHIR export: a DocumentReference each (fhir.resources' R4B model), with
the type's LOINC code, the date, the author, the care's day and the content attached by its URL.
What the reader may not see is not exported: a document held back from the holder, and in a
representative's export what the holder hid from them (labelled restricted in the holder's)."""

from __future__ import annotations

import uuid
from typing import Any

from ens.core import db
from tests.helpers.carers import court_measure
from tests.helpers.documents import LAB_REPORT, file_bytes, metadata, pdf, uploaded
from tests.helpers.fhir import check_bundle


async def _references(client, headers, space: object = "me") -> list[dict[str, Any]]:
    answer = await client.get(f"/v1/spaces/{space}/export", headers=headers)
    assert answer.status_code == 200, answer.text
    resources = check_bundle(answer.json())
    return [r for r in resources.values() if r["resourceType"] == "DocumentReference"]


async def test_each_document_is_a_valid_document_reference_in_the_export(client, person, settings):
    lab = await uploaded(
        client,
        person.headers,
        pdf(2000),
        meta=metadata(typeCode=LAB_REPORT, date="2026-05-04", author="Laboratoire Biomed"),
    )
    scan = await uploaded(
        client, person.headers, file_bytes("png", 900), filename="ordonnance.png", meta=metadata(typeCode="57833-6")
    )
    references = await _references(client, person.headers)
    assert [r["id"] for r in references] == [lab["id"], scan["id"]]  # the latest care first
    first = references[0]
    assert first["status"] == "current"
    assert first["meta"]["lastUpdated"].startswith(lab["updatedAt"][:19])  # its updatedAt (a review)
    assert first["type"]["coding"] == [
        {"system": "http://loinc.org", "code": LAB_REPORT, "display": "Laboratory report"}
    ]
    assert first["subject"] == {"reference": f"urn:uuid:{person.space_id}"}
    assert first["author"] == [{"display": "Laboratoire Biomed"}]
    assert first["description"] == lab["title"]
    assert first["context"]["period"] == {"start": "2026-05-04", "end": "2026-05-04"}
    assert first["content"][0]["attachment"] == {
        "contentType": "application/pdf",
        "url": f"{settings.public_url}{lab['contentUrl']}",
        "size": 2000,
        "title": "compte-rendu.pdf",
        "creation": "2026-05-04",
    }
    attached = await client.get(first["content"][0]["attachment"]["url"], headers=person.headers)
    assert attached.content == pdf(2000)


async def test_what_the_reader_may_not_see_is_not_exported(client, person, make_person):
    tutor = await make_person("Tuteur")
    await court_measure(person, tutor, "tutelle")
    kept = await uploaded(client, person.headers, pdf(100, seed=1))
    held = await uploaded(client, person.headers, pdf(100, seed=2))
    secret = await uploaded(client, person.headers, pdf(100, seed=3), meta=metadata(hiddenFromRepresentatives=True))
    await db.fetch(
        "UPDATE documents SET hidden_from_holder = TRUE WHERE space_id = {} AND id = {}",
        person.space_id,
        uuid.UUID(held["id"]),
    )
    own = {r["id"]: r for r in await _references(client, person.headers)}
    assert set(own) == {kept["id"], secret["id"]}
    # The holder's own export labels what they hid from their representatives, as every other item.
    restricted = {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}
    assert [{k: c[k] for k in restricted} for c in own[secret["id"]]["meta"]["security"]] == [restricted]
    assert "security" not in own[kept["id"]]["meta"]
    assert {r["id"] for r in await _references(client, tutor.headers, person.space_id)} == {kept["id"]}


async def test_who_added_a_document_and_its_hiding_from_professionals_are_exported(client, person):
    """The export keeps every field the API gives (an outside audit: addedBy and
    hiddenFromProfessionals were lost): who added it as ENS's recorded-by extension (role, name,
    app), and the holder's hiding from professionals as its own extension."""
    shown = await uploaded(client, person.headers, pdf(100, seed=4))
    hidden = await uploaded(client, person.headers, pdf(100, seed=5), meta=metadata(hiddenFromProfessionals=True))
    assert hidden["hiddenFromProfessionals"] is True and shown["hiddenFromProfessionals"] is False
    exported = {r["id"]: r for r in await _references(client, person.headers)}

    def extension(resource: dict[str, Any], url: str) -> dict[str, Any] | None:
        return next((e for e in resource.get("extension", []) if e["url"] == url), None)

    for document in (shown, hidden):
        recorded = extension(exported[document["id"]], "urn:ens:fhir:recorded-by")
        assert recorded is not None
        parts = {e["url"]: next(v for k, v in e.items() if k.startswith("value")) for e in recorded["extension"]}
        added = document["addedBy"]
        assert parts == {"role": added["role"], "name": added["name"], "client": added["clientId"]}
        assert added["role"] == "holder" and added["name"]
    flag = extension(exported[hidden["id"]], "urn:ens:fhir:hidden-from-professionals")
    assert flag == {"url": "urn:ens:fhir:hidden-from-professionals", "valueBoolean": True}
    assert extension(exported[shown["id"]], "urn:ens:fhir:hidden-from-professionals") is None
