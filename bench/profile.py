"""``BENCH_PROFILE=1`` (or ``native``): where the server's CPU goes, one profile per load.

For each load (an ingestion run, a page read under wrk, the bare endpoint), ``py-spy record``
attaches to the running server (its workers too) for exactly that load and writes a speedscope
file under ``var/bench-profiles/`` (open it in speedscope, at speedscope.app or its npm package).
py-spy samples from outside the process (ptrace, ``--nonblocking``: the server is never paused),
but it takes CPU from the same cores: the figures of a profiled run are not for comparison.
``BENCH_PROFILE=native`` adds the C frames (uvloop, httptools, asyncpg's protocol, msgspec, libc's
system calls) and pauses the server at each sample, which slows it further. The table then adds,
per load, the functions that were running (self time), the share of each layer (ENS's own code,
the framework, the database driver, the standard library) and ENS's functions on the stack.
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
    seconds: float  # of samples in which the server's main threads were running (idle waits left out)
    other_threads_seconds: float
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
    if "/project/" in path:  # C or Cython source of a wheel built for PyPI (uvloop, httptools, asyncpg...)
        return path.split("/project/", 1)[1].split("/", 1)[0] + " (native)"
    if ".so" in path or "/include/python" in path or "/Python-3" in path:
        base = path.rsplit("/", 1)[-1]
        return "CPython interpreter" if "python3" in base.lower() or "Python-3" in path else base
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
    return "/ens/" in path and "/site-packages/" not in path and "/ens/cli/" not in path


def summarise(name: str, path: Path, top: int = 12) -> Summary:
    """Self time per function and per layer, and ENS's own functions' inclusive time, from a
    speedscope file of py-spy (weights in seconds, stacks from the outermost frame in)."""
    data = json.loads(path.read_text())
    frames = data["shared"]["frames"]
    self_time: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0.0
    other_threads = 0.0
    for profile in data["profiles"]:
        if '"MainThread"' not in str(profile.get("name")):
            # The event loop, hence every request, runs on each process's main thread; the others
            # (the log queue's listener) mostly wait, which native sampling cannot always tell.
            other_threads += sum(profile["weights"])
            continue
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
        other_threads_seconds=other_threads,
        top_self=[(n, w * share) for n, w in self_time.most_common(top)],
        by_layer=[(n, w * share) for n, w in layers.most_common(top)],
        ens_inclusive=[(n, w * share) for n, w in inclusive.most_common(top)],
    )


@dataclass
class Profiler:
    mode: str  # "" (off), "1" (Python frames, the server never paused) or "native" (C frames too)
    summaries: list[Summary] = field(default_factory=list)

    @property
    def enabled(self) -> bool:
        return self.mode not in ("", "0")

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
        command = [py_spy(), "record", "--pid", str(server.pid), "--subprocesses", "--rate", str(RATE)]
        # Native stacks need the process paused at each sample: heavier, but they show the C code.
        command += ["--native"] if self.mode == "native" else ["--nonblocking"]
        command += ["--format", "speedscope", "--output", str(out)]
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
