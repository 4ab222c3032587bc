"""The real server in a subprocess (``ens serve``), as an operator starts it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ens.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
SERVER_START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ens_command() -> list[str]:
    """The ``ens`` console script of the interpreter running the tests (``.venv/bin/ens``)."""
    script = Path(sys.executable).parent / "ens"
    if script.exists():
        return [str(script)]
    return [str(ROOT / ".venv" / "bin" / "ens")]


def run_ens(
    settings: Settings, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``ens ARGS...`` as an operator types it, on the tests' database (``settings.database_url``),
    running this checkout's code (``PYTHONPATH``), whichever checkout the console script came from;
    ``env``: more variables (``ENS_SMTP_URL``...)."""
    return subprocess.run(  # noqa: S603 (our own console script)
        [*ens_command(), *args],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(ROOT),
            "PYTHONPATH": str(ROOT),
            "ENS_ENV": "dev",
            "ENS_DATABASE_URL": settings.database_url,
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_until_healthy(
    process: subprocess.Popen[bytes], base_url: str, log_path: Path, *, verify: str | bool = True
) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`ens serve` exited with {process.returncode} before answering:\n{tail(log_path)}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1.0, verify=verify).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"`ens serve` did not answer /health within {SERVER_START_TIMEOUT_S:.0f} s:\n{tail(log_path)}")


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def served_env(settings: Settings, **variables: str) -> dict[str, str]:
    """The environment of an ``ens serve`` on the tests' database and public URL, in development,
    its output unbuffered (its log read as it runs), with ``variables`` (``ENS_...``) besides."""
    return {
        **os.environ,
        "ENS_ENV": "dev",
        "ENS_DATABASE_URL": settings.database_url,
        "ENS_PUBLIC_URL": settings.public_url,
        "PYTHONUNBUFFERED": "1",
        **variables,
    }


class ServerProcess:
    """``ens serve`` on a loopback port with the given environment; its output goes to a log file."""

    def __init__(self, env: dict[str, str], port: int, log_name: str) -> None:
        self.env = env
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = ARTIFACTS / log_name
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until it answers ``/health`` (the log is appended to)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 (our own console script, fixed arguments)
                [*ens_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until_healthy(self.process, self.base_url, self.log_path)

    def kill(self) -> None:
        """SIGKILL: the process dies at once, whatever it was doing (no shutdown, no cleanup)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
