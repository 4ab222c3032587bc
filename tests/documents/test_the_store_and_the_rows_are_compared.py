"""``ens documents check``: a document whose object the store lost or cut short is said by its
space and document ids; an object no document names is said, and deleted when asked, unless it is
younger than the ledger's grace, in the ledger, or held by an upload racing the check. The suite's
store and database hold every test's documents: each test looks at its own space's findings."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ens.core import clock, db
from ens.documents import pending
from ens.documents.encryption import stored_size
from ens.documents.keys import destroy_space_key
from ens.documents.storage import LIST_PAGE, BlobStore
from ens.documents.store_check import (
    ROW_BATCH,
    Finding,
    MissingObject,
    StrayObject,
    Tally,
    UnknownObject,
    WrongSize,
    check_store,
)
from tests.helpers.documents import metadata, pdf, stored_paths, upload, uploaded
from tests.helpers.server import run_ens


def _later() -> datetime:
    """A moment past the ledger's grace: every object written so far is old then."""
    return clock.now() + pending.GRACE + timedelta(minutes=1)


async def _check(
    blobs: BlobStore,
    space_id: uuid.UUID,
    *,
    delete_strays: bool = False,
    now: datetime | None = None,
    batch: int = ROW_BATCH,
) -> tuple[list[Finding], Tally]:
    """The whole store and every row checked; the findings about ``space_id``."""
    tally = Tally()
    found = [
        finding
        async for finding in check_store(blobs, tally=tally, delete_strays=delete_strays, now=now, batch=batch)
        if str(space_id) in finding.path
    ]
    return found, tally


async def _path_of(document_id: str, space_id: uuid.UUID, blobs: BlobStore) -> str:
    row = await db.fetch_one(
        "SELECT object_name FROM documents WHERE space_id = {} AND id = {}", space_id, uuid.UUID(document_id)
    )
    assert row is not None
    return blobs.object_path(space_id, str(row["object_name"]))


async def test_a_lost_object_and_a_cut_one_are_said_by_their_documents(client, person, settings):
    blobs = BlobStore.from_settings(settings)
    lost = await uploaded(client, person.headers, pdf(1000, seed=501))
    cut = await uploaded(client, person.headers, pdf(200_000, seed=502))
    whole = await uploaded(client, person.headers, pdf(3000, seed=503))
    lost_path = await _path_of(lost["id"], person.space_id, blobs)
    cut_path = await _path_of(cut["id"], person.space_id, blobs)
    await blobs.delete(lost_path)
    cut_bytes = (await blobs.read(cut_path))[:-100]
    await blobs.put(cut_path, cut_bytes)

    found, tally = await _check(blobs, person.space_id)

    assert set(found) == {
        MissingObject(person.space_id, uuid.UUID(lost["id"]), lost_path),
        WrongSize(person.space_id, uuid.UUID(cut["id"]), cut_path, len(cut_bytes), stored_size(200_000)),
    }
    assert tally.documents >= 3 and tally.missing >= 1 and tally.wrong_size >= 1 and tally.problems >= 2
    assert whole["id"] not in str(found)
    # Said, not mended: the check changes nothing a document names.
    assert await blobs.size(cut_path) == len(cut_bytes)


async def test_a_stray_is_said_once_old_and_deleted_only_when_asked(client, person, settings):
    blobs = BlobStore.from_settings(settings)
    document = await uploaded(client, person.headers, pdf(1000, seed=511))
    [kept_path] = await stored_paths(settings, person.space_id)
    stray_object = blobs.object_path(person.space_id, "e" * 64)
    stray_incoming = blobs.incoming_path(person.space_id, uuid.uuid4())
    for path in (stray_object, stray_incoming):
        await blobs.put(path, b"left behind")

    # Written just now: an upload under way may own them.
    found, tally = await _check(blobs, person.space_id)
    assert found == [] and tally.young >= 2

    found, _ = await _check(blobs, person.space_id, now=_later())
    assert set(found) == {StrayObject(person.space_id, path, 11, None) for path in (stray_object, stray_incoming)}
    assert set(await stored_paths(settings, person.space_id)) == {kept_path, stray_object, stray_incoming}

    found, tally = await _check(blobs, person.space_id, now=_later(), delete_strays=True)
    assert {(f.path, f.deleted) for f in found if isinstance(f, StrayObject)} == {
        (stray_object, True),
        (stray_incoming, True),
    }
    assert tally.deleted >= 2
    assert await stored_paths(settings, person.space_id) == [kept_path]
    assert (await client.get(document["contentUrl"], headers=person.headers)).content == pdf(1000, seed=511)
    found, _ = await _check(blobs, person.space_id, now=_later())
    assert found == []


