"""``ens.core.db.serialise``: refused outside a write transaction; a key is locked once per
transaction (an approval that authorises is one decision, one lock statement), and again in the next."""

from __future__ import annotations

from typing import Any

import pytest

from ens.core import db


async def test_a_key_is_locked_once_per_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[str, tuple[Any, ...]]] = []
    original = db.fetch

    async def fetch(sql: str, *args: Any) -> Any:
        made.append((sql, args))
        return await original(sql, *args)

    monkeypatch.setattr(db, "fetch", fetch)
    with pytest.raises(RuntimeError, match="outside a write transaction"):
        await db.serialise("outside")

    def locks() -> list[tuple[Any, ...]]:
        return [args for sql, args in made if "pg_advisory_xact_lock" in sql]

    async with db.write_transaction():
        await db.serialise("test:a")
        async with db.write_transaction():  # nested: the same transaction
            await db.serialise("test:a")
            await db.serialise("test:b")
        await db.serialise("test:b")
    async with db.write_transaction():
        await db.serialise("test:a")
    expected = [("test:a",), ("test:b",), ("test:a",)] if db.is_postgres(db.current()) else []
    assert locks() == expected


async def test_a_key_held_shared_is_never_then_taken_whole_in_the_same_transaction() -> None:
    """Two transactions that each held a key shared, then asked for it whole, would each wait for the
    other (PostgreSQL ends one: a 500): refused at once, on either database, so a test finds it."""
    async with db.write_transaction():
        await db.serialise("test:whole")
        await db.serialise("test:whole", shared=True)  # held whole already: nothing more
        await db.serialise("test:shared", shared=True)
        await db.serialise("test:shared", shared=True)
        with pytest.raises(RuntimeError, match="holds it shared"):
            await db.serialise("test:shared")
