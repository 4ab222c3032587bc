"""Ingestion rate: batches posted by device apps over HTTP, next to the same rows written directly.

Three paths write the same rows with the same concurrency (a list of connections, each bound to a
space: 8 connections over 4 spaces, or 8 into one space), one transaction per batch, every row a
new one, each path into spaces of its own:

- HTTP: ``POST /v1/spaces/{space}/vitals``, a device app's token, the whole service;
- direct: the very statement the service runs (``ens.vitals.ingest``'s multi-row ``INSERT ... ON
  CONFLICT DO UPDATE ... RETURNING``) sent with asyncpg, the feed places handed out by the bench
  (no door, no record lookup, no history row);
- COPY: the same rows by ``COPY`` (no upsert, no RETURNING): the table's ceiling, which the
  service's rate is divided by.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import msgspec

from bench import http1
from bench.world import APP_CLIENT_ID, APP_CLIENT_NAME, DeviceApp
from ens.core.db import values_insert_sql
from ens.vitals import ingest
from ens.vitals.representation import measurement_body

PARIS = ZoneInfo("Europe/Paris")


def measurement(writer: int, n: int, base: datetime) -> dict[str, Any]:
    """A writer's n-th measure, as a scale/watch sends it: four types in turn, plausible, canonical units."""
    at = base + timedelta(seconds=37 * n)
    item: dict[str, Any] = {
        "effectiveAt": at.isoformat(),
        "clientRecordId": f"rec-{writer}-{n}",
        "clientRecordVersion": 1,
        "recordingMethod": "automatic",
        "device": {"manufacturer": "Bench", "model": "Scale 2", "identifier": "SN-0001"},
    }
    kind = n % 4
    if kind == 0:
        item.update(type="body_weight", value=60 + (n % 4000) / 100, unit="kg")
    elif kind == 1:
        item.update(type="heart_rate", value=50 + n % 80, unit="/min")
    elif kind == 2:
        item.update(
            type="blood_pressure", components={"systolic": 110 + n % 40, "diastolic": 70 + n % 20}, unit="mm[Hg]"
        )
    else:
        item.update(type="body_temperature", value=36 + (n % 200) / 100, unit="Cel")
    return item


def batches(worker: int, count: int, size: int, base: datetime) -> list[list[dict[str, Any]]]:
    return [[measurement(worker, b * size + i, base) for i in range(size)] for b in range(count)]


def row_of(item: dict[str, Any], space_id: UUID, writer: str, now: datetime, seq: int) -> tuple[Any, ...]:
    """What the service stores for ``item`` (already in its canonical unit), in its column order."""
    at = datetime.fromisoformat(item["effectiveAt"]).astimezone(UTC)
    components = item.get("components")
    original = (
        {"systolic": float(components["systolic"]), "diastolic": float(components["diastolic"])}
        if components
        else float(item["value"])
    )
    device = item["device"]
    values = {
        "id": uuid.uuid4(),
        "space_id": space_id,
        "type": item["type"],
        "value": None if components else float(item["value"]),
        "systolic": float(components["systolic"]) if components else None,
        "diastolic": float(components["diastolic"]) if components else None,
        "original_value": msgspec.json.encode(original).decode(),
        "original_unit": item["unit"],
        "effective_at": at,
        "local_date": at.astimezone(PARIS).date(),
        "recording_method": item["recordingMethod"],
        "writer": writer,
        "source_kind": "app",
        "source_client_id": APP_CLIENT_ID,
        "source_name": APP_CLIENT_NAME,
        "client_record_id": item["clientRecordId"],
        "client_record_version": item["clientRecordVersion"],
        "device_manufacturer": device["manufacturer"],
        "device_model": device["model"],
        "device_identifier": device["identifier"],
        "body_position": None,
        "measurement_location": None,
        "glucose_moment": None,
        "note": None,
        "created_at": now,
        "updated_at": now,
        "seq": seq,
        "feed_xid": 0,
        "original_source": None,
        "hidden_from_representatives": False,
        "shown_to_representatives": True,
    }
    values["body"] = measurement_body(
        measurement_id=values["id"],
        vital_type=values["type"],
        value=values["value"],
        systolic=values["systolic"],
        diastolic=values["diastolic"],
        original_value=values["original_value"],
        original_unit=values["original_unit"],
        effective_at=at,
        recording_method=values["recording_method"],
        source_client_id=APP_CLIENT_ID,
        source_name=APP_CLIENT_NAME,
        device=(device["manufacturer"], device["model"], device["identifier"]),
        context=(None, None, None),
        note=None,
        created_at=now,
        updated_at=now,
    )
    return tuple(values[c] for c in ingest.INSERT_COLUMNS)


def service_statement(rows: int) -> str:
    """The service's own upsert of ``rows`` rows, its ``{}`` placeholders numbered for asyncpg."""
    counter = iter(range(1, 1_000_000))
    sql = values_insert_sql("vital_measurements", ingest.INSERT_COLUMNS, rows=rows, suffix=ingest.UPSERT_SUFFIX)
    return re.sub(r"\{\}", lambda _: f"${next(counter)}", sql)