async def test_an_object_in_the_ledger_is_left_to_the_purge(client, person, settings):
    blobs = BlobStore.from_settings(settings)
    left = blobs.incoming_path(person.space_id, uuid.uuid4())
    await blobs.put(left, b"an upload's, or a dead process's")
    await pending.record(person.space_id, left)

    found, tally = await _check(blobs, person.space_id, now=_later(), delete_strays=True)

    assert found == [] and tally.in_ledger >= 1
    assert await stored_paths(settings, person.space_id) == [left]
    await pending.settle_abandoned(blobs, now=_later())
    assert await stored_paths(settings, person.space_id) == []


async def test_an_object_where_the_service_puts_none_is_said_and_kept(client, person, settings):
    """An operator's note, and in a folder a file half-written by a put that died (obstore's own
    ``{path}#{n}``, which its requests cannot name: deleting it stopped the check): said, kept."""
    blobs = BlobStore.from_settings(settings)
    odd = f"{blobs.space_prefix(person.space_id)}notes/readme.txt"
    await blobs.put(odd, b"an operator's note")
    expected = {UnknownObject(odd)}
    half_written = None
    if settings.blob_url.startswith("file://"):
        relative = f"{blobs.incoming_path(person.space_id, uuid.uuid4())}#1"
        half_written = Path(unquote(urlsplit(settings.blob_url).path)) / relative
        half_written.parent.mkdir(parents=True, exist_ok=True)
        half_written.write_bytes(b"half")
        expected.add(UnknownObject(relative))

    found, tally = await _check(blobs, person.space_id, now=_later(), delete_strays=True)

    assert set(found) == expected and tally.unknown >= len(expected)
    assert await stored_paths(settings, person.space_id) == [odd]
    await blobs.delete(odd)
    if half_written is not None:
        assert half_written.exists()
        half_written.unlink()


async def test_a_check_racing_an_upload_never_deletes_its_object(client, person, settings, monkeypatch):
    """An upload stopped after moving its object to its name, its row not yet committed: the check
    run then (everything old to it, strays deleted) leaves the object, the upload's document reads
    it; a deletion asked while the upload holds the space's lock waits, then keeps what the
    committed document names."""
    blobs = BlobStore.from_settings(settings)
    # What other tests left is settled first: on SQLite a deletion waits for the write lock the
    # stopped upload holds (here only this space's objects are to be judged while it is stopped).
    await _check(blobs, person.space_id, now=_later(), delete_strays=True)
    content = pdf(150_000, seed=521)
    moved, go_on = asyncio.Event(), asyncio.Event()
    original = BlobStore.rename

    async def rename_then_wait(self: BlobStore, source: str, target: str) -> None:
        await original(self, source, target)
        moved.set()
        await go_on.wait()

    monkeypatch.setattr(BlobStore, "rename", rename_then_wait)
    sending = asyncio.create_task(upload(client, person.headers, content, meta=metadata(title="En course")))
    await asyncio.wait_for(moved.wait(), 30)
    [target] = [path for path in await stored_paths(settings, person.space_id) if "/objects/" in path]

    found, _ = await _check(blobs, person.space_id, now=_later(), delete_strays=True)
    assert found == []
    assert target in await stored_paths(settings, person.space_id)

    deleting = asyncio.create_task(pending.delete_stray(person.space_id, target, blobs))
    await asyncio.sleep(0.2)
    go_on.set()
    answer = await sending
    assert answer.status_code == 201, answer.text
    assert await deleting is False
    monkeypatch.undo()
    read = await client.get(answer.json()["contentUrl"], headers=person.headers)
    assert read.status_code == 200 and read.content == content
    found, _ = await _check(blobs, person.space_id, now=_later())
    assert found == []


async def test_the_rows_are_read_a_batch_at_a_time_across_spaces(client, make_person, settings):
    """Two spaces, read two rows a statement (a space's rows across batches): a lost object in
    each is found, and nothing else."""
    blobs = BlobStore.from_settings(settings)
    people = [await make_person(), await make_person()]
    lost: dict[uuid.UUID, tuple[str, str]] = {}
    for n, someone in enumerate(people):
        documents = [await uploaded(client, someone.headers, pdf(1000 + k, seed=530 + 10 * n + k)) for k in range(3)]
        path = await _path_of(documents[1]["id"], someone.space_id, blobs)
        await blobs.delete(path)
        lost[someone.space_id] = (documents[1]["id"], path)
    for someone in people:
        found, tally = await _check(blobs, someone.space_id, batch=2)
        document_id, path = lost[someone.space_id]
        assert found == [MissingObject(someone.space_id, uuid.UUID(document_id), path)]
        assert tally.documents >= 6


