"""Moving a space with its documents' files (GET .../export?documents=embedded, then POST
.../import) keeps its promises, as an outside review of the first version found it did not: what
the holder hides during a representative's export is not sent, a document removed during the
export is left out (the Bundle stays JSON), a committed import answers 201 whatever its clean-up
meets, an erasure under an import is its 404, the import's memory is bounded (10,000 documents at
most), a file one byte over 20 MiB is refused, a full space's export comes back (the default
limits), and a holder's export comes back though it lists one person twice."""

from __future__ import annotations

import base64
import json
import types
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from ens.app import create_app
from ens.core import db
from tests.helpers.asgi import asgi_client
from tests.helpers.carers import court_measure
from tests.helpers.documents import folder_entries_naming, pdf, stored_paths, uploaded
from tests.helpers.records import contact

EMBEDDED = "/v1/spaces/me/export?documents=embedded"
FHIR = "application/fhir+json"
HIDE = {"hiddenFromRepresentatives": True}


async def _import(client, person, bundle: dict[str, Any], space: str = "me") -> Any:
    return await client.post(
        f"/v1/spaces/{space}/import",
        content=json.dumps(bundle).encode(),
        headers={**person.headers, "Content-Type": FHIR},
    )


async def _ledger(space_id) -> list[Any]:
    return await db.fetch("SELECT path FROM document_pending_objects WHERE space_id = {}", space_id)


# --- Emergency contacts: the holder's own export does not come back --------------------------------


async def test_a_holders_export_with_a_contact_a_representative_added_again_is_imported(client, make_person):
    """The holder hides Jean Martin; the guardian, who cannot see him, adds Jean Martin (allowed:
    the duplicate check looks only at what the caller sees). The holder's export holds both, and its
    import into an empty space of theirs brings both back (it was 409, a duplicate)."""
    holder, tutor = await make_person(given_name="Marie"), await make_person(given_name="Tuteur")
    await court_measure(holder, tutor, "tutelle")
    url = f"/v1/spaces/{holder.space_id}/emergency-contacts"
    assert (await client.post(url, json=contact("Jean", **HIDE), headers=holder.headers)).status_code == 201
    assert (await client.post(url, json=contact("Jean"), headers=tutor.headers)).status_code == 201
    exported = (await client.get(f"/v1/spaces/{holder.space_id}/export", headers=holder.headers)).json()
    newcomer = await make_person(given_name="Marie")
    answer = await _import(client, newcomer, exported)
    assert answer.status_code == 201, answer.text


# --- Import of documents ---------------------------------------------------------------------------


def test_a_file_one_byte_over_20_mib_is_refused_by_the_import_as_by_the_upload():
    """20 MiB is 2 modulo 3: a base64 text of the longest length a 20 MiB file makes holds one byte
    more, which the upload would refuse (413); so does the import."""
    from ens.core.errors import PayloadTooLarge
    from ens.documents.catalogue import MAX_DOCUMENT_BYTES
    from ens.documents.from_fhir import file_of

    over = pdf(MAX_DOCUMENT_BYTES + 1, seed=9)
    resource = {"content": [{"attachment": {"data": base64.b64encode(over).decode()}}]}
    with pytest.raises(PayloadTooLarge):
        file_of(resource)


def _tiny_reference(n: int) -> dict[str, Any]:
    return {
        "resource": {
            "resourceType": "DocumentReference",
            "status": "current",
            "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4"}]},
            "description": f"d{n}",
            "context": {"period": {"start": "2026-01-01"}},
            "content": [{"attachment": {"data": base64.b64encode(b"%PDF-1.7\n" + n.to_bytes(4, "big")).decode()}}],
        }
    }


async def test_an_import_holds_at_most_ten_thousand_documents_with_their_files(settings):
    """What the import keeps of each document carrying its file (about 500 bytes) stays until its
    transaction ends, and each file is written to the store before it: 1 GiB of tiny documents kept
    about 2 GiB (a review). Past MAX_DOCUMENTS the first reading refuses the Bundle, at the entry."""

    from ens.core.errors import Invalid
    from ens.overview.space_import import MAX_DOCUMENTS, _checked, _received

    count = MAX_DOCUMENTS + 1
    entries = ",".join(json.dumps(_tiny_reference(n), separators=(",", ":")) for n in range(count))
    body = ('{"resourceType":"Bundle","type":"collection","entry":[' + entries + "]}").encode()

    async def chunks() -> AsyncIterator[bytes]:
        yield body

    access = types.SimpleNamespace(role="holder", space=types.SimpleNamespace(timezone="Europe/Paris"))
    with await _received(chunks(), limit=len(body) + 1) as spool:
        with pytest.raises(Invalid) as refused:
            await _checked(access, spool)  # type: ignore[arg-type]
    assert [e.pointer for e in refused.value.errors] == [f"/entry/{MAX_DOCUMENTS}/resource"]


