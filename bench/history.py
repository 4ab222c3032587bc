"""The access history's tamper evidence, measured (issue 16, point 5): what each way of sealing rows
costs on the path of a request, and what the sealer does off it.

Three ways of writing one history row, each in its own transaction as a request's row commits,
from 8 connections into one space and into 8 spaces:

- ``plain``: the row alone (what a request wrote before sealing existed);
- ``mac`` (ENS's choice): the row with its HMAC, computed from the values in hand;
- ``chain``: the row chained to the space's previous one — read the space's chain head under a row
  lock, hash it with the new row, insert the row, move the head — the alternative the issue names.

Then ``ens audit seal``'s work on the rows written: checkpoints per space, rows sealed per second.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from ens.spaces import audit
from ens.spaces.history import SEALED_COLUMNS

ROWS = 4000
CONNECTIONS = 8
_COLUMNS = SEALED_COLUMNS.split(", ")


def _values(space_id: UUID, account: UUID, n: int) -> list[Any]:
    return [
        space_id,
        datetime.now(UTC),
        account,
        "Bench Reader",
        "bench-scale",
        "Bench Scale",
        "app",
        None,
        "GET /v1/spaces/{space}/vitals",
        "vitals",
        None,
        200,
        f"bench-{n}",
        None,
        None,
    ]


_PLAIN = f"INSERT INTO access_history ({', '.join(_COLUMNS)}) VALUES ({', '.join(f'${i + 1}' for i in range(15))})"
_MAC = f"INSERT INTO access_history ({', '.join(_COLUMNS)}, mac) VALUES ({', '.join(f'${i + 1}' for i in range(16))})"


async def _write(pool: asyncpg.Pool, variant: str, spaces: list[UUID], account: UUID) -> float:
    counter = iter(range(ROWS))

    async def writer(worker: int) -> None:
        async with pool.acquire() as connection:
            for n in counter:
                space_id = spaces[(worker + n) % len(spaces)]
                values = _values(space_id, account, n)
                if variant == "plain":
                    await connection.execute(_PLAIN, *values)
                elif variant == "mac":
                    await connection.execute(_MAC, *values, audit.row_mac(values))
                else:
                    async with connection.transaction():
                        head = await connection.fetchval(
                            "SELECT mac FROM bench_chain_heads WHERE space_id = $1 FOR UPDATE", space_id
                        )
                        chained = hashlib.sha256(f"{head}|{audit.row_mac(values)}".encode()).hexdigest()
                        await connection.execute(_MAC, *values, chained)
                        await connection.execute(
                            "UPDATE bench_chain_heads SET mac = $2 WHERE space_id = $1", space_id, chained
                        )

    started = time.perf_counter()
    await asyncio.gather(*(writer(worker) for worker in range(CONNECTIONS)))
    return ROWS / (time.perf_counter() - started)


async def measure(dsn: str, spaces: list[UUID], account: UUID) -> dict[str, Any]:
    """Rows/s for each way and case, then the sealer's rows/s over everything written."""
    pool = await asyncpg.create_pool(dsn, min_size=CONNECTIONS, max_size=CONNECTIONS)
    assert pool is not None
    try:
        async with pool.acquire() as connection:
            await connection.execute(
                "CREATE TABLE IF NOT EXISTS bench_chain_heads (space_id UUID PRIMARY KEY, mac TEXT)"
            )
            await connection.executemany(
                "INSERT INTO bench_chain_heads (space_id, mac) VALUES ($1, '') ON CONFLICT DO NOTHING",
                [(s,) for s in spaces],
            )
            await connection.execute("CHECKPOINT")
        writes: list[dict[str, Any]] = []
        for case, chosen in (("one space", spaces[:1]), (f"{len(spaces)} spaces", spaces)):
            for variant in ("plain", "mac", "chain"):
                rate = await _write(pool, variant, chosen, account)
                writes.append({"variant": variant, "case": case, "rows_per_s": rate})
                print(f"    history rows, {variant:<5} {case:<9}: {rate:>8,.0f} rows/s", flush=True)
        async with pool.acquire() as connection:
            await connection.execute("DROP TABLE bench_chain_heads")
            total = await connection.fetchval("SELECT COUNT(*) FROM access_history")
    finally:
        await pool.close()
    # The sealer over everything: one run notes the newest row, the next seals up to it.
    now = datetime.now(UTC)
    await audit.seal(lag=timedelta(0), now=now)
    started = time.perf_counter()
    run = await audit.seal(lag=timedelta(0), now=now + timedelta(minutes=1))
    seconds = time.perf_counter() - started
    print(f"    ens audit seal: {run.rows:,} rows in {run.checkpoints:,} checkpoints, {seconds:.2f} s", flush=True)
    return {
        "writes": writes,
        "seal": {"rows": run.rows, "checkpoints": run.checkpoints, "seconds": seconds, "table_rows": int(total)},
    }
