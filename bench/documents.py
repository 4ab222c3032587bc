"""A document's upload and download stream — the server's memory does not grow with the file.

Part of ``make bench`` (``BENCH_ONLY=documents make bench`` for this alone: the bench's PostgreSQL,
a production server, a folder of its own), or on its own, ``python -m bench.documents``: ``ens
serve`` (one worker) on a loopback port, its own database and store (a fresh SQLite file and
folder, unless ENS_DATABASE_URL / ENS_BLOB_URL name others: ``bash scripts/with-s3`` gives a moto
bucket). For each file size, a PDF is uploaded (the client streams it too) and downloaded (the
client discards it as it comes), while the server's resident memory (VmRSS of its process group) is
sampled every 5 ms. Printed per size: the throughput each way and the resident memory's peak above
what it was just before. Flat means the peak does not follow the file's size.

Knobs (environment): BENCH_DOCUMENT_SIZES (MiB, default "1,5,20"), BENCH_DOCUMENT_ROUNDS (default 3).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.world import BIN, ROOT, Server, free_port

MIB = 1024 * 1024
BOUNDARY = "bench-documents-boundary"
CHUNK = 256 * 1024


def _group_rss(pgid: int) -> int:
    """The resident memory (bytes) of every process in the group (the server and its workers)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            continue
    return total


class RssSampler:
    """Samples the group's RSS in a thread; ``peak`` since the last ``reset``."""

    def __init__(self, pgid: int) -> None:
        self.pgid = pgid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _group_rss(self.pgid))
            time.sleep(0.005)

    def reset(self) -> int:
        now = _group_rss(self.pgid)
        self.peak = now
        return now

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _body(size: int, seed: int) -> tuple[int, Iterator[bytes]]:
    """A multipart body of a ``size``-byte PDF, produced chunk by chunk (the client holds 256 KiB)."""
    meta = json.dumps({"typeCode": "18748-4", "title": "Scanner", "date": "2026-01-15"}).encode()
    head = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\nContent-Type: application/json\r\n\r\n'
        ).encode()
        + meta
        + (
            f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="scanner.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
    )
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    def chunks() -> Iterator[bytes]:
        generator = random.Random(seed)  # noqa: S311 (file contents, not secrets)
        yield head + b"%PDF-1.7\n"
        left = size - 9
        while left > 0:
            piece = min(CHUNK, left)
            yield generator.randbytes(piece)
            left -= piece
        yield tail

    return len(head) + size + len(tail), chunks()


def _env(work: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENS_") or k.startswith(("ENS_S3_", "ENS_BLOB"))}
    env.update(
        {
            "ENS_ENV": "dev",
            "ENS_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "ENS_VAR_DIR": str(work),
            "ENS_DATABASE_URL": os.environ.get("ENS_DATABASE_URL") or f"sqlite:///{work}/bench.sqlite",
            "ENS_LOG_LEVEL": "WARNING",
        }
    )
    env.setdefault("ENS_BLOB_URL", (work / "blobs").as_uri())
    return env


@dataclass(frozen=True)
class DocumentRound:
    """One file sent and read back: throughput each way, and the server's RSS peak above what it
    was just before each (MiB)."""

    size_mib: int
    attempt: int
    upload_mb_per_s: float
    upload_peak_mib: float
    download_mb_per_s: float
    download_peak_mib: float


@dataclass(frozen=True)
class DocumentFigures:
    store: str
    rest_mib: float
    end_mib: float
    rounds: list[DocumentRound]


def measure(server: Server, token: str, *, store: str, sizes: list[int], rounds: int) -> DocumentFigures:
    """Upload and download each size ``rounds`` times on ``server`` as the holder of ``token``,
    its process group's RSS sampled meanwhile; prints a line per round as it goes."""
    headers = {"Authorization": f"Bearer {token}"}
    with RssSampler(server.pgid) as rss, httpx.Client(base_url=server.base_url, timeout=120) as http:
        # Warm up every code path once (imports, the space's key, the first connection).
        _upload(http, headers, 256 * 1024, seed=0)
        idle = rss.reset()
        print(f"server RSS at rest, after a warm-up: {idle / MIB:.1f} MiB (store: {store})")
        print("   size  round   upload MB/s  peak RSS +MiB   download MB/s  peak RSS +MiB")
        results = []
        for size_mib in sizes:
            for attempt in range(1, rounds + 1):
                size = size_mib * MIB
                before = rss.reset()
                started = time.perf_counter()
                content_url = _upload(http, headers, size, seed=attempt)
                up_s = time.perf_counter() - started
                up_peak = rss.peak - before
                before = rss.reset()
                started = time.perf_counter()
                received = 0
                with http.stream("GET", content_url, headers=headers) as answer:
                    answer.raise_for_status()
                    for chunk in answer.iter_raw(CHUNK):
                        received += len(chunk)
                down_s = time.perf_counter() - started
                down_peak = rss.peak - before
                if received != size:
                    raise RuntimeError(f"the download gave {received} bytes of {size}")
                row = DocumentRound(
                    size_mib=size_mib,
                    attempt=attempt,
                    upload_mb_per_s=size / up_s / 1e6,
                    upload_peak_mib=up_peak / MIB,
                    download_mb_per_s=size / down_s / 1e6,
                    download_peak_mib=down_peak / MIB,
                )
                results.append(row)
                print(
                    f"{size_mib:>4} MiB  {attempt:>5}   {row.upload_mb_per_s:>11.1f}  {row.upload_peak_mib:>13.1f}"
                    f"   {row.download_mb_per_s:>13.1f}  {row.download_peak_mib:>13.1f}",
                    flush=True,
                )
        end = _group_rss(server.pgid)
        print(f"server RSS at the end: {end / MIB:.1f} MiB (at rest: {idle / MIB:.1f} MiB)")
    return DocumentFigures(store=store, rest_mib=idle / MIB, end_mib=end / MIB, rounds=results)


def sizes_and_rounds() -> tuple[list[int], int]:
    """The knobs: BENCH_DOCUMENT_SIZES (MiB) and BENCH_DOCUMENT_ROUNDS."""
    sizes = [int(s) for s in os.environ.get("BENCH_DOCUMENT_SIZES", "1,5,20").split(",") if s.strip()]
    return sizes, int(os.environ.get("BENCH_DOCUMENT_ROUNDS") or 3)


def main() -> None:
    sizes, rounds = sizes_and_rounds()
    with tempfile.TemporaryDirectory(prefix="ens-bench-documents-") as folder:
        work = Path(folder)
        port = free_port()
        env = _env(work, port)
        subprocess.run([str(BIN / "ens"), "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)  # noqa: S603
        token = subprocess.run(  # noqa: S603
            [str(BIN / "ens"), "dev", "token", "camille"], env=env, cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout.strip()
        print(f"database: {env['ENS_DATABASE_URL'].split('://')[0]}")
        with Server(env, 1) as server:
            measure(server, token, store=env["ENS_BLOB_URL"].split("?")[0], sizes=sizes, rounds=rounds)
    sys.stdout.flush()


def _upload(http: httpx.Client, headers: dict[str, str], size: int, *, seed: int) -> str:
    length, chunks = _body(size, seed)
    answer = http.post(
        "/v1/spaces/me/documents",
        content=chunks,
        headers={
            **headers,
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(length),
        },
    )
    if answer.status_code != 201:
        raise RuntimeError(f"upload refused: {answer.status_code} {answer.text}")
    url: str = answer.json()["contentUrl"]
    return url


if __name__ == "__main__":
    main()
