"""What a document says of itself in words (title, file name, author) is sealed under the space's
key: nothing of it is in the database in clear, every answer gives it back as sent, a sealed value
moved to another row does not open, and the migration seals what was stored before, in clear."""

from __future__ import annotations

import importlib
import logging
from typing import Any

import pytest

from ens.core import db
from tests.helpers.documents import metadata, pdf, uploaded

MIGRATION = importlib.import_module("ens.documents.piccolo_migrations.m2026_12_21_0900_sealed_words")

TITLE = "Sérologie VIH — résultat"
FILENAME = "serologie-vih-2026.pdf"
AUTHOR = "Dr Anne Lefèvre, infectiologue"


async def _stored(space_id: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in await db.fetch("SELECT * FROM documents WHERE space_id = {} ORDER BY id", space_id)]


def _as_bytes(value: object) -> bytes:
    return bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else str(value).encode()


async def test_the_words_are_nowhere_in_clear_and_every_answer_gives_them_back(client, person):
    added = await uploaded(
        client, person.headers, pdf(3000), filename=FILENAME, meta=metadata(title=TITLE, author=AUTHOR)
    )
    assert (added["title"], added["filename"], added["author"]) == (TITLE, FILENAME, AUTHOR)
    [row] = await _stored(person.space_id)
    for word in (TITLE, FILENAME, AUTHOR, "VIH", "serologie", "Lefèvre"):
        for column, value in row.items():
            assert word.encode() not in _as_bytes(value), (word, column)
    one = (await client.get(f"/v1/spaces/me/documents/{added['id']}", headers=person.headers)).json()
    listed = (await client.get("/v1/spaces/me/documents", headers=person.headers)).json()["items"]
    assert one == listed[0] == added
    content = await client.get(added["contentUrl"], headers=person.headers)
    assert f'filename="{FILENAME}"' in content.headers["content-disposition"]
    export = (await client.get("/v1/spaces/me/export", headers=person.headers)).json()
    [reference] = [e["resource"] for e in export["entry"] if e["resource"]["resourceType"] == "DocumentReference"]
    assert reference["description"] == TITLE
    assert reference["content"][0]["attachment"]["title"] == FILENAME
    assert reference["author"][0]["display"] == AUTHOR


async def test_a_sealed_value_moved_to_another_row_does_not_open(client, person, make_person):
    first = await uploaded(client, person.headers, pdf(1000, seed=1), meta=metadata(title="Premier"))
    second = await uploaded(client, person.headers, pdf(1000, seed=2), meta=metadata(title="Second"))
    other = await make_person()
    elsewhere = await uploaded(client, other.headers, pdf(1000, seed=3), meta=metadata(title="Ailleurs"))
    [found] = await db.fetch(
        "SELECT sealed FROM documents WHERE space_id = {} AND id = {}", person.space_id, first["id"]
    )
    sealed = found["sealed"]
    for owner, target in ((person, second["id"]), (other, elsewhere["id"])):
        await db.fetch(
            "UPDATE documents SET sealed = {} WHERE space_id = {} AND id = {}", bytes(sealed), owner.space_id, target
        )
    for who, document in ((person, second), (other, elsewhere)):
        answer = await client.get(f"/v1/spaces/me/documents/{document['id']}", headers=who.headers)
        assert answer.status_code == 500
        assert answer.headers["content-type"] == "application/problem+json"
        assert "Premier" not in answer.text
    kept = await client.get(f"/v1/spaces/me/documents/{first['id']}", headers=person.headers)
    assert kept.status_code == 200 and kept.json()["title"] == "Premier"


@pytest.fixture
async def clear_columns():
    """The columns the migration drops, back as they were before it (nullable: the other rows of
    the test database have none), and gone again whatever happens."""
    for column in ("title", "filename", "author_name"):
        await db.run_ddl(db.current(), [f"ALTER TABLE documents ADD COLUMN {column} TEXT"])
    try:
        yield
    finally:
        for column in {
            "title",
            "filename",
            "author_name",
        } & await MIGRATION.document_columns():  # not dropped: the migration failed
            await db.run_ddl(db.current(), [f"ALTER TABLE documents DROP COLUMN {column}"])


