"""A request's access-history row commits with its first write, and says the status the handler
answers on success; when the answer turns out otherwise, the row is corrected, or, once ``ens audit
seal`` sealed it, left as sealed beside a second row with the request's id. A document's upload
committed its row with the space's key and the upload ledger, before the file streamed in at the
phone's pace: the history said the document was added while it was not there yet (and never, when
the upload then failed), the sealer (cron, another process) sealed that row, and correcting it broke
the sealed checkpoint (found by an outside audit of several processes on one database: two servers
and the sealer), then gave one request two rows, the sealed one a creation of a document never
stored (an outside audit of the documents). The ledger and the key are the upload's bookkeeping:
the row commits with the document, once the file is in, and says what the caller got; an upload
refused on the way leaves one row saying so, through the group commit."""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from ens.core import clock, db
from ens.core.clock import aware
from ens.documents import from_fhir
from ens.spaces import audit
from ens.spaces.history import SEALED_COLUMNS
from tests.helpers.documents import BOUNDARY, META, form_headers, pdf, uploaded
from tests.helpers.people import Person

COLUMNS = SEALED_COLUMNS.split(", ")


async def _seal_now() -> None:
    """Two runs of ``ens audit seal``, each later than any before (the other tests' runs too: one
    database): the first notes the newest row, the second (its lag passed) seals up to it. In a
    context of its own, as the cron's process: run in the request's (the body is read there), its
    transactions would be the request's writes, and carry its history row."""

    async def seal() -> None:
        for _ in range(2):
            state = await db.fetch_one("SELECT pending_at FROM history_seal_state WHERE name = 'access'")
            last = aware(state["pending_at"]) if state is not None else clock.now()
            await audit.seal(lag=timedelta(0), now=max(clock.now(), last) + timedelta(seconds=1))

    await asyncio.get_running_loop().create_task(seal(), context=contextvars.Context())


def _part(name: str, filename: str | None, data: bytes) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"


async def _upload_sealed_midway(client: httpx.AsyncClient, person: Person, metadata: bytes) -> httpx.Response:
    """An upload whose file comes first and its metadata last, the sealer running twice between."""

    async def stream() -> AsyncIterator[bytes]:
        yield _part("file", "compte-rendu.pdf", pdf(50_000))
        await _seal_now()  # the phone's uplink is slow: the row committed by now is sealed
        yield _part("metadata", None, metadata) + f"--{BOUNDARY}--\r\n".encode()

    return await client.post("/v1/spaces/me/documents", content=stream(), headers=form_headers(person.headers))


async def _rows_of(person: Person, request_id: str) -> list[tuple[int, int, str | None]]:
    rows = await db.fetch(
        "SELECT id, outcome, resource_id FROM access_history WHERE space_id = {} AND request_id = {} ORDER BY id",
        person.space_id,
        request_id,
    )
    return [(int(row["id"]), int(row["outcome"]), row["resource_id"]) for row in rows]


async def test_an_upload_that_fails_after_a_seal_midway_leaves_one_row_saying_so(
    client: httpx.AsyncClient, person: Person
) -> None:
    answer = await _upload_sealed_midway(client, person, json.dumps({"typeCode": META["typeCode"]}).encode())
    assert answer.status_code == 422, answer.text  # no title: nothing stored
    assert await audit.verify_space(person.space_id, COLUMNS) is None
    rows = await _rows_of(person, answer.headers["x-request-id"])
    # No row sealed as a creation of a document that was never stored: one row, the refusal.
    assert [(outcome, resource) for _, outcome, resource in rows] == [(422, None)], rows
    await _seal_now()
    assert await audit.verify_space(person.space_id, COLUMNS) is None


async def test_a_file_refused_on_its_first_bytes_after_a_seal_leaves_one_row(
    client: httpx.AsyncClient, person: Person
) -> None:
    """The ledger notes the incoming object before the first byte is read: the file refused then (a
    web page, not a PDF), after a seal, has one row saying 415."""

    async def stream() -> AsyncIterator[bytes]:
        yield _part("metadata", None, json.dumps(META).encode())
        yield f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="cr.pdf"\r\n\r\n'.encode()
        await _seal_now()
        yield b"<html><body>" + b"x" * 5000 + b"</body></html>\r\n" + f"--{BOUNDARY}--\r\n".encode()

    answer = await client.post("/v1/spaces/me/documents", content=stream(), headers=form_headers(person.headers))
    assert answer.status_code == 415, answer.text
    rows = await _rows_of(person, answer.headers["x-request-id"])
    assert [(outcome, resource) for _, outcome, resource in rows] == [(415, None)], rows
    assert await audit.verify_space(person.space_id, COLUMNS) is None


