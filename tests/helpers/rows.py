"""Reading the database directly in tests, where a row must be there."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ens.core import db
from ens.core.db import Row


async def one_row(sql: str, *args: Any) -> Row:
    """The one row ``sql`` selects; the test fails if there is none."""
    row = await db.fetch_one(sql, *args)
    assert row is not None, f"no row for {sql.split()[1:4]}"
    return row


async def account_of(sub: str) -> UUID:
    """The account the identity provider's ``sub`` signed in as."""
    return db.as_uuid((await one_row("SELECT id FROM accounts WHERE sub = {}", sub))["id"])
