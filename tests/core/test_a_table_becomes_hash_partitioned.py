"""``ens partition`` on PostgreSQL (issue 16, point 7): the measures and the access history of a
migrated, seeded database become hash-partitioned by space_id; every row is still there, the
service works on them unchanged (reads, writes, the history), and a space's query reads one
partition. Run in a database of its own on the suite's server, dropped at the end."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from ens.core.settings import Settings
from tests.helpers.server import ROOT, ServerProcess, ens_command, free_port

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="partitioning is PostgreSQL's"
    ),
]


def _ens(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own console script)
        [*ens_command(), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def test_measures_and_history_become_partitioned_and_the_service_works_on_them(settings: Settings) -> None:
    name = f"ens_partition_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(settings.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(settings.database_url, name)
    env = {**os.environ, "ENS_ENV": "dev", "ENS_DATABASE_URL": url, "ENS_PUBLIC_URL": settings.public_url}
    try:
        for command in (["migrate"], ["demo"]):
            done = await asyncio.to_thread(_ens, env, *command)
            assert done.returncode == 0, done.stderr
        token = (await asyncio.to_thread(_ens, env, "dev", "token", "camille")).stdout.strip()
        server = ServerProcess({**env, "PYTHONUNBUFFERED": "1"}, free_port(), "partition-server.log")
        await asyncio.to_thread(server.start)
        bearer = {"Authorization": f"Bearer {token}"}
        try:
            async with httpx.AsyncClient(base_url=server.base_url, headers=bearer) as api:
                before = (await api.get("/v1/spaces/me/vitals", params={"limit": 200})).json()["items"]
        finally:
            await asyncio.to_thread(server.stop)
        connection = await asyncpg.connect(url)
        try:
            counts = {
                t: await connection.fetchval(f"SELECT COUNT(*) FROM {t}")
                for t in ("vital_measurements", "access_history", "vital_deleted_records")
            }
        finally:
            await connection.close()
        assert counts["vital_measurements"] > 1000 and counts["access_history"] >= 2
        for table in counts:
            done = await asyncio.to_thread(_ens, env, "partition", table, "--partitions", "4")
            assert done.returncode == 0, done.stderr
            assert f"{counts[table]} rows moved" in done.stdout
        refused = await asyncio.to_thread(_ens, env, "partition", "space_codes", "--partitions", "4")
        assert refused.returncode == 2 and "does not start with space_id" in refused.stderr
        again = await asyncio.to_thread(_ens, env, "partition", "vital_measurements", "--partitions", "4")
        assert again.returncode == 2 and "partitioned already" in again.stderr
        connection = await asyncpg.connect(url)
        try:
            partitioned = await connection.fetch(
                "SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid ORDER BY 1"
            )
            assert [row["relname"] for row in partitioned] == [
                "access_history",
                "vital_deleted_records",
                "vital_measurements",
            ]
            # The deleted records' trigger came over: a row there still takes its space's row of
            # vital_deletion_free_spaces away.
            space = await connection.fetchval("SELECT space_id FROM vital_measurements LIMIT 1")
            await connection.execute(
                "INSERT INTO vital_deletion_free_spaces (space_id) VALUES ($1) ON CONFLICT DO NOTHING", space
            )
            await connection.execute(
                "INSERT INTO vital_deleted_records (id, space_id, writer, client_record_id, client_record_version, "
                "deleted_at) VALUES (gen_random_uuid(), $1, 'app:demo-scale', 'gone', 1, now())",
                space,
            )
            assert not await connection.fetch("SELECT 1 FROM vital_deletion_free_spaces WHERE space_id = $1", space)
            counts["vital_deleted_records"] += 1
            for table, count in counts.items():
                assert await connection.fetchval(f"SELECT COUNT(*) FROM {table}") == count
            plan = "\n".join(
                row[0]
                for row in await connection.fetch(
                    "EXPLAIN SELECT body FROM vital_measurements WHERE space_id = $1 "
                    "ORDER BY effective_at DESC, id DESC LIMIT 50",
                    space,
                )
            )
            scanned = set(re.findall(r" on (vital_measurements_p\d{3})\b", plan))
            assert len(scanned) == 1, plan  # one partition read, the others pruned
            indexes = {
                row["indexname"]
                for row in await connection.fetch(
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'vital_measurements'"
                )
            }
            assert {
                "vital_measurements_pkey",
                "vital_measurements_space_feed",
                "vital_measurements_space_time",
            } <= indexes
            # The migration's statistics of a space's writers, on the table and on each partition.
            statistics = await connection.fetch(
                "SELECT x.stxname, c.relname FROM pg_statistic_ext x JOIN pg_class c ON c.oid = x.stxrelid "
                "WHERE x.stxname LIKE 'vital_measurements_space_writer%' ORDER BY 1"
            )
            expected = [
                ("vital_measurements_space_writer", "vital_measurements"),
                *((f"vital_measurements_space_writer_p{n:03d}", f"vital_measurements_p{n:03d}") for n in range(4)),
            ]
            assert [(row["stxname"], row["relname"]) for row in statistics] == expected
            # The migration, run on a table partitioned before it, gives each partition its own too.
            from ens.vitals.piccolo_migrations import m2026_12_24_1015_space_writer_statistics as migration

            for row in statistics:
                await connection.execute(f"DROP STATISTICS {row['stxname']}")
            for statement in migration.STATEMENTS:
                await connection.execute(str(statement))
            again = await connection.fetch(
                "SELECT x.stxname, c.relname FROM pg_statistic_ext x JOIN pg_class c ON c.oid = x.stxrelid "
                "WHERE x.stxname LIKE 'vital_measurements_space_writer%' ORDER BY 1"
            )
            assert [(row["stxname"], row["relname"]) for row in again] == expected
        finally:
            await connection.close()
        # The service, unchanged, on the partitioned tables: the same page, a write, the history.
        await asyncio.to_thread(server.start)
        try:
            async with httpx.AsyncClient(base_url=server.base_url, headers=bearer) as api:
                after = (await api.get("/v1/spaces/me/vitals", params={"limit": 200})).json()["items"]
                assert after == before
                written = await api.post(
                    "/v1/spaces/me/vitals",
                    json={"measurements": [{"type": "body_weight", "value": 61.5, "unit": "kg",
                                            "effectiveAt": "2026-11-30T07:00:00Z"}]},
                )  # fmt: skip
                assert written.status_code == 201, written.text
                history = (await api.get("/v1/spaces/me/access-history")).json()["items"]
                assert history[0]["action"] == "POST /v1/spaces/{space}/vitals"
        finally:
            await asyncio.to_thread(server.stop)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
