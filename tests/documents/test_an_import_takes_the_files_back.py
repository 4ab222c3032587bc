"""POST .../import of an export that carries the files (documents=embedded): each document comes
back, checked as an upload is, with its file, its words and who it is hidden from; all or nothing,
and nothing left in the store or the ledger of pending objects when the import keeps nothing. A
linked export's documents are not imported, and the answer says why."""

from __future__ import annotations

import base64
import json
from typing import Any

import msgspec
import pytest

from ens.app import create_app
from ens.core import db
from tests.helpers.asgi import asgi_client
from tests.helpers.carers import court_measure
from tests.helpers.documents import LAB_REPORT, file_bytes, metadata, pdf, stored_paths, uploaded

EMBEDDED = "/v1/spaces/me/export?documents=embedded"
IMPORT = "/v1/spaces/me/import"
FHIR = "application/fhir+json"
SHOWN = ("typeCode", "typeLabel", "title", "date", "author", "mediaType", "size", "filename")
FLAGS = ("hiddenFromProfessionals", "hiddenFromRepresentatives")


async def _documents(client, person) -> list[dict[str, Any]]:
    listed = await client.get("/v1/spaces/me/documents?limit=100", headers=person.headers)
    assert listed.status_code == 200, listed.text
    return sorted(listed.json()["items"], key=lambda d: d["title"])


async def _import(client, person, bundle: dict[str, Any]) -> Any:
    return await client.post(
        IMPORT, content=json.dumps(bundle).encode(), headers={**person.headers, "Content-Type": FHIR}
    )


async def _nothing_kept(client, person, settings) -> None:
    assert await _documents(client, person) == []
    assert await stored_paths(settings, person.space_id) == []
    pending = await db.fetch("SELECT path FROM document_pending_objects WHERE space_id = {}", person.space_id)
    assert pending == []


def _references(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference"]


async def _exported(client, make_person, *files: tuple[bytes, str, dict[str, Any]]) -> dict[str, Any]:
    """The embedded export of a new space holding ``files`` (content, file name, metadata changes)."""
    holder = await make_person("Source")
    for content, name, changes in files:
        await uploaded(client, holder.headers, content, filename=name, meta=metadata(**changes))
    answer = await client.get(EMBEDDED, headers=holder.headers)
    assert answer.status_code == 200
    exported: dict[str, Any] = answer.json()
    return exported


async def test_the_documents_come_back_with_their_files(client, make_person, settings):
    files: list[tuple[bytes, str, dict[str, Any]]] = [
        (pdf(70_000, seed=1), "bilan.pdf", {"title": "Bilan", "typeCode": LAB_REPORT, "author": "Laboratoire Biomed"}),
        (file_bytes("png", 900, seed=2), "ordonnance.png", {"title": "Ordonnance", "hiddenFromProfessionals": True}),
        (pdf(500, seed=3), "secret.pdf", {"title": "Secret", "hiddenFromRepresentatives": True}),
        # The same file twice: one copy in the store, as an upload keeps it.
        (pdf(500, seed=3), "copie.pdf", {"title": "Copie", "date": "2025-11-02"}),
    ]
    source = await make_person("Source")
    for content, name, changes in files:
        await uploaded(client, source.headers, content, filename=name, meta=metadata(**changes))
    bundle = (await client.get(EMBEDDED, headers=source.headers)).json()
    newcomer = await make_person("Camille")
    answer = await _import(client, newcomer, bundle)
    assert answer.status_code == 201, answer.text
    assert answer.json()["imported"]["DocumentReference"] == 4
    assert "DocumentReference" not in {item["resourceType"] for item in answer.json()["notImported"]}

    before, after = await _documents(client, source), await _documents(client, newcomer)
    assert [{k: d[k] for k in SHOWN + FLAGS} for d in after] == [{k: d[k] for k in SHOWN + FLAGS} for d in before]
    assert {d["addedBy"]["role"] for d in after} == {"holder"}
    by_title = {changes["title"]: content for content, _, changes in files}
    for document in after:
        file = await client.get(document["contentUrl"], headers=newcomer.headers)
        assert file.status_code == 200 and file.content == by_title[document["title"]]
    objects = [p for p in await stored_paths(settings, newcomer.space_id) if "/objects/" in p]
    assert len(objects) == 3 and [p for p in await stored_paths(settings, newcomer.space_id) if "/incoming/" in p] == []
    assert await db.fetch("SELECT path FROM document_pending_objects WHERE space_id = {}", newcomer.space_id) == []


async def test_a_linked_exports_documents_are_not_imported_and_the_answer_says_why(client, make_person):
    source = await make_person("Source")
    await uploaded(client, source.headers, pdf(800, seed=4))
    linked = (await client.get("/v1/spaces/me/export", headers=source.headers)).json()
    newcomer = await make_person("Camille")
    answer = await _import(client, newcomer, linked)
    assert answer.status_code == 201, answer.text
    [left] = [item for item in answer.json()["notImported"] if item["resourceType"] == "DocumentReference"]
    assert left["count"] == 1 and "documents=embedded" in left["reason"]
    assert await _documents(client, newcomer) == []


def _changed(bundle: dict[str, Any], change: Any) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(bundle))
    change(_references(copy)[0])
    return copy


def _attachment(reference: dict[str, Any]) -> dict[str, Any]:
    attachment: dict[str, Any] = reference["content"][0]["attachment"]
    return attachment


