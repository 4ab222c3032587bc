"""``python -m bench.load`` (``make load``): a bounded load test of the production-style server.

What runs, all on this machine:

- ENS in production mode (``ENS_ENV=prod``) on a durable PostgreSQL (``scripts/with-postgres``),
  several uvicorn workers, serving HTTPS itself with a certificate made for the run;
- the identity provider it logs people in through: the test OpenID provider of the suite
  (``tests/helpers/fake_provider.py``), served on a loopback port by this script, which also forges
  its codes as a browser's login would obtain them;
- an SMTP sink (production sends a notice per new sign-in);
- the load: at a fixed rate (open loop: a late answer does not slow the schedule, and latency counts
  from the moment a request was due), a mix of phone reads (home screen, a page of measures, the
  change feed), device batch writes (a connected scale's app token, 20 measures with
  ``clientRecordId``s) and complete logins (authorize → provider → callback → one-time code → token;
  a pool of identities, one TOTP code per account per 30-second step).

It prints throughput, p50/p95/p99 per operation and the error count, writes ``load-results.json``,
and exits non-zero if any request failed. Knobs (environment): LOAD_SECONDS (60), LOAD_RATE
(reads and writes per second, 120), LOAD_WORKERS (server processes, 2), LOAD_ACCOUNTS (people
with a phone and a scale, 20), LOAD_LOGIN_ACCOUNTS (people who log in during the run, 40),
LOAD_LOGINS_PER_S (1), LOAD_SEED (1), LOAD_OUT.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import logging
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import uvicorn
from aiosmtpd.controller import Controller
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.helpers import fake_provider
from tests.helpers.fake_provider import FakeProvider
from tests.helpers.server import free_port, wait_until_healthy

ROOT = Path(__file__).resolve().parent.parent
ENS = str(ROOT / ".venv" / "bin" / "ens")
LOOPBACK_REDIRECT = "http://127.0.0.1:53682/callback"
DEVICE_REDIRECT = "https://scale.example/ens/callback"
BATCH = 20
# The mix is drawn from a seeded generator: two runs send the same operations in the same order.
MIX_RANDOM = random.Random(int(os.environ.get("LOAD_SEED", "1")))  # noqa: S311 (a load mix, not a secret)


def _knob(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# ---------------------------------------------------------------------------------------------
# The pieces around the server


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, for this run only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class _Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def serve_provider(provider: FakeProvider, port: int) -> uvicorn.Server:
    """The test provider on a loopback port, in a thread with its own event loop."""
    server = uvicorn.Server(uvicorn.Config(provider.app(), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test provider did not start")
        time.sleep(0.05)
    return server


# ---------------------------------------------------------------------------------------------
# A person, as the phone app and a connected scale hold them


@dataclass
class Account:
    sub: str
    totp: pyotp.TOTP | None = None
    used_steps: set[int] = field(default_factory=set)
    phone_token: str = ""
    scale_token: str = ""
    feed_cursor: str | None = None
    sent: int = 0

    def has_free_code(self) -> bool:
        now = time.time()
        return self.totp is not None and any(int((now + o) // 30) not in self.used_steps for o in (0, 30))

    def free_code(self) -> str | None:
        """A TOTP code whose step this account has not used yet (the server takes each once)."""
        assert self.totp is not None
        now = time.time()
        for offset in (0, 30):
            step = int((now + offset) // 30)
            if step not in self.used_steps:
                self.used_steps.add(step)
                return self.totp.at(now + offset)
        return None


class Login:
    """One complete login through the browser's steps (the load test is its own browser)."""

    def __init__(self, api: httpx.AsyncClient, provider: FakeProvider, account: Account) -> None:
        self.api, self.provider, self.account = api, provider, account
        self.cookies: dict[str, str] = {}

    async def _get(self, url: str, **params: str) -> httpx.Response:
        answer = await self.api.get(url, params=params or None, cookies=self.cookies)
        self.cookies.update(answer.cookies)
        return answer

    async def _post(self, url: str, data: dict[str, str]) -> httpx.Response:
        answer = await self.api.post(url, data=data, cookies=self.cookies)
        self.cookies.update(answer.cookies)
        return answer

    async def run(
        self, *, client_id: str, redirect_uri: str, scope: str, enrol: bool = False, otp: str | None = None
    ) -> dict[str, Any]:
        """``otp``: a code reserved when the login was chosen (two logins of one account at once
        would otherwise take the same step)."""
        verifier = secrets.token_urlsafe(48)
        state = secrets.token_urlsafe(24)
        started = await self._get(
            "/oauth/authorize",
            response_type="code",
            client_id=client_id,
            redirect_uri=redirect_uri,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
            state=state,
            scope=scope,
        )
        upstream = parse_qs(urlsplit(_location(started)).query)
        code = self.provider.issue_code(
            nonce=upstream["nonce"][0], code_challenge=upstream["code_challenge"][0], sub=self.account.sub
        )
        back = await self._get("/oauth/callback", code=code, state=upstream["state"][0])
        page = (await self._get(_location(back))).text
        if enrol:
            secret = re.search(r'href="otpauth://totp/[^"]*secret=([A-Z2-7]+)', page.replace("&amp;", "&"))
            if secret is None:
                raise RuntimeError("no enrolment page")
            self.account.totp = pyotp.TOTP(secret.group(1))
        otp = otp or self.account.free_code()
        if otp is None:
            raise RuntimeError("no free one-time code step")
        answer = await self._post("/login/otp", {"csrf": _csrf(page), "code": otp})
        if enrol:
            answer = await self._post("/login/recovery-codes", {"csrf": _csrf(answer.text)})
        if _location(answer) == "/login/consent":
            consent = (await self._get("/login/consent")).text
            answer = await self._post("/login/consent", {"csrf": _csrf(consent), "decision": "approve"})
        final = parse_qs(urlsplit(_location(answer)).query)
        if final.get("state") != [state]:
            raise RuntimeError(f"login did not come back: {_location(answer)}")
        tokens = await self.api.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": final["code"][0],
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
                "client_id": client_id,
            },
        )
        tokens.raise_for_status()
        result: dict[str, Any] = tokens.json()
        return result


