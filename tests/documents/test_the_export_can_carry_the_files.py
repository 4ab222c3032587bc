"""GET .../export?documents=embedded: each DocumentReference carries its file too, as the
attachment's ``data`` in base64, so that the export keeps every file once the space is closed or
erased (by default the files are linked by URL, which then answer 404). The files stream through
the Bundle block by block, verified as a download is; what the reader may not see is left out as
in every export."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from ens.documents.encryption import BLOCK_BYTES
from tests.documents.test_ranges_and_tampering import _tamper
from tests.helpers.carers import court_measure
from tests.helpers.documents import file_bytes, metadata, pdf, uploaded
from tests.helpers.fhir import check_bundle

EMBEDDED = "/v1/spaces/me/export?documents=embedded"


def _attachments(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    resources = check_bundle(bundle)
    return {
        r["id"]: r["content"][0]["attachment"] for r in resources.values() if r["resourceType"] == "DocumentReference"
    }


async def test_each_file_is_carried_whole_and_the_default_links_it(client, person, settings):
    # Sizes of each remainder by 3 (base64's unit), and one across the read-ahead of 16 blocks.
    files = [pdf(3000, seed=1), pdf(3001, seed=2), file_bytes("png", 902, seed=3), pdf(17 * BLOCK_BYTES + 2, seed=4)]
    names = ["a.pdf", "b.pdf", "c.png", "d.pdf"]
    added = [
        await uploaded(client, person.headers, content, filename=name, meta=metadata(title=f"n°{n}"))
        for n, (content, name) in enumerate(zip(files, names, strict=True))
    ]
    answer = await client.get(EMBEDDED, headers=person.headers)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/fhir+json")
    carried = _attachments(answer.json())
    for document, content in zip(added, files, strict=True):
        attachment = carried[document["id"]]
        assert base64.b64decode(attachment["data"], validate=True) == content
        assert attachment["size"] == len(content)
        assert attachment["url"] == f"{settings.public_url}{document['contentUrl']}"
    linked = _attachments((await client.get("/v1/spaces/me/export", headers=person.headers)).json())
    assert set(linked) == set(carried) and all("data" not in a for a in linked.values())
    same = await client.get("/v1/spaces/me/export?documents=linked", headers=person.headers)
    assert _attachments(same.json()) == linked


async def test_a_space_without_documents_exports_alike(client, person):
    answer = await client.get(EMBEDDED, headers=person.headers)
    assert answer.status_code == 200 and _attachments(answer.json()) == {}


async def test_a_representative_gets_only_the_files_they_see(client, person, make_person):
    tutor = await make_person("Tuteur")
    await court_measure(person, tutor, "tutelle")
    shown = await uploaded(client, person.headers, pdf(500, seed=5))
    hidden = await uploaded(client, person.headers, pdf(600, seed=6), meta=metadata(hiddenFromRepresentatives=True))
    theirs = _attachments(
        (await client.get(f"/v1/spaces/{person.space_id}/export?documents=embedded", headers=tutor.headers)).json()
    )
    assert list(theirs) == [shown["id"]] and base64.b64decode(theirs[shown["id"]]["data"]) == pdf(500, seed=5)
    assert hidden["id"] in _attachments((await client.get(EMBEDDED, headers=person.headers)).json())


@pytest.mark.parametrize("value", ["inline", "EMBEDDED", ""])
async def test_another_way_of_carrying_the_files_is_a_problem(client, person, value):
    answer = await client.get(f"/v1/spaces/me/export?documents={value}", headers=person.headers)
    assert answer.status_code == 400 and answer.headers["content-type"] == "application/problem+json"
    assert "documents" in answer.text


async def test_a_file_that_fails_verification_cuts_the_export(client, person, settings):
    """An export that says it carries every file never leaves one out in silence: a stored file
    changed by someone fails it, as its download does, and the history says 500 beside 200."""
    await uploaded(client, person.headers, pdf(3 * BLOCK_BYTES, seed=7))
    await _tamper(settings, person.space_id, block=1)
    body = b""
    with pytest.raises(Exception, match="after response started"):  # how httpx's ASGI transport says it
        async with client.stream("GET", EMBEDDED, headers=person.headers) as answer:
            assert answer.status_code == 200
            async for chunk in answer.aiter_bytes():
                body += chunk
    with pytest.raises(ValueError):
        json.loads(body)
    history = (await client.get("/v1/spaces/me/access-history", headers=person.headers)).json()["items"]
    assert sorted(row["outcome"] for row in history if row["resourceType"] == "export") == [200, 500]


async def test_an_operators_export_carries_the_files_when_asked(client, person, settings, tmp_path):
    from ens.documents.storage import BlobStore
    from ens.overview import export

    content = pdf(BLOCK_BYTES + 5, seed=8)
    added = await uploaded(client, person.headers, content)
    space = await export.space_for_export(person.space_id)
    assert space is not None
    for blobs, data in ((None, None), (BlobStore.from_settings(settings), content)):
        target = tmp_path / f"{data is None}.json"
        await export.operator_export(
            space, target, operator="Agnès Roux", reason="RGPD 2026-9", secret=settings.secret_key, blobs=blobs
        )
        attachment = _attachments(json.loads(target.read_bytes()))[added["id"]]
        assert (base64.b64decode(attachment["data"]) if "data" in attachment else None) == data
