"""``python -m bench`` (``make bench``): run against the PostgreSQL named by ENS_DATABASE_URL.

Every figure is divided by a ceiling measured in the same run, on the same machine, at the same
moment: ingestion by COPY of the same rows (and by the service's own statement sent directly),
page reads by a bare litestar endpoint served the same way under the same wrk settings, the
series at 10 million rows by the same series at 10 thousand. Ratios come first, with their
targets; absolute figures follow.

Knobs (environment):
  BENCH_ROWS                rows in the table for the big series read (default 10000000)
  BENCH_SMALL_ROWS          rows for the small one (default 10000)
  BENCH_INGEST              measures per ingestion path and case (default 32000)
  BENCH_INGEST_CONNECTIONS  concurrent writers (default 8)
  BENCH_INGEST_SPACES       spaces they share in the several-spaces case (default 4)
  BENCH_SECONDS             duration of each wrk run (default 12)
  BENCH_CONNECTIONS         wrk connections (default 16)
  BENCH_LIMITS              page sizes read under wrk (default "1,50,100")
  BENCH_INFO_WORKERS        more server worker counts for an information read line (default "2"; "" none)
  BENCH_FSYNC_OFF           1 (default): information figures with fsync off, 0: none
  BENCH_PROFILE             1: the server under py-spy for each load, files in var/bench-profiles/;
                            native: with the C frames too (slower)
  BENCH_EXPORT              measures in the space whose FHIR export is read (default 500000; 0: none)
  BENCH_DOCUMENT_SIZES      documents uploaded and downloaded, MiB (default "1,5,20"; "" none)
  BENCH_DOCUMENT_ROUNDS     rounds per size (default 3)
  BENCH_ONLY                "export": only the export's memory; "history": only the access history's
                            writes (plain, with its MAC, chained) and the sealer; "documents": only a
                            document's upload and download memory; "ingest": only the ingestion
                            lines; "pages": only the page reads, at BENCH_SMALL_ROWS rows (quick runs)
  BENCH_OUT                 where the JSON goes (default bench-results.json at the repo root)
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from bench import documents, export, history, ingest, machine, reads, series
from bench.cpu import CpuMeter
from bench.profile import Profiler
from bench.world import (
    ROOT,
    DeviceApp,
    Person,
    Server,
    World,
    bare_server,
    free_port,
    migrate,
    production_environment,
    settings_of,
)

# Targets of issue 9, printed next to each ratio (a benchmark: nothing fails on them).
INGEST_OVER_COPY = 0.5  # batches of 100 over several spaces, / COPY of the same rows
INGEST_FLOOR = 20_000  # measures/s, where COPY reaches COPY_FLOOR
COPY_FLOOR = 40_000
ONE_SPACE_OVER_SEVERAL = 0.8
PAGE_100_OVER_BARE = 0.15
PAGE_100_P99_MS = 50.0
PAGE_1_OVER_BARE = 0.3
SERIES_BIG_OVER_SMALL = 1.3

# The information line of the cheapest route behind the space door.
DOOR_FLOOR = "door floor"


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _ints(name: str, default: str) -> list[int]:
    raw = os.environ.get(name)
    return [int(x) for x in (default if raw is None else raw).split(",") if x.strip()]


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    return default if raw is None or raw == "" else raw not in ("0", "no", "false")


async def _sql(dsn: str, *statements: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def _show(dsn: str, name: str) -> str:
    connection = await asyncpg.connect(dsn)
    try:
        return str(await connection.fetchval(f"SHOW {name}"))
    finally:
        await connection.close()


async def checkpoint(dsn: str) -> None:
    """Every load starts from a clean checkpoint: each pays its own full-page writes, none the
    previous one's dirty pages."""
    await _sql(dsn, "CHECKPOINT")


@asynccontextmanager
async def without_fsync(dsn: str) -> AsyncIterator[None]:
    """For information figures only: the same server with fsync, synchronous_commit and
    full_page_writes off (all three reloadable), then back to production durability, checked."""
    names = tuple(machine.DURABLE)
    await _sql(dsn, *(f"ALTER SYSTEM SET {n} = off" for n in names), "SELECT pg_reload_conf()")
    try:
        await _wait_for(dsn, "off")
        yield
    finally:
        await _sql(dsn, *(f"ALTER SYSTEM RESET {n}" for n in names), "SELECT pg_reload_conf()")
        await _wait_for(dsn, "on")
        await checkpoint(dsn)


