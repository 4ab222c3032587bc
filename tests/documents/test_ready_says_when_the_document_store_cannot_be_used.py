"""``/ready`` checked the database alone: with the documents' folder gone (or a file in its place,
or S3 out of reach, its bucket missing) every upload and every document read failed with a 503
while ``/ready`` said ``ready``, and a load balancer kept sending people to that process (an outside
audit). It checks the document store too, cheaply (the folder's state and one small file written and
removed; on S3 one listing of an empty prefix), at most once every few seconds a process
(``READY_CHECK_EVERY``), and answers 503 problem+json naming what is not ready; ``/health`` still
says only that the process runs."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import msgspec
import pytest

from ens.app import create_app
from ens.core.settings import Settings
from ens.documents import storage
from tests.helpers.asgi import asgi_client
from tests.helpers.server import free_port


@pytest.fixture(autouse=True)
def _checked_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each probe checks the store (but in the test of the interval, which sets its own)."""
    monkeypatch.setattr(storage, "READY_CHECK_EVERY", timedelta(0))


@asynccontextmanager
async def _serving(settings: Settings, migrated: None, **changed: object) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(msgspec.structs.replace(settings, **changed))
    async with asgi_client(app, "http://testserver.local") as client:
        yield client


def _not_ready(answer: httpx.Response, *words: str) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["type"] == "urn:ens:problem:unavailable"
    assert "document store" in problem["detail"], problem
    for word in words:
        assert word in problem["detail"], problem


async def _folder_case(
    settings: Settings, migrated: None, tmp_path: Path, break_it: Callable[[Path], None], *words: str
) -> None:
    folder = tmp_path / "blobs"
    async with _serving(settings, migrated, blob_url=folder.as_uri()) as client:
        assert (await client.get("/ready")).json() == {"status": "ready"}
        break_it(folder)
        _not_ready(await client.get("/ready"), *words)
        assert (await client.get("/health")).json() == {"status": "ok"}  # the process runs
        # Mended: ready again, without a restart.
        if folder.is_file():
            folder.unlink()
        folder.mkdir(exist_ok=True)
        folder.chmod(0o700)
        assert (await client.get("/ready")).json() == {"status": "ready"}
        assert not list(folder.iterdir())  # the probe leaves nothing behind


async def test_a_folder_removed_is_not_ready(settings: Settings, migrated: None, tmp_path: Path) -> None:
    await _folder_case(settings, migrated, tmp_path, shutil.rmtree, "missing")


async def test_a_file_in_place_of_the_folder_is_not_ready(settings: Settings, migrated: None, tmp_path: Path) -> None:
    def replaced(folder: Path) -> None:
        shutil.rmtree(folder)
        folder.write_bytes(b"")

    await _folder_case(settings, migrated, tmp_path, replaced, "not a folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes whatever the folder's mode")
async def test_a_folder_that_cannot_be_written_is_not_ready(settings: Settings, migrated: None, tmp_path: Path) -> None:
    await _folder_case(settings, migrated, tmp_path, lambda folder: folder.chmod(0o500), "Permission denied")


async def test_the_store_is_checked_once_every_few_seconds(
    settings: Settings, migrated: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load balancer probing every process often does not make each probe a write on the disk."""
    monkeypatch.setattr(storage, "READY_CHECK_EVERY", timedelta(seconds=1))
    folder = tmp_path / "blobs"
    async with _serving(settings, migrated, blob_url=folder.as_uri()) as client:
        assert (await client.get("/ready")).status_code == 200
        shutil.rmtree(folder)
        answers = await asyncio.gather(*(client.get("/ready") for _ in range(20)))
        assert [a.status_code for a in answers] == [200] * 20  # as found a moment ago
        await asyncio.sleep(1.1)
        _not_ready(await client.get("/ready"), "missing")
        folder.mkdir()


async def test_the_stores_own_ready_answer(client: httpx.AsyncClient) -> None:
    """The suite's own store (a folder, or in the S3 run moto's bucket) is ready."""
    assert (await client.get("/ready")).json() == {"status": "ready"}


async def test_a_bucket_that_is_not_there_is_not_ready(settings: Settings, migrated: None) -> None:
    if not settings.blob_url.startswith("s3://"):
        pytest.skip("S3 (the S3 run: scripts/with-s3)")
    async with _serving(settings, migrated, blob_url="s3://no-such-bucket/blobs") as client:
        _not_ready(await client.get("/ready"))


async def test_an_s3_service_that_does_not_answer_is_not_ready(settings: Settings, migrated: None) -> None:
    if not settings.blob_url.startswith("s3://"):
        pytest.skip("S3 (the S3 run: scripts/with-s3)")
    async with _serving(settings, migrated, s3_endpoint=f"http://127.0.0.1:{free_port()}") as client:
        _not_ready(await client.get("/ready"))


async def test_an_s3_service_that_hangs_is_not_ready_within_seconds(settings: Settings, migrated: None) -> None:
    """A service that takes the connection and never answers: obstore waits and retries for minutes;
    a probe answers 503 after READY_TIMEOUT_S."""
    if not settings.blob_url.startswith("s3://"):
        pytest.skip("S3 (the S3 run: scripts/with-s3)")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # connections complete in the kernel's backlog; nothing ever reads them
    try:
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        async with _serving(settings, migrated, s3_endpoint=endpoint) as client:
            started = time.monotonic()
            _not_ready(await client.get("/ready"), "no answer within 3 s")
            assert time.monotonic() - started < storage.READY_TIMEOUT_S + 2
    finally:
        silent.close()


async def test_a_folder_that_hangs_holds_one_thread_not_one_a_probe(
    settings: Settings, migrated: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that does not answer held each probe's check in its thread: a probe every few seconds
    took one more thread until none was left for the PDFs and the files (a review). The check that
    hangs is waited on, not started again beside it."""
    import threading

    answered = threading.Event()
    started: list[int] = []

    def hung(folder: Path) -> str | None:
        started.append(1)
        answered.wait(10)
        return None

    monkeypatch.setattr(storage, "READY_CHECK_EVERY", timedelta(0))
    monkeypatch.setattr(storage, "READY_TIMEOUT_S", 0.2)
    monkeypatch.setattr(storage, "_folder_unusable", hung)
    async with _serving(settings, migrated, blob_url=(tmp_path / "blobs").as_uri()) as client:
        for words in ("no answer within", "since an earlier check", "since an earlier check"):
            _not_ready(await client.get("/ready"), words)
        assert len(started) == 1
        answered.set()
        await asyncio.sleep(0.1)
        assert (await client.get("/ready")).json() == {"status": "ready"}
        assert len(started) == 2