def _location(answer: httpx.Response) -> str:
    if answer.status_code not in (302, 303):
        raise RuntimeError(f"{answer.request.url.path}: {answer.status_code} {answer.text[:200]}")
    return answer.headers["location"]


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    if found is None:
        raise RuntimeError("no CSRF field on the page")
    return found.group(1)


# ---------------------------------------------------------------------------------------------
# The load


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    late_starts: int = 0


def _measures(account: Account, now: dt.datetime) -> dict[str, Any]:
    items = []
    for _ in range(BATCH):
        account.sent += 1
        items.append(
            {
                "type": "body_weight",
                "value": round(60 + MIX_RANDOM.random() * 30, 1),
                "unit": "kg",
                "effectiveAt": (now - dt.timedelta(seconds=account.sent)).isoformat(),
                "clientRecordId": f"w-{account.sent}",
            }
        )
    return {"measurements": items}


async def one(
    op: str, account: Account, api: httpx.AsyncClient, provider: FakeProvider, client_id: str, otp: str | None = None
) -> None:
    phone = {"Authorization": f"Bearer {account.phone_token}"}
    if op == "home":
        answer = await api.get("/v1/spaces/me", headers=phone)
    elif op == "page":
        answer = await api.get("/v1/spaces/me/vitals", params={"limit": "50"}, headers=phone)
    elif op == "feed":
        params = {"cursor": account.feed_cursor} if account.feed_cursor else {}
        answer = await api.get("/v1/spaces/me/vitals/changes", params=params, headers=phone)
        if answer.status_code == 200:
            account.feed_cursor = answer.json()["nextCursor"]
    elif op == "batch":
        answer = await api.post(
            "/v1/spaces/me/vitals",
            json=_measures(account, dt.datetime.now(dt.UTC)),
            headers={"Authorization": f"Bearer {account.scale_token}"},
        )
    else:
        login = Login(api, provider, account)
        tokens = await login.run(client_id="ens-mobile", redirect_uri=LOOPBACK_REDIRECT, scope="space", otp=otp)
        account.phone_token = tokens["access_token"]
        return
    if answer.status_code >= 400:
        raise RuntimeError(f"{answer.status_code} {answer.text[:200]}")