@dataclass(frozen=True)
class Rate:
    measurements: int
    seconds: float
    requests: int

    @property
    def per_second(self) -> float:
        return self.measurements / self.seconds


class _Items(msgspec.Struct):
    items: list[dict[str, Any]]


async def post_batches(base_url: str, apps: list[DeviceApp], work: list[list[list[dict[str, Any]]]]) -> Rate:
    """One HTTP connection per entry of ``apps`` (an app may hold several), each posting its
    batches one after the other; the connections run side by side. The requests are written
    before the clock starts, by the lean client of ``bench.http1`` (httpx cost a third of the
    server's CPU, on the same cores)."""
    address = urlsplit(base_url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    answers = msgspec.json.Decoder(_Items)

    async def one(app: DeviceApp, batches_: list[list[dict[str, Any]]]) -> int:
        async with http1.Connection(host, port) as http:
            headers = {"Authorization": f"Bearer {app.token}", "Content-Type": "application/json"}
            path = f"/v1/spaces/{app.space_id}/vitals"
            requests = [http.request("POST", path, headers, msgspec.json.encode({"measurements": b})) for b in batches_]
            await ready.wait()
            stored = 0
            for request in requests:
                answer = await http.send(request)
                if answer.status != 201:
                    raise RuntimeError(f"POST vitals answered {answer.status}: {answer.body[:300]!r}")
                stored += sum(1 for item in answers.decode(answer.body).items if item["result"] == "created")
            return stored

    ready = asyncio.Event()
    posting = [asyncio.ensure_future(one(app, batches_)) for app, batches_ in zip(apps, work, strict=True)]
    await asyncio.sleep(0.2)  # connected, requests written
    started = time.perf_counter()
    ready.set()
    stored = await asyncio.gather(*posting)
    elapsed = time.perf_counter() - started
    expected = sum(len(b) for batches_ in work for b in batches_)
    if sum(stored) != expected:
        raise RuntimeError(f"the service created {sum(stored)} of {expected} measurements")
    return Rate(sum(stored), elapsed, sum(len(batches_) for batches_ in work))


Batches = list[list[dict[str, Any]]]
Write = Callable[[asyncpg.Connection, list[tuple[Any, ...]]], Awaitable[int]]


async def _write_directly(dsn: str, spaces: list[UUID], work: list[Batches], write: Write) -> Rate:
    """One connection per entry of ``spaces`` (a space may take several), side by side, each
    writing its batches with ``write``; the change numbers of a space are handed out here."""
    writer = f"app:{APP_CLIENT_ID}"
    # Statements cached as the server caches them (ens.core.db.engine_for_url).
    pool = await asyncpg.create_pool(
        dsn, min_size=len(spaces), max_size=len(spaces), max_cacheable_statement_size=1024 * 1024
    )
    last_seq: dict[UUID, int] = {}
    try:
        async with pool.acquire() as connection:
            for space_id in set(spaces):
                sql = "SELECT coalesce(max(seq), 0) FROM vital_measurements WHERE space_id = $1"
                last_seq[space_id] = int(await connection.fetchval(sql, space_id))

        async def one(space_id: UUID, batches_: Batches) -> int:
            stored = 0
            async with pool.acquire() as connection:
                for batch in batches_:
                    now = datetime.now(UTC)
                    first = last_seq[space_id] + 1  # no await in between: the numbers are this batch's
                    last_seq[space_id] += len(batch)
                    rows = [row_of(item, space_id, writer, now, first + i) for i, item in enumerate(batch)]
                    stored += await write(connection, rows)
            return stored

        started = time.perf_counter()
        stored = await asyncio.gather(*(one(s, b) for s, b in zip(spaces, work, strict=True)))
        elapsed = time.perf_counter() - started
    finally:
        await pool.close()
    return Rate(sum(stored), elapsed, sum(len(batches_) for batches_ in work))


async def insert_directly(dsn: str, spaces: list[UUID], work: list[Batches]) -> Rate:
    """The same rows, the service's statement, asyncpg, one transaction per batch."""

    async def upsert(connection: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> int:
        args = [value for row in rows for value in row]
        async with connection.transaction():
            await connection.execute(service_statement(len(rows)), *args)
        return len(rows)

    return await _write_directly(dsn, spaces, work, upsert)


async def copy_directly(dsn: str, spaces: list[UUID], work: list[Batches]) -> Rate:
    """The same rows by COPY (no upsert, no RETURNING), one per batch: the table's ceiling."""

    async def copy(connection: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> int:
        await connection.copy_records_to_table("vital_measurements", records=rows, columns=list(ingest.INSERT_COLUMNS))
        return len(rows)

    return await _write_directly(dsn, spaces, work, copy)
