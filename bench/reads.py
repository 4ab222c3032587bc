"""Read throughput and latency of a 100-item page, under wrk (a C load generator, one thread)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.world import Person

SCRIPT = Path(__file__).with_name("page.lua")


@dataclass(frozen=True)
class ReadLoad:
    workers: int
    table_rows: int
    connections: int
    seconds: float
    requests: int
    per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    server_cpu_us: float  # CPU time of the server's processes per request (robust to a busy machine)


def page_path(person: Person) -> str:
    return f"/v1/spaces/{person.space_id}/vitals?limit=100"


def check_page(base_url: str, person: Person) -> int:
    """The page wrk will hammer answers 200 with 100 items (else the figures mean nothing)."""
    response = httpx.get(base_url + page_path(person), headers={"Authorization": f"Bearer {person.token}"}, timeout=30)
    if response.status_code != 200:
        raise RuntimeError(f"page answered {response.status_code}: {response.text[:300]}")
    return len(response.json()["items"])


def process_group_cpu(pgid: int) -> float:
    """User + system seconds of every live process in the group (the server and its workers)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def wrk(
    base_url: str, person: Person, *, server_pgid: int, workers: int, table_rows: int, seconds: int, connections: int
) -> ReadLoad:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is missing: run scripts/ensure-bench-tools")
    env = {**os.environ, "BENCH_TOKEN": person.token, "BENCH_PATH": page_path(person)}
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(SCRIPT), base_url]
    cpu_before = process_group_cpu(server_pgid)
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout  # noqa: S603
    cpu = process_group_cpu(server_pgid) - cpu_before
    line = next(x for x in out.splitlines() if x.startswith("BENCH_JSON "))
    data = json.loads(line.removeprefix("BENCH_JSON "))
    seconds_run = data["duration_us"] / 1e6
    latency = data["latency_us"]
    return ReadLoad(
        workers=workers,
        table_rows=table_rows,
        connections=connections,
        seconds=seconds_run,
        requests=data["requests"],
        per_second=data["requests"] / seconds_run,
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        errors=sum(data["errors"].values()),
        server_cpu_us=1e6 * cpu / max(1, data["requests"]),
    )
