"""The FHIR export of a big space: ``GET /v1/spaces/{space}/export`` of a space holding
``BENCH_EXPORT`` measures (500,000 by default), read to the end by a client, while the server's
peak resident memory (``VmHWM`` of every process of its group, from ``/proc``) is read before and
after. Issue 15's target: under 200 MB, whatever the number of measures (the Bundle is written as
its rows are read, in keyset batches)."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import httpx

from bench.world import Person, Server
from ens.vitals.ingest import INSERT_COLUMNS
from ens.vitals.representation import measurement_body

EXPORT_PEAK_RSS_MB = 200.0
_TYPES = (("body_weight", "kg"), ("heart_rate", "/min"), ("blood_pressure", "mm[Hg]"), ("steps_per_day", "1/(24.h)"))


def _row(space_id: UUID, k: int, start: datetime, now: datetime) -> tuple[object, ...]:
    """One valid measure of the space, its stored JSON built by the service's own function."""
    vital_type, unit = _TYPES[k % 4]
    pressure = vital_type == "blood_pressure"
    value = None if pressure else float(60 + (k % 400) / 10 if k % 4 == 0 else 50 + k % 80 if k % 4 == 1 else 4000 + k)
    systolic, diastolic = (float(110 + k % 40), float(70 + k % 20)) if pressure else (None, None)
    original = f'{{"systolic":{systolic},"diastolic":{diastolic}}}' if pressure else str(value)
    effective = start + timedelta(minutes=k)
    measurement_id = uuid.uuid4()
    device = ("OMRONHEALTHCARE", "HEM-9200T", None) if pressure else (None, None, None)
    body = measurement_body(
        measurement_id=measurement_id,
        vital_type=vital_type,
        value=value,
        systolic=systolic,
        diastolic=diastolic,
        original_value=original,
        original_unit=unit,
        effective_at=effective,
        recording_method="automatic",
        source_client_id="bench-export",
        source_name="Bench export loader",
        device=device,
        context=(None, None, None),
        note=None,
        created_at=now,
        updated_at=now,
    )
    values: dict[str, object] = {
        "id": measurement_id,
        "space_id": space_id,
        "type": vital_type,
        "value": value,
        "systolic": systolic,
        "diastolic": diastolic,
        "original_value": original,
        "original_unit": unit,
        "effective_at": effective,
        "local_date": effective.date(),
        "recording_method": "automatic",
        "writer": "app:bench-export",
        "source_kind": "app",
        "source_client_id": "bench-export",
        "source_name": "Bench export loader",
        # Steps are one per day per source: each its own record id keeps them apart.
        "client_record_id": f"k{k}",
        "client_record_version": 0,
        "device_manufacturer": device[0],
        "device_model": device[1],
        "device_identifier": device[2],
        "body_position": None,
        "measurement_location": None,
        "glucose_moment": None,
        "note": None,
        "created_at": now,
        "updated_at": now,
        "seq": k + 1,
        "feed_xid": 0,
        "body": body,
        "original_source": None,
        "hidden_from_representatives": False,
        "shown_to_representatives": True,
    }
    return tuple(values[c] for c in INSERT_COLUMNS)


async def load(dsn: str, space_id: UUID, count: int) -> float:
    """COPY ``count`` measures into the space; answers the seconds it took."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    start = now - timedelta(minutes=count + 60)
    connection = await asyncpg.connect(dsn)
    try:
        for first in range(0, count, 50_000):
            rows = [_row(space_id, k, start, now) for k in range(first, min(count, first + 50_000))]
            await connection.copy_records_to_table("vital_measurements", records=rows, columns=list(INSERT_COLUMNS))
        await connection.execute("VACUUM (ANALYZE) vital_measurements")
    finally:
        await connection.close()
    return time.perf_counter() - started


def _group_pids(pgid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # the process group, third field after the name
            found.append(int(name))
    return found


def peak_rss_mb(pgid: int) -> float:
    """The highest resident memory any process of the server's group has had (VmHWM), in MB."""
    peak = 0
    for pid in _group_pids(pgid):
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak / 1024


@dataclass(frozen=True)
class ExportFigures:
    measures: int
    bytes: int
    entries: int
    seconds: float
    load_seconds: float
    rss_before_mb: float
    rss_peak_mb: float


def export(server: Server, person: Person, *, measures: int, load_seconds: float) -> ExportFigures:
    """Read the space's export to the end; the server's peak memory before and after."""
    before = peak_rss_mb(server.pgid)
    started = time.perf_counter()
    size = entries = 0
    tail = b""
    headers = {"Authorization": f"Bearer {person.token}", "Accept-Encoding": "identity"}
    with httpx.stream("GET", f"{server.base_url}/v1/spaces/me/export", headers=headers, timeout=600) as answer:
        if answer.status_code != 200:
            raise RuntimeError(f"the export answered {answer.status_code}")
        for chunk in answer.iter_bytes():
            size += len(chunk)
            entries += (tail + chunk).count(b'{"fullUrl":') - tail.count(b'{"fullUrl":')
            tail = chunk[-16:]
    seconds = time.perf_counter() - started
    return ExportFigures(
        measures=measures,
        bytes=size,
        entries=entries,
        seconds=seconds,
        load_seconds=load_seconds,
        rss_before_mb=before,
        rss_peak_mb=peak_rss_mb(server.pgid),
    )
