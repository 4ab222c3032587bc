"""Documents as FHIR R4 DocumentReference (for the export): valid against fhir.resources' R4B model,
with the type's LOINC code, the date, the author, and the content attached by URL. What the caller
may not see is not exported."""

from __future__ import annotations

import msgspec
from fhir.resources.R4B.documentreference import DocumentReference

from ens.core import clock, db
from ens.documents.fhir import as_json, documents_as_fhir
from ens.spaces.caller import Caller
from ens.spaces.door import SpaceAccess, resolve_space
from tests.helpers.documents import LAB_REPORT, file_bytes, metadata, pdf, uploaded


async def _access(person) -> SpaceAccess:
    caller = Caller(
        kind="person",
        account_id=person.account_id,
        client_id="ens-mobile",
        grant_id=person.grant_id,
        scopes=frozenset({"space"}),
    )
    _, space, kind = await resolve_space(caller, "me", now=clock.now())
    assert space is not None and kind is not None
    return SpaceAccess(space=space, caller=caller, role="holder", kind=kind)


async def test_each_document_is_a_valid_document_reference(client, person, settings):
    lab = await uploaded(
        client,
        person.headers,
        pdf(2000),
        meta=metadata(typeCode=LAB_REPORT, date="2026-05-04", author="Laboratoire Biomed"),
    )
    scan = await uploaded(
        client, person.headers, file_bytes("png", 900), filename="ordonnance.png", meta=metadata(typeCode="57833-6")
    )
    references = await documents_as_fhir(await _access(person), public_url=settings.public_url)
    assert [r.id for r in references] == [lab["id"], scan["id"]]
    for reference in references:
        DocumentReference.model_validate_json(as_json(reference))
    first = msgspec.json.decode(as_json(references[0]))
    assert first["resourceType"] == "DocumentReference"
    assert first["status"] == "current"
    assert first["type"]["coding"] == [
        {"system": "http://loinc.org", "code": LAB_REPORT, "display": "Laboratory report"}
    ]
    assert first["subject"] == {"reference": f"urn:uuid:{person.space_id}"}
    assert first["author"] == [{"display": "Laboratoire Biomed"}]
    assert first["description"] == lab["title"]
    assert first["context"]["period"] == {"start": "2026-05-04", "end": "2026-05-04"}
    attachment = first["content"][0]["attachment"]
    assert attachment == {
        "contentType": "application/pdf",
        "url": f"{settings.public_url}{lab['contentUrl']}",
        "size": 2000,
        "title": "compte-rendu.pdf",
        "creation": "2026-05-04",
    }


async def test_a_document_held_back_from_the_holder_is_not_in_their_export(client, person, settings):
    kept = await uploaded(client, person.headers, pdf(100, seed=1))
    held = await uploaded(client, person.headers, pdf(100, seed=2))
    await db.fetch(
        "UPDATE documents SET hidden_from_holder = TRUE WHERE space_id = {} AND id = {}", person.space_id, held["id"]
    )
    references = await documents_as_fhir(await _access(person), public_url=settings.public_url)
    assert [r.id for r in references] == [kept["id"]]
