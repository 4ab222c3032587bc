"""``BENCH_PROFILE=1``: where the server's CPU goes, one profile per load.

For each load (an ingestion run, a page read under wrk, the bare endpoint), ``py-spy record``
attaches to the running server (its workers too) for exactly that load and writes a speedscope
file under ``var/bench-profiles/`` (open it at speedscope.app, or with ``speedscope FILE``).
py-spy samples from outside the process (ptrace, ``--nonblocking``: the server is never paused),
but it takes CPU from the same cores: the figures of a profiled run are not for comparison. The
table then adds, per load, the functions that were running (self time) and the share of ENS's
own code, the framework, the database driver and the standard library.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.world import BIN, ROOT, Server

DIRECTORY = ROOT / "var" / "bench-profiles"
RATE = 200  # samples per second


def py_spy() -> str:
    found = shutil.which("py-spy", path=str(BIN)) or shutil.which("py-spy")
    if found is None:
        raise RuntimeError("py-spy is missing: it comes with the dev extras (make), or pip install py-spy")
    return found


@dataclass
class Summary:
    name: str
    file: str
    seconds: float  # of samples in which the server was running (idle waits are left out)
    top_self: list[tuple[str, float]]  # function (module:line), share of the samples
    by_layer: list[tuple[str, float]]
    ens_inclusive: list[tuple[str, float]]  # ENS functions (any line) on the stack, share of the samples


# A sample whose innermost Python frame is the event loop's run() is code without a Python frame
# of its own running under the loop: uvloop, httptools, and asyncpg's protocol (decoding rows).
_LOOP = ("asyncio/runners.py", "Runner.run")
NATIVE = "native code under the event loop (uvloop, httptools, asyncpg protocol)"


def _layer(frame: dict[str, Any]) -> str:
    path = str(frame.get("file") or "")
    if not path:
        return "(no Python frame)"
    if path.endswith(_LOOP[0]) and frame.get("name") == _LOOP[1]:
        return NATIVE
    if "/site-packages/" in path:
        return path.split("/site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/ens/" in path:
        return "ens." + path.rsplit("/ens/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/lib/python" in path or path.startswith("<frozen"):
        return "python stdlib"
    return path


def _frame_name(frame: dict[str, Any], *, line: bool = True) -> str:
    file = str(frame.get("file") or "")
    if not file:
        return "(no Python frame)"
    if "/site-packages/" in file:
        short = file.split("/site-packages/", 1)[1]
    elif "/lib/python" in file:
        short = file.rsplit("/lib/python", 1)[1].split("/", 1)[-1]
    elif "/ens/" in file:
        short = "ens/" + file.rsplit("/ens/", 1)[1]
    else:
        short = file
    return f"{frame.get('name')} ({short}:{frame.get('line')})" if line else f"{frame.get('name')} ({short})"


def _is_ens(frame: dict[str, Any]) -> bool:
    path = str(frame.get("file") or "")
    return "/ens/" in path and "/site-packages/" not in path and not path.endswith("/ens/cli.py")


def summarise(name: str, path: Path, top: int = 12) -> Summary:
    """Self time per function and per layer, and ENS's own functions' inclusive time, from a
    speedscope file of py-spy (weights in seconds, stacks from the outermost frame in)."""
    data = json.loads(path.read_text())
    frames = data["shared"]["frames"]
    self_time: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0.0
    for profile in data["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            python = [frames[i] for i in stack if frames[i].get("file")]  # not the process/thread labels
            total += weight
            leaf = python[-1] if python else {}
            self_time[NATIVE if _layer(leaf) == NATIVE else _frame_name(leaf)] += weight
            layers[_layer(leaf)] += weight
            for frame_name in {_frame_name(f, line=False) for f in python if _is_ens(f)}:
                inclusive[frame_name] += weight
    share = 1.0 / (total or 1.0)
    return Summary(
        name=name,
        file=str(path.resolve().relative_to(ROOT)),
        seconds=total,
        top_self=[(n, w * share) for n, w in self_time.most_common(top)],
        by_layer=[(n, w * share) for n, w in layers.most_common(top)],
        ens_inclusive=[(n, w * share) for n, w in inclusive.most_common(top)],
    )


@dataclass
class Profiler:
    enabled: bool
    summaries: list[Summary] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.enabled:
            py_spy()
            DIRECTORY.mkdir(parents=True, exist_ok=True)
            for old in DIRECTORY.glob("*.speedscope.json"):
                old.unlink()

    @contextmanager
    def record(self, server: Server, name: str) -> Iterator[None]:
        """The server under ``py-spy record`` for the duration of the block (nothing when disabled)."""
        if not self.enabled:
            yield
            return
        out = DIRECTORY / f"{name}.speedscope.json"
        command = [py_spy(), "record", "--pid", str(server.pid), "--subprocesses", "--nonblocking"]
        command += ["--rate", str(RATE), "--format", "speedscope", "--output", str(out)]
        spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
        time.sleep(1.0)  # attached before the load starts
        if spy.poll() is not None:
            error = spy.stderr.read().decode(errors="replace") if spy.stderr else ""
            raise RuntimeError(f"py-spy could not attach to the server (it needs ptrace): {error.strip()}")
        try:
            yield
        finally:
            spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            try:
                spy.wait(timeout=60)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait()
        if out.exists():
            self.summaries.append(summarise(name, out))
        else:
            print(f"    py-spy wrote no profile for {name}", file=sys.stderr, flush=True)
