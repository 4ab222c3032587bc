"""The ``ens`` command in a fresh shell (hardening review, item 17): a configuration error is one
clear line naming the variable, exit status 2, never a traceback; the README's commands work."""

from __future__ import annotations

import sqlite3
import subprocess
import uuid
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from ens.core.settings import Settings
from ens.documents.encryption import new_wrapped_key
from tests.helpers.server import ROOT, ServerProcess, ens_command, free_port

FRESH_SHELL = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT)}


def _ens(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own console script)
        [*ens_command(), *args], cwd=ROOT, env={**FRESH_SHELL, **env}, capture_output=True, text=True, timeout=60
    )


def _one_line_refusal(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ens: "), done.stderr
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize("command", [["dev", "token", "camille"], ["demo"]])
def test_a_development_command_outside_development_says_to_set_ens_env(command: list[str]) -> None:
    _one_line_refusal(_ens(*command), "ENS_ENV=dev", "development only")


def test_production_without_its_secret_names_the_variable() -> None:
    _one_line_refusal(_ens("migrate", ENS_ENV="prod"), "ENS_SECRET_KEY")


def test_a_malformed_database_url_names_the_variable() -> None:
    _one_line_refusal(_ens("migrate", ENS_ENV="dev", ENS_DATABASE_URL="mysql://db/ens"), "ENS_DATABASE_URL")


def test_an_idempotency_lease_too_short_to_renew_names_the_variable() -> None:
    """Renewed every third of it: under 3 s it would renew without pause."""
    _one_line_refusal(
        _ens("migrate", ENS_ENV="dev", ENS_IDEMPOTENCY_LEASE_SECONDS="0"), "ENS_IDEMPOTENCY_LEASE_SECONDS"
    )


def test_an_unreachable_database_names_the_variable() -> None:
    url = f"postgresql://ens@127.0.0.1:{free_port()}/ens"
    _one_line_refusal(_ens("migrate", ENS_ENV="dev", ENS_DATABASE_URL=url), "ENS_DATABASE_URL", "cannot reach")


def test_an_unmigrated_database_says_to_migrate(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/empty.sqlite"
    _one_line_refusal(_ens("dev", "token", "camille", ENS_ENV="dev", ENS_DATABASE_URL=url), "ens migrate")


async def test_the_readme_token_command_works_from_a_fresh_shell(
    client: httpx.AsyncClient, settings: Settings, migrated: None
) -> None:
    done = _ens(
        "dev",
        "token",
        "camille",
        ENS_ENV="dev",
        ENS_DATABASE_URL=settings.database_url,
        ENS_PUBLIC_URL=settings.public_url,
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["account"]["givenName"] == "Camille"


async def test_a_dev_token_for_a_test_professional_opens_their_patients(
    client: httpx.AsyncClient, settings: Settings, migrated: None
) -> None:
    env = {"ENS_ENV": "dev", "ENS_DATABASE_URL": settings.database_url, "ENS_PUBLIC_URL": settings.public_url}
    done = _ens("dev", "token", "dr-bernard", **env)
    assert done.returncode == 0, done.stderr
    headers = {"Authorization": f"Bearer {done.stdout.strip()}"}
    assert (await client.get("/v1/pro/patients", headers=headers)).status_code == 200
    assert (await client.get("/v1/me", headers=headers)).status_code == 403
    unknown = _ens("dev", "token", "dr-nobody", **env)
    _one_line_refusal(unknown, "dr-nobody", "dr-bernard")


@pytest.mark.parametrize("lag", ["0", "-5", "9"])
def test_a_seal_lag_too_short_to_be_safe_is_refused(lag: str) -> None:
    """``ens audit seal --lag 0`` sealed up to ids noted a moment before: a row whose id was taken
    but not yet committed could be sealed past, and then look added (a review). At least 10 s."""
    done = _ens("audit", "seal", "--lag", lag, ENS_ENV="dev", PYTHONPATH=str(ROOT))  # this checkout's code
    _one_line_refusal(done, "--lag", "at least 10 seconds")


def test_serve_on_a_database_without_its_migrations_says_to_migrate(tmp_path: object) -> None:
    """``ens serve`` on a database its migrations had not reached started, ``/ready`` answered
    ``ready``, and every request was a 500 (``UndefinedTableError``): a load balancer sent people to
    it (an outside audit as the operator, on an empty PostgreSQL database; the same after an upgrade
    whose ``ens migrate`` had not run). It now stops at start, as the other commands do."""
    url = f"sqlite:///{tmp_path}/empty.sqlite"
    done = _ens("serve", "--port", str(free_port()), ENS_ENV="dev", ENS_DATABASE_URL=url, PYTHONPATH=str(ROOT))
    _one_line_refusal(done, "ens migrate")


def test_serve_with_a_key_that_opens_nothing_sealed_says_so_and_the_replaced_key_lets_it_start(
    tmp_path: Path,
) -> None:
    """ENS_SECRET_KEY changed without the key it replaced in ENS_PREVIOUS_SECRET_KEYS: ``ens serve``
    started, and every document request was a 500 and every authenticator code refused, nothing
    saying why (the documents audit). It now stops at start, naming both variables; with the old key
    among the previous ones it starts."""
    url = f"sqlite:///{tmp_path}/ens.sqlite"
    old_key, new_key = "the-key-the-documents-were-made-under-0001", "another-key-set-without-the-old-one-0002"
    environment = {"ENS_ENV": "dev", "ENS_DATABASE_URL": url, "PYTHONPATH": str(ROOT), "ENS_SECRET_KEY": old_key}
    assert _ens("migrate", **environment).returncode == 0
    space_id = uuid.uuid4()
    with closing(sqlite3.connect(tmp_path / "ens.sqlite")) as database, database:
        database.execute(
            "INSERT INTO document_keys (space_id, wrapped, created_at) VALUES (?, ?, ?)",
            (str(space_id), new_wrapped_key(old_key, space_id), "2026-12-07T10:00:00+00:00"),
        )
    done = _ens("serve", "--port", str(free_port()), **{**environment, "ENS_SECRET_KEY": new_key})
    _one_line_refusal(done, "ENS_SECRET_KEY", "ENS_PREVIOUS_SECRET_KEYS", "document keys")
    assert "seeds" not in done.stderr  # no one enrolled an authenticator: nothing of theirs to open
    server = ServerProcess(
        {**FRESH_SHELL, **environment, "ENS_SECRET_KEY": new_key, "ENS_PREVIOUS_SECRET_KEYS": old_key},
        free_port(),
        "serve-with-the-replaced-key.log",
    )
    try:
        server.start()
        assert httpx.get(f"{server.base_url}/ready", timeout=10).status_code == 200
    finally:
        server.stop()


def test_serve_without_its_database_names_the_variable() -> None:
    """Was: piccolo's coloured warning, then uvicorn's exception group traceback, exit status 3."""
    url = f"postgresql://ens@127.0.0.1:{free_port()}/ens"
    done = _ens("serve", "--port", str(free_port()), ENS_ENV="dev", ENS_DATABASE_URL=url, PYTHONPATH=str(ROOT))
    _one_line_refusal(done, "ENS_DATABASE_URL", "cannot reach")


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "0"]])
def test_a_database_or_role_that_does_not_exist_is_one_line(settings: Settings, command: list[str]) -> None:
    """PostgreSQL answering but refusing the URL's database or role (never created, a typo) was a
    traceback ending ``InvalidCatalogNameError ... sqlstate=3D000`` or ``InvalidAuthorization
    SpecificationError ... sqlstate=28000``, exit status 1 (an outside audit as the operator): one
    line naming the variable and PostgreSQL's own words, which name only what the URL names."""
    if not settings.is_postgres:
        pytest.skip("PostgreSQL's refusals")
    parts = urlsplit(settings.database_url)
    for url, words in (
        (urlunsplit(parts._replace(path="/ens_never_created")), 'database "ens_never_created" does not exist'),
        (urlunsplit(parts._replace(netloc=f"nobody_here@{parts.hostname}:{parts.port}")), "nobody_here"),
    ):
        done = _ens(*command, ENS_ENV="dev", ENS_DATABASE_URL=url, PYTHONPATH=str(ROOT))
        _one_line_refusal(done, "ENS_DATABASE_URL", words)
