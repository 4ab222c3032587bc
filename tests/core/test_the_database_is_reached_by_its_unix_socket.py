"""ENS_DATABASE_URL may name PostgreSQL's Unix socket, libpq's way (Debian's local default)."""

from __future__ import annotations

import os

import pytest
from piccolo.engine.postgres import PostgresEngine

from ens.core import db

pytestmark = pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="a PostgreSQL socket"
)


async def test_the_service_s_statements_run_through_the_socket() -> None:
    folders = await db.fetch_one("SELECT current_setting('unix_socket_directories') AS folders")
    assert folders is not None
    folder = str(folders["folders"]).split(",")[0].strip()
    port = (await db.fetch_one("SELECT current_setting('port') AS port"))["port"]  # type: ignore[index]
    database = (await db.fetch_one("SELECT current_database() AS name"))["name"]  # type: ignore[index]
    engine = db.engine_for_url(f"postgresql://postgres@/{database}?host={folder}&port={port}")
    assert isinstance(engine, PostgresEngine)
    assert (engine.config["host"], engine.config["port"], engine.config["database"]) == (folder, int(port), database)
    await db.start(engine, 2)
    try:
        rows = await engine.run_querystring(db._querystring("SELECT inet_server_addr() AS address", []))
        # No server address: the connection is the local socket, not TCP.
        assert [dict(row) for row in rows] == [{"address": None}]
    finally:
        await db.stop(engine)
