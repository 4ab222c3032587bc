"""SQLite: a write whose space was erased between its door and its own transaction answers 404.

SQLite queues writers on its write lock. Here the test holds that lock, the write passes its door
and waits for it, and the space goes (as an erasure by another process would take it) before the
lock is released. Before, the write's INSERT then failed on its foreign key, which SQLite does
not name: an unexplained 500. PostgreSQL's side is tests/spaces/test_an_erasure_beside_writes.py.
"""

from __future__ import annotations

import os
import sqlite3

import httpx
import pytest

from ens.core import db
from ens.core.settings import Settings
from tests.helpers.concurrency import second_while_first_is_open
from tests.helpers.people import Person

pytestmark = pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "sqlite").startswith("sqlite"), reason="SQLite's write lock"
)


def _erase_in_open_transaction(connection: sqlite3.Connection, space_id: str) -> None:
    """What an erasure leaves: no row of the space in any table, nor the space."""
    tables = [
        row[0]
        for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if any(column[1] == "space_id" for column in connection.execute(f'PRAGMA table_info("{row[0]}")'))
    ]
    for table in tables:
        connection.execute(f'DELETE FROM "{table}" WHERE space_id = ?', (space_id,))
    assert connection.execute("DELETE FROM spaces WHERE id = ?", (space_id,)).rowcount == 1


async def test_a_write_that_waited_for_the_lock_while_its_space_went_answers_404(
    client: httpx.AsyncClient, person: Person, settings: Settings
) -> None:
    path = settings.database_url.removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        other.execute("BEGIN IMMEDIATE")
        write, waited = await second_while_first_is_open(
            client.post("/v1/spaces/me/profile/allergies", json={"substance": "Arachide"}, headers=person.headers)
        )
        _erase_in_open_transaction(other, str(person.space_id))
        other.execute("COMMIT")
    finally:
        other.close()
    written = await write
    assert waited
    assert written.status_code == 404, written.text
    assert written.headers["content-type"].startswith("application/problem+json")
    assert "erased" in written.json()["detail"]
    assert await db.fetch("SELECT id FROM profile_allergies WHERE space_id = {}", person.space_id) == []
    assert await db.fetch("SELECT id FROM access_history WHERE space_id = {}", person.space_id) == []
