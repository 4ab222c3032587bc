"""CPU seconds spent by the server's processes and by the database's, read from /proc.

Per request or per measure they are robust to a busy machine (other people's jobs slow the
figures down, not the CPU each request costs), and they say where the time goes: in the Python
server or in PostgreSQL. The bench itself (the load generator, the direct writers) is not counted.
"""

from __future__ import annotations

import math
import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: str | int) -> list[str] | None:
    try:
        # Fields after the command name, which may itself hold spaces and parentheses.
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_group_cpu(pgid: int) -> float:
    """User + system seconds of every live process in the group (the server and its workers)."""
    total = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(entry)
            if fields is not None and int(fields[2]) == pgid:
                total += int(fields[11]) + int(fields[12])
    return total / _TICK


def postmaster_cpu(postmaster_pid: int) -> float:
    """User + system seconds of a PostgreSQL server: the postmaster, its live children (backends,
    WAL writer, checkpointer...) and the children it has already reaped."""
    own = _stat(postmaster_pid)
    if own is None:
        return 0.0
    total = sum(int(x) for x in own[11:15])  # utime, stime, cutime, cstime
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(entry)
            if fields is not None and int(fields[1]) == postmaster_pid:
                total += int(fields[11]) + int(fields[12])
    return total / _TICK


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores; idle, I/O wait and time
    stolen by the hypervisor left out)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[:7])
    return (user + nice + system + irq + softirq) / _TICK


def bench_cpu() -> float:
    """CPU seconds of the bench process (the Python load generators) and of its reaped children (wrk)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass(frozen=True)
class CpuSpent:
    server_s: float
    database_s: float
    # What else the machine did meanwhile, in cores: other people's jobs, and interrupts (the
    # loopback network's included). A high figure says the rates of that load were disturbed.
    others_cores: float = 0.0
    # The bench's own CPU: its Python load generators, and wrk once reaped.
    client_s: float = 0.0


@dataclass(frozen=True)
class _Snapshot:
    server_s: float
    database_s: float
    bench_s: float
    busy_s: float
    at: float


class CpuMeter:
    """CPU counters from its creation to :meth:`spent`; ``postmaster_pid`` 0 when the database's are
    out of reach."""

    def __init__(self, server_pgid: int, postmaster_pid: int) -> None:
        self.server_pgid = server_pgid
        self.postmaster_pid = postmaster_pid
        self._start = self._now()

    def _now(self) -> _Snapshot:
        database = postmaster_cpu(self.postmaster_pid) if self.postmaster_pid else float("nan")
        return _Snapshot(process_group_cpu(self.server_pgid), database, bench_cpu(), machine_busy(), time.monotonic())

    def spent(self) -> CpuSpent:
        now, start = self._now(), self._start
        server = now.server_s - start.server_s
        database = now.database_s - start.database_s
        ours = server + (0.0 if math.isnan(database) else database) + now.bench_s - start.bench_s
        others = max(0.0, (now.busy_s - start.busy_s) - ours) / max(1e-9, now.at - start.at)
        return CpuSpent(server, database, others, now.bench_s - start.bench_s)
