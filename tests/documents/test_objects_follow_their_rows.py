"""The store holds an object exactly while a row names it: an upload whose row does not commit
leaves nothing; the same file sent twice at once is stored once and both documents read it; a
removal racing an upload of the same file never leaves a document without its content."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from ens.core import clock, db
from ens.documents import pending
from ens.documents.storage import BlobStore
from tests.helpers.documents import metadata, pdf, stored_paths, upload, uploaded

# The day of care of the one upload the database refuses (a title is sealed: no trigger reads it).
REFUSED_DAY = "2001-02-03"


@pytest.fixture
async def refusing_trigger(settings) -> AsyncIterator[None]:
    """A real trigger that makes the database refuse one row (the commit of that upload fails)."""
    if settings.is_postgres:
        await db.fetch(
            "CREATE OR REPLACE FUNCTION refuse_document() RETURNS trigger AS $$ BEGIN "
            f"IF NEW.care_date = '{REFUSED_DAY}' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$ "
            "LANGUAGE plpgsql"
        )
        await db.fetch(
            "CREATE TRIGGER refuse_document BEFORE INSERT ON documents FOR EACH ROW EXECUTE FUNCTION refuse_document()"
        )
    else:
        await db.fetch(
            "CREATE TRIGGER refuse_document BEFORE INSERT ON documents "
            f"WHEN NEW.care_date = '{REFUSED_DAY}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    try:
        yield
    finally:
        await db.fetch("DROP TRIGGER refuse_document" + (" ON documents" if settings.is_postgres else ""))
        if settings.is_postgres:
            await db.fetch("DROP FUNCTION refuse_document()")


async def test_an_upload_whose_row_does_not_commit_leaves_no_object(client, person, settings, refusing_trigger):
    kept = await uploaded(client, person.headers, pdf(1000, seed=1))
    refused = await upload(client, person.headers, pdf(200_000, seed=2), meta=metadata(date=REFUSED_DAY))
    assert refused.status_code == 500
    assert refused.headers["content-type"] == "application/problem+json"
    paths = await stored_paths(settings, person.space_id)
    assert len(paths) == 1 and "/objects/" in paths[0]  # the first document's, nothing of the refused one
    listed = (await client.get("/v1/spaces/me/documents", headers=person.headers)).json()["items"]
    assert [d["id"] for d in listed] == [kept["id"]]


async def test_the_same_file_sent_twice_at_once_is_stored_once_and_both_read_it(client, person, settings):
    content = pdf(300_000, seed=3)
    answers = await asyncio.gather(
        *(upload(client, person.headers, content, meta=metadata(title=f"Copie {n}")) for n in range(4))
    )
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert len(await stored_paths(settings, person.space_id)) == 1
    for answer in answers:
        assert (await client.get(answer.json()["contentUrl"], headers=person.headers)).content == content


async def test_removing_a_copy_while_the_same_file_is_sent_again_keeps_a_readable_content(client, person, settings):
    content = pdf(250_000, seed=4)
    for round_ in range(5):
        first = await uploaded(client, person.headers, content, meta=metadata(title=f"Tour {round_}"))
        removal, second = await asyncio.gather(
            client.delete(f"/v1/spaces/me/documents/{first['id']}", headers=person.headers),
            upload(client, person.headers, content, meta=metadata(title=f"Tour {round_} bis")),
        )
        assert removal.status_code == 204
        assert second.status_code == 201, second.text
        again = await client.get(second.json()["contentUrl"], headers=person.headers)
        assert again.status_code == 200 and again.content == content
        assert (
            await client.delete(second.json()["contentUrl"][: -len("/content")], headers=person.headers)
        ).status_code == 204
        assert await stored_paths(settings, person.space_id) == []


async def test_what_a_dead_process_left_is_settled_by_the_daily_purge(client, person, settings):
    """A process killed mid-upload leaves its incoming object; one killed between moving an object
    to its name and committing the row leaves a named object nobody holds. Both are in the ledger;
    ``ens purge`` deletes them a day later, and keeps an object a document names."""
    blobs = BlobStore.from_settings(settings)
    kept = await uploaded(client, person.headers, pdf(1000, seed=9))
    (kept_path,) = await stored_paths(settings, person.space_id)
    assert await db.fetch("SELECT path FROM document_pending_objects WHERE space_id = {}", person.space_id) == []
    incoming = blobs.incoming_path(person.space_id, uuid.uuid4())
    orphan = blobs.object_path(person.space_id, "f" * 64)
    for path in (incoming, orphan):
        await blobs.put(path, b"left behind")
    await pending.record(person.space_id, incoming, orphan, kept_path)

    await pending.settle_abandoned(blobs)  # a day has not passed: nothing of this space is touched
    assert set(await stored_paths(settings, person.space_id)) == {kept_path, incoming, orphan}
    await pending.settle_abandoned(blobs, now=clock.now() + pending.GRACE + timedelta(minutes=1))
    assert await stored_paths(settings, person.space_id) == [kept_path]
    assert await db.fetch("SELECT path FROM document_pending_objects WHERE space_id = {}", person.space_id) == []
    assert (await client.get(kept["contentUrl"], headers=person.headers)).content == pdf(1000, seed=9)


async def test_the_purge_reads_the_ledger_a_batch_at_a_time_and_settles_it_all(client, person, settings):
    """Seven records left, read three at a time (the ledger is never read whole): every one is
    settled, and the count says so."""
    blobs = BlobStore.from_settings(settings)
    left = [blobs.incoming_path(person.space_id, uuid.uuid4()) for _ in range(7)]
    for path in left:
        await blobs.put(path, b"left behind")
    await pending.record(person.space_id, *left)
    later = clock.now() + pending.GRACE + timedelta(minutes=1)
    assert await pending.settle_abandoned(blobs, now=later, batch=3) == 7
    assert await stored_paths(settings, person.space_id) == []
    assert await db.fetch("SELECT path FROM document_pending_objects WHERE space_id = {}", person.space_id) == []
    assert await pending.settle_abandoned(blobs, now=later, batch=3) == 0


async def test_a_second_copys_failed_removal_leaves_it_to_the_purge_and_the_upload_succeeds(
    client, person, settings, monkeypatch
):
    """The same file sent again: its new copy is removed after the commit. When that removal failed
    (the store down a moment), the answer was a 500 for a committed document, and the copy, out of
    the ledger already, was never removed (a review). Now: 201, and the purge removes it a day later."""
    content = pdf(5000, seed=77)
    await uploaded(client, person.headers, content)
    original = BlobStore.delete

    async def failing(self: BlobStore, path: str) -> None:
        if "/incoming/" in path:
            raise OSError("the store is down")
        await original(self, path)

    monkeypatch.setattr(BlobStore, "delete", failing)
    again = await upload(client, person.headers, content)
    monkeypatch.undo()
    assert again.status_code == 201, again.text
    ledger = await db.fetch("SELECT path FROM document_pending_objects WHERE space_id = {}", person.space_id)
    assert [row["path"] for row in ledger if "/incoming/" in row["path"]]
    blobs = BlobStore.from_settings(settings)
    await pending.settle_abandoned(blobs, now=clock.now() + pending.GRACE + timedelta(minutes=1))
    assert not [path for path in await stored_paths(settings, person.space_id) if "/incoming/" in path]
    assert await db.fetch("SELECT path FROM document_pending_objects WHERE space_id = {}", person.space_id) == []


async def test_a_removal_whose_object_the_store_cannot_delete_is_a_204_and_the_purge_removes_it(
    client, person, settings, monkeypatch
):
    """The row's deletion commits, then the object goes. When the store failed that moment, the
    answer was a 503 "cannot store or read documents' files" and the history said the removal was
    refused, for a document that was gone (the next GET: 404; an outside audit, live on a folder
    store with a directory where the object was). Now: 204, as the history says, and the object, in
    the ledger, is removed by the purge a day later."""
    document = await uploaded(client, person.headers, pdf(5000, seed=78))
    [kept_path] = await stored_paths(settings, person.space_id)
    original = BlobStore.delete

    async def failing(self: BlobStore, path: str) -> None:
        if "/objects/" in path:
            raise OSError("the store is down")
        await original(self, path)

    monkeypatch.setattr(BlobStore, "delete", failing)
    removed = await client.delete(f"/v1/spaces/me/documents/{document['id']}", headers=person.headers)
    monkeypatch.undo()
    assert removed.status_code == 204, removed.text
    gone = await client.get(f"/v1/spaces/me/documents/{document['id']}", headers=person.headers)
    assert gone.status_code == 404
    history = (await client.get("/v1/spaces/me/access-history", headers=person.headers)).json()["items"]
    [removal] = [row for row in history if row["action"].startswith("DELETE ") and row["resourceType"] == "documents"]
    assert removal["outcome"] == 204, removal
    ledger = await db.fetch("SELECT path FROM document_pending_objects WHERE space_id = {}", person.space_id)
    assert [row["path"] for row in ledger] == [kept_path]
    blobs = BlobStore.from_settings(settings)
    await pending.settle_abandoned(blobs, now=clock.now() + pending.GRACE + timedelta(minutes=1))
    assert await stored_paths(settings, person.space_id) == []
    assert await db.fetch("SELECT path FROM document_pending_objects WHERE space_id = {}", person.space_id) == []


async def test_the_same_file_sent_again_restores_a_content_the_store_lost(client, person, settings, caplog):
    """A document whose object the store lost (a restore from an older copy of the folder, a bucket
    rule) reads as ``content-unreadable``. Its holder sends the file again: that upload answered 201
    and dropped its new copy for the lost one its name matched, so the new document was unreadable
    too, and so was every later try (an outside audit). Now the new copy takes the lost one's place,
    and both documents read it."""
    content = pdf(200_000, seed=79)
    first = await uploaded(client, person.headers, content)
    [path] = await stored_paths(settings, person.space_id)
    blobs = BlobStore.from_settings(settings)
    await blobs.delete(path)
    lost = await client.get(first["contentUrl"], headers=person.headers)
    assert lost.status_code == 500 and lost.json()["type"] == "urn:ens:problem:content-unreadable"
    again = await uploaded(client, person.headers, content)
    for document in (again, first):
        read = await client.get(document["contentUrl"], headers=person.headers)
        assert read.status_code == 200, read.text
        assert read.content == content
        ranged = await client.get(document["contentUrl"], headers={**person.headers, "Range": "bytes=-10"})
        assert ranged.status_code == 206 and ranged.content == content[-10:]
    assert await stored_paths(settings, person.space_id) == [path]
    assert await db.fetch("SELECT path FROM document_pending_objects WHERE space_id = {}", person.space_id) == []