@pytest.mark.parametrize(
    ("change", "where", "words"),
    [
        (lambda r: _attachment(r).update(data="not base64!"), "content.attachment", "not base64"),
        (
            lambda r: _attachment(r).update(data=base64.b64encode(b"plain text").decode()),
            "content.attachment",
            "not a PDF",
        ),
        (lambda r: _attachment(r).update(size=12), "content.attachment", "its size says 12"),
        (lambda r: _attachment(r).update(contentType="image/png"), "content.attachment", "contentType says image/png"),
        (lambda r: r.update(description=""), "description", ""),
        (lambda r: r["type"]["coding"][0].update(code="00000-0"), "type.coding", "unknown document type"),
        (lambda r: r["context"]["period"].update(start="2999-01-01"), "context.period.start", "today"),
        (lambda r: r["context"]["period"].update(start="1950-01-01"), "context.period.start", "holder's birth"),
        (lambda r: r.update(status="entered-in-error"), "DocumentReference.status", "current"),
        (lambda r: r.update(securityLabel=[{"text": "N"}]), "DocumentReference.securityLabel", "not kept"),
        # The attachment's own elements the export does not write: a hash that does not match the
        # file (it was changed) had been taken without a word (an outside audit of data portability).
        (
            lambda r: _attachment(r).update(hash=base64.b64encode(b"x" * 20).decode()),
            "DocumentReference.content[0].attachment.hash",
            "not kept",
        ),
        (
            lambda r: _attachment(r).update(language="en"),
            "DocumentReference.content[0].attachment.language",
            "not kept",
        ),
    ],
)
async def test_a_changed_document_is_refused_and_nothing_is_kept(client, make_person, settings, change, where, words):
    bundle = await _exported(client, make_person, (pdf(900, seed=5), "a.pdf", {}), (pdf(950, seed=6), "b.pdf", {}))
    newcomer = await make_person("Camille")
    answer = await _import(client, newcomer, _changed(bundle, change))
    assert answer.status_code in (413, 415, 422), answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    [error] = answer.json()["errors"]
    index = next(i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "DocumentReference")
    assert error["pointer"] == f"/entry/{index}/resource"
    assert where in error["detail"] and words in error["detail"]
    await _nothing_kept(client, newcomer, settings)


async def test_a_refusal_after_the_files_were_staged_leaves_none_behind(client, make_person, settings):
    """The files are written before the import's transaction; an entry refused in it (a second
    médecin traitant) keeps nothing, and the copies go."""
    bundle = await _exported(client, make_person, (pdf(900, seed=7), "a.pdf", {}))
    doctor = {"resourceType": "Practitioner", "id": "d1", "name": [{"family": "Martin", "given": ["Paul"]}]}
    bundle["entry"] += [{"fullUrl": f"urn:uuid:{n}", "resource": {**doctor, "id": n}} for n in ("d1", "d2")]
    newcomer = await make_person("Camille")
    answer = await _import(client, newcomer, bundle)
    assert answer.status_code == 422 and "médecin traitant" in answer.text
    await _nothing_kept(client, newcomer, settings)


async def test_a_representative_imports_no_document_hidden_from_representatives(client, make_person, settings):
    bundle = await _exported(client, make_person, (pdf(600, seed=8), "a.pdf", {"hiddenFromRepresentatives": True}))
    ward, tutor = await make_person("Marie"), await make_person("Tuteur")
    await court_measure(ward, tutor, "tutelle")
    answer = await client.post(
        f"/v1/spaces/{ward.space_id}/import",
        content=json.dumps(bundle).encode(),
        headers={**tutor.headers, "Content-Type": FHIR},
    )
    assert answer.status_code == 403, answer.text
    await _nothing_kept(client, ward, settings)


async def test_files_past_the_quota_are_refused_before_any_is_written(settings, migrated, make_person):
    small = msgspec.structs.replace(settings, document_quota_bytes=10_000)
    async with asgi_client(create_app(small), "http://testserver.local") as client:
        source = await make_person("Source")
        for seed in (1, 2):
            await uploaded(client, source.headers, pdf(4_000, seed=seed), filename=f"{seed}.pdf")
        bundle = (await client.get(EMBEDDED, headers=source.headers)).json()
        empty = await make_person("Élise")
        fits = await _import(client, empty, bundle)
        assert fits.status_code == 201, fits.text
        over = _changed(bundle, lambda r: None)
        third = json.loads(json.dumps(_references(bundle)[0]))
        third["id"] = "another"
        third["content"][0]["attachment"].update(data=base64.b64encode(pdf(4_000, seed=3)).decode())
        over["entry"].append({"fullUrl": "urn:uuid:another", "resource": third})
        late = await make_person("Fanny")
        refused = await _import(client, late, over)
        assert refused.status_code == 413 and refused.json()["type"] == "urn:ens:problem:quota-exceeded"
        await _nothing_kept(client, late, small)


async def test_a_long_text_is_read_in_long_pieces() -> None:
    """The parser scans a text again from its start at each read (a 20 MiB file cost 2 s a reading
    in 64 KiB pieces): inside one, a piece without a quote, the body is read 1 MiB at a time."""
    import io

    from ens.overview.space_import import LONG_READ_SIZE, READ_SIZE, _Reader

    body = b'{"a":"' + b"A" * (3 * LONG_READ_SIZE) + b'","b":' + b'["x",' * 50_000 + b"1]}"
    reader = _Reader(io.BytesIO(body))
    sizes = []
    while piece := await reader.read(LONG_READ_SIZE):
        sizes.append(len(piece))
    # The first piece holds the text's opening quote; from the second one, long pieces.
    assert sizes[:4] == [READ_SIZE, READ_SIZE, LONG_READ_SIZE, LONG_READ_SIZE]
    # Once a piece holds a quote, short pieces again.
    assert sizes[-2:] == [READ_SIZE, sizes[-1]] and sizes.count(LONG_READ_SIZE) == 3
