"""A document store that cannot take a file (its disk full or read-only, a folder in the way, the S3
service down) answers 503 problem+json with ``Retry-After``, keeps nothing of the upload, and is
logged as ``document store failed`` with the system's own name for the failure, not as an
``unhandled error``. Live, on a folder filled to its last bytes (a 400 KiB tmpfs), the upload was a
500 "Something went wrong" logged as an unhandled ``obstore.exceptions.GenericError`` whose message
(withheld) was the only place that said the disk was full (an outside audit as the operator). Here
a file stands where the space's folder would be: the store fails the same way, on any machine."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from ens.core import clock, db
from ens.documents import pending
from ens.documents.storage import BlobStore
from tests.helpers.documents import pdf, stored_paths, upload, uploaded


async def test_an_upload_the_store_cannot_take_is_a_503_that_keeps_nothing(
    client, person, settings, caplog: pytest.LogCaptureFixture
) -> None:
    if not settings.blob_url.startswith("file://"):
        pytest.skip("a folder store: a file in the way of the space's folder")
    space_folder = Path(unquote(urlsplit(settings.blob_url).path)) / "spaces" / str(person.space_id)
    space_folder.parent.mkdir(parents=True, exist_ok=True)
    space_folder.write_bytes(b"")  # where the store would make the space's folder
    ens_log = logging.getLogger("ens")
    ens_log.addHandler(caplog.handler)
    try:
        refused = await upload(client, person.headers, pdf(200_000, seed=11))
    finally:
        ens_log.removeHandler(caplog.handler)
        space_folder.unlink()
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) > 0
    problem = refused.json()
    assert problem["type"] == "urn:ens:problem:unavailable"
    assert "documents' files" in problem["detail"] and refused.headers["x-request-id"] in problem["detail"]
    failed = [r for r in caplog.records if r.getMessage() == "document store failed"]
    assert len(failed) == 1 and getattr(failed[0], "failure", None) == "NotADirectory", caplog.text
    assert not [r for r in caplog.records if r.getMessage() == "unhandled error"]
    # Nothing kept: no document, no object. The upload's incoming object, which the store could not
    # even be asked to remove here, stays in the ledger for the daily purge, which settles it.
    listed = (await client.get("/v1/spaces/me/documents", headers=person.headers)).json()["items"]
    assert listed == []
    assert await stored_paths(settings, person.space_id) == []
    left = await db.fetch("SELECT path FROM document_pending_objects WHERE space_id = {}", person.space_id)
    assert all("/incoming/" in row["path"] for row in left)
    await pending.settle_abandoned(BlobStore.from_settings(settings), now=clock.now() + timedelta(days=2))
    assert await db.fetch("SELECT path FROM document_pending_objects WHERE space_id = {}", person.space_id) == []
    # The store back, the same upload goes through.
    await uploaded(client, person.headers, pdf(200_000, seed=11))
