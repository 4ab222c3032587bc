"""Two ``ens migrate`` started together on one empty database (a deployment script on each machine,
or a unit's ``ExecStartPre`` on two servers): the second waits for the first, then finds nothing
left to do; both exit 0 and the schema is whole. Before, both ran every migration at once and one
died on the other's table (an outside audit: ``UniqueViolationError`` on PostgreSQL's ``pg_type``,
``OperationalError`` on SQLite, exit status 1 and a traceback), leaving its machine's service
unstarted and, with a migration that runs outside a transaction, possibly half of it applied twice.
On PostgreSQL the database is one of its own on the suite's server, dropped at the end."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from ens.core.settings import Settings
from tests.helpers.server import ROOT, ens_command


def _both_at_once(url: str, var_dir: Path) -> list[subprocess.CompletedProcess[str]]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(ROOT),
        "PYTHONPATH": str(ROOT),
        "ENS_ENV": "dev",
        "ENS_DATABASE_URL": url,
        "ENS_VAR_DIR": str(var_dir),
    }
    started = [
        subprocess.Popen(  # noqa: S603 (our own console script)
            [*ens_command(), "migrate"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    done = []
    for process in started:
        out, err = process.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def _assert_both_succeeded_and_ran_each_migration_once(done: list[subprocess.CompletedProcess[str]]) -> None:
    for one in done:
        assert one.returncode == 0, one.stderr
        assert "Traceback" not in one.stderr
    # Each migration ran in one of the two runs only: the other found it done.
    ran = [line for one in done for line in one.stdout.splitlines() if "[forwards]" in line]
    assert ran and len(ran) == len(set(ran))


@pytest.fixture
def postgres_database(settings: Settings) -> Iterator[str]:
    if not settings.is_postgres:
        pytest.skip("the suite runs on SQLite")
    import asyncio

    name = f"ens_migrate_{uuid.uuid4().hex[:8]}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(settings.database_url)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(urlsplit(settings.database_url)._replace(path=f"/{name}"))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_two_migrations_on_one_empty_sqlite_file_take_turns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ens.sqlite"
    _assert_both_succeeded_and_ran_each_migration_once(_both_at_once(url, tmp_path / "var"))


def test_two_migrations_on_one_empty_postgresql_database_take_turns(postgres_database: str, tmp_path: Path) -> None:
    _assert_both_succeeded_and_ran_each_migration_once(_both_at_once(postgres_database, tmp_path / "var"))
