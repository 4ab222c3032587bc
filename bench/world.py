"""The bench's world: production settings, the server process, accounts, spaces, grants and tokens.

People and apps are created through ``ens.spaces.service`` in this process, against the same
database the server uses, and their tokens are minted with ``AccessTokens`` and the server's
secret: the server verifies them, its door checks each grant in the database on every request and
writes one access-history row per request, exactly as for a real phone or device app.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx

from ens.auth.tokens import AccessTokens, new_app_token, new_session_token
from ens.core import db
from ens.core.settings import Settings
from ens.spaces.service import Identity, sign_in_identity

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TOKEN_TTL = 3 * 3600  # the whole run; a token still dies with its grant

APP_CLIENT_ID = "bench-scale"
APP_CLIENT_NAME = "Bench Scale (labelled device app)"
PHONE_CLIENT_ID = "ens-phone"
PHONE_CLIENT_NAME = "ENS phone app"
APP_TYPES = ("body_weight", "heart_rate", "blood_pressure", "body_temperature")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def production_environment(database_url: str, port: int) -> dict[str, str]:
    """What ``ens serve`` gets: production mode, random secrets, an issuer it never calls.

    Production's public URL is https, TLS ending in front of ``ens serve``; the bench plays that
    proxy's part and reaches the server over plain http on the same port (:attr:`Server.base_url`).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENS_")}
    env.update(
        ENS_ENV="prod",
        ENS_DATABASE_URL=database_url,
        # Production refuses a relative folder for the documents: the one ./var would be, absolute.
        ENS_VAR_DIR=str(Path("var").resolve()),
        ENS_SECRET_KEY=secrets.token_urlsafe(48),
        ENS_OIDC_ISSUER="https://idp.bench.invalid",
        ENS_OIDC_CLIENT_SECRET=secrets.token_urlsafe(32),
        ENS_SMTP_URL="smtp://127.0.0.1:1",  # production requires one; the bench never sends mail
        # Limits on, out of reach: the bench measures the service with its limiter, not the limiter.
        ENS_RATE_LIMIT_ACCOUNT_PER_MINUTE="1000000000",
        ENS_RATE_LIMIT_GRANT_PER_MINUTE="1000000000",
        ENS_RATE_LIMIT_ADDRESS_PER_MINUTE="1000000000",
        ENS_PUBLIC_URL=f"https://127.0.0.1:{port}",
        ENS_LOG_LEVEL="WARNING",
    )
    return env


def settings_of(env: dict[str, str]) -> Settings:
    return Settings.from_env({k: v for k, v in env.items() if k.startswith("ENS_")})


def migrate(env: dict[str, str]) -> None:
    subprocess.run([str(BIN / "ens"), "migrate"], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)  # noqa: S603


class Server:
    """``ens serve --workers N`` (or another uvicorn command) on a loopback port, stopped on exit.

    It is started in a session of its own, so that its process group holds the server and its
    workers: their CPU time is what :mod:`bench.cpu` counts, and what a profiler attaches to.
    """

    def __init__(
        self,
        env: dict[str, str],
        workers: int,
        *,
        command: list[str] | None = None,
        port: int | None = None,
        ready_path: str = "/ready",
    ) -> None:
        self.env = env
        self.workers = workers
        self.port = port if port is not None else int(env["ENS_PUBLIC_URL"].rsplit(":", 1)[1])
        self.base_url = f"http://127.0.0.1:{self.port}"  # behind the TLS proxy the public URL names
        self.command = command or [str(BIN / "ens"), "serve"]
        self.ready_path = ready_path
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        command = [*self.command, "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        self.process = subprocess.Popen(command, env=self.env, cwd=ROOT, start_new_session=True)  # noqa: S603
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{' '.join(self.command)} exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.base_url}{self.ready_path}", timeout=1).status_code == 200:
                    # Every worker has to be up: ask a few times more.
                    for _ in range(4 * self.workers):
                        httpx.get(f"{self.base_url}{self.ready_path}", timeout=5)
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"{' '.join(self.command)} did not become ready in 60 s")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def pgid(self) -> int:
        return self.pid  # started in a session of its own: its pid is its process group

    def __exit__(self, *exc: object) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except ProcessLookupError:
            self.process.wait()
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


def bare_server(env: dict[str, str], workers: int = 1) -> Server:
    """The bare litestar endpoint of :mod:`bench.bare`, served like ENS, on a port of its own."""
    return Server(env, workers, command=[sys.executable, "-m", "bench.bare"], port=free_port(), ready_path="/bare")


@dataclass(frozen=True)
class Person:
    account_id: UUID
    space_id: UUID
    token: str  # the phone app's session: every right on the own space


@dataclass(frozen=True)
class DeviceApp:
    space_id: UUID
    token: str  # a labelled device app's token for one space, write + read of APP_TYPES


class World:
    """Creates people and apps in the bench process; tokens are signed with the server's secret."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tokens = AccessTokens(settings)
        self._connection = db.connected(settings, pool_size=4)

    async def __aenter__(self) -> World:
        await self._connection.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._connection.__aexit__(None, None, None)

    async def person(self, name: str) -> Person:
        signed_in = await sign_in_identity(
            Identity(
                issuer=self.settings.effective_oidc_issuer,
                sub=f"bench-{name}-{uuid.uuid4().hex[:8]}",
                given_name=name.capitalize(),
                family_name="Bench",
            )
        )
        _, token = await new_session_token(
            self.tokens,
            signed_in.account_id,
            client_id=PHONE_CLIENT_ID,
            client_name=PHONE_CLIENT_NAME,
            label="bench",
            ttl=TOKEN_TTL,
        )
        return Person(signed_in.account_id, signed_in.space_id, token)

    async def device_app(self, person: Person) -> DeviceApp:
        scopes = [f"vitals.{t}:{access}" for t in APP_TYPES for access in ("read", "write")]
        _, token = await new_app_token(
            self.tokens,
            person.account_id,
            space_id=person.space_id,
            client_id=APP_CLIENT_ID,
            client_name=APP_CLIENT_NAME,
            scopes=scopes,
            ttl=TOKEN_TTL,
        )
        return DeviceApp(person.space_id, token)