async def _wait_for(dsn: str, value: str) -> None:
    for _ in range(50):
        await asyncio.sleep(0.1)
        if all([await _show(dsn, n) == value for n in machine.DURABLE]):
            await asyncio.sleep(0.5)  # idle backends (the server's pool) reload at their next command
            return
    raise RuntimeError(f"PostgreSQL did not turn fsync {value}")


class Run:
    """One benchmark run: the knobs, the database, the world of people and apps, the results."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.big_rows = _int("BENCH_ROWS", 10_000_000)
        self.small_rows = min(_int("BENCH_SMALL_ROWS", 10_000), self.big_rows)
        self.ingest_count = _int("BENCH_INGEST", 32_000)
        self.ingest_connections = _int("BENCH_INGEST_CONNECTIONS", 8)
        self.ingest_spaces = _int("BENCH_INGEST_SPACES", 4)
        self.seconds = _int("BENCH_SECONDS", 12)
        self.connections = _int("BENCH_CONNECTIONS", 16)
        self.limits = _ints("BENCH_LIMITS", "1,50,100")
        self.info_workers = [w for w in _ints("BENCH_INFO_WORKERS", "2") if w > 1]
        self.fsync_off = _flag("BENCH_FSYNC_OFF", True)
        self.export_measures = _int("BENCH_EXPORT", 500_000)
        self.document_sizes, self.document_rounds = documents.sizes_and_rounds()
        self.only = os.environ.get("BENCH_ONLY", "")
        if self.only not in ("", "export", "history", "documents", "ingest", "pages"):
            raise SystemExit(f"BENCH_ONLY={self.only}: export, history, documents, ingest or pages")
        self.profiler = Profiler(os.environ.get("BENCH_PROFILE", ""))
        self.env = production_environment(dsn, free_port())
        self.postmaster = 0
        self.results: dict[str, Any] = {}
        self._base = datetime.now(UTC) - timedelta(days=300)
        self._tag = 0

    def config(self) -> dict[str, Any]:
        return {
            "rows_small": self.small_rows,
            "rows_big": self.big_rows,
            "ingest_measurements": self.ingest_count,
            "ingest_connections": self.ingest_connections,
            "ingest_spaces": self.ingest_spaces,
            "wrk_seconds": self.seconds,
            "wrk_connections": self.connections,
            "limits": self.limits,
            "fsync_off_info": self.fsync_off,
            "profiled": self.profiler.mode if self.profiler.enabled else "",
            "export_measures": self.export_measures,
            "document_sizes_mib": self.document_sizes,
            "document_rounds": self.document_rounds,
            "server": "ens serve --workers 1 (ENS_ENV=prod), uvicorn, access log off",
        }

    async def main(self) -> dict[str, Any]:
        started = time.perf_counter()
        migrate(self.env)
        self.postmaster = await machine.postmaster_pid(self.dsn)
        self.results = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": await machine.describe(self.dsn),
            "config": self.config(),
            "ingest": [],
            "reads": [],
            "series": [],
        }
        filler = series.Filler(self.dsn)
        async with World(settings_of(self.env)) as world:
            if self.export_measures and self.only in ("", "export"):
                await self.export_memory(world)
            if self.document_sizes and self.only in ("", "documents"):
                await self.document_memory(world)
            if self.only in ("", "history"):
                await self.history_writes(world)
            if self.only in ("ingest", "pages"):
                await self.ingestion_and_pages(world, filler)
            if self.only:
                self.results["profiles"] = [asdict(s) for s in self.profiler.summaries]
                self.results["total_seconds"] = time.perf_counter() - started
                return self.results
            reader = await world.person("reader")
            reader_app = await world.device_app(reader)
            print(f"=== ens serve --workers 1 on {self.env['ENS_PUBLIC_URL']} (ENS_ENV=prod)", flush=True)
            with Server(self.env, 1) as server:
                print("--- seeding the reader's year through the API", flush=True)
                await series.seed_reader(server.base_url, reader_app)
                await filler.grow_to(self.small_rows)
                print(f"--- series read at {self.small_rows:,} rows", flush=True)
                self.results["series"].append(await series.time_series(self.dsn, server.base_url, reader))
            if self.big_rows > self.small_rows:
                print(f"--- bulk load to {self.big_rows:,} rows (INSERT ... SELECT), then VACUUM ANALYZE", flush=True)
                added, load_s = await filler.grow_to(self.big_rows)
                # Nothing to add when the table already holds as many (the export's space counts).
                rate = added / load_s if added and load_s > 0 else 0.0
                self.results["bulk_load"] = {"rows": added, "seconds": load_s, "rows_per_s": rate}
            await checkpoint(self.dsn)
            with Server(self.env, 1) as server:
                if self.big_rows > self.small_rows:
                    print(f"--- series read at {self.big_rows:,} rows", flush=True)
                    self.results["series"].append(await series.time_series(self.dsn, server.base_url, reader))
                for size in (100, 1000):
                    for spaces in (self.ingest_spaces, 1):
                        self.results["ingest"].append(await self.ingestion(world, server, size=size, spaces=spaces))
                await self.page_reads(server, reader, await filler.rows())
            for workers in self.info_workers:
                with Server(self.env, workers) as server:
                    reads.check_page(server.base_url, reader, 100)
                    print(f"--- page reads limit=100, {workers} workers (information)", flush=True)
                    self.results["reads"].append(self.wrk(server, "limit=100", reads.page_path(reader, 100), reader))
        self.results["profiles"] = [asdict(s) for s in self.profiler.summaries]
        self.results["total_seconds"] = time.perf_counter() - started
        return self.results

    async def ingestion_and_pages(self, world: World, filler: series.Filler) -> None:
        """BENCH_ONLY=ingest or pages: one of the two loads alone, on one server (quick runs)."""
        with Server(self.env, 1) as server:
            if self.only == "ingest":
                for size in (100, 1000):
                    for spaces in (self.ingest_spaces, 1):
                        self.results["ingest"].append(await self.ingestion(world, server, size=size, spaces=spaces))
                return
            reader = await world.person("reader")
            await series.seed_reader(server.base_url, await world.device_app(reader))
            await filler.grow_to(self.small_rows)
            await checkpoint(self.dsn)
            await self.page_reads(server, reader, await filler.rows())

    async def history_writes(self, world: World) -> None:
        """The access history's rows written plain, with their MAC (ENS), chained; then the sealer."""
        from ens.spaces import audit

        audit.configure(self.env["ENS_SECRET_KEY"])
        people = [await world.person(f"historian{n}") for n in range(8)]
        print("--- access history: one row per transaction, 8 connections (bench/history.py)", flush=True)
        await checkpoint(self.dsn)
        self.results["history"] = await history.measure(self.dsn, [p.space_id for p in people], people[0].account_id)

    async def export_memory(self, world: World) -> None:
        """The FHIR export of a space of BENCH_EXPORT measures, on a fresh server: its peak memory."""
        holder = await world.person("exporter")
        print(f"--- loading {self.export_measures:,} measures into one space (COPY)", flush=True)
        load_seconds = await export.load(self.dsn, holder.space_id, self.export_measures)
        await checkpoint(self.dsn)
        with Server(self.env, 1) as server:
            print("--- GET /v1/spaces/me/export of that space, read to the end", flush=True)
            self.results["export"] = export.export(
                server, holder, measures=self.export_measures, load_seconds=load_seconds
            )

    async def document_memory(self, world: World) -> None:
        """A document's upload and download (bench/documents.py) on a fresh server, its memory
        sampled: the peak must not follow the file's size. A folder of its own for the store."""
        holder = await world.person("documents")
        with tempfile.TemporaryDirectory(prefix="ens-bench-documents-") as folder:
            env = {**self.env, "ENS_BLOB_URL": Path(folder).as_uri()}  # absolute: tempfile's
            print("--- documents uploaded and downloaded, the server's RSS sampled (bench/documents.py)", flush=True)
            with Server(env, 1) as server:
                self.results["documents"] = documents.measure(
                    server, holder.token, store="folder", sizes=self.document_sizes, rounds=self.document_rounds
                )

    async def ingestion(self, world: World, server: Server, *, size: int, spaces: int) -> dict[str, Any]:
        """The three paths (and HTTP with fsync off) for one batch size and one layout."""
        n = self.ingest_connections
        per_connection = max(1, self.ingest_count // (size * n))
        layout = f"{n} conn. over {spaces} spaces" if spaces > 1 else f"{n} conn. into 1 space"
        print(f"--- ingestion, batches of {size}, {layout}: {per_connection * n} requests per path", flush=True)
        self._tag += 1
        self._base -= timedelta(days=1)  # fresh instants as well as fresh spaces for every case
        work = [ingest.batches(c, per_connection, size, self._base) for c in range(n)]
        warm = [ingest.batches(1000 + c, 1, size, self._base - timedelta(days=30)) for c in range(n)]

        async def spaces_of(path: str) -> tuple[list[DeviceApp], list[UUID]]:
            people = [await world.person(f"{path}-{self._tag}-{i}") for i in range(spaces)]
            apps = [await world.device_app(p) for p in people]
            return [apps[c % spaces] for c in range(n)], [people[c % spaces].space_id for c in range(n)]

        http_apps, _ = await spaces_of("http")
        _, direct_spaces = await spaces_of("direct")
        _, copy_spaces = await spaces_of("copy")
        # Warm every path (connections, caches, the statement) with one batch per connection, not timed.
        await ingest.post_batches(server.base_url, http_apps, warm)
        await ingest.insert_directly(self.dsn, direct_spaces, warm)
        await ingest.copy_directly(self.dsn, copy_spaces, warm)

        figures: dict[str, Any] = {"batch": size, "spaces": spaces, "connections": n, "layout": layout}
        # Statistics as a live database has them (autovacuum analyses a table soon after it fills).
        # On a table never analysed, PostgreSQL looks a batch's records up by the first index that
        # starts with space_id and filters every row of the space (EXPLAIN, 2026-12-05): an
        # ingest-only run (BENCH_ONLY=ingest, a fresh database) measured that, 1.5 ms of the
        # database's CPU a measure at batches of 10, where the record index takes 0.01.
        await _sql(self.dsn, "ANALYZE vital_measurements")
        await checkpoint(self.dsn)
        meter = CpuMeter(server.pgid, self.postmaster)
        with self.profiler.record(server, f"ingest-{size}-{spaces}space"):
            http = await ingest.post_batches(server.base_url, http_apps, work)
        cpu = meter.spent()
        figures.update(
            requests=http.requests,
            http_per_s=http.per_second,
            http_ms_per_batch=1000 * http.seconds / (http.requests / n),
            http_server_cpu_us=1e6 * cpu.server_s / http.measurements,
            http_database_cpu_us=1e6 * cpu.database_s / http.measurements,
            http_client_cpu_us=1e6 * cpu.client_s / http.measurements,
            others_cores=cpu.others_cores,
        )
        for path, write, spaces_ in (
            ("direct", ingest.insert_directly, direct_spaces),
            ("copy", ingest.copy_directly, copy_spaces),
        ):
            await checkpoint(self.dsn)
            meter = CpuMeter(server.pgid, self.postmaster)
            rate = await write(self.dsn, spaces_, work)
            figures[f"{path}_per_s"] = rate.per_second
            cpu = meter.spent()
            figures[f"{path}_database_cpu_us"] = 1e6 * cpu.database_s / rate.measurements
            figures[f"{path}_client_cpu_us"] = 1e6 * cpu.client_s / rate.measurements
            figures["others_cores"] = max(figures["others_cores"], cpu.others_cores)
        figures["http_over_copy"] = figures["http_per_s"] / figures["copy_per_s"]
        figures["http_over_direct"] = figures["http_per_s"] / figures["direct_per_s"]
        if self.fsync_off:
            off_apps, _ = await spaces_of("nofsync")
            await ingest.post_batches(server.base_url, off_apps, warm)
            async with without_fsync(self.dsn):
                off = await ingest.post_batches(server.base_url, off_apps, work)
            figures["http_fsync_off_per_s"] = off.per_second
        return figures

    def wrk(self, server: Server, name: str, path: str, person: Person, accept_encoding: str = "") -> dict[str, Any]:
        load = reads.wrk(
            server,
            name=name,
            path=path,
            token=person.token,
            postmaster_pid=self.postmaster,
            table_rows=self.results.get("table_rows", 0),
            seconds=self.seconds,
            connections=self.connections,
            accept_encoding=accept_encoding,
        )
        return asdict(load)

    async def page_reads(self, server: Server, reader: Person, rows: int) -> None:
        """The bare endpoint before and after the pages (its mean is the ceiling; the two say how
        steady the machine was), then each page size, all with the same wrk settings."""
        self.results["table_rows"] = rows
        for limit in self.limits:
            reads.check_page(server.base_url, reader, limit)

        def bare(name: str) -> dict[str, Any]:
            with bare_server(self.env) as ceiling, self.profiler.record(ceiling, name):
                print(f"--- bare endpoint ({name}), wrk {self.seconds} s x {self.connections} conn.", flush=True)
                return self.wrk(ceiling, name, "/bare", reader)

        self.results["reads"].append(bare("bare-before"))
        for limit in self.limits:
            print(f"--- page reads limit={limit}, 1 worker, {rows:,} rows", flush=True)
            with self.profiler.record(server, f"page-{limit}"):
                self.results["reads"].append(self.wrk(server, f"limit={limit}", reads.page_path(reader, limit), reader))
        # The floor under any page, between the two bare measurements like the pages: the cheapest
        # route behind the space door (the door's query, a read of a few rows, the history row).
        reads.check_door_floor(server.base_url, reader)
        print("--- the cheapest route behind the door (information)", flush=True)
        self.results["reads"].append(self.wrk(server, DOOR_FLOOR, reads.door_floor_path(reader), reader))
        self.results["reads"].append(bare("bare-after"))
        if self.fsync_off and 100 in self.limits:
            print("--- page reads limit=100 with fsync off (information)", flush=True)
            async with without_fsync(self.dsn):
                load = self.wrk(server, "limit=100", reads.page_path(reader, 100), reader)
            load["fsync_off"] = True
            self.results["reads"].append(load)
        if 100 in self.limits:
            # What a phone asks for: the answer gzipped (level 1), the server's CPU for it included.
            print("--- page reads limit=100 with Accept-Encoding: gzip (information)", flush=True)
            path = reads.page_path(reader, 100)
            self.results["reads"].append(self.wrk(server, "limit=100 gzip", path, reader, accept_encoding="gzip"))


# ---------------------------------------------------------------------------------------------
# The printed table


def _us(value: float | None) -> str:
    """CPU microseconds, or a dash where they could not be read (a database on another machine, a
    figure older runs did not have)."""
    return "-" if value is None or math.isnan(value) else f"{value:,.0f}"


def _verdict(ok: bool | None) -> str:
    return "info" if ok is None else ("met" if ok else "MISSED")


def _ingest_case(results: dict[str, Any], batch: int, several: bool) -> dict[str, Any] | None:
    rows: list[dict[str, Any]] = results["ingest"]
    for row in rows:
        if row["batch"] == batch and (row["spaces"] > 1) == several:
            return row
    return None


def _read(results: dict[str, Any], name: str, workers: int = 1) -> dict[str, Any] | None:
    rows: list[dict[str, Any]] = results["reads"]
    for row in rows:
        if row["name"] == name and row["workers"] == workers and not row.get("fsync_off"):
            return row
    return None


def bare_ceiling(results: dict[str, Any]) -> float:
    rates = [r["per_second"] for r in results["reads"] if r["name"].startswith("bare")]
    return sum(rates) / len(rates) if rates else float("nan")


def ratios(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(what, ratio or figure, target, verdict), the headline of the run."""
    out: list[tuple[str, str, str, str]] = []
    for batch in (100, 1000):
        several = _ingest_case(results, batch, True)
        one = _ingest_case(results, batch, False)
        headline = batch == 100
        if several:
            label = f"ingest {batch}/batch, {several['layout']}"
            ok = several["http_over_copy"] >= INGEST_OVER_COPY if headline else None
            target = f">= {INGEST_OVER_COPY:.2f}" if headline else ""
            out.append((f"{label} / COPY", f"{several['http_over_copy']:.2f}", target, _verdict(ok)))
            if headline:
                copy_enough = several["copy_per_s"] >= COPY_FLOOR
                out.append(
                    (
                        f"{label}, measures/s (COPY {several['copy_per_s']:,.0f})",
                        f"{several['http_per_s']:,.0f}",
                        f">= {INGEST_FLOOR:,} if COPY >= {COPY_FLOOR:,}",
                        _verdict(several["http_per_s"] >= INGEST_FLOOR) if copy_enough else "n/a: COPY below",
                    )
                )
            out.append((f"{label} / direct upsert", f"{several['http_over_direct']:.2f}", "", "info"))
        if several and one:
            ratio = one["http_per_s"] / several["http_per_s"]
            ok = ratio >= ONE_SPACE_OVER_SEVERAL if headline else None
            target = f">= {ONE_SPACE_OVER_SEVERAL:.2f}" if headline else ""
            label = f"ingest {batch}/batch, {one['layout']} / several spaces"
            out.append((label, f"{ratio:.2f}", target, _verdict(ok)))
    bare = bare_ceiling(results)
    for limit, target_ratio in ((1, PAGE_1_OVER_BARE), (50, None), (100, PAGE_100_OVER_BARE)):
        page = _read(results, f"limit={limit}")
        if page is None:
            continue
        ratio = page["per_second"] / bare
        out.append(
            (
                f"page limit={limit} / bare endpoint (req/s)",
                f"{ratio:.3f}",
                f">= {target_ratio:.2f}" if target_ratio else "",
                _verdict(ratio >= target_ratio if target_ratio else None),
            )
        )
        if limit == 100:
            out.append(
                (
                    "page limit=100, p99",
                    f"{page['p99_ms']:.1f} ms",
                    f"< {PAGE_100_P99_MS:.0f} ms",
                    _verdict(page["p99_ms"] < PAGE_100_P99_MS),
                )
            )
    if results.get("export"):
        e = results["export"]
        out.append(
            (
                f"FHIR export of {e['measures']:,} measures, server peak RSS",
                f"{e['rss_peak_mb']:.0f} MB",
                f"< {export.EXPORT_PEAK_RSS_MB:.0f} MB",
                _verdict(e["rss_peak_mb"] < export.EXPORT_PEAK_RSS_MB),
            )
        )
    if results.get("documents"):
        rounds = results["documents"]["rounds"]
        largest = max(r["size_mib"] for r in rounds)
        for way in ("upload", "download"):
            peak = max(r[f"{way}_peak_mib"] for r in rounds if r["size_mib"] == largest)
            out.append(
                (
                    f"document {way} of {largest} MiB, server RSS peak above rest",
                    f"{peak:.1f} MiB",
                    f"< {largest} MiB (never held whole)",
                    _verdict(peak < largest),
                )
            )
    if len(results["series"]) == 2:
        small, big = results["series"]
        label = f"series at {big['table_rows']:,} / at {small['table_rows']:,} rows"
        ratio = big["api_median_ms"] / small["api_median_ms"]
        target = f"<= {SERIES_BIG_OVER_SMALL:.2f}"
        out.append((f"{label}, API median", f"{ratio:.2f}", target, _verdict(ratio <= SERIES_BIG_OVER_SMALL)))
        out.append((f"{label}, SQL execution", f"{big['sql_median_ms'] / small['sql_median_ms']:.2f}", "", "info"))
    return out


def _machine_lines(m: dict[str, Any]) -> list[str]:
    pg = m["postgresql_settings"]
    disk = m["disk"]
    kind = "tmpfs: fsync is free there" if "tmpfs" in disk["fstype"] else "a real disk"
    if disk.get("rotational") == "0":
        kind += ", non-rotational"
    durability = ", ".join(f"{k} {pg[k]}" for k in machine.DURABLE)
    return [
        f"machine: {m['cpu_model']}, {m['nproc']} cores, {m['ram_gib']} GiB RAM, Linux {m['kernel']}, "
        f"Python {m['python']}",
        f"  PostgreSQL {m['postgresql']} (SHOW: {durability}; wal_sync_method {pg['wal_sync_method']}, "
        f"shared_buffers {pg['shared_buffers']}){'' if m['durable'] else '  NOT PRODUCTION DURABILITY'}",
        f"  data folder {pg['data_directory']} on {disk['device']} ({disk['fstype']} at {disk['mount']}, {kind}); "
        f"8 kB write + fdatasync there: {disk['fdatasync_8k_ms']} ms (median)",
        f"  {m['server']}; server, PostgreSQL and load generator share the same cores",
    ]


def table(results: dict[str, Any]) -> str:
    cfg = results["config"]
    out: list[str] = [f"ENS make bench, {results['when']} (a benchmark, never a pass/fail test)"]
    out += _machine_lines(results["machine"])
    if cfg["profiled"]:
        out.append(f"  BENCH_PROFILE={cfg['profiled']}: the server ran under py-spy, figures not for comparison")
    out.append("")
    out.append("Ratios to the ceilings measured in this run, with the targets of issue 9")
    rows = ratios(results)
    width = max(len(r[0]) for r in rows) if rows else 10
    for what, value, target, verdict in rows:
        out.append(f"  {what:<{width}}  {value:>9}  {target:<28}  {verdict}")
    out.append("")

    out.append(
        "Ingestion, measures/s: POST /v1/spaces/{space}/vitals by device-app tokens (door, history row, feed places)"
    )
    out.append("  direct = the service's INSERT ... ON CONFLICT ... RETURNING via asyncpg; COPY = the same rows, COPY;")
    out.append("  one transaction per batch on every path, same connections, each path into spaces of its own;")
    out.append("  CPU us/measure: the server's processes / PostgreSQL's / the bench's client (HTTP), PostgreSQL's")
    out.append("  (direct, COPY), the COPY client's (it builds the same rows the server builds);")
    out.append("  others: the machine's CPU outside them and the bench (other jobs, interrupts), in cores, the most")
    out.append("  of the three loads: high means the rates of that line were disturbed")
    out.append(f"  {'batch':>5}  {'layout':<22}  {'HTTP':>8}  {'direct':>8}  {'COPY':>8}  {'/COPY':>5}  "
               f"{'/direct':>7}  {'ms/batch':>8}  {'HTTP CPU us srv/db/cl':>21}  {'direct db':>9}  {'COPY db/cl':>10}  "
               f"{'others':>6}  {'HTTP fsync off (info)':>21}")  # fmt: skip
    for r in results["ingest"]:
        off = f"{r['http_fsync_off_per_s']:>21,.0f}" if "http_fsync_off_per_s" in r else f"{'':>21}"
        cpu = f"{_us(r['http_server_cpu_us'])} / {_us(r['http_database_cpu_us'])} / {_us(r.get('http_client_cpu_us'))}"
        copy_cpu = f"{_us(r['copy_database_cpu_us'])} / {_us(r.get('copy_client_cpu_us'))}"
        out.append(
            f"  {r['batch']:>5}  {r['layout']:<22}  {r['http_per_s']:>8,.0f}  {r['direct_per_s']:>8,.0f}  "
            f"{r['copy_per_s']:>8,.0f}  {r['http_over_copy']:>5.2f}  {r['http_over_direct']:>7.2f}  "
            f"{r['http_ms_per_batch']:>8.1f}  {cpu:>21}  {_us(r['direct_database_cpu_us']):>9}  "
            f"{copy_cpu:>10}  {r['others_cores']:>6.2f}  {off}"
        )
    out.append("")

    bare = bare_ceiling(results)
    out.append(
        f"Page reads: GET /v1/spaces/{{space}}/vitals?limit=N (holder token; door + history row per request), "
        f"table {results.get('table_rows', 0):,} rows,"
    )
    out.append(
        f"  wrk 1 thread, {cfg['wrk_connections']} connections, {cfg['wrk_seconds']} s each; "
        f"bare = GET /bare of bench/bare.py served alike (ceiling: mean of before and after, {bare:,.0f} req/s)"
    )
    out.append("  CPU us per request of the server's processes and PostgreSQL's; others: the machine's CPU outside")
    out.append("  them and wrk (other jobs, interrupts), in cores: high means that line's rate was disturbed")
    out.append(f"  {'what':<18}  {'workers':>7}  {'req/s':>7}  {'/bare':>6}  {'p50 ms':>7}  {'p90 ms':>7}  "
               f"{'p99 ms':>7}  {'errors':>6}  {'CPU us/req srv':>14}  {'db':>5}  {'others':>6}")  # fmt: skip
    for r in results["reads"]:
        name = r["name"] + (" fsync off" if r.get("fsync_off") else "")
        note = "  (information)" if r.get("fsync_off") or r["workers"] > 1 else ""
        if r.get("accept_encoding"):
            note = f"  (information: {r['bytes_per_request'] / 1000:.1f} kB an answer)"
        if r["name"] == DOOR_FLOOR:
            note = "  (information: GET .../representatives, none: the door, one small read, the history row)"
        ratio = "" if r["name"].startswith("bare") else f"{r['per_second'] / bare:.3f}"
        db = "" if r["name"].startswith("bare") else _us(r["database_cpu_us"])
        out.append(
            f"  {name:<18}  {r['workers']:>7}  {r['per_second']:>7,.0f}  {ratio:>6}  {r['p50_ms']:>7.1f}  "
            f"{r['p90_ms']:>7.1f}  {r['p99_ms']:>7.1f}  {r['errors']:>6}  {r['server_cpu_us']:>14,.0f}  {db:>5}  "
            f"{r['others_cores']:>6.2f}{note}"
        )
    out.append("")

    if results.get("history"):
        h = results["history"]
        out.append("Access history, tamper evidence: one row per transaction (as a request's), 8 connections")
        out.append("  plain: the row alone; mac: with its HMAC (ENS); chain: chained to the space's previous row")
        out.append("  under a row lock on the space's chain head (the alternative)")
        for w in h["writes"]:
            out.append(f"  {w['variant']:<6} {w['case']:<10} {w['rows_per_s']:>9,.0f} rows/s")
        seal = h["seal"]
        if seal["seconds"]:
            out.append(
                f"  ens audit seal: {seal['rows']:,} rows in {seal['checkpoints']:,} checkpoints in "
                f"{seal['seconds']:.2f} s ({seal['rows'] / seal['seconds']:,.0f} rows/s)"
            )
        out.append("")

    if results.get("export"):
        e = results["export"]
        out.append("FHIR export: GET /v1/spaces/{space}/export of one space, read to the end by one client")
        out.append(
            f"  {e['measures']:,} measures (COPY in {e['load_seconds']:.0f} s): {e['entries']:,} entries, "
            f"{e['bytes'] / 1e6:,.0f} MB in {e['seconds']:.1f} s ({e['entries'] / e['seconds']:,.0f} entries/s); "
            f"server peak RSS {e['rss_before_mb']:.0f} MB before, {e['rss_peak_mb']:.0f} MB after"
        )
        out.append("")

    if results.get("documents"):
        d = results["documents"]
        out.append("Documents: POST .../documents (multipart, streamed by the client) then GET .../content, read to")
        out.append("  the end; the server's RSS peak above what it was just before each, sampled every 5 ms")
        rest, end = d["rest_mib"], d["end_mib"]
        out.append(f"  at rest after a warm-up {rest:.1f} MiB, at the end {end:.1f} MiB ({d['store']})")
        out.append(f"  {'size':>7}  {'round':>5}  {'up MB/s':>8}  {'up +MiB':>8}  {'down MB/s':>9}  {'down +MiB':>9}")
        for r in d["rounds"]:
            up = f"{r['upload_mb_per_s']:>8.1f}  {r['upload_peak_mib']:>8.1f}"
            down = f"{r['download_mb_per_s']:>9.1f}  {r['download_peak_mib']:>9.1f}"
            out.append(f"  {r['size_mib']:>3} MiB  {r['attempt']:>5}  {up}  {down}")
        out.append("")

    out.append("Series: one space's body_weight for one year (GET ...?type=body_weight&since=&until=&limit=500)")
    out.append(f"  {'table rows':>11}  {'items':>5}  {'API 1st ms':>10}  {'API median':>10}  {'API p90':>8}  "
               f"{'SQL exec ms':>11}  {'weekly summary':>14}  index")  # fmt: skip
    for s in results["series"]:
        out.append(
            f"  {s['table_rows']:>11,}  {s['items']:>5}  {s['api_first_ms']:>10.2f}  {s['api_median_ms']:>10.2f}  "
            f"{s['api_p90_ms']:>8.2f}  {s['sql_median_ms']:>11.3f}  {s['summary_median_ms']:>14.2f}  "
            f"{series.uses_space_index(s['plan'])}"
        )
    if results.get("bulk_load", {}).get("rows"):
        b = results["bulk_load"]
        out.append(f"  (bulk load: {b['rows']:,} rows in {b['seconds']:.0f} s, {b['rows_per_s']:,.0f} rows/s)")
    for s in results["series"]:
        out.append(f"  plan at {s['table_rows']:,} rows:")
        out += [f"    {line}" for line in s["plan"]]

    for p in results.get("profiles", []):
        out.append("")
        others = f" (other threads {p['other_threads_seconds']:.1f} s, left out)" if p["other_threads_seconds"] else ""
        out.append(f"Profile {p['name']}: {p['seconds']:.1f} s of the server running{others}, {p['file']}")
        out.append("  self time by layer: " + ", ".join(f"{n} {share:.0%}" for n, share in p["by_layer"][:8]))
        out.append("  functions running (self time):")
        out += [f"    {share:>5.1%}  {n}" for n, share in p["top_self"][:10]]
        out.append("  ENS functions on the stack (inclusive):")
        out += [f"    {share:>5.1%}  {n}" for n, share in p["ens_inclusive"][:10]]
    out.append("")
    out.append(f"total {results['total_seconds']:.0f} s")
    return "\n".join(out)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    if isinstance(value, list):
        return [_jsonable(x) for x in value]
    return value


def main() -> None:
    dsn = os.environ.get("ENS_DATABASE_URL", "")
    if not dsn.startswith(("postgres://", "postgresql://")):
        sys.exit("make bench runs against PostgreSQL: use 'make bench' (scripts/with-postgres sets ENS_DATABASE_URL)")
    results = asyncio.run(Run(dsn).main())
    results = {k: _jsonable(v) for k, v in results.items()}
    print()
    print(table(results))
    out = os.environ.get("BENCH_OUT") or str(ROOT / "bench-results.json")
    with open(out, "wb") as f:
        f.write(msgspec.json.format(msgspec.json.encode(results), indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
