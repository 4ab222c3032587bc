"""A body sent with an ``Idempotency-Key`` is hashed as it arrives and kept for the handler: past
1 MiB (a document's upload, up to 20 MiB) it waited in plaintext in a temporary file, where a
person's health data stayed if the process was killed (found beside the import's own spool). It
now waits encrypted under a key held only in memory (``ens.core.spool``); smaller bodies stay in
memory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from tests.helpers.documents import form_body, form_headers, pdf, upload
from tests.helpers.people import Person
from tests.helpers.temp_files import TempFiles

MARKER = b"Compte-rendu-temoin-93c1d0e7"


async def test_an_upload_past_a_mebibyte_waits_encrypted_and_reaches_the_handler_whole(
    client, person: Person, files: TempFiles
) -> None:
    plain = pdf(3 * 1024 * 1024, seed=21)
    content = plain[:5000] + MARKER * 64 + plain[5000 + len(MARKER) * 64 :]
    key = {"Idempotency-Key": f"upload-{uuid.uuid4()}"}
    first = await upload(client, person.headers, content, extra_headers=key)
    assert first.status_code == 201, first.text
    assert files.opened, "the body went to no temporary file"
    assert all(file.closed for file in files.opened)
    assert MARKER not in files.written()
    # The handler got every byte: the document reads back as sent, and the retry is replayed.
    download = await client.get(f"/v1/spaces/me/documents/{first.json()['id']}/content", headers=person.headers)
    assert download.content == content
    again = await upload(client, person.headers, content, extra_headers=key)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert all(file.closed for file in files.opened)
    assert MARKER not in files.written()


async def test_a_small_body_with_an_idempotency_key_makes_no_file(client, person: Person, files: TempFiles) -> None:
    answer = await client.post(
        "/v1/spaces/me/test-notes",
        json={"text": MARKER.decode()},
        headers={**person.headers, "Idempotency-Key": f"k-{uuid.uuid4()}"},
    )
    assert answer.status_code == 201, answer.text
    assert files.opened == []


async def test_a_body_past_its_limit_with_an_idempotency_key_leaves_no_file_open(
    client, person: Person, files: TempFiles
) -> None:
    """Sent in parts without a length (so that only the spooling sees it grow past the limit)."""
    body = form_body([("file", "grand.pdf", pdf(21 * 1024 * 1024, seed=22)), ("metadata", None, b"{}")])

    async def parts() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1024 * 1024):
            yield body[start : start + 1024 * 1024]

    refused = await client.post(
        "/v1/spaces/me/documents",
        content=parts(),
        headers=form_headers({**person.headers, "Idempotency-Key": f"k-{uuid.uuid4()}"}),
    )
    assert refused.status_code == 413
    assert files.opened and all(file.closed for file in files.opened)