async def test_the_migration_seals_the_words_stored_in_clear(client, person, settings, clear_columns):
    added = [
        await uploaded(
            client, person.headers, pdf(1000, seed=n), filename=f"cr-{n}.pdf", meta=metadata(title=f"Compte rendu {n}")
        )
        for n in range(3)
    ]
    # As stored before: the words in clear, nothing sealed.
    for n, document in enumerate(added):
        await db.fetch(
            "UPDATE documents SET title = {}, filename = {}, author_name = {}, sealed = {} "
            "WHERE space_id = {} AND id = {}",
            f"Titre d'avant {n}",
            f"avant-{n}.pdf",
            "Dr Martin",
            b"",
            person.space_id,
            document["id"],
        )
    assert await MIGRATION.migrate(settings.secret_key) == 3
    for n, document in enumerate(added):
        read = (await client.get(f"/v1/spaces/me/documents/{document['id']}", headers=person.headers)).json()
        assert (read["title"], read["filename"], read["author"]) == (
            f"Titre d'avant {n}",
            f"avant-{n}.pdf",
            "Dr Martin",
        )
    row = (await _stored(person.space_id))[0]
    assert not {"title", "filename", "author_name"} & set(row)
    # Run again (stopped after the drop, before piccolo noted it): nothing left to do.
    assert await MIGRATION.migrate(settings.secret_key) == 0


async def test_the_migration_refuses_a_secret_that_does_not_open_the_keys(client, person, clear_columns):
    document = await uploaded(client, person.headers, pdf(1000), meta=metadata(title="Gardé"))
    await db.fetch(
        "UPDATE documents SET title = 'Gardé', filename = 'g.pdf', author_name = 'X', sealed = {} "
        "WHERE space_id = {} AND id = {}",
        b"",
        person.space_id,
        document["id"],
    )
    with pytest.raises(MIGRATION.SecretKeyMismatch, match="ENS_SECRET_KEY"):
        await MIGRATION.migrate("another-secret-key-of-more-than-32-characters")
    [row] = await db.fetch(
        "SELECT title, sealed FROM documents WHERE space_id = {} AND id = {}", person.space_id, document["id"]
    )
    assert row["title"] == "Gardé" and len(bytes(row["sealed"])) == 0  # nothing lost: the run stopped


async def test_a_sealed_value_cut_short_does_not_open(client, person):
    document = await uploaded(client, person.headers, pdf(1000), meta=metadata(title="Coupé"))
    for cut in (b"", b"\x00" * 20):
        await db.fetch(
            "UPDATE documents SET sealed = {} WHERE space_id = {} AND id = {}", cut, person.space_id, document["id"]
        )
        answer = await client.get(f"/v1/spaces/me/documents/{document['id']}", headers=person.headers)
        assert answer.status_code == 500 and answer.headers["content-type"] == "application/problem+json"


async def test_words_that_do_not_open_are_content_unreadable_and_the_log_names_the_document(
    client, person, caplog: pytest.LogCaptureFixture
):
    """Sealed words that do not verify (changed, cut, moved from another row) are the documented 500
    ``content-unreadable``, and the operators' log names the document; it was "Something went
    wrong", an ``unhandled error`` whose withheld traceback named neither (an outside audit)."""
    document = await uploaded(client, person.headers, pdf(1000), meta=metadata(title="Abîmé"))
    await db.fetch(
        "UPDATE documents SET sealed = {} WHERE space_id = {} AND id = {}",
        b"\x01" * 40,
        person.space_id,
        document["id"],
    )
    ens_log = logging.getLogger("ens")
    ens_log.addHandler(caplog.handler)
    try:
        answers = [
            await client.get(f"/v1/spaces/me/documents/{document['id']}", headers=person.headers),
            await client.get(document["contentUrl"], headers=person.headers),
        ]
        # The list names it and reads the others (test_one_damaged_document_leaves_the_others_readable).
        listed = await client.get("/v1/spaces/me/documents", headers=person.headers)
    finally:
        ens_log.removeHandler(caplog.handler)
    assert listed.status_code == 200 and [d["id"] for d in listed.json()["unreadable"]] == [document["id"]]
    answers.append(listed)
    for answer in answers[:2]:
        assert answer.status_code == 500, answer.text
        assert answer.json()["type"] == "urn:ens:problem:content-unreadable", answer.text
    said = [r for r in caplog.records if r.getMessage() == "document words unreadable"]
    assert len(said) == len(answers), caplog.text
    assert all(getattr(r, "document_id", None) == document["id"] for r in said)
    assert not [r for r in caplog.records if r.getMessage() == "unhandled error"]