async def test_a_store_hiccup_after_the_import_committed_does_not_answer_500(
    client, make_person, settings, monkeypatch
):
    """After the transaction, the incoming copy of a file the space held already (the same content
    twice) is deleted. Should the store fail then, the import is done all the same: 201, as the
    upload answers (the copy stays in the ledger for ``ens purge``); it was 500, and the client's
    retry 409."""
    from ens.documents.storage import BlobStore

    source = await make_person("Source")
    for title in ("Original", "Copie"):
        await uploaded(
            client,
            source.headers,
            pdf(2_000, seed=11),
            meta={"typeCode": "11488-4", "title": title, "date": "2026-03-03"},
        )
    bundle = (await client.get(EMBEDDED, headers=source.headers)).json()
    newcomer = await make_person("Camille")
    real_delete = BlobStore.delete

    async def unreachable_for_incoming(self, path: str) -> None:
        if "/incoming/" in path:
            raise OSError("the store did not answer")
        await real_delete(self, path)

    monkeypatch.setattr(BlobStore, "delete", unreachable_for_incoming)
    answer = await _import(client, newcomer, bundle)
    monkeypatch.setattr(BlobStore, "delete", real_delete)
    listed = (await client.get("/v1/spaces/me/documents", headers=newcomer.headers)).json()["items"]
    assert len(listed) == 2  # committed
    assert answer.status_code == 201, answer.text


async def test_an_import_the_space_is_erased_under_is_a_404_and_leaves_nothing(client, person, settings, monkeypatch):
    """As the upload (test_an_upload_the_space_is_erased_under_is_a_404_and_leaves_nothing): the
    import writes its files to the store before its transaction; an erasure coming in between is
    the erasure's 404 (it was 500 on SQLite), and nothing of the import stays, not even a directory
    naming the space."""
    from ens.overview import space_import

    await uploaded(client, person.headers, pdf(3_000, seed=12))
    bundle = (await client.get(EMBEDDED, headers=person.headers)).json()
    removed = await client.get("/v1/spaces/me/documents", headers=person.headers)
    for item in removed.json()["items"]:
        assert (await client.delete(f"/v1/spaces/me/documents/{item['id']}", headers=person.headers)).status_code == 204
    staged = space_import._staged
    erased: list[int] = []

    async def then_erased(*args, **options):
        result = await staged(*args, **options)
        answer = await client.delete("/v1/spaces/me", params={"erase": "true"}, headers=person.headers)
        erased.append(answer.status_code)
        return result

    monkeypatch.setattr(space_import, "_staged", then_erased)
    answer = await _import(client, person, bundle)
    assert erased == [204]
    assert await stored_paths(settings, person.space_id) == []
    assert await _ledger(person.space_id) == []
    assert folder_entries_naming(settings, person.space_id) == []
    assert answer.status_code == 404, answer.text


