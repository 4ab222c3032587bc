"""Erasing a space destroys its data key first, then its objects: the folder or bucket holds nothing
of it and a copy of its content can never be decrypted. Every upload, read, download and masking is
in the access history; the home screen counts documents new to the person."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest

from ens.app import create_app
from ens.core import db
from ens.documents.encryption import open_key
from ens.documents.storage import BlobStore
from tests.helpers.asgi import asgi_client
from tests.helpers.carers import court_measure, today_in_paris, years_before
from tests.helpers.documents import (
    META,
    file_bytes,
    folder_entries_naming,
    form_body,
    form_headers,
    metadata,
    pdf,
    stored_paths,
    upload,
    uploaded,
)
from tests.helpers.server import free_port


async def test_an_erased_space_leaves_nothing_in_the_store_and_its_content_is_unreadable(client, person, settings):
    content = pdf(200_000, seed=31)
    added = await uploaded(client, person.headers, content)
    await uploaded(client, person.headers, file_bytes("png", 3000), filename="photo.png")
    blobs = BlobStore.from_settings(settings)
    paths = await stored_paths(settings, person.space_id)
    assert len(paths) == 2
    copies = [await blobs.read(path) for path in paths]
    wrapped = await db.fetch_one("SELECT wrapped FROM document_keys WHERE space_id = {}", person.space_id)
    assert wrapped is not None
    # Someone else's document stays.
    other_person_paths_before = await blobs.paths_under("spaces/")

    erased = await client.delete("/v1/spaces/me", params={"erase": "true"}, headers=person.headers)
    assert erased.status_code == 204
    assert await stored_paths(settings, person.space_id) == []
    assert folder_entries_naming(settings, person.space_id) == []  # not even an empty directory
    assert (await client.get(added["contentUrl"], headers=person.headers)).status_code == 404
    assert await db.fetch("SELECT 1 AS x FROM document_keys WHERE space_id = {}", person.space_id) == []
    assert await db.fetch("SELECT 1 AS x FROM documents WHERE space_id = {}", person.space_id) == []
    remaining = await blobs.paths_under("spaces/")
    assert not any(str(person.space_id) in path for path in remaining)
    assert set(remaining) == {p for p in other_person_paths_before if str(person.space_id) not in p}
    # A copy taken before (a backup): without the key, which is gone, nothing opens it; and the key
    # is useless anywhere else (bound to its space), and so is another secret.
    assert not any(content[5000:5100] in copy for copy in copies)
    with pytest.raises(Exception):  # noqa: B017 (AES-GCM's InvalidTag)
        open_key("another-secret-key-of-at-least-32-characters", person.space_id, bytes(wrapped["wrapped"]))
    with pytest.raises(Exception):  # noqa: B017 (AES-GCM's InvalidTag)
        open_key(settings.secret_key, uuid.uuid4(), bytes(wrapped["wrapped"]))  # another space's row


async def test_an_erase_destroys_the_key_before_it_touches_the_store(client, person, settings):
    """The key goes first, committed: an erase whose store fails (here, unreachable) has already
    made the content unreadable, though its object is still there; the erase run again finishes.
    The failure is a 503 with Retry-After, as for the database lost between the steps: the same
    request sent again finishes it (a 500 before the store's failures were told apart)."""
    added = await uploaded(client, person.headers, pdf(100_000, seed=41))
    unreachable = msgspec.structs.replace(
        settings,
        blob_url="s3://ens-unreachable/blobs",
        s3_endpoint=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        s3_access_key_id="nobody",
        s3_secret_access_key="nothing",
    )
    async with asgi_client(create_app(unreachable), "http://testserver.local") as broken:
        failed = await broken.delete("/v1/spaces/me", params={"erase": "true"}, headers=person.headers)
    assert failed.status_code == 503 and failed.headers["retry-after"]
    assert await db.fetch("SELECT 1 AS x FROM document_keys WHERE space_id = {}", person.space_id) == []
    assert len(await stored_paths(settings, person.space_id)) == 1  # the store was never reached
    # Closed at that point, the space being erased: nothing of it is read any more.
    gone = await client.get(added["contentUrl"], headers=person.headers)
    assert gone.status_code == 410 and gone.json()["detail"] == "This space is being erased."

    erased = await client.delete("/v1/spaces/me", params={"erase": "true"}, headers=person.headers)
    assert erased.status_code == 204
    assert await stored_paths(settings, person.space_id) == []


async def test_closing_keeps_the_documents_and_reopening_finds_them(client, person, settings):
    added = await uploaded(client, person.headers, pdf(1000))
    assert (await client.delete("/v1/spaces/me", headers=person.headers)).status_code == 204
    assert (await client.get(added["contentUrl"], headers=person.headers)).status_code == 410
    assert len(await stored_paths(settings, person.space_id)) == 1
    assert (await client.post("/v1/spaces/me/reopen", headers=person.headers)).status_code == 200
    assert (await client.get(added["contentUrl"], headers=person.headers)).content == pdf(1000)


async def test_every_upload_read_download_and_masking_is_in_the_history(client, person, history):
    added = await uploaded(client, person.headers, pdf(1000))
    document = f"/v1/spaces/me/documents/{added['id']}"
    await client.get("/v1/spaces/me/documents", headers=person.headers)
    await client.get(document, headers=person.headers)
    await client.get(added["contentUrl"], headers=person.headers)
    await client.get(added["contentUrl"], headers={**person.headers, "Range": "bytes=0-9"})
    await client.get(added["contentUrl"], headers={**person.headers, "Range": "bytes=5000-"})  # 416
    await client.head(added["contentUrl"], headers=person.headers)
    await upload(client, person.headers, b"<html></html>", filename="page.pdf")  # 415
    await client.patch(document, json={"hiddenFromProfessionals": True}, headers=person.headers)
    await client.patch(document, json={"hiddenFromHolder": True}, headers=person.headers)  # 403
    await client.delete(document, headers=person.headers)
    rows = [r for r in await history(person.space_id) if r["resource_type"] == "documents"]
    assert [(r["action"].split(" ")[0], r["outcome"]) for r in rows] == [
        ("POST", 201),
        ("GET", 200),
        ("GET", 200),
        ("GET", 200),
        ("GET", 206),
        ("GET", 416),
        ("HEAD", 200),
        ("POST", 415),
        ("PATCH", 200),
        ("PATCH", 403),
        ("DELETE", 204),
    ]
    assert all(r["resource_id"] in (None, added["id"]) for r in rows)
    described = (await client.get("/v1/spaces/me/access-history", headers=person.headers)).json()["items"]
    sentences = [item["description"] for item in described if item.get("resourceType") == "documents"]
    name = f"{person.given_name} {person.family_name} (titulaire)"
    assert f"{name} a ajouté un document." in sentences
    assert f"{name} a téléchargé un document." in sentences
    assert f"{name} a consulté un document." in sentences
    # The HEAD of its content, which reads its name, type and size: one document, not the list.
    assert sentences.count(f"{name} a consulté un document.") == 2
    assert [sentence for sentence in sentences if "les documents" in sentence] == [f"{name} a consulté les documents."]
    assert f"{name} a modifié le masquage d'un document." in sentences
    assert f"{name} a tenté de modifier le masquage d'un document : refusé (droits insuffisants)." in sentences
    assert f"{name} a supprimé un document." in sentences
    assert f"{name} a tenté de télécharger un document : refusé (plage hors du fichier)." in sentences
    assert f"{name} a tenté d'ajouter un document : refusé (format non accepté)." in sentences


async def test_the_home_screen_counts_documents_new_since_the_person_last_looked(client, person, make_person):
    tutor = await make_person("Tuteur")
    await court_measure(person, tutor, "tutelle")
    space = person.space_id

    async def summary(who) -> dict[str, int]:
        answer = await client.get(f"/v1/spaces/{space}", headers=who.headers)
        assert answer.status_code == 200
        documents: dict[str, int] = answer.json()["documents"]
        return documents

    await uploaded(client, person.headers, pdf(100, seed=1))
    assert await summary(person) == {"count": 1, "new": 0}  # their own upload is not news to them
    assert await summary(tutor) == {"count": 1, "new": 1}
    await uploaded(client, tutor.headers, pdf(100, seed=2), space=space)
    await uploaded(client, tutor.headers, pdf(100, seed=3), space=space, meta=metadata(typeCode="11502-2"))
    assert await summary(person) == {"count": 3, "new": 2}
    # A listing of one type, or of some dates, did not show them the others: still new (it cleared
    # them all: an outside audit).
    await client.get("/v1/spaces/me/documents", params={"type": "11502-2"}, headers=person.headers)
    await client.get("/v1/spaces/me/documents", params={"since": "2000-01-01"}, headers=person.headers)
    assert await summary(person) == {"count": 3, "new": 2}
    await client.get("/v1/spaces/me/documents", params={"limit": 1}, headers=person.headers)
    assert await summary(person) == {"count": 3, "new": 0}  # they looked
    assert await summary(tutor) == {"count": 3, "new": 1}  # the holder's, which the tutor has not seen


async def test_a_head_of_the_listing_leaves_the_documents_new(client, person, make_person):
    """A HEAD of the listing shows the person nothing (its body is dropped), so it is not their
    looking: it cleared the home screen's new documents as the GET does (a review: every GET
    answers HEAD since b8bc83a, the listing's write with it), and a client checking the list's ETag
    with HEAD lost them what was new."""
    tutor = await make_person("Tuteur")
    await court_measure(person, tutor, "tutelle")
    await uploaded(client, tutor.headers, pdf(100, seed=7), space=person.space_id)

    async def new_on_the_home_screen() -> int:
        answer = await client.get("/v1/spaces/me", headers=person.headers)
        assert answer.status_code == 200
        return int(answer.json()["documents"]["new"])

    assert await new_on_the_home_screen() == 1
    headed = await client.head("/v1/spaces/me/documents", headers=person.headers)
    assert headed.status_code == 200 and headed.content == b""
    assert await new_on_the_home_screen() == 1  # was 0: the HEAD wrote the time of looking
    assert (await client.get("/v1/spaces/me/documents", headers=person.headers)).status_code == 200
    assert await new_on_the_home_screen() == 0  # the GET is the looking


async def test_listing_with_nothing_new_writes_nothing(client, person, make_person):
    """A person's listing moves their time of looking forward only when something is new to them:
    otherwise it would change nothing the home screen counts, and a read would commit a write."""
    tutor = await make_person("Tuteur")
    await court_measure(person, tutor, "tutelle")

    async def seen_at() -> object:
        row = await db.fetch_one(
            "SELECT seen_at FROM document_views WHERE space_id = {} AND account_id = {}",
            person.space_id,
            person.account_id,
        )
        return None if row is None else row["seen_at"]

    async def new_on_the_home_screen() -> int:
        answer = await client.get("/v1/spaces/me", headers=person.headers)
        assert answer.status_code == 200
        return int(answer.json()["documents"]["new"])

    assert (await client.get("/v1/spaces/me/documents", headers=person.headers)).status_code == 200
    assert await seen_at() is None  # nothing to see yet: nothing written
    await uploaded(client, person.headers, pdf(100, seed=4))
    assert (await client.get("/v1/spaces/me/documents", headers=person.headers)).status_code == 200
    assert await seen_at() is None and await new_on_the_home_screen() == 0  # their own is not news
    await uploaded(client, tutor.headers, pdf(100, seed=5), space=person.space_id)
    assert await new_on_the_home_screen() == 1
    assert (await client.get("/v1/spaces/me/documents", headers=person.headers)).status_code == 200
    looked = await seen_at()
    assert looked is not None and await new_on_the_home_screen() == 0
    assert (await client.get("/v1/spaces/me/documents", headers=person.headers)).status_code == 200
    assert await seen_at() == looked  # nothing new since: not written again
    await uploaded(client, tutor.headers, pdf(100, seed=6), space=person.space_id)
    assert await new_on_the_home_screen() == 1


async def test_a_document_hidden_at_a_listing_is_not_new_once_shown(client, person, make_person):
    """What the home screen counts is as if every listing wrote its time: a document the holder hid
    from their representative when the representative listed is not new to them once shown."""
    tutor = await make_person("Tuteur")
    await court_measure(person, tutor, "tutelle")
    space = person.space_id

    async def tutor_new() -> int:
        answer = await client.get(f"/v1/spaces/{space}", headers=tutor.headers)
        assert answer.status_code == 200
        return int(answer.json()["documents"]["new"])

    async def tutor_lists() -> None:
        assert (await client.get(f"/v1/spaces/{space}/documents", headers=tutor.headers)).status_code == 200

    await uploaded(client, person.headers, pdf(100, seed=7))
    await tutor_lists()
    hidden = await uploaded(client, person.headers, pdf(100, seed=8), meta=metadata(hiddenFromRepresentatives=True))
    assert await tutor_new() == 0
    await tutor_lists()  # after the hidden one was added
    shown = await client.patch(
        f"/v1/spaces/{space}/documents/{hidden['id']}",
        json={"hiddenFromRepresentatives": False},
        headers=person.headers,
    )
    assert shown.status_code == 200, shown.text
    assert await tutor_new() == 0


async def test_an_object_stored_while_the_rows_are_erased_is_swept_after_them(client, person, settings, monkeypatch):
    """An upload that commits after the store's first sweep and before the erasure holds the space:
    its row goes with the space, and the sweep after the erasure takes its object."""
    from ens.spaces import service as spaces

    blobs = BlobStore.from_settings(settings)
    erase_rows = spaces.close_or_erase_space

    async def an_upload_lands_first(access, **options):
        async def chunks() -> AsyncIterator[bytes]:
            yield b"ciphertext of an upload that landed meanwhile"

        await blobs.put_stream(blobs.object_path(person.space_id, "landed-meanwhile"), chunks())
        assert len(await stored_paths(settings, person.space_id)) == 1
        await erase_rows(access, **options)

    monkeypatch.setattr(spaces, "close_or_erase_space", an_upload_lands_first)
    erased = await client.delete("/v1/spaces/me", params={"erase": "true"}, headers=person.headers)
    assert erased.status_code == 204
    assert await stored_paths(settings, person.space_id) == []
    assert folder_entries_naming(settings, person.space_id) == []


async def test_an_answer_stored_for_an_idempotency_key_goes_with_its_erased_space(client, make_person):
    """A parent creates a child's space with an Idempotency-Key, then erases it: the stored answer
    (the child's name, birthdate, the space's id) went with nothing before, and a retry with the
    key replayed it (a review). It is erased with the space; a retry creates a new space."""
    parent = await make_person()
    headers = {**parent.headers, "Idempotency-Key": f"child-{uuid.uuid4()}"}
    born = years_before(today_in_paris(), 6).isoformat()
    child = {"givenName": "Noé", "familyName": "Efface", "birthdate": born, "sex": "male"}
    body = {**child, "relationship": "parent"}
    created = await client.post("/v1/spaces", json=body, headers=headers)
    assert created.status_code == 201, created.text
    space_id = created.json()["id"]
    stored = await db.fetch("SELECT space_id FROM idempotency_keys WHERE space_id = {}", uuid.UUID(space_id))
    assert len(stored) == 1
    erased = await client.delete(f"/v1/spaces/{space_id}", params={"erase": "true"}, headers=parent.headers)
    assert erased.status_code == 204
    assert await db.fetch("SELECT space_id FROM idempotency_keys WHERE space_id = {}", uuid.UUID(space_id)) == []
    retried = await client.post("/v1/spaces", json=body, headers=headers)
    assert retried.status_code == 201 and retried.headers.get("idempotent-replayed") != "true"
    assert retried.json()["id"] != space_id


async def test_an_upload_the_space_is_erased_under_is_a_404_and_leaves_nothing(client, person, settings):
    """An upload runs in several transactions, writing its object in between: an erasure coming
    in the middle made it fail with a 500 (its incoming object gone, SQLite's foreign key, the
    key gone; an outside audit raced them). It is the erasure's 404, and nothing of it stays."""
    await uploaded(client, person.headers, pdf(50_000, seed=51))  # the space has its key
    body = form_body(
        [("file", "compte-rendu.pdf", pdf(400_000, seed=52)), ("metadata", None, json.dumps(META).encode())]
    )
    erased: list[int] = []

    async def stream() -> AsyncIterator[bytes]:
        yield body[:100_000]
        # The upload is under way (its key read, its incoming object begun): the space goes.
        answer = await client.delete("/v1/spaces/me", params={"erase": "true"}, headers=person.headers)
        erased.append(answer.status_code)
        yield body[100_000:]

    answer = await client.post("/v1/spaces/me/documents", content=stream(), headers=form_headers(person.headers))
    assert erased == [204]
    assert answer.status_code == 404, answer.text
    assert answer.json()["detail"] == "This space was erased while the request was under way."
    assert await stored_paths(settings, person.space_id) == []
    assert folder_entries_naming(settings, person.space_id) == []
    assert await stored_paths(settings, person.space_id) == []
    for table in ("documents", "document_keys", "document_pending_objects"):
        assert await db.fetch(f"SELECT 1 AS x FROM {table} WHERE space_id = {{}}", person.space_id) == []