MIX = [("home", 30), ("page", 30), ("feed", 15), ("batch", 25)]


async def run_load(base_url: str, cert: Path, provider: FakeProvider, scale_client: str) -> Results:
    seconds, rate = _knob("LOAD_SECONDS", 60), _knob("LOAD_RATE", 120)
    logins_per_s, pool = _knob("LOAD_LOGINS_PER_S", 1), _knob("LOAD_ACCOUNTS", 20)
    login_pool = _knob("LOAD_LOGIN_ACCOUNTS", 40)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=base_url, verify=str(cert), limits=limits, timeout=30) as api:
        accounts = [Account(sub=f"load-{secrets.token_hex(6)}") for _ in range(pool)]
        # Those who log in during the load: enrolled once, so each has a fresh 30-second step at once.
        signing_in = [Account(sub=f"login-{secrets.token_hex(6)}") for _ in range(login_pool)]
        print(f"=== warm-up: {pool} people with a phone and a scale, {login_pool} more who will log in")
        for account in accounts:
            phone = await Login(api, provider, account).run(
                client_id="ens-mobile", redirect_uri=LOOPBACK_REDIRECT, scope="space", enrol=True
            )
            account.phone_token = phone["access_token"]
            scale = await Login(api, provider, account).run(
                client_id=scale_client, redirect_uri=DEVICE_REDIRECT, scope="vitals.body_weight:write"
            )
            account.scale_token = scale["access_token"]
            await one("batch", account, api, provider, scale_client)
        for account in signing_in:
            await Login(api, provider, account).run(
                client_id="ens-mobile", redirect_uri=LOOPBACK_REDIRECT, scope="space", enrol=True
            )
        results = Results()
        ops = [op for op, weight in MIX for _ in range(weight)]
        schedule: list[tuple[float, str]] = [(i / rate, MIX_RANDOM.choice(ops)) for i in range(seconds * rate)]
        schedule += [(i / logins_per_s, "login") for i in range(seconds * logins_per_s)]
        schedule.sort()
        print(
            f"=== load: {len(schedule)} operations over {seconds} s "
            f"({rate}/s reads and writes, {logins_per_s}/s logins)"
        )
        start = time.monotonic()
        tasks: set[asyncio.Task[None]] = set()

        async def timed(due: float, op: str) -> None:
            otp = None
            if op == "login":
                candidates = [a for a in signing_in if a.has_free_code()]
                if not candidates:
                    results.errors[op].append(
                        "no account of the pool has a free 30-second step: more LOAD_LOGIN_ACCOUNTS"
                    )
                    return
                account = MIX_RANDOM.choice(candidates)
                otp = account.free_code()
            else:
                account = MIX_RANDOM.choice(accounts)
            try:
                await one(op, account, api, provider, scale_client, otp)
            except Exception as exc:  # every failure is counted and shown, none stops the run
                results.errors[op].append(f"{type(exc).__name__}: {exc}"[:300])
                return
            results.latencies[op].append(time.monotonic() - start - due)

        for due, op in schedule:
            delay = start + due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.05:
                results.late_starts += 1
            task = asyncio.create_task(timed(due, op))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        results.latencies["_elapsed"] = [time.monotonic() - start]
        return results


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def report(results: Results, *, workers: int) -> dict[str, Any]:
    elapsed = results.latencies.pop("_elapsed")[0]
    rows: dict[str, Any] = {}
    print(f"\n{'operation':<10} {'done':>7} {'errors':>7} {'per s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for op in [op for op, _ in MIX] + ["login"]:
        values = results.latencies.get(op, [])
        errors = len(results.errors.get(op, []))
        if not values:
            rows[op] = {"done": 0, "errors": errors}
            print(f"{op:<10} {0:>7} {errors:>7}")
            continue
        row = {
            "done": len(values),
            "errors": errors,
            "per_s": len(values) / elapsed,
            "p50_ms": _percentile(values, 50),
            "p95_ms": _percentile(values, 95),
            "p99_ms": _percentile(values, 99),
        }
        rows[op] = row
        print(
            f"{op:<10} {row['done']:>7} {errors:>7} {row['per_s']:>8.1f} {row['p50_ms']:>8.1f} "
            f"{row['p95_ms']:>8.1f} {row['p99_ms']:>8.1f}"
        )
    total = sum(len(v) for v in results.latencies.values())
    error_count = sum(len(v) for v in results.errors.values())
    print(f"\ntotal {total} operations in {elapsed:.1f} s = {total / elapsed:.1f}/s, {error_count} errors, "
          f"{results.late_starts} started more than 50 ms late; server workers: {workers}")  # fmt: skip
    for op, messages in results.errors.items():
        for message in messages[:3]:
            print(f"  {op}: {message}")
    return {"operations": rows, "elapsed_s": elapsed, "errors": error_count, "late_starts": results.late_starts}


def main() -> int:
    for noisy in ("httpx", "mail.log"):  # a line per request would drown the report
        logging.getLogger(noisy).setLevel(logging.WARNING)
    database_url = os.environ["ENS_DATABASE_URL"]
    workers = _knob("LOAD_WORKERS", 2)
    folder = Path(tempfile.mkdtemp(prefix="ens-load-"))
    cert, key = self_signed_certificate(folder)
    sink = _Sink()
    smtp_port, provider_port, port = free_port(), free_port(), free_port()
    smtp = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    provider = FakeProvider(issuer=f"http://127.0.0.1:{provider_port}")
    provider_server = serve_provider(provider, provider_port)
    base_url = f"https://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ENS_")},
        "ENS_ENV": "prod",
        "ENS_DATABASE_URL": database_url,
        # Production refuses a relative folder for the documents: the one ./var would be, absolute.
        "ENS_VAR_DIR": str(Path("var").resolve()),
        "ENS_SECRET_KEY": secrets.token_urlsafe(48),
        "ENS_PUBLIC_URL": base_url,
        "ENS_OIDC_ISSUER": provider.issuer,
        "ENS_OIDC_CLIENT_ID": fake_provider.CLIENT_ID,
        "ENS_OIDC_CLIENT_SECRET": fake_provider.CLIENT_SECRET,
        "ENS_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "ENS_LOG_LEVEL": "WARNING",
        # Every phone here logs in from this one machine's address: the address limit is raised
        # (the account and grant limits keep their production values).
        "ENS_RATE_LIMIT_ADDRESS_PER_MINUTE": "100000",
    }
    subprocess.run([ENS, "migrate"], env=env, check=True, capture_output=True)  # noqa: S603 (our own command)
    registered = subprocess.run(  # noqa: S603 (our own command)
        [ENS, "apps", "register", "--name", "Balance de charge", "--redirect-uri", DEVICE_REDIRECT,
         "--scope", "vitals.body_weight:write", "--kind", "device"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    scale_client = registered.split("client_id:", 1)[1].split()[0]
    log_path = folder / "server.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(  # noqa: S603 (our own command)
            [ENS, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
             "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until_healthy(server, base_url, log_path, verify=str(cert))
        print(f"=== ENS in production mode, {workers} workers, {base_url} (TLS), provider {provider.issuer}")
        results = asyncio.run(run_load(base_url, cert, provider, scale_client))
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        provider_server.should_exit = True
        smtp.stop()
    summary = report(results, workers=workers)
    summary["mail_notices"] = sink.count
    summary["knobs"] = {
        k: _knob(k, d)
        for k, d in (("LOAD_SECONDS", 60), ("LOAD_RATE", 120), ("LOAD_WORKERS", 2), ("LOAD_ACCOUNTS", 20),
                     ("LOAD_LOGIN_ACCOUNTS", 40), ("LOAD_LOGINS_PER_S", 1))
    }  # fmt: skip
    out = Path(os.environ.get("LOAD_OUT", ROOT / "load-results.json"))
    out.write_text(json.dumps(summary, indent=2))
    print(f"results: {out}")
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
