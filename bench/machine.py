"""What the figures were measured on: the processor, the memory, the database's own word on its
durability (``SHOW``), and the disk under its data folder (a tmpfs would make fsync free)."""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import asyncpg

# What production durability means here: Debian's defaults. The bench says when they do not hold.
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
SERVER_PACKAGES = ("uvicorn", "uvloop", "httptools", "litestar", "msgspec", "asyncpg")
SHOWN = (*DURABLE, "wal_sync_method", "shared_buffers", "max_connections", "data_directory")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def _mount_of(path: str) -> dict[str, str]:
    """The device, file system and mount point holding ``path`` (the longest mount prefix)."""
    real = os.path.realpath(path)
    best = {"device": "unknown", "fstype": "unknown", "mount": "/"}
    best_len = -1
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return best
    for line in lines:
        device, mount, fstype = line.split()[:3]
        inside = real == mount or real.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) > best_len:
            best, best_len = {"device": device, "fstype": fstype, "mount": mount}, len(mount)
    name = Path(best["device"]).name
    rotational = Path(f"/sys/class/block/{name}/queue/rotational")
    if rotational.exists():
        best["rotational"] = rotational.read_text().strip()
    return best


def _fdatasync_ms(folder: str, writes: int = 100) -> float | None:
    """Median time of an 8 kB write + fdatasync in ``folder``: what a durable commit waits for at least."""
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix="bench-fsync-")
    except OSError:
        return None
    block = os.urandom(8192)
    times: list[float] = []
    try:
        os.pwrite(fd, block * 2, 0)
        os.fsync(fd)
        for _ in range(writes):
            started = time.perf_counter()
            os.pwrite(fd, block, 0)
            os.fdatasync(fd)
            times.append(1000 * (time.perf_counter() - started))
    finally:
        os.close(fd)
        os.unlink(name)
    return statistics.median(times)


def _installed(name: str) -> str:
    try:
        return f"{name} {version(name)}"
    except PackageNotFoundError:
        return f"no {name}"


async def postmaster_pid(dsn: str) -> int:
    """The local PostgreSQL server's pid (the parent of a backend), 0 if it is not on this machine."""
    connection = await asyncpg.connect(dsn)
    try:
        # Read while the backend lives: it is gone soon after the connection closes.
        return _parent_pid(int(await connection.fetchval("SELECT pg_backend_pid()")))
    finally:
        await connection.close()


def _parent_pid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0


async def describe(dsn: str) -> dict[str, Any]:
    connection = await asyncpg.connect(dsn)
    try:
        server_version = await connection.fetchval("SHOW server_version")
        settings = {name: str(await connection.fetchval(f"SHOW {name}")) for name in SHOWN}
    finally:
        await connection.close()
    data = settings["data_directory"]
    # The data folder belongs to the postgres user: time the disk in the folder above it (same mount).
    probe = str(Path(data).parent) if os.access(Path(data).parent, os.W_OK) else tempfile.gettempdir()
    disk = _mount_of(data)
    disk["fdatasync_8k_ms"] = "" if (ms := _fdatasync_ms(probe)) is None else f"{ms:.2f}"
    disk["probe"] = probe
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "ram_gib": _ram_gib(),
        "kernel": platform.release(),
        "postgresql": server_version,
        "postgresql_settings": settings,
        "durable": all(settings[k] == v for k, v in DURABLE.items()),
        "disk": disk,
        "python": platform.python_version(),
        "server": ", ".join(_installed(n) for n in SERVER_PACKAGES),
    }
