"""A read sent with the door's query: one round trip where a handler's first read made a second.

A route may declare in its ``opt`` (key :data:`COMPANION`) a function that predicts, from the
request alone (its query string and the caller's token), the one read its handler will make,
written against the space the door resolves (:data:`DOOR_SPACE` stands where the space's id goes).
The door sends it in the same statement as its own query, under the same snapshot, and hands the
rows to the handler with the access it decided (:class:`Prefetched`).

The handler uses them only if the read it would make now that the door has decided (the caller's
role, what they may see, which types) is exactly the predicted one: the same statement with the
same arguments. Otherwise it reads as always, and the predicted rows are dropped unread, as are
those of a refused request. The door decides exactly as before; the companion only saves the
round trip. Measured (``BENCH_ONLY=pages make bench``, with and without, three rounds each): a
holder's 1-item page took the server 355 us of CPU against 398 and PostgreSQL 108 against 125; a
100-item page, PostgreSQL 182 against 214 and the server as much as before (its 100 rows carry
the door's columns, empty, which the server decodes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from litestar.connection import ASGIConnection

from ens.core.db import Row
from ens.spaces.caller import Caller

# The route's ``opt`` key naming its predictor.
COMPANION = "door_companion"

# Where the companion's statement names the space: the door's resolved space, never an argument.
DOOR_SPACE = "d.space_id"


@dataclass(frozen=True)
class Companion:
    """A predicted read: a SELECT of ``columns`` with ``{}`` placeholders for ``args``, whose only
    space is :data:`DOOR_SPACE`."""

    sql: str
    args: tuple[Any, ...]
    columns: tuple[str, ...]


Predictor = Callable[[ASGIConnection[Any, Any, Any, Any], Caller], Companion | None]


@dataclass(frozen=True)
class Prefetched:
    """The rows of a companion read, for the handler that would make the same read."""

    companion: Companion
    rows: list[Row]

    def rows_for(self, sql: str, args: Sequence[Any]) -> list[Row] | None:
        """The rows if ``sql`` with ``args`` is the read that was predicted, else ``None``."""
        if sql == self.companion.sql and tuple(args) == self.companion.args:
            return self.rows
        return None


def door_columns(select: str) -> int:
    """How many columns a SELECT's list has (commas outside parentheses, before ``FROM``)."""
    head = select.split("SELECT", 1)[1]
    depth, count = 0, 1
    for index, char in enumerate(head):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            count += 1
        elif depth == 0 and head.startswith("\nFROM ", index):
            return count
    raise ValueError("no FROM after the SELECT list")


@lru_cache(maxsize=64)
def with_companion(door_sql: str, companion_sql: str, columns: tuple[str, ...]) -> str:
    """The door's statement, then the companion's rows: the first row (``part`` 0) is the door's,
    with the companion's columns empty; the others (``part`` 1) the companion's, read for the space
    the door resolved (none if it resolved none), with the door's columns empty."""
    empty_door = ", ".join(["NULL"] * door_columns(door_sql))
    empty_companion = ", ".join(f"NULL AS {name}" for name in columns)
    taken = ", ".join(f"c.{name}" for name in columns)
    return (
        f"WITH d AS MATERIALIZED ({door_sql}) "
        f"SELECT 0 AS part, d.*, {empty_companion} FROM d "
        f"UNION ALL SELECT 1, {empty_door}, {taken} FROM d, LATERAL ({companion_sql}) AS c"
    )