async def test_an_embedded_export_of_a_full_space_can_be_imported_back(settings):
    """By default a space's documents may take ENS_DOCUMENT_QUOTA_BYTES (1 GiB) and base64 makes
    them a third larger: ENS_IMPORT_MAX_BYTES leaves room for that and the rest, so a full space's
    export comes back (with 1 GiB for both, a space past ~750 MiB of documents did not)."""
    from ens.core.settings import Settings

    defaults = {f.name: f.default for f in msgspec.structs.fields(Settings)}
    quota, most = defaults["document_quota_bytes"], defaults["import_max_bytes"]
    assert most >= 4 * -(-quota // 3) + 64 * 1024 * 1024, (quota, most)


async def test_a_full_space_at_the_default_ratio_of_the_limits_comes_back(settings, migrated, make_person):
    """The same, end to end, with the two limits scaled down in their default ratio."""
    from ens.core.settings import Settings

    defaults = {f.name: f.default for f in msgspec.structs.fields(Settings)}
    ratio = defaults["import_max_bytes"] / defaults["document_quota_bytes"]
    scaled = msgspec.structs.replace(settings, document_quota_bytes=150_000, import_max_bytes=int(150_000 * ratio))
    async with asgi_client(create_app(scaled), "http://testserver.local") as client:
        source = await make_person("Source")
        for seed in range(3):
            await uploaded(client, source.headers, pdf(45_000, seed=20 + seed), filename=f"{seed}.pdf")
        bundle = (await client.get(EMBEDDED, headers=source.headers)).json()
        newcomer = await make_person("Camille")
        answer = await _import(client, newcomer, bundle)
        assert answer.status_code == 201, answer.text


async def test_a_document_removed_while_its_file_streams_is_left_out_not_a_cut_export(client, person, settings):
    """A document removed while the export reads its file is read whole before its entry is
    written, or left out: the Bundle stays JSON (an export cut midway, for a deletion as ordinary as
    the holder's or a parent's, was not)."""
    from ens.documents.encryption import BLOCK_BYTES
    from ens.documents.storage import BlobStore
    from ens.overview.export import ExportScope, export_bundle, space_for_export

    kept = await uploaded(client, person.headers, pdf(1_000, seed=30))
    going = await uploaded(client, person.headers, pdf(3 * BLOCK_BYTES, seed=31))
    space = await space_for_export(person.space_id)
    assert space is not None
    scope = ExportScope(
        space=space, with_hidden=True, secret=settings.secret_key, blobs=BlobStore.from_settings(settings)
    )
    body = b""
    removed = False
    try:
        async for piece in export_bundle(scope):
            body += piece
            if not removed and piece.endswith(b'"data":"') and b'"id":"' + going["id"].encode() in piece:
                answer = await client.delete(f"/v1/spaces/me/documents/{going['id']}", headers=person.headers)
                assert answer.status_code == 204
                removed = True
    except Exception as exc:
        pytest.fail(f"the export was cut: {type(exc).__name__}: {exc}")
    assert removed
    bundle = json.loads(body)
    ids = {e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference"}
    assert kept["id"] in ids


# --- Export that carries the files -----------------------------------------------------------------


async def test_a_document_hidden_while_a_representatives_export_streams_is_not_sent_to_them(
    client, make_person, settings
):
    """The embedded export writes the files at the reader's pace (a representative who reads
    slowly holds a batch of rows as long as they like): each document is read again, by the rule of
    who sees it, just before its file, so one the holder hides from the representatives meanwhile
    is not sent to them (it was, file and all)."""
    from ens.documents.encryption import BLOCK_BYTES
    from ens.documents.storage import BlobStore
    from ens.overview.export import ExportScope, export_bundle, space_for_export

    holder, tutor = await make_person(given_name="Marie"), await make_person(given_name="Tuteur")
    await court_measure(holder, tutor, "tutelle")
    meta = {"typeCode": "11488-4", "title": "Compte rendu", "date": "2026-03-03"}
    first = await uploaded(client, holder.headers, pdf(2 * BLOCK_BYTES, seed=40), meta=meta)
    later = await uploaded(client, holder.headers, pdf(1_000, seed=41), meta={**meta, "date": "2025-01-02"})
    space = await space_for_export(holder.space_id)
    assert space is not None
    # What the route gives a representative: ExportScope(with_hidden=access.sees_confidential=False).
    scope = ExportScope(
        space=space, with_hidden=False, secret=settings.secret_key, blobs=BlobStore.from_settings(settings)
    )
    body = b""
    hidden = False
    async for piece in export_bundle(scope):
        body += piece
        if not hidden and piece.endswith(b'"data":"') and first["id"].encode() in piece:
            # The guardian's client is reading the first file; the holder hides the second one.
            answer = await client.patch(
                f"/v1/spaces/{holder.space_id}/documents/{later['id']}", json=HIDE, headers=holder.headers
            )
            assert answer.status_code == 200, answer.text
            hidden = True
    assert hidden
    sent = {
        e["resource"]["id"] for e in json.loads(body)["entry"] if e["resource"]["resourceType"] == "DocumentReference"
    }
    assert first["id"] in sent
    assert later["id"] not in sent


@pytest.mark.parametrize("escaped", [False, True])
async def test_a_text_longer_than_an_exports_is_refused_before_the_parser_holds_it(escaped: bool) -> None:
    """The parser builds a text whole before the shape's reading sees it: one string of the whole
    import's size was held twice over before it was refused (a review). The run since the last
    quote is watched as the body is read: a text past MAX_ENTRY_TEXT is refused there, escaped
    quotes inside it (at the reader's piece boundaries too) changing nothing."""
    import tracemalloc

    from ens.core.errors import Invalid
    from ens.overview.space_import import LONG_READ_SIZE, MAX_ENTRY_TEXT, _check_shape, _received

    size = MAX_ENTRY_TEXT + 2 * LONG_READ_SIZE
    if escaped:  # an escaped quote every piece, a backslash ending some pieces
        step = LONG_READ_SIZE // 2
        text = b"".join(b"A" * (step - 2) + b'\\"' for _ in range(size // step))
    else:
        text = b"A" * size
    body = b'{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Basic","x":"' + text
    body += b'"}}]}'

    async def chunks() -> AsyncIterator[bytes]:
        yield body

    with await _received(chunks(), limit=len(body) + 1) as spool:
        tracemalloc.start()
        with pytest.raises(Invalid) as refused:
            await _check_shape(spool)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert [e.pointer for e in refused.value.errors] == [""]
    assert "longer than an export's" in refused.value.detail
    assert peak < 3 * LONG_READ_SIZE  # the text never held by Python


async def test_the_longest_text_an_export_writes_is_read() -> None:
    """A 20 MiB file in base64 (the longest text an export writes) passes the watch."""
    from ens.documents.catalogue import MAX_DOCUMENT_BYTES
    from ens.overview.space_import import _check_shape, _received

    data = base64.b64encode(b"\xfb" * MAX_DOCUMENT_BYTES)
    body = b'{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Basic","x":"'
    body += data + b'"}}]}'

    async def chunks() -> AsyncIterator[bytes]:
        yield body

    with await _received(chunks(), limit=len(body) + 1) as spool:
        await _check_shape(spool)
