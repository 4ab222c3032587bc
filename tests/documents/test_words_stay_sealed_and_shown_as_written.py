"""A document's words stay sealed and display as written (an outside audit, 2026-12-05): its title,
file name and author are nowhere in clear (the answer an Idempotency-Key keeps for a replay was);
a refusal does not repeat the file name; a title or author with a direction override is refused;
an emoji sequence prints as one picture. With what the audit found right, kept as tests."""

from __future__ import annotations

import uuid

from ens.core import db
from tests.helpers.documents import IMAGING, LAB_REPORT, file_bytes, metadata, pdf, upload, uploaded

DOCS = "/v1/spaces/me/documents"
TITLE = "Sérologie VIH positive"
FILENAME = "serologie-vih-positive.pdf"
AUTHOR = "Dr Anne Lefèvre, infectiologue"


def _as_bytes(value: object) -> bytes:
    return bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else str(value).encode()


async def _rows_holding(table: str, words: tuple[str, ...]) -> list[tuple[str, str]]:
    """(column, word) for every value of ``table`` holding one of ``words`` in clear."""
    found = []
    for row in await db.fetch(f"SELECT * FROM {table}"):
        for column, value in dict(row).items():
            for word in words:
                if value is not None and word.encode() in _as_bytes(value):
                    found.append((column, word))
    return found


# --- The words sealed in the documents' rows are nowhere in clear beside them --------------------


async def test_an_upload_with_an_idempotency_key_keeps_no_word_of_the_document_in_clear(client, person):
    """The title, file name and author are sealed in ``documents.sealed`` (a title alone can name a
    diagnosis: ens/documents/encryption.py). The same words must not sit in clear in another table:
    the stored answer of an upload sent with an Idempotency-Key (kept 24 hours) holds them."""
    key = {"Idempotency-Key": f"sealed-{uuid.uuid4()}"}
    answer = await upload(
        client,
        person.headers,
        pdf(2000, seed=41),
        filename=FILENAME,
        meta=metadata(title=TITLE, author=AUTHOR),
        extra_headers=key,
    )
    assert answer.status_code == 201, answer.text
    # Removed by the holder: nothing of it should be left anywhere, in clear least of all.
    removed = await client.delete(f"{DOCS}/{answer.json()['id']}", headers=person.headers)
    assert removed.status_code == 204
    leaks = await _rows_holding("idempotency_keys", (TITLE, FILENAME, "Lefèvre"))
    assert leaks == [], f"in clear in idempotency_keys after the document's removal: {leaks}"


async def test_a_refused_upload_keeps_no_file_name_in_clear_nor_in_its_error(client, person):
    """ENGINEERING.md rule 9: health data never goes into error details beyond the field name and
    the rule broken. A PNG named serologie-vih-positive.pdf is refused (right), but its detail
    repeats the file name, and with an Idempotency-Key that refusal is stored, in clear, 24 hours."""
    key = {"Idempotency-Key": f"sealed-{uuid.uuid4()}"}
    answer = await upload(
        client, person.headers, file_bytes("png", 500), filename=FILENAME, meta=metadata(), extra_headers=key
    )
    assert answer.status_code == 422, answer.text
    assert "serologie" not in answer.json()["detail"], answer.json()


# --- Titles and authors display as written --------------------------------------------


async def test_a_title_with_a_direction_override_is_refused(client, person):
    """U+202E (right-to-left override) makes a text display in another order than written: a title
    "Résultat \u202eevitagén" shows as "Résultat négative" in the apps. The file name drops such
    characters (_base_name), the directives refuse them (422: ens/records/text_direction.py), but
    a document's title and author keep them."""
    spoofed = "Résultat \u202eevitagén"
    answer = await upload(client, person.headers, pdf(700, seed=51), meta=metadata(title=spoofed))
    assert answer.status_code == 422, answer.text
    answer = await upload(client, person.headers, pdf(700, seed=52), meta=metadata(author="Dr \u202eznerolf"))
    assert answer.status_code == 422, answer.text


# --- Disguised files, download headers, the stored object ------------------------------------------------------------


async def test_disguised_files_are_refused_and_downloads_say_what_they_are(client, person):
    """Checked right: HTML, SVG and empty files are refused; a name's folders, quotes, backslashes,
    control and direction characters never reach Content-Disposition; nosniff and no-store are set."""
    html = await upload(client, person.headers, b"<html><script>alert(1)</script></html>", filename="x.pdf")
    assert html.status_code == 415
    svg = await upload(client, person.headers, b'<svg xmlns="http://www.w3.org/2000/svg"/>', filename="x.png")
    assert svg.status_code == 415
    empty = await upload(client, person.headers, b"", filename="x.pdf")
    assert empty.status_code == 415
    tricky = "..\\..\\a\\b;c\x1b\u202egpj.pdf"
    doc = await uploaded(client, person.headers, pdf(900, seed=61), filename=tricky)
    assert doc["filename"] == "b;cgpj.pdf"
    got = await client.get(doc["contentUrl"], headers=person.headers)
    assert got.headers["content-disposition"].startswith("attachment; filename=\"b;cgpj.pdf\"; filename*=UTF-8''")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["cache-control"] == "no-store"
    ranged = await client.get(doc["contentUrl"], headers={**person.headers, "Range": "bytes=-10"})
    assert ranged.status_code == 206 and ranged.headers["content-range"] == "bytes 890-899/900"
    head = await client.head(doc["contentUrl"], headers=person.headers)
    assert head.status_code == 200 and head.headers["content-length"] == "900" and head.content == b""
    listed = await client.get(DOCS, params={"type": IMAGING}, headers=person.headers)
    assert listed.json()["items"] == []
    listed = await client.get(DOCS, params={"type": LAB_REPORT, "limit": 501}, headers=person.headers)
    assert listed.status_code == 400


async def test_the_stored_object_is_ciphertext_and_gone_after_removal(client, person, settings):
    """Checked right: the stored object holds no run of the file's bytes, and goes with its row."""
    from ens.documents.storage import BlobStore
    from tests.helpers.documents import stored_paths

    content = pdf(5000, seed=71)[:9] + b"MARQUEUR-EN-CLAIR-" * 100
    doc = await uploaded(client, person.headers, content, meta=metadata(title=TITLE))
    [path] = await stored_paths(settings, person.space_id)
    stored = await BlobStore.from_settings(settings).read(path)
    assert b"MARQUEUR" not in stored and b"%PDF" not in stored
    assert (await client.delete(f"{DOCS}/{doc['id']}", headers=person.headers)).status_code == 204
    assert await stored_paths(settings, person.space_id) == []
    assert await db.fetch("SELECT id FROM documents WHERE space_id = {}", person.space_id) == []


# --- Printed PDFs: an emoji sequence typed on a phone prints whole --------------------------------


def test_an_emoji_sequence_prints_as_one_emoji() -> None:
    """Emoji sequences are shaped by HarfBuzz with Noto Color Emoji: a family (man ZWJ woman ZWJ
    girl) typed in a note printed as its separate people while DejaVu Sans drew the joiner between
    them, which split the run HarfBuzz shapes; the joiner now goes with the emoji before it."""
    from ens.core.pdf import Document

    document = Document(title="Souhaits", footer="test")
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    document.paragraph(f"Mes enfants {family} près de moi")
    document.render()
    pdf_ = document._pdf
    pdf_.set_font("DejaVu", "", 10)
    runs = [(run.font.fontkey, "".join(run.characters)) for run in pdf_._preload_font_styles(family, False)]
    assert runs == [("notocoloremoji", family)], runs
