"""A space's one-year series, read with the table at 10 thousand rows and again at 10 million.

The reader's space holds a year of daily measures of four types, posted through the API. Other
spaces fill the table around it: bulk-loaded in SQL (``INSERT ... SELECT`` over
``generate_series``, each space a couple of years of four types), then ``VACUUM ANALYZE``. The series is
timed through the API (the holder's token, the door, the history row, JSON) and in the database
(``EXPLAIN ANALYZE`` of the list query), whose plan is printed: an index that starts with
``space_id`` makes both figures independent of the table's size.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import msgspec

from bench.world import DeviceApp, Person

ROWS_PER_FILLER_SPACE = 1000
TYPES_SQL = "(ARRAY['body_weight', 'heart_rate', 'blood_pressure', 'body_temperature'])"
UNITS_SQL = "(ARRAY['kg', '/min', 'mm[Hg]', 'Cel'])"


def year_of_measures(today: date) -> list[dict[str, Any]]:
    """A year of mornings: weight, pulse, blood pressure and temperature, every day."""
    items: list[dict[str, Any]] = []
    for day in range(365):
        at = datetime.combine(today - timedelta(days=365 - day), datetime.min.time(), UTC) + timedelta(hours=6)
        common = {"clientRecordVersion": 1, "recordingMethod": "automatic"}
        items += [
            {"type": "body_weight", "value": 70 + (day % 50) / 10, "unit": "kg", "effectiveAt": at.isoformat(),
             "clientRecordId": f"w-{day}", **common},
            {"type": "heart_rate", "value": 60 + day % 30, "unit": "/min",
             "effectiveAt": (at + timedelta(minutes=1)).isoformat(), "clientRecordId": f"h-{day}", **common},
            {"type": "blood_pressure", "components": {"systolic": 120 + day % 20, "diastolic": 75 + day % 10},
             "unit": "mm[Hg]", "effectiveAt": (at + timedelta(minutes=2)).isoformat(),
             "clientRecordId": f"p-{day}", **common},
            {"type": "body_temperature", "value": 36.5 + (day % 10) / 10, "unit": "Cel",
             "effectiveAt": (at + timedelta(minutes=3)).isoformat(), "clientRecordId": f"t-{day}", **common},
        ]  # fmt: skip
    return items


async def seed_reader(base_url: str, app: DeviceApp) -> int:
    """The reader's year, posted by its device app in batches of 1000."""
    items = year_of_measures(datetime.now(UTC).date())
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        for start in range(0, len(items), 1000):
            response = await client.post(
                f"/v1/spaces/{app.space_id}/vitals",
                content=msgspec.json.encode({"measurements": items[start : start + 1000]}),
                headers={"Authorization": f"Bearer {app.token}", "Content-Type": "application/json"},
            )
            if response.status_code != 201:
                raise RuntimeError(f"seeding answered {response.status_code}: {response.text[:300]}")
    return len(items)


_FILL = f"""
INSERT INTO vital_measurements (id, space_id, type, value, systolic, diastolic, original_value, original_unit,
    effective_at, local_date, recording_method, writer, source_kind, source_client_id, source_name,
    client_record_id, client_record_version, device_manufacturer, device_model, device_identifier,
    body_position, measurement_location, glucose_moment, note, created_at, updated_at, seq)
SELECT (lpad(to_hex(s), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid,
       ('00000000-0000-4000-8000-' || lpad(to_hex(s), 12, '0'))::uuid,
       {TYPES_SQL}[k % 4 + 1],
       CASE k % 4 WHEN 0 THEN 60 + (k % 400) / 10.0 WHEN 1 THEN 50 + k % 80 WHEN 3 THEN 36 + (k % 200) / 100.0 END,
       CASE WHEN k % 4 = 2 THEN 110 + k % 40 END,
       CASE WHEN k % 4 = 2 THEN 70 + k % 20 END,
       CASE k % 4 WHEN 0 THEN (60 + (k % 400) / 10.0)::text WHEN 1 THEN (50 + k % 80)::text
            WHEN 2 THEN '{{"systolic":' || (110 + k % 40) || ',"diastolic":' || (70 + k % 20) || '}}'
            ELSE (36 + (k % 200) / 100.0)::text END,
       {UNITS_SQL}[k % 4 + 1],
       $3::timestamptz + (k / 4) * interval '1 day' + (k % 4) * interval '1 minute',
       (($3::timestamptz + (k / 4) * interval '1 day') AT TIME ZONE 'Europe/Paris')::date,
       'automatic', 'app:bench-bulk', 'app', 'bench-bulk', 'Bench bulk loader',
       NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, now(), now(), k
FROM generate_series($1::bigint, $2::bigint) AS s, generate_series(1, {ROWS_PER_FILLER_SPACE}) AS k
WHERE (s - $1) * {ROWS_PER_FILLER_SPACE} + k <= $4
"""