async def test_the_listing_goes_on_past_a_page_of_the_store(client, person, settings):
    """More objects in one space than S3 returns in a page (1000: the next page is asked for with
    its continuation token): every one is seen, the space's objects across two pages together."""
    blobs = BlobStore.from_settings(settings)
    document = await uploaded(client, person.headers, pdf(1000, seed=541))
    strays = [blobs.object_path(person.space_id, f"{n:064x}") for n in range(LIST_PAGE + 5)]
    for start in range(0, len(strays), 50):
        await asyncio.gather(*(blobs.put(path, b"old") for path in strays[start : start + 50]))

    found, tally = await _check(blobs, person.space_id, now=_later())

    assert {f.path for f in found if isinstance(f, StrayObject)} == set(strays) and len(found) == len(strays)
    assert tally.objects >= len(strays) + 1
    assert document["id"] not in str(found)
    await blobs.delete_under(blobs.space_prefix(person.space_id))


def test_the_command_says_each_problem_and_exits_by_what_is_left(tmp_path: Path, settings):
    """On a database and a folder of its own: all well is status 0; an old stray is a line naming
    its space and path and status 1; deleted (``--delete-strays``), status 0; a store that cannot be
    used is one line and status 2."""
    env = {
        "ENS_DATABASE_URL": f"sqlite:///{tmp_path}/check.sqlite",
        "ENS_BLOB_URL": (tmp_path / "blobs").as_uri(),
        "ENS_VAR_DIR": str(tmp_path / "var"),
    }
    assert run_ens(settings, "migrate", env=env).returncode == 0

    done = run_ens(settings, "documents", "check", env=env)
    assert done.returncode == 0, done
    assert done.stdout.startswith("checked 0 documents and 0 objects: 0 documents without their object")

    space_id = uuid.uuid4()
    stray = tmp_path / "blobs" / "spaces" / str(space_id) / "objects" / ("a" * 64)
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"x" * 70)
    two_days_ago = (clock.now() - timedelta(days=2)).timestamp()
    os.utime(stray, (two_days_ago, two_days_ago))
    done = run_ens(settings, "documents", "check", env=env)
    assert done.returncode == 1, done
    line = f"space {space_id}: stray object spaces/{space_id}/objects/{'a' * 64} (70 bytes)"
    assert done.stdout.splitlines()[0] == line
    assert "1 stray objects" in done.stdout and stray.exists()

    done = run_ens(settings, "documents", "check", "--delete-strays", env=env)
    assert done.returncode == 0, done
    assert done.stdout.splitlines()[0] == f"{line}, deleted"
    assert not stray.exists()

    (tmp_path / "not-a-folder").write_bytes(b"")
    done = run_ens(settings, "documents", "check", env={**env, "ENS_BLOB_URL": (tmp_path / "not-a-folder").as_uri()})
    assert done.returncode == 2, done
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1 and "ENS_BLOB_URL" in done.stderr


async def test_the_documents_of_a_space_being_erased_are_no_alarm(client, person, settings):
    """An erasure destroys the space's key, then its objects, then its rows: one that stopped in
    between (finished by ``ens purge`` an hour later) leaves rows whose objects are gone, and
    nothing of which can be read again. Not said as lost; counted apart."""
    blobs = BlobStore.from_settings(settings)
    document = await uploaded(client, person.headers, pdf(1000, seed=551))
    path = await _path_of(document["id"], person.space_id, blobs)
    await blobs.delete(path)
    found, _ = await _check(blobs, person.space_id)
    assert found == [MissingObject(person.space_id, uuid.UUID(document["id"]), path)]

    await destroy_space_key(person.space_id)
    found, tally = await _check(blobs, person.space_id)
    assert found == [] and tally.erasing >= 1


def test_a_link_looping_back_in_a_folder_store_is_one_line_naming_it(tmp_path: Path, settings):
    """A directory link pointing back above itself (an operator's, never the service's): one line,
    status 2, naming the link where it loops. It was followed until the system refused the path,
    forty links deep, and the line named that path ('.../objects/back/objects/back/...' forty times;
    a review feared a traceback)."""
    env = {
        "ENS_DATABASE_URL": f"sqlite:///{tmp_path}/check.sqlite",
        "ENS_BLOB_URL": (tmp_path / "blobs").as_uri(),
        "ENS_VAR_DIR": str(tmp_path / "var"),
    }
    assert run_ens(settings, "migrate", env=env).returncode == 0
    objects = tmp_path / "blobs" / "spaces" / str(uuid.uuid4()) / "objects"
    objects.mkdir(parents=True)
    (objects / "back").symlink_to(objects.parent, target_is_directory=True)
    done = run_ens(settings, "documents", "check", env=env)
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "cannot be read" in done.stderr and f"{objects}/back" in done.stderr
    assert "back/objects/back" not in done.stderr
