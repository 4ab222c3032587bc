"""A space's data key that the service's ENS_SECRET_KEY does not open (the key changed without
``ENS_PREVIOUS_SECRET_KEYS``, a database restored beside another server's key) makes every document
of the space unreadable. Each read and each upload then answers the documented 500
``content-unreadable`` and the operators' log says which space and why, once per request. Before,
each was a 500 "Something went wrong" logged as an ``unhandled error`` whose traceback ended in
``InvalidTag``, the same as any fault (an outside audit, live: a server restarted with another key)."""

from __future__ import annotations

import logging

import pytest

from ens.core import db
from ens.documents.encryption import new_wrapped_key
from tests.helpers.documents import pdf, upload, uploaded

ANOTHER_KEY = "another-secret-key-of-more-than-32-characters"


async def test_every_read_and_upload_says_the_documents_cannot_be_opened(
    client, person, caplog: pytest.LogCaptureFixture
) -> None:
    document = await uploaded(client, person.headers, pdf(1000, seed=5))
    # The space's key as another server's ENS_SECRET_KEY wrapped it.
    await db.fetch(
        "UPDATE document_keys SET wrapped = {} WHERE space_id = {}",
        new_wrapped_key(ANOTHER_KEY, person.space_id),
        person.space_id,
    )
    ens_log = logging.getLogger("ens")
    ens_log.addHandler(caplog.handler)
    try:
        answers = [
            await client.get("/v1/spaces/me/documents", headers=person.headers),
            await client.get(f"/v1/spaces/me/documents/{document['id']}", headers=person.headers),
            await client.get(document["contentUrl"], headers=person.headers),
            await upload(client, person.headers, pdf(1000, seed=6)),
        ]
    finally:
        ens_log.removeHandler(caplog.handler)
    for answer in answers:
        assert answer.status_code == 500, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == "urn:ens:problem:content-unreadable", answer.text
    said = [r for r in caplog.records if r.getMessage() == "document key does not open"]
    assert len(said) == len(answers), caplog.text
    assert all(getattr(r, "space_id", None) == str(person.space_id) for r in said)
    assert not [r for r in caplog.records if r.getMessage() == "unhandled error"]
    # Nothing of the refused upload was kept.
    rows = await db.fetch("SELECT id FROM documents WHERE space_id = {}", person.space_id)
    assert [str(row["id"]) for row in rows] == [document["id"]]
