"""Moving a space with its documents' files (GET .../export?documents=embedded, then POST
.../import) keeps its promises, as an outside review of the first version found it did not: what
the holder hides during a representative's export is not sent, a document removed during the
export is left out (the Bundle stays JSON), a committed import answers 201 whatever its clean-up
meets, an erasure under an import is its 404, the import's memory is bounded (10,000 documents at
most), a file one byte over 20 MiB is refused, a full space's export comes back (the default
limits), and a holder's export comes back though it lists one person twice."""

from __future__ import annotations

import base64
import itertools
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
from tests.helpers.documents import folder_entries_naming, metadata, pdf, stored_paths, uploaded
from tests.helpers.export_stream import export_acting_during_first_file
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


async def _refused_at_first_reading(entries: list[str]) -> Any:
    """The refusal of the import's first reading (no database) of a Bundle of ``entries``."""
    from ens.core.errors import Invalid
    from ens.overview.space_import import _checked, _received

    body = ('{"resourceType":"Bundle","type":"collection","entry":[' + ",".join(entries) + "]}").encode()

    async def chunks() -> AsyncIterator[bytes]:
        yield body

    access = types.SimpleNamespace(role="holder", space=types.SimpleNamespace(timezone="Europe/Paris", birthdate=None))
    with await _received(chunks(), limit=len(body) + 1) as spool:
        with pytest.raises(Invalid) as refused:
            await _checked(access, spool)  # type: ignore[arg-type]
    return refused.value


async def test_an_import_holds_at_most_ten_thousand_documents_with_their_files(monkeypatch):
    """What the import keeps of each document carrying its file (about 500 bytes) stays until its
    transaction ends, and each file is written to the store before it: 1 GiB of tiny documents kept
    about 2 GiB (a review). Past MAX_DOCUMENTS (10,000; 3 here) the first reading refuses the
    Bundle, at the entry, naming it once (it said "entry 3: entry 3: ...")."""
    from ens.overview import space_import

    assert space_import.MAX_DOCUMENTS == 10_000
    monkeypatch.setattr(space_import, "MAX_DOCUMENTS", 3)
    refused = await _refused_at_first_reading([json.dumps(_tiny_reference(n)) for n in range(4)])
    assert [e.pointer for e in refused.errors] == ["/entry/3/resource"]
    assert refused.detail.count("entry 3:") == 1, refused.detail


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


async def test_a_document_removed_before_its_file_is_left_out_and_during_it_ends_the_export(client, person, settings):
    """The files stream as downloads do, never held whole (held whole, 20 MiB stayed pinned for as
    long as a client took to read them: a review). A document removed before its file begins is
    left out, the Bundle whole; one removed while its file streams ends the export there, as a
    download ends (the route's history then says 500 beside 200: test_an_export_cut_short_says_so_in_the_history),
    and the export is done again."""
    from ens.core.errors import NotFound
    from ens.documents.encryption import BLOCK_BYTES
    from ens.documents.storage import BlobStore
    from ens.overview.export import ExportScope, export_bundle, space_for_export

    newest = await uploaded(client, person.headers, pdf(1_000, seed=30), meta=metadata(date="2026-05-04"))
    before = await uploaded(client, person.headers, pdf(1_000, seed=32), meta=metadata(date="2025-05-04"))
    space = await space_for_export(person.space_id)
    assert space is not None
    scope = ExportScope(
        space=space, with_hidden=True, secret=settings.secret_key, blobs=BlobStore.from_settings(settings)
    )
    body = b""
    async for piece in export_bundle(scope):
        body += piece
        if piece.endswith(b'"data":"') and newest["id"].encode() in piece:
            # The newest's file begins; the one after it is removed before its own.
            assert (
                await client.delete(f"/v1/spaces/me/documents/{before['id']}", headers=person.headers)
            ).status_code == 204
    ids = {
        e["resource"]["id"] for e in json.loads(body)["entry"] if e["resource"]["resourceType"] == "DocumentReference"
    }
    assert ids == {newest["id"]}

    going = await uploaded(client, person.headers, pdf(3 * BLOCK_BYTES, seed=31))
    cut = b""
    with pytest.raises(NotFound):
        async for piece in export_bundle(scope):
            cut += piece
            if piece.endswith(b'"data":"') and going["id"].encode() in piece:
                gone = await client.delete(f"/v1/spaces/me/documents/{going['id']}", headers=person.headers)
                assert gone.status_code == 204
    assert going["id"].encode() in cut  # its entry had begun
    with pytest.raises(ValueError):
        json.loads(cut)


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


async def test_an_embedded_export_a_slow_client_reads_holds_little_of_the_file(client, person, settings):
    """A file streams 1 MiB at a time, as a download does: a client that reads slowly, or stops,
    pins about that much of it, not the whole file (a version read each file whole, and 20 MiB
    stayed for as long as the client took: a review)."""
    import gc
    import tracemalloc

    from ens.documents.storage import BlobStore
    from ens.overview.export import ExportScope, export_bundle, space_for_export

    size = 6 * 1024 * 1024
    await uploaded(client, person.headers, pdf(size, seed=52))
    space = await space_for_export(person.space_id)
    assert space is not None
    gc.collect()
    tracemalloc.start()
    export = export_bundle(
        ExportScope(space=space, with_hidden=True, secret=settings.secret_key, blobs=BlobStore.from_settings(settings))
    )
    try:
        async for piece in export:
            if piece.endswith(b'"data":"'):
                break  # the client stops reading as the file's entry begins
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
        await export.aclose()
    assert held < 2 * 1024 * 1024, f"{held / 2**20:.1f} MiB held for a client that stopped reading"


