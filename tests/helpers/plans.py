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
        plan = json.loads((await db.fetch("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *args))[0]["QUERY PLAN"])

        def most(node: dict[str, Any]) -> int:
            looked_at = int(node["Actual Rows"]) + int(node.get("Rows Removed by Filter", 0))
            return max([looked_at, *(most(child) for child in node.get("Plans", []))])

        return most(plan[0]["Plan"])