_SPACES = """
INSERT INTO spaces (id, given_name, family_name, timezone, status, created_at, updated_at)
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(s), 12, '0'))::uuid, 'Filler', 'Space ' || s,
       'Europe/Paris', 'open', now(), now()
FROM generate_series($1::bigint, $2::bigint) AS s
"""


@dataclass
class Filler:
    """Grows the table to a given number of rows with other people's spaces."""

    dsn: str
    next_space: int = 1
    log: list[str] = field(default_factory=list)

    async def rows(self) -> int:
        connection = await asyncpg.connect(self.dsn)
        try:
            # The planner's estimate is enough between loads; an exact count is taken once at the end.
            return int(await connection.fetchval("SELECT count(*) FROM vital_measurements"))
        finally:
            await connection.close()

    async def grow_to(self, total: int, parallel: int = 2, chunk_rows: int = 500_000) -> tuple[int, float]:
        """Add rows until the table holds ``total``; returns the rows added and the seconds taken."""
        needed = total - await self.rows()
        if needed <= 0:
            return 0, 0.0
        started = time.perf_counter()
        spaces = -(-needed // ROWS_PER_FILLER_SPACE)
        first = self.next_space
        self.next_space += spaces
        chunks: list[tuple[int, int, int]] = []  # first space, last space, rows
        per_chunk = max(1, chunk_rows // ROWS_PER_FILLER_SPACE)
        left = needed
        for s in range(first, first + spaces, per_chunk):
            last = min(s + per_chunk - 1, first + spaces - 1)
            rows = min(left, (last - s + 1) * ROWS_PER_FILLER_SPACE)
            chunks.append((s, last, rows))
            left -= rows
        start_at = datetime.now(UTC) - timedelta(days=ROWS_PER_FILLER_SPACE // 4 + 30)
        connection = await asyncpg.connect(self.dsn)
        try:
            await connection.execute(_SPACES, first, first + spaces - 1)
        finally:
            await connection.close()
        queue: asyncio.Queue[tuple[int, int, int]] = asyncio.Queue()
        for chunk in chunks:
            queue.put_nowait(chunk)
        done = 0

        async def loader() -> None:
            nonlocal done
            connection = await asyncpg.connect(self.dsn)
            try:
                # A bulk load of rows known to be valid: skip the per-row foreign-key triggers.
                await connection.execute("SET session_replication_role = replica")
                while not queue.empty():
                    s0, s1, rows = queue.get_nowait()
                    await connection.execute(_FILL, s0, s1, start_at, rows)
                    done += rows
                    if len(chunks) > 4:
                        rate = done / (time.perf_counter() - started)
                        print(f"    bulk load: {done:>11,} / {needed:,} rows ({rate:,.0f} rows/s)", flush=True)
            finally:
                await connection.close()

        await asyncio.gather(*(loader() for _ in range(parallel)))
        connection = await asyncpg.connect(self.dsn)
        try:
            # Vacuum now rather than let autovacuum take a core in the middle of the next measurement.
            await connection.execute("VACUUM (ANALYZE) vital_measurements")
            await connection.execute("ANALYZE")
        finally:
            await connection.close()
        return needed, time.perf_counter() - started


def series_sql() -> str:
    """The list query the API runs for ``?type=&since=&until=&limit=500`` (ens.vitals.reads)."""
    return (
        "SELECT m.body FROM vital_measurements m WHERE m.space_id = $1"
        " AND m.type = $2 AND m.effective_at >= $3 AND m.effective_at < $4"
        " ORDER BY m.effective_at DESC, m.id DESC LIMIT $5"
    )


@dataclass
class SeriesTiming:
    table_rows: int
    items: int
    api_first_ms: float
    api_median_ms: float
    api_p90_ms: float
    sql_median_ms: float
    plan: list[str]
    summary_median_ms: float


async def time_series(dsn: str, base_url: str, reader: Person, runs: int = 30, warm_up: int = 20) -> SeriesTiming:
    today = datetime.now(UTC).date()
    since, until = today - timedelta(days=366), today + timedelta(days=1)
    path = f"/v1/spaces/{reader.space_id}/vitals?type=body_weight&since={since}&until={until}&limit=500"
    summary_path = f"/v1/spaces/{reader.space_id}/vitals/summary?type=body_weight&bucket=week&since={since}"
    headers = {"Authorization": f"Bearer {reader.token}", "Accept": "application/json"}
    timings: list[float] = []
    summary: list[float] = []
    items = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        # The first call is shown apart; the warm-up is not timed: the first call of each statement
        # on each of the server's pool connections prepares it, which is not what the median is about.
        started = time.perf_counter()
        await client.get(path, headers=headers)
        first_ms = 1000 * (time.perf_counter() - started)
        for _ in range(warm_up):
            await client.get(path, headers=headers)
            await client.get(summary_path, headers=headers)
        for _ in range(runs):
            started = time.perf_counter()
            response = await client.get(path, headers=headers)
            timings.append(1000 * (time.perf_counter() - started))
            if response.status_code != 200:
                raise RuntimeError(f"series read answered {response.status_code}: {response.text[:300]}")
            items = len(response.json()["items"])
        for _ in range(runs):
            started = time.perf_counter()
            response = await client.get(summary_path, headers=headers)
            summary.append(1000 * (time.perf_counter() - started))
            if response.status_code != 200:
                raise RuntimeError(f"summary answered {response.status_code}: {response.text[:300]}")
    connection = await asyncpg.connect(dsn)
    try:
        table_rows = int(await connection.fetchval("SELECT count(*) FROM vital_measurements"))
        args = (reader.space_id, "body_weight", _midnight(since), _midnight(until), 501)
        executions: list[float] = []
        plan: list[str] = []
        for _ in range(7):
            rows = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {series_sql()}", *args)
            plan = [r[0] for r in rows]
            executions.append(_execution_ms(plan))
    finally:
        await connection.close()
    return SeriesTiming(
        table_rows=table_rows,
        items=items,
        api_first_ms=first_ms,
        api_median_ms=statistics.median(timings),
        api_p90_ms=statistics.quantiles(timings, n=10)[-1],
        sql_median_ms=statistics.median(executions),
        plan=plan,
        summary_median_ms=statistics.median(summary),
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


def _execution_ms(plan: list[str]) -> float:
    for line in plan:
        match = re.match(r"Execution Time: ([\d.]+) ms", line.strip())
        if match:
            return float(match.group(1))
    return float("nan")


def uses_space_index(plan: list[str]) -> str | None:
    """The index the plan scans, if it starts with space_id (all of the vitals indexes do)."""
    for line in plan:
        match = re.search(r"(?:Index (?:Only )?Scan(?: Backward)? using|Bitmap Index Scan on) (\w+)", line)
        if match:
            return match.group(1)
    return None
