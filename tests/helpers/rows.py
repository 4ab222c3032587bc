"""Reading the database directly in tests, where a row must be there."""

from __future__ import annotations

from typing import Any

from ens.core import db
from ens.core.db import Row


async def one_row(sql: str, *args: Any) -> Row:
    """The one row ``sql`` selects; the test fails if there is none."""
    row = await db.fetch_one(sql, *args)
    assert row is not None, f"no row for {sql.split()[1:4]}"
    return row
