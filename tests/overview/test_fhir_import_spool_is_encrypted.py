"""The import's body waits on disk encrypted, under a key that lives only in memory: past 1 MiB it
went in plaintext to a temporary file (a ``SpooledTemporaryFile``), where a person's health data
stayed if the process was killed (a review).

The tests make every temporary file the process creates a named one in the test's own folder
(``tempfile.TemporaryFile`` and ``tempfile.tempdir``), so that what was written there can be read
after the import."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from msgspec import structs

from ens.app import create_app
from ens.core.settings import Settings
from tests.helpers.asgi import asgi_client
from tests.helpers.fhir import FHIR, PROFILE
from tests.helpers.people import MakePerson
from tests.helpers.temp_files import TempFiles
from tests.helpers.vitals import VITALS, weight

IMPORT = "/v1/spaces/me/import"
EXPORT = "/v1/spaces/me/export"
MIB = 1024 * 1024
# What the body says and the disk must not: a condition's label, and every measure's client id.
MARKER = "Maladie-temoin-7f3a9c41e2"
MEASURE_ID = "mesure-temoin-5b0d"


async def _big_bundle(client: httpx.AsyncClient, make_person: MakePerson, *, measures: int) -> bytes:
    """An export holding the marked condition, and ``measures`` weights (about 700 bytes each)."""
    source = await make_person("Source")
    condition = {"label": MARKER, "since": "2019-03-01"}
    made = await client.post(f"{PROFILE}/conditions", json=condition, headers=source.headers)
    assert made.status_code == 201, made.text
    sent = await client.post(VITALS, json={"measurements": [weight()]}, headers=source.headers)
    assert sent.status_code == 201, sent.text
    bundle = (await client.get(EXPORT, headers=source.headers)).json()
    [observation] = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]
    bundle["entry"].remove(observation)
    text = json.dumps(observation)
    for index in range(measures):
        # Each its own id and minute (one a minute from 1 January 2025).
        copy = json.loads(text.replace(observation["resource"]["id"], f"{MEASURE_ID}-{index}"))
        day, minute = 1 + index // 1440, f"{index // 60 % 24:02d}:{index % 60:02d}"
        copy["resource"]["effectiveDateTime"] = f"2025-01-{day:02d}T{minute}:00Z"
        copy["resource"]["valueQuantity"]["value"] = 50 + index % 50
        bundle["entry"].append(copy)
    return json.dumps(bundle).encode()


async def _chunks(body: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_a_big_import_reaches_the_disk_only_encrypted_and_is_read_back_whole(
    client: httpx.AsyncClient, make_person: MakePerson, files: TempFiles
) -> None:
    measures = 4500  # about 3 MiB: well past the 1 MiB the body stayed in memory up to
    body = await _big_bundle(client, make_person, measures=measures)
    assert len(body) > 3 * MIB and body.count(MARKER.encode()) == 1
    newcomer = await make_person("Camille")

    answer = await client.post(IMPORT, content=_chunks(body), headers={**newcomer.headers, "Content-Type": FHIR})

    assert answer.status_code == 201, answer.text
    assert answer.json()["imported"] == {"Condition": 1, "Observation": measures}
    assert files.opened, "the body went to no temporary file"
    assert all(file.closed for file in files.opened)
    written = files.written()
    for plaintext in (MARKER, MEASURE_ID, '"resourceType"', "Observation", "body-weight", '"kg"'):
        assert plaintext.encode() not in written, f"{plaintext!r} is on disk in plaintext"
    assert len(written) > len(body), "the whole body went to disk (encrypted: a little longer)"
    # The data is the space's now, as the API shows it.
    conditions = (await client.get(f"{PROFILE}/conditions", headers=newcomer.headers)).json()
    assert MARKER in json.dumps(conditions)
    seen: list[dict[str, Any]] = []
    page = await client.get(VITALS, params={"limit": 500}, headers=newcomer.headers)
    while True:
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        cursor = page.json().get("nextCursor")
        if not cursor:
            break
        page = await client.get(VITALS, params={"limit": 500, "cursor": cursor}, headers=newcomer.headers)
    assert len(seen) == measures
    first = datetime(2025, 1, 1, tzinfo=UTC)
    assert {datetime.fromisoformat(m["effectiveAt"]) for m in seen} == {
        first + timedelta(minutes=index) for index in range(measures)
    }


async def test_the_spool_is_closed_whatever_ends_the_import(
    settings: Settings, migrated: None, make_person: MakePerson, files: TempFiles
) -> None:
    """Past the size limit (413), a body that stops arriving (408), a body that is no JSON (422),
    and a success: each import's temporary file is closed when its answer is given."""
    app = create_app(structs.replace(settings, import_max_bytes=2 * MIB, body_idle_seconds=1))
    newcomer = await make_person("Léon")
    headers = {**newcomer.headers, "Content-Type": FHIR}
    start = b'{"resourceType": "Bundle", "type": "collection", "entry": ['
    entry = json.dumps({"fullUrl": "urn:uuid:x", "resource": {"resourceType": "Basic", "text": MARKER}}).encode()
    past_limit = start + b",".join([entry] * (3 * MIB // len(entry))) + b"]}"

    async def stalled() -> AsyncIterator[bytes]:
        yield start + b",".join([entry] * (MIB // len(entry))) + b","
        await asyncio.sleep(5)  # longer than ENS_BODY_IDLE_SECONDS
        yield entry + b"]}"

    async with asgi_client(app, "http://testserver.local") as client:
        for content, status in (
            (_chunks(past_limit), 413),
            (stalled(), 408),
            (_chunks(start + entry + b", {"), 422),
            (_chunks(start + entry + b"]}"), 201),
        ):
            before = len(files.opened)
            answer = await client.post(IMPORT, content=content, headers=headers)
            assert answer.status_code == status, answer.text
            assert len(files.opened) == before + 1
            assert files.opened[-1].closed, f"the spool of the {status} import is still open"
    assert MARKER.encode() not in files.written()


async def test_a_big_import_sent_with_an_idempotency_key_is_taken_and_its_retry_replayed(
    client: httpx.AsyncClient, make_person: MakePerson, files: TempFiles
) -> None:
    """The Idempotency-Key's copy of the body kept the ordinary body limit (2 MiB): an import past
    it sent with a key was 413 (seen over HTTP with `make run`). It takes the import's own limit,
    and waits encrypted like the import's own spool."""
    body = await _big_bundle(client, make_person, measures=4500)
    assert len(body) > 3 * MIB
    newcomer = await make_person("Camille")
    headers = {**newcomer.headers, "Content-Type": FHIR, "Idempotency-Key": "import-1"}

    first = await client.post(IMPORT, content=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await client.post(IMPORT, content=body, headers=headers)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert first.json()["imported"] == {"Condition": 1, "Observation": 4500}
    assert [item["resourceType"] for item in first.json()["notImported"]] == ["Patient"]
    assert all(file.closed for file in files.opened)
    assert MARKER.encode() not in files.written()
