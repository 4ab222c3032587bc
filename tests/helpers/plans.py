"""How much of a table a statement the service made looks at (PostgreSQL's EXPLAIN ANALYZE)."""

from __future__ import annotations

import json
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

    async def most_rows_looked_at(self, text: str) -> int:
        """Run the statement naming ``text`` again under EXPLAIN ANALYZE: the most rows one step of
        its plan looked at (those it passed on, and those it filtered out)."""
        sql, args = self.naming(text)
        plan = await explain_analyze(sql, *args)

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
