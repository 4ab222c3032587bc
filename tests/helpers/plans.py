"""How much of a table a statement the service made looks at (PostgreSQL's EXPLAIN ANALYZE)."""

from __future__ import annotations

import json
import uuid
from types import ModuleType
from typing import Any

import pytest

from ens.core import db


class Statements:
    """The statements a module of the service sends through ``fetch``, recorded as they go."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> None:
        self.made: list[tuple[str, tuple[Any, ...]]] = []

        async def fetch(sql: str, *args: Any) -> Any:
            self.made.append((sql, args))
            return await db.fetch(sql, *args)

        monkeypatch.setattr(module, "fetch", fetch)

    def naming(self, text: str) -> tuple[str, tuple[Any, ...]]:
        """The first statement recorded whose SQL holds ``text``."""
        return next((sql, args) for sql, args in self.made if text in sql)

    async def indexes_read(self, text: str, *, generic: bool = False) -> set[str]:
        """The indexes the plan of the statement naming ``text`` reads (an index scan skips rows on
        a later column of its key without counting them: what it reads by says more)."""
        sql, args = self.naming(text)
        plan = await (explain_generic(sql, *args) if generic else explain_analyze(sql, *args))

        def names(node: dict[str, Any]) -> set[str]:
            own = {node["Index Name"]} if "Index Name" in node else set()
            return own.union(*(names(child) for child in node.get("Plans", [])))

        return names(plan[0]["Plan"])

    async def most_rows_looked_at(self, text: str, *, generic: bool = False) -> int:
        """Run the statement naming ``text`` again under EXPLAIN ANALYZE: the most rows one step of
        its plan looked at (those it passed on, and those it filtered out). ``generic``: under the
        plan PostgreSQL may settle on for good once a connection ran the statement five times
        (asyncpg keeps each statement prepared), which knows none of the values."""
        sql, args = self.naming(text)
        plan = await (explain_generic(sql, *args) if generic else explain_analyze(sql, *args))

        def most(node: dict[str, Any]) -> int:
            looked_at = int(node["Actual Rows"]) + int(node.get("Rows Removed by Filter", 0))
            return max([looked_at, *(most(child) for child in node.get("Plans", []))])

        return most(plan[0]["Plan"])


async def explain_analyze(sql: str, *args: Any) -> list[dict[str, Any]]:
    """The plan PostgreSQL runs ``sql`` with, run; printed, so that a failing test shows it.

    A test that states a plan analyzes the tables whose statistics decide it first: otherwise the
    plan depends on when the autovacuum daemon last sampled them, a matter of timing in a suite
    that writes thousands of rows a second. Only those: a small table analyzed is rightly read
    whole (a seq scan of a suite's 115 checkpoints), which says nothing of a large one.
    """
    plan: list[dict[str, Any]] = json.loads(
        (await db.fetch("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *args))[0]["QUERY PLAN"]
    )
    print(json.dumps(plan, indent=1))
    return plan


async def explain_generic(sql: str, *args: Any) -> list[dict[str, Any]]:
    """As :func:`explain_analyze`, under the generic plan (``plan_cache_mode = force_generic_plan``
    on a statement prepared by name: EXPLAIN of a statement with bound values plans for the values).
    The values are given to EXECUTE as literals, quoted by PostgreSQL."""
    numbered, _ = db._numbered(sql)
    literals = [await _literal(arg) for arg in args]
    # A name of its own: PREPARE outlives a rolled-back transaction, and a failed EXPLAIN leaves it
    # on the pooled connection (a DEALLOCATE then would hide the error under "transaction aborted").
    name = f"ens_generic_{uuid.uuid4().hex}"
    async with db.write_transaction():
        transaction = db.current().current_transaction.get()
        assert transaction is not None
        connection = transaction.connection
        await connection.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        await connection.execute(f"PREPARE {name} AS {numbered}")
        text = await connection.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE {name}({', '.join(literals)})")
        await connection.execute(f"DEALLOCATE {name}")
    plan: list[dict[str, Any]] = json.loads(text)
    print(json.dumps(plan, indent=1))
    return plan


async def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, list | tuple):
        return "ARRAY[" + ", ".join([await _literal(item) for item in value]) + "]"
    if isinstance(value, bool | int | float):
        return repr(value) if not isinstance(value, bool) else ("true" if value else "false")
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    quoted: str = (await db.fetch("SELECT quote_literal({}::text) AS q", text))[0]["q"]
    return quoted
