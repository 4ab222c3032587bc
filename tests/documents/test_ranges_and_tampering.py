"""Byte ranges (RFC 9110 §14) decrypt only the blocks they cover; a stored block changed by anyone
fails the download, and nothing unverified is ever sent."""

from __future__ import annotations

import asyncio
import logging
import os
import uuid

import httpx
import pytest

from ens.core import db
from ens.core.errors import NotFound
from ens.documents.content import _Blocks
from ens.documents.encryption import BLOCK_BYTES, CIPHER_BLOCK_BYTES
from ens.documents.keys import space_key
from ens.documents.storage import BlobStore
from tests.helpers.documents import pdf, stored_paths, uploaded
from tests.helpers.server import ServerProcess, free_port

SIZE = 5 * BLOCK_BYTES + 1234  # six blocks, the last one short


async def _tamper(settings, space_id, *, block: int) -> None:
    """Flip one byte inside ``block`` of the space's one object, as someone with the bucket could."""
    blobs = BlobStore.from_settings(settings)
    (path,) = [p for p in await stored_paths(settings, space_id) if "/objects/" in p]
    stored = bytearray(await blobs.read(path))
    stored[block * CIPHER_BLOCK_BYTES + 500] ^= 0x01
    await blobs.put(path, bytes(stored))


@pytest.fixture
async def document(client, person):
    content = pdf(SIZE, seed=21)
    added = await uploaded(client, person.headers, content)
    return added, content


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        (f"bytes={BLOCK_BYTES - 10}-{BLOCK_BYTES + 9}", BLOCK_BYTES - 10, BLOCK_BYTES + 10),  # across a boundary
        (f"bytes={BLOCK_BYTES}-{3 * BLOCK_BYTES}", BLOCK_BYTES, 3 * BLOCK_BYTES + 1),  # three boundaries
        ("bytes=0-0", 0, 1),
        (f"bytes={SIZE - 100}-", SIZE - 100, SIZE),
        ("bytes=-2000", SIZE - 2000, SIZE),  # the last 2000 bytes: across the last boundary
        (f"bytes=10-{SIZE * 2}", 10, SIZE),  # an end past the file is the file's end
        # However many digits it has (more than 18 was ignored: 200, the whole file, an audit).
        ("bytes=10-" + "9" * 23, 10, SIZE),
        ("bytes=10-" + "9" * 5000, 10, SIZE),
        ("bytes=-" + "9" * 5000, 0, SIZE),
    ],
)
async def test_a_range_answers_exactly_those_bytes(client, person, document, header, start, end):
    added, content = document
    answer = await client.get(added["contentUrl"], headers={**person.headers, "Range": header})
    assert answer.status_code == 206
    assert answer.content == content[start:end]
    assert answer.headers["content-range"] == f"bytes {start}-{end - 1}/{SIZE}"
    assert answer.headers["content-length"] == str(end - start)


async def test_ranges_the_server_does_not_serve(client, person, document):
    added, content = document
    # A first position past the end, however many digits it has (thousands answered 500 once: a review).
    for beyond in (f"bytes={SIZE}-", "bytes=" + "9" * 5000 + "-", "bytes=" + "9" * 30 + "-" + "9" * 31):
        past = await client.get(added["contentUrl"], headers={**person.headers, "Range": beyond})
        assert past.status_code == 416, beyond
        assert past.headers["content-range"] == f"bytes */{SIZE}"
        assert past.headers["content-type"] == "application/problem+json"
    for ignored in ("bytes=0-1,5-6", "items=0-1", "bytes=9-3", "bytes=-"):
        whole = await client.get(added["contentUrl"], headers={**person.headers, "Range": ignored})
        assert whole.status_code == 200, ignored
        assert whole.content == content
    etag = (await client.get(added["contentUrl"], headers=person.headers)).headers["etag"]
    fresh = await client.get(added["contentUrl"], headers={**person.headers, "Range": "bytes=0-9", "If-Range": etag})
    assert fresh.status_code == 206
    stale = await client.get(added["contentUrl"], headers={**person.headers, "Range": "bytes=0-9", "If-Range": '"old"'})
    assert stale.status_code == 200
    assert stale.content == content
    # A resumed download whose tag is current: 304, If-None-Match comes before Range (RFC 9110).
    unchanged = await client.get(
        added["contentUrl"], headers={**person.headers, "Range": "bytes=0-9", "If-None-Match": etag}
    )
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert "content-range" not in unchanged.headers


async def test_a_tampered_first_block_is_an_error_and_not_one_byte_is_sent(client, person, document, settings):
    added, _ = document
    await _tamper(settings, person.space_id, block=0)
    answer = await client.get(added["contentUrl"], headers=person.headers)
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "urn:ens:problem:content-unreadable"


async def test_a_range_reads_only_its_blocks_so_a_tampered_block_elsewhere_does_not_touch_it(
    client, person, document, settings
):
    added, content = document
    await _tamper(settings, person.space_id, block=4)
    before = await client.get(added["contentUrl"], headers={**person.headers, "Range": f"bytes=0-{2 * BLOCK_BYTES}"})
    assert before.status_code == 206
    assert before.content == content[: 2 * BLOCK_BYTES + 1]
    touching = await client.get(
        added["contentUrl"], headers={**person.headers, "Range": f"bytes={4 * BLOCK_BYTES + 3}-"}
    )
    assert touching.status_code == 500


