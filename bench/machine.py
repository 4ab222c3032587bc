"""What the figures were measured on."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import asyncpg


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


async def describe(dsn: str) -> dict[str, Any]:
    connection = await asyncpg.connect(dsn)
    try:
        server_version = await connection.fetchval("SHOW server_version")
        settings = {
            name: await connection.fetchval(f"SHOW {name}")
            for name in ("shared_buffers", "fsync", "synchronous_commit", "max_connections")
        }
    finally:
        await connection.close()
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return f"{name} {version(name)}"
        except PackageNotFoundError:
            return f"no {name}"

    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "ram_gib": _ram_gib(),
        "kernel": platform.release(),
        "postgresql": server_version,
        "postgresql_settings": settings,
        "python": platform.python_version(),
        "server": ", ".join(installed(n) for n in ("uvicorn", "uvloop", "httptools", "litestar", "asyncpg")),
    }
