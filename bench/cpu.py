"""CPU seconds spent by the server's processes and by the database's, read from /proc.

Per request or per measure they are robust to a busy machine (other people's jobs slow the
figures down, not the CPU each request costs), and they say where the time goes: in the Python
server or in PostgreSQL. The bench itself (the load generator, the direct writers) is not counted.
"""

from __future__ import annotations

import os
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


@dataclass(frozen=True)
class CpuSpent:
    server_s: float
    database_s: float


class CpuMeter:
    """Snapshots of both CPU counters; ``postmaster_pid`` 0 when the database's are out of reach."""

    def __init__(self, server_pgid: int, postmaster_pid: int) -> None:
        self.server_pgid = server_pgid
        self.postmaster_pid = postmaster_pid
        self._start = self._now()

    def _now(self) -> CpuSpent:
        database = postmaster_cpu(self.postmaster_pid) if self.postmaster_pid else float("nan")
        return CpuSpent(process_group_cpu(self.server_pgid), database)

    def spent(self) -> CpuSpent:
        now = self._now()
        return CpuSpent(now.server_s - self._start.server_s, now.database_s - self._start.database_s)