async def test_a_tampered_block_mid_file_cuts_the_download_short_of_its_length(person, document, settings):
    """Over a real connection: the verified blocks before it are sent, then the server closes the
    connection; the client, told the length, sees the download fail. No byte of the bad block, nor
    any after it, is sent."""
    added, content = document
    await _tamper(settings, person.space_id, block=3)
    env = {
        **os.environ,
        "ENS_ENV": "dev",
        "ENS_DATABASE_URL": settings.database_url,
        "ENS_PUBLIC_URL": settings.public_url,
        "ENS_BLOB_URL": settings.blob_url,
        "PYTHONUNBUFFERED": "1",
    }
    server = ServerProcess(env, free_port(), "documents-server.log")
    await asyncio.to_thread(server.start)
    try:
        received = bytearray()
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as live:
            with pytest.raises(httpx.RemoteProtocolError):
                async with live.stream("GET", added["contentUrl"], headers=person.headers) as answer:
                    assert answer.status_code == 200
                    assert answer.headers["content-length"] == str(SIZE)
                    async for chunk in answer.aiter_raw():
                        received += chunk
        assert len(received) == 3 * BLOCK_BYTES
        assert bytes(received) == content[: 3 * BLOCK_BYTES]
    finally:
        await asyncio.to_thread(server.stop)


async def test_an_object_cut_short_is_unreadable_content_not_a_bare_error(client, person, document, settings):
    """An object cut at a block boundary, asked a range past the cut: the store's own range error
    answered a generic 500, and the operators' log said nothing of the content (a review). It is
    the documented content-unreadable, as a changed block is."""
    added, _ = document
    blobs = BlobStore.from_settings(settings)
    (path,) = [p for p in await stored_paths(settings, person.space_id) if "/objects/" in p]
    await blobs.put(path, (await blobs.read(path))[:CIPHER_BLOCK_BYTES])
    answer = await client.get(added["contentUrl"], headers={**person.headers, "Range": f"bytes={4 * BLOCK_BYTES}-"})
    assert answer.status_code == 500
    assert answer.json()["type"] == "urn:ens:problem:content-unreadable"


async def test_a_document_removed_while_it_is_read_is_no_integrity_alarm(client, person, document, settings, caplog):
    """A document deleted while its download ran logged "document content unreadable" at ERROR, as
    a tampered or lost object does (an outside audit): the operators were told of an integrity
    failure that was none. Its object gone with the document, the read is a 404 (before the first
    byte; later the answer ends short) and an INFO line; an object lost under a document that
    still exists stays the alarm it is."""
    added, _ = document
    row = await db.fetch_one(
        "SELECT content_id, object_name, size FROM documents WHERE space_id = {} AND id = {}",
        person.space_id,
        uuid.UUID(added["id"]),
    )
    assert row is not None
    key = await space_key(person.space_id, settings.secret_key)
    assert key is not None
    blobs = BlobStore.from_settings(settings)
    blocks = _Blocks(
        blobs,
        key,
        path=blobs.object_path(person.space_id, row["object_name"]),
        content_id=uuid.UUID(str(row["content_id"])),
        size=int(row["size"]),
        document_id=uuid.UUID(added["id"]),
    )
    assert (
        await client.delete(added["contentUrl"].removesuffix("/content"), headers=person.headers)
    ).status_code == 204
    caplog.set_level(logging.INFO, logger="ens.documents")
    with pytest.raises(NotFound):
        await blocks.plaintext(2)
    said = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "ens.documents"]
    assert said == [(logging.INFO, "document removed during its download")]

    again = await uploaded(client, person.headers, pdf(SIZE, seed=22))
    (path,) = [p for p in await stored_paths(settings, person.space_id) if "/objects/" in p]
    await blobs.delete(path)
    lost = await client.get(again["contentUrl"], headers=person.headers)
    assert lost.status_code == 500 and lost.json()["type"] == "urn:ens:problem:content-unreadable"
    assert any(r.levelno == logging.ERROR and r.getMessage() == "document content unreadable" for r in caplog.records)


@pytest.mark.parametrize("header", ["bytes=0-9, ", "bytes=, 0-9", "bytes=0-9,,"])
async def test_a_range_list_with_empty_elements_is_its_one_range(client, person, document, header):
    """RFC 9110 §5.6.1: a recipient accepts a list's empty elements. "bytes=0-9, " was answered the
    whole file (an outside audit of the documents)."""
    added, content = document
    answer = await client.get(added["contentUrl"], headers={**person.headers, "Range": header})
    assert answer.status_code == 206
    assert answer.content == content[:10]


@pytest.mark.parametrize("header", ["bytes=0-9, 20-29", "bytes 0-9", "items=0-9", "bytes=0-9;x"])
async def test_several_ranges_or_another_form_is_the_whole_file(client, person, document, header):
    added, content = document
    answer = await client.get(added["contentUrl"], headers={**person.headers, "Range": header})
    assert answer.status_code == 200
    assert answer.content == content
