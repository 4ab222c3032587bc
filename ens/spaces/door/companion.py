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
holder's 1-item page took the server 355 us of CPU against 398 and PostgreSQL 108 against 125.
Its rows come back as arrays on the door's one row (:func:`with_companion`): a 100-item page then
took the server 419 us against 468 with a row per item, PostgreSQL 170 against 181 (one run each,
one after the other).
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
    """What a companion read, for the handler that would make the same read: one list per column
    (``columns`` order), each in the read's row order."""

    companion: Companion
    columns: tuple[list[Any], ...]

    def columns_for(self, sql: str, args: Sequence[Any]) -> tuple[list[Any], ...] | None:
        """The columns if ``sql`` with ``args`` is the read that was predicted, else ``None``."""
        if sql == self.companion.sql and tuple(args) == self.companion.args:
            return self.columns
        return None


def prefetched_columns(row: Row, companion: Companion) -> Prefetched:
    """The companion's columns from the door's row: its arrays, empty when it read no row."""
    return Prefetched(companion, tuple(row[f"companion_{name}"] or [] for name in companion.columns))


@lru_cache(maxsize=64)
def with_companion(door_sql: str, companion_sql: str, columns: tuple[str, ...]) -> str:
    """The door's statement, its one row carrying the companion's rows as one array per column
    (``companion_<column>``), read for the space the door resolved (empty arrays, NULL, if it
    resolved none).

    Arrays rather than rows of their own: a row per item would carry the door's ~30 columns,
    empty, which the server decodes for each (measured on a 100-item page: the round trip saved
    was spent again decoding them). Each array keeps the order of the companion's rows, which
    PostgreSQL's manual ("Aggregate Expressions") says a sorted subquery "will usually" give, not
    always: it holds here because a subquery with a LIMIT is never merged into the outer query and
    the aggregate's level has nothing else (no join, no grouping) to reorder its input; the arrays
    are aggregated from the same input, so they stay aligned. A test checks the order (one the
    table's indexes do not give) and another compares the page with the same read made after the
    door."""
    aggregated = ", ".join(f"array_agg(c.{name}) AS companion_{name}" for name in columns)
    return (
        f"WITH d AS MATERIALIZED ({door_sql}) "
        f"SELECT d.*, a.* FROM d LEFT JOIN LATERAL (SELECT {aggregated} FROM ({companion_sql}) AS c) AS a ON true"
    )