async def test_no_row_says_a_document_was_added_while_its_file_streams_in(
    client: httpx.AsyncClient, person: Person
) -> None:
    """Read while the file is on its way (the holder opening the history meanwhile): the upload has
    no row yet, then one, naming the document, once it is stored."""
    request_id = "upload-on-its-way"
    midway: list[list[tuple[int, int, str | None]]] = []

    async def stream() -> AsyncIterator[bytes]:
        yield _part("metadata", None, json.dumps(META).encode())
        yield f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="cr.pdf"\r\n\r\n'.encode()
        yield pdf(100_000)[:70_000]  # past a block: the first one is encrypted and stored
        midway.append(await _rows_of(person, request_id))
        yield pdf(100_000)[70_000:] + f"\r\n--{BOUNDARY}--\r\n".encode()

    answer = await client.post(
        "/v1/spaces/me/documents",
        content=stream(),
        headers=form_headers({**person.headers, "X-Request-Id": request_id}),
    )
    assert answer.status_code == 201, answer.text
    assert midway == [[]]
    rows = await _rows_of(person, request_id)
    assert [(outcome, resource) for _, outcome, resource in rows] == [(201, answer.json()["id"])], rows


async def test_a_row_not_sealed_yet_is_corrected_in_place(client: httpx.AsyncClient, person: Person) -> None:
    """No seal in between: one row per request, saying what the caller got, as before."""
    body = _part("file", "compte-rendu.pdf", pdf(50_000)) + _part("metadata", None, b'{"typeCode": "11488-4"}')
    answer = await client.post(
        "/v1/spaces/me/documents", content=body + f"--{BOUNDARY}--\r\n".encode(), headers=form_headers(person.headers)
    )
    assert answer.status_code == 422, answer.text
    rows = await _rows_of(person, answer.headers["x-request-id"])
    assert [(outcome, resource) for _, outcome, resource in rows] == [(422, None)], rows
    await _seal_now()
    assert await audit.verify_space(person.space_id, COLUMNS) is None


async def test_a_successful_upload_sealed_midway_keeps_its_one_row(client: httpx.AsyncClient, person: Person) -> None:
    answer = await _upload_sealed_midway(client, person, json.dumps(META).encode())
    assert answer.status_code == 201, answer.text
    rows = await _rows_of(person, answer.headers["x-request-id"])
    assert [(outcome, resource) for _, outcome, resource in rows] == [(201, answer.json()["id"])], rows
    assert await audit.verify_space(person.space_id, COLUMNS) is None


async def test_an_import_refused_after_its_files_were_staged_and_sealed_has_one_row(
    client: httpx.AsyncClient, make_person: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import writes the files its Bundle carries to the store, each noted in the ledger first,
    before its transaction: its row committed with that first note, saying 201, and when the
    transaction then refused an entry (a second médecin traitant) the history held a sealed import
    that never was. The sealer runs here once the files are staged."""
    source = await make_person("Source")
    await uploaded(client, source.headers, pdf(900, seed=7), filename="a.pdf")
    exported = await client.get("/v1/spaces/me/export?documents=embedded", headers=source.headers)
    assert exported.status_code == 200
    bundle = exported.json()
    doctor = {"resourceType": "Practitioner", "name": [{"family": "Martin", "given": ["Paul"]}]}
    bundle["entry"] += [{"fullUrl": f"urn:uuid:{n}", "resource": {**doctor, "id": n}} for n in ("d1", "d2")]
    staging = from_fhir.stage

    async def stage_then_seal(*args: Any, **kwargs: Any) -> from_fhir.Staged:
        staged = await staging(*args, **kwargs)
        await _seal_now()
        return staged

    monkeypatch.setattr(from_fhir, "stage", stage_then_seal)
    newcomer = await make_person("Camille")
    answer = await client.post(
        "/v1/spaces/me/import",
        content=json.dumps(bundle).encode(),
        headers={**newcomer.headers, "Content-Type": "application/fhir+json"},
    )
    assert answer.status_code == 422 and "médecin traitant" in answer.text
    rows = await _rows_of(newcomer, answer.headers["x-request-id"])
    assert [outcome for _, outcome, _ in rows] == [422], rows
    assert await audit.verify_space(newcomer.space_id, COLUMNS) is None