async def test_a_representative_whose_right_ends_during_the_export_gets_no_more_files(app, client, make_person):
    """The right of a representative may end during their export (an operator ends the court
    measure; a child's 18th birthday). Before each batch and each file the export asks the door's
    question again: the guardian whose measure ended while the first file streamed receives nothing
    more, the export ending there (they had received the next document, file and all: a review)."""

    from ens.spaces.representatives import end_court_measure

    holder, tutor = await make_person(given_name="Marie"), await make_person(given_name="Tuteur")
    measure = await court_measure(holder, tutor, "tutelle")
    meta = {"typeCode": "11488-4", "title": "Compte rendu", "date": "2026-03-03"}
    first = await uploaded(client, holder.headers, pdf(200_000, seed=60), meta=meta)
    later = await uploaded(client, holder.headers, pdf(1_000, seed=61), meta={**meta, "date": "2025-01-02"})

    read = await export_acting_during_first_file(
        app,
        tutor.headers,
        holder.space_id,
        first["id"],
        lambda: end_court_measure(holder.space_id, measure, reason="TJ Paris, mainlevée"),
    )
    body = read.body
    assert read.status == [200] and read.acted
    assert read.error is not None and "after response started" in str(read.error)  # the export ends there
    # The right has ended: the door now refuses the guardian.
    assert (await client.get(f"/v1/spaces/{holder.space_id}", headers=tutor.headers)).status_code in (403, 404)
    assert first["id"].encode() in body and later["id"].encode() not in body
    with pytest.raises(ValueError):
        json.loads(bytes(body))  # ended there


async def test_an_import_holds_at_most_fifty_thousand_items_other_than_measures():
    """The first reading keeps what tells two items apart (a digest of each one's fullUrl) for
    every item other than a measure: without a bound, a Bundle of small entries kept more than its
    own size (a review). Past MAX_ITEMS it is refused at the entry."""
    from ens.overview.space_import import MAX_ITEMS

    entries = [f'{{"fullUrl":"{n:x}","resource":{{"resourceType":"Basic"}}}}' for n in range(MAX_ITEMS + 1)]
    refused = await _refused_at_first_reading(entries)
    assert [e.pointer for e in refused.errors] == [f"/entry/{MAX_ITEMS}"]


async def test_the_export_begins_before_the_directives_are_printed_and_prints_them_one_at_a_time(
    client, person, settings, monkeypatch
):
    """Every version of the directives was printed before the export's first byte (seconds apiece
    for long notes: 23 versions took 86 s, an outside audit), so a proxy's 60 s gave up on an export
    that had sent nothing, and every PDF was held at once. The records leave first; each version is
    printed when its turn comes, after the one before it has been sent, and the caller's right is
    asked again before each."""
    from ens.overview.export import ExportScope, export_bundle, space_for_export
    from ens.records import directives_pdf
    from ens.records.fhir import to_fhir
    from tests.helpers.records import DIRECTIVES, structured

    etag = None
    for situation in ("not_ill", "ill", "not_ill"):
        written = await client.put(
            DIRECTIVES,
            json=structured(situation=situation),
            headers={**person.headers, **({"If-Match": etag} if etag else {})},
        )
        assert written.status_code in (200, 201), written.text
        etag = written.headers["etag"]
    printed: list[int] = []
    render = directives_pdf.render_directives

    def counted(directives: Any, **kwargs: Any) -> bytes:
        printed.append(directives.version)
        return render(directives, **kwargs)

    monkeypatch.setattr(to_fhir, "render_directives", counted)
    asked = 0

    async def still_admitted() -> bool:
        nonlocal asked
        asked += 1
        return True

    space = await space_for_export(person.space_id)
    assert space is not None
    scope = ExportScope(space=space, with_hidden=True, secret=settings.secret_key, still_admitted=still_admitted)
    pieces: list[tuple[bytes, list[int], int]] = []
    async for piece in export_bundle(scope):
        pieces.append((piece, list(printed), asked))
    first, printed_then, _ = pieces[0]
    assert b'"resourceType":"Patient"' in first and printed_then == []
    consents = [(printed_then, asked_then) for piece, printed_then, asked_then in pieces if b'"Consent"' in piece]
    assert [printed_then for printed_then, _ in consents] == [[1], [1, 2], [1, 2, 3]]
    assert [b - a for (_, a), (_, b) in itertools.pairwise(consents)] == [1, 1]
    bundle = json.loads(b"".join(piece for piece, _, _ in pieces))
    versions = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Consent"]
    assert [v["status"] for v in versions] == ["inactive", "inactive", "active"]
    assert all(v["sourceAttachment"]["contentType"] == "application/pdf" for v in versions)
