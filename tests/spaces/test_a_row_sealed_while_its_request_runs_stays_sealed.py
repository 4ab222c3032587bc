"""A request's access-history row commits with its first write, and says the status the handler
answers on success; when the answer turns out otherwise, the row is corrected. A document's upload
commits its row with the space's key and the upload ledger, before the file streams in at the
phone's pace: ``ens audit seal`` (cron, another process) sealed the row meanwhile, the upload then
failed, and the correction rewrote a sealed row. ``ens audit verify`` reported the space's history
broken for good, a false tamper alarm (found by an outside audit of several processes on one
database: two servers and the sealer). A row sealed is left as it is; the status the caller got
is a second row, with the request's id."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx

from ens.core import clock, db
from ens.core.clock import aware
from ens.spaces import audit
from ens.spaces.history import SEALED_COLUMNS
from tests.helpers.documents import BOUNDARY, META, form_headers, pdf
from tests.helpers.people import Person

COLUMNS = SEALED_COLUMNS.split(", ")


async def _seal_now() -> None:
    """Two runs of ``ens audit seal``, each later than any before (the other tests' runs too: one
    database): the first notes the newest row, the second (its lag passed) seals up to it."""
    for _ in range(2):
        state = await db.fetch_one("SELECT pending_at FROM history_seal_state WHERE name = 'access'")
        last = aware(state["pending_at"]) if state is not None else clock.now()
        await audit.seal(lag=timedelta(0), now=max(clock.now(), last) + timedelta(seconds=1))


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


async def test_an_upload_that_fails_after_its_row_was_sealed_leaves_the_history_whole(
    client: httpx.AsyncClient, person: Person
) -> None:
    answer = await _upload_sealed_midway(client, person, json.dumps({"typeCode": META["typeCode"]}).encode())
    assert answer.status_code == 422, answer.text  # no title: nothing stored
    assert await audit.verify_space(person.space_id, COLUMNS) is None
    rows = await _rows_of(person, answer.headers["x-request-id"])
    # The row sealed as it was committed (a creation, naming the document), then what the caller got.
    assert [outcome for _, outcome, _ in rows] == [201, 422], rows
    assert rows[1][2] is None  # a creation that failed names nothing
    await _seal_now()
    assert await audit.verify_space(person.space_id, COLUMNS) is None


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
