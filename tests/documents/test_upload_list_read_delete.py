"""A holder adds documents, lists them (filters, pages), reads one, downloads it, removes it; the
content is encrypted in the store, the same file twice is stored once, another space's copy shares
nothing."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from urllib.parse import unquote

import httpx
import pytest

from ens.core import clock, db
from ens.documents.encryption import stored_size
from tests.helpers.carers import consent_until, court_measure
from tests.helpers.documents import (
    CONSULTATION,
    IMAGING,
    LAB_REPORT,
    META,
    file_bytes,
    form_body,
    form_headers,
    metadata,
    pdf,
    stored_paths,
    upload,
    uploaded,
)


async def test_a_pdf_is_added_read_and_downloaded_as_sent(client, person, settings):
    content = pdf(150_000)
    added = await uploaded(client, person.headers, content, filename="Compte rendu é.pdf")
    assert added["typeCode"] == CONSULTATION
    assert added["typeLabel"] == "Compte rendu de consultation"
    assert added["title"] == "Consultation du 3 mars"
    assert added["date"] == "2026-03-03"
    assert added["mediaType"] == "application/pdf"
    assert added["filename"] == "Compte rendu é.pdf"
    assert added["size"] == 150_000
    assert added["author"] == f"{person.given_name} {person.family_name}"
    assert added["addedBy"] == {
        "role": "holder",
        "name": f"{person.given_name} {person.family_name}",
        "clientId": "ens-mobile",
    }
    assert added["hiddenFromProfessionals"] is False
    assert added["hiddenFromRepresentatives"] is False
    assert added["contentUrl"] == f"/v1/spaces/{person.space_id}/documents/{added['id']}/content"

    one = await client.get(f"/v1/spaces/me/documents/{added['id']}", headers=person.headers)
    assert one.status_code == 200
    assert one.json() == added
    assert one.headers["etag"]

    download = await client.get(added["contentUrl"], headers=person.headers)
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-length"] == "150000"
    assert download.headers["accept-ranges"] == "bytes"
    assert "content-encoding" not in download.headers
    assert download.headers["cache-control"] == "no-store"  # no disk cache keeps a health document
    assert download.headers.get_list("x-content-type-options") == ["nosniff"]
    disposition = download.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Compte rendu _.pdf"')
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "Compte rendu é.pdf"
    again = await client.get(added["contentUrl"], headers={**person.headers, "If-None-Match": download.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""

    # At rest: one object, encrypted (its bytes are not the file's), the size the blocks make.
    paths = await stored_paths(settings, person.space_id)
    assert len(paths) == 1 and "/objects/" in paths[0]
    from ens.documents.storage import BlobStore

    stored = await BlobStore.from_settings(settings).read(paths[0])
    assert len(stored) == stored_size(150_000)
    assert content[1000:1100] not in stored


async def test_jpeg_and_png_are_taken_and_named_for_what_their_bytes_are(client, person):
    jpeg = await uploaded(client, person.headers, file_bytes("jpeg", 5000), filename="radio.JPG")
    png = await uploaded(client, person.headers, file_bytes("png", 5000), filename="scan")
    assert jpeg["mediaType"] == "image/jpeg"
    assert png["mediaType"] == "image/png"
    # A name that claims no format of the three is offered with the one its bytes are (a PNG named
    # x.html was offered as x.html, which a browser opens as a web page once saved: an outside audit).
    assert png["filename"] == "scan.png"
    nameless = await uploaded(client, person.headers, file_bytes("png", 100), filename="../../")
    assert nameless["filename"] == "document.png"
    page = await uploaded(client, person.headers, file_bytes("png", 100), filename="x.html")
    assert page["filename"] == "x.html.png"
    program = await uploaded(client, person.headers, pdf(300, seed=5), filename="a.pdf.exe")
    assert program["filename"] == "a.pdf.exe.pdf"
    download = await client.get(f"/v1/spaces/me/documents/{page['id']}/content", headers=person.headers)
    assert 'filename="x.html.png"' in download.headers["content-disposition"]


@pytest.mark.parametrize(
    ("sent", "named"),
    [
        ("bilan.pdf.", "bilan.pdf"),  # was bilan.pdf..pdf
        ("bilan.pdf . ", "bilan.pdf"),
        ("\u200b\u200b.pdf", "document.pdf"),  # was pdf.pdf: a name that is only an extension
        (".pdf", "document.pdf"),
        ("..pdf", "document.pdf"),
        (".bilan.pdf", "bilan.pdf"),
    ],
)
async def test_a_name_of_only_an_extension_or_with_trailing_dots_is_offered_as_a_person_would_name_it(
    client, person, sent, named
):
    """Trailing dots and spaces, which no file system keeps at the end of a name (Windows drops
    them), and a name that was only an extension once what shows nothing was taken out, were
    offered as "bilan.pdf..pdf" and "pdf.pdf" (an outside audit of the documents)."""
    added = await uploaded(client, person.headers, pdf(300, seed=6), filename=sent)
    assert added["filename"] == named


async def test_the_list_is_newest_care_first_filtered_and_paged(client, person):
    made = []
    for index, (code, day) in enumerate(
        [(CONSULTATION, "2026-01-10"), (LAB_REPORT, "2026-02-10"), (IMAGING, "2026-03-10"), (LAB_REPORT, "2026-04-10")]
    ):
        made.append(
            await uploaded(client, person.headers, pdf(300, seed=index), meta=metadata(typeCode=code, date=day))
        )
    listed = await client.get("/v1/spaces/me/documents", headers=person.headers)
    assert [d["date"] for d in listed.json()["items"]] == ["2026-04-10", "2026-03-10", "2026-02-10", "2026-01-10"]
    labs = await client.get("/v1/spaces/me/documents", params={"type": LAB_REPORT}, headers=person.headers)
    assert [d["date"] for d in labs.json()["items"]] == ["2026-04-10", "2026-02-10"]
    window = await client.get(
        "/v1/spaces/me/documents", params={"since": "2026-02-10", "until": "2026-04-10"}, headers=person.headers
    )
    assert [d["date"] for d in window.json()["items"]] == ["2026-03-10", "2026-02-10"]

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/spaces/me/documents", params=params, headers=person.headers)).json()
        seen += [d["id"] for d in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == [d["id"] for d in reversed(made)]

    # Bounds that do not meet are a mistake told as one, not an empty list taken for no documents.
    inverted = [{"since": "2026-04-10", "until": "2026-02-10"}, {"since": "2026-04-10", "until": "2026-04-10"}]
    for bad in (
        {"type": "12345-6"},
        {"since": "2026-13-01"},
        {"until": "yesterday"},
        {"cursor": "forged.cursor"},
        *inverted,
    ):
        refused = await client.get("/v1/spaces/me/documents", params=bad, headers=person.headers)
        assert refused.status_code == 400, bad
        assert refused.headers["content-type"] == "application/problem+json"


async def test_removing_a_document_removes_its_content_unless_another_holds_it(client, person, settings):
    content = pdf(70_000, seed=7)
    first = await uploaded(client, person.headers, content)
    second = await uploaded(client, person.headers, content, meta=metadata(title="Le même, encore"))
    assert len(await stored_paths(settings, person.space_id)) == 1  # the same content, stored once

    stale = await client.delete(f"/v1/spaces/me/documents/{first['id']}", headers={**person.headers, "If-Match": '"x"'})
    assert stale.status_code == 412
    removed = await client.delete(f"/v1/spaces/me/documents/{first['id']}", headers=person.headers)
    assert removed.status_code == 204
    assert (await client.get(f"/v1/spaces/me/documents/{first['id']}", headers=person.headers)).status_code == 404
    kept = await client.get(second["contentUrl"], headers=person.headers)
    assert kept.content == content
    assert len(await stored_paths(settings, person.space_id)) == 1

    assert (await client.delete(f"/v1/spaces/me/documents/{second['id']}", headers=person.headers)).status_code == 204
    assert await stored_paths(settings, person.space_id) == []
    assert (await client.get(second["contentUrl"], headers=person.headers)).status_code == 404


async def test_a_representative_who_may_change_the_data_removes_a_document_and_a_curator_may_not(
    client, person, make_person, settings
):
    tutor, curator = await make_person("Tuteur"), await make_person("Curateur")
    await court_measure(person, tutor, "tutelle")
    consented = await court_measure(person, curator, "curatelle")
    await consent_until(person, consented, clock.now() + timedelta(days=30))
    space = person.space_id
    first = await uploaded(client, person.headers, pdf(900, seed=12))
    second = await uploaded(client, person.headers, pdf(900, seed=13))
    documents = f"/v1/spaces/{space}/documents"

    # The curator reads (curatelle: assistance, with the holder's consent), and removes nothing.
    assert (await client.get(f"{documents}/{first['id']}", headers=curator.headers)).status_code == 200
    refused = await client.delete(f"{documents}/{first['id']}", headers=curator.headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert (await client.get(f"{documents}/{first['id']}", headers=person.headers)).status_code == 200

    # The tutor (tutelle: represents the holder) removes it, its content with it.
    assert (await client.delete(f"{documents}/{first['id']}", headers=tutor.headers)).status_code == 204
    assert (await client.get(f"{documents}/{first['id']}", headers=person.headers)).status_code == 404
    listed = (await client.get("/v1/spaces/me/documents", headers=person.headers)).json()["items"]
    assert [d["id"] for d in listed] == [second["id"]]
    assert len(await stored_paths(settings, space)) == 1


async def test_the_same_file_in_two_spaces_shares_nothing(client, make_person, settings):
    alice, bruno = await make_person("Alice"), await make_person("Bruno")
    content = pdf(10_000, seed=3)
    await uploaded(client, alice.headers, content)
    await uploaded(client, bruno.headers, content)
    (alice_path,), (bruno_path,) = (
        await stored_paths(settings, alice.space_id),
        await stored_paths(settings, bruno.space_id),
    )
    assert alice_path.rsplit("/", 1)[1] != bruno_path.rsplit("/", 1)[1]
    rows = await db.fetch(
        "SELECT object_name, content_id FROM documents WHERE space_id IN ({}, {})", alice.space_id, bruno.space_id
    )
    assert len({row["object_name"] for row in rows}) == 2


async def test_a_retried_upload_with_its_idempotency_key_adds_one_document(client, person):
    key = {"Idempotency-Key": f"upload-{uuid.uuid4()}"}
    content = pdf(3 * 1024 * 1024, seed=11)  # past the global body limit: the key's body is spooled
    first = await upload(client, person.headers, content, extra_headers=key)
    again = await upload(client, person.headers, content, extra_headers=key)
    assert first.status_code == 201, first.text
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    listed = (await client.get("/v1/spaces/me/documents", headers=person.headers)).json()["items"]
    assert [d["id"] for d in listed] == [first.json()["id"]]


async def test_a_retry_drawing_a_new_boundary_is_the_same_upload(client, person):
    """HTTP clients draw a new multipart boundary for each try: a retry is known by its parts."""
    key = {"Idempotency-Key": f"upload-{uuid.uuid4()}"}
    meta = json.dumps(META).encode()

    async def send(boundary: str, content: bytes) -> httpx.Response:
        parts = [("file", "compte-rendu.pdf", content), ("metadata", None, meta)]
        answer: httpx.Response = await client.post(
            "/v1/spaces/me/documents",
            content=form_body(parts, boundary=boundary),
            headers=form_headers({**person.headers, **key}, boundary=boundary),
        )
        return answer

    first = await send("boundary-of-the-first-try", pdf(5000, seed=3))
    assert first.status_code == 201, first.text
    again = await send("another-boundary-drawn-for-the-retry", pdf(5000, seed=3))
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true", again.text
    assert again.json()["id"] == first.json()["id"]
    # Another file under the same key is another request.
    other = await send("boundary-of-the-first-try", pdf(5000, seed=4))
    assert other.status_code == 422, other.text
    listed = (await client.get("/v1/spaces/me/documents", headers=person.headers)).json()["items"]
    assert [d["id"] for d in listed] == [first.json()["id"]]


async def test_a_latin_1_file_name_is_kept_as_written(client, person):
    """RFC 7578 names file names in UTF-8; an older client's Latin-1 bytes became "r\ufffdsum\ufffd.pdf"
    (an outside audit). Bytes that are no UTF-8 are read as Latin-1."""
    content = pdf(1000, seed=31)
    body = form_body([("file", None, content), ("metadata", None, json.dumps(metadata()).encode())])
    body = body.replace(b'name="file"', b'name="file"; filename="r\xe9sum\xe9.pdf"', 1)
    answer = await client.post("/v1/spaces/me/documents", content=body, headers=form_headers(person.headers))
    assert answer.status_code == 201, answer.text
    assert answer.json()["filename"] == "résumé.pdf"


@pytest.mark.parametrize(
    ("disposition", "stored"),
    [
        (b"filename*=UTF-8''compte-rendu%20%C3%A9chographie.pdf", "compte-rendu échographie.pdf"),
        (b"filename=\"compte-rendu.pdf\"; filename*=UTF-8''%C3%A9chographie.pdf", "échographie.pdf"),
        (b"filename*=ISO-8859-1'fr'r%E9sum%E9.pdf", "résumé.pdf"),
        (b'filename="a filename*.pdf"', "a filename*.pdf"),
        # No UTF-8 where it says UTF-8, or a charset no one knows: it says no name, and the plain one
        # beside it, if any, is the name (it was stored with U+FFFD for each byte it could not read).
        (b"filename=\"compte-rendu.pdf\"; filename*=UTF-8''r%E9sum%E9.pdf", "compte-rendu.pdf"),
        (b"filename*=UTF-8''r%E9sum%E9.pdf", "document.pdf"),
        (b"filename=\"bilan.pdf\"; filename*=X-MARTIAN''r%E9sum%E9.pdf", "bilan.pdf"),
        # One that shows nothing names nothing either (it became document.pdf).
        (b"filename=\"scan.pdf\"; filename*=UTF-8''%E2%80%8B", "scan.pdf"),
    ],
)
async def test_a_file_name_given_as_filename_star_is_kept(client, person, disposition, stored):
    """``filename*`` (RFC 5987), sent by some clients for a name outside ASCII, was dropped: the
    document was stored as document.pdf (an outside audit). It is read, and preferred to a plain
    ``filename`` beside it (RFC 6266)."""
    content = pdf(1000, seed=33)
    body = form_body([("file", None, content), ("metadata", None, json.dumps(metadata()).encode())])
    body = body.replace(b'name="file"', b'name="file"; ' + disposition, 1)
    answer = await client.post("/v1/spaces/me/documents", content=body, headers=form_headers(person.headers))
    assert answer.status_code == 201, answer.text
    assert answer.json()["filename"] == stored


async def test_a_file_name_of_thousands_of_characters_is_said_not_malformed(client, person):
    """A 5,000-character file name was "The multipart body is malformed" like a broken body (an
    outside audit): the parser reads header lines of 4,224 bytes at most, and the answer says so.
    A long name it reads is cut to the 255 characters kept, from its stem: the extension stays."""
    content = pdf(1000, seed=32)
    body = form_body([("file", None, content), ("metadata", None, json.dumps(metadata()).encode())])
    long = body.replace(b'name="file"', b'name="file"; filename="' + b"a" * 5000 + b'.pdf"', 1)
    answer = await client.post("/v1/spaces/me/documents", content=long, headers=form_headers(person.headers))
    assert answer.status_code == 400, answer.text
    assert "header line is longer than" in answer.json()["detail"] and "shorter file name" in answer.json()["detail"]
    kept = body.replace(b'name="file"', b'name="file"; filename="' + b"b" * 300 + b'.pdf"', 1)
    answer = await client.post("/v1/spaces/me/documents", content=kept, headers=form_headers(person.headers))
    assert answer.status_code == 201, answer.text
    assert answer.json()["filename"] == "b" * 251 + ".pdf"


async def test_head_on_a_file_says_what_get_would_without_its_bytes(client, person, make_person):
    """HEAD on a document's file was 405 (an outside audit): a download manager or a viewer asks it
    first. It answers GET's headers, without the body, a range's too; what the caller may not
    see is 404 as for GET."""
    content = pdf(150_000, seed=41)
    added = await uploaded(client, person.headers, content)
    got = await client.get(added["contentUrl"], headers=person.headers)
    headed = await client.head(added["contentUrl"], headers=person.headers)
    assert headed.status_code == 200, headed.text
    assert headed.content == b""
    for name in ("content-type", "content-length", "etag", "accept-ranges", "content-disposition", "cache-control"):
        assert headed.headers[name] == got.headers[name], name
    ranged = await client.head(added["contentUrl"], headers={**person.headers, "Range": "bytes=100-199"})
    assert ranged.status_code == 206 and ranged.content == b""
    assert ranged.headers["content-range"] == "bytes 100-199/150000"
    assert ranged.headers["content-length"] == "100"
    past = await client.head(added["contentUrl"], headers={**person.headers, "Range": "bytes=200000-"})
    assert past.status_code == 416
    stranger = await make_person("Autre")
    assert (await client.head(added["contentUrl"], headers=stranger.headers)).status_code == 404
    assert (await client.head(added["contentUrl"])).status_code == 401
