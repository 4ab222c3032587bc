"""Read throughput and latency under wrk (a C load generator, one thread): pages of ENS and the bare
endpoint they are divided by, with the same wrk settings and the same request headers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.cpu import CpuMeter
from bench.world import Person, Server

SCRIPT = Path(__file__).with_name("page.lua")
WARM_UP_SECONDS = 2


@dataclass(frozen=True)
class ReadLoad:
    name: str  # "limit=100", "bare", ...
    path: str
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
    # CPU time per request (robust to a busy machine): the server's processes, and PostgreSQL's.
    server_cpu_us: float
    database_cpu_us: float
    others_cores: float  # the machine's CPU outside the server, PostgreSQL and wrk, in cores
    accept_encoding: str = ""  # what wrk asked for ("" none, "gzip" as a phone asks)
    bytes_per_request: float = 0.0  # what wrk read, headers included


def page_path(person: Person, limit: int) -> str:
    return f"/v1/spaces/{person.space_id}/vitals?limit={limit}"


def door_floor_path(person: Person) -> str:
    """The cheapest read behind the space door: the representatives of a space that has none."""
    return f"/v1/spaces/{person.space_id}/representatives"


def check_door_floor(base_url: str, person: Person) -> None:
    """The floor's answer is what it claims: 200, no representative."""
    headers = {"Authorization": f"Bearer {person.token}"}
    response = httpx.get(base_url + door_floor_path(person), headers=headers, timeout=30)
    if response.status_code != 200 or response.json().get("items") != []:
        raise RuntimeError(f"the door floor answered {response.status_code}: {response.text[:200]}")


def check_page(base_url: str, person: Person, limit: int) -> None:
    """The page wrk will hammer answers 200 with ``limit`` items (else the figures mean nothing)."""
    response = httpx.get(
        base_url + page_path(person, limit), headers={"Authorization": f"Bearer {person.token}"}, timeout=30
    )
    if response.status_code != 200:
        raise RuntimeError(f"page answered {response.status_code}: {response.text[:300]}")
    if len(response.json()["items"]) != limit:
        raise RuntimeError(f"the page of limit={limit} holds {len(response.json()['items'])} items")


def wrk(
    server: Server,
    *,
    name: str,
    path: str,
    token: str,
    postmaster_pid: int,
    table_rows: int,
    seconds: int,
    connections: int,
    accept_encoding: str = "",
) -> ReadLoad:
    """``wrk -t1 -c{connections} -d{seconds}s`` on ``path`` with the bearer token, the server's and the
    database's CPU counted around it."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is missing: run scripts/ensure-bench-tools")
    env = {**os.environ, "BENCH_TOKEN": token, "BENCH_PATH": path, "BENCH_ACCEPT_ENCODING": accept_encoding}

    def command(duration: int) -> list[str]:
        return [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "5s",
            "-s",
            str(SCRIPT),
            server.base_url,
        ]

    # Not measured: the first requests on each of the server's pool connections prepare their statements.
    subprocess.run(  # noqa: S603
        command(WARM_UP_SECONDS),
        env=env,
        capture_output=True,
        check=True,
        timeout=WARM_UP_SECONDS + 60,
    )
    meter = CpuMeter(server.pgid, postmaster_pid)
    out = subprocess.run(  # noqa: S603
        command(seconds), env=env, capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    cpu = meter.spent()
    line = next(x for x in out.splitlines() if x.startswith("BENCH_JSON "))
    data = json.loads(line.removeprefix("BENCH_JSON "))
    seconds_run = data["duration_us"] / 1e6
    latency = data["latency_us"]
    requests = max(1, data["requests"])
    return ReadLoad(
        name=name,
        path=path,
        workers=server.workers,
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
        server_cpu_us=1e6 * cpu.server_s / requests,
        database_cpu_us=1e6 * cpu.database_s / requests,
        others_cores=cpu.others_cores,
        accept_encoding=accept_encoding,
        bytes_per_request=data["bytes"] / max(1, data["requests"]),
    )
