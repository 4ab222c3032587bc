"""``python -m bench`` (``make bench``): run against the PostgreSQL named by ENS_DATABASE_URL.

Knobs (environment):
  BENCH_ROWS          rows in the table for the big series read (default 10000000)
  BENCH_SMALL_ROWS    rows for the small one (default 10000)
  BENCH_INGEST        measurements per path and batch size (default 24000)
  BENCH_WRITERS       device apps writing side by side, each to its own space (default 4)
  BENCH_SECONDS       duration of each wrk run (default 12)
  BENCH_CONNECTIONS   wrk connections (default 16)
  BENCH_WORKERS       server worker counts for the read load at the big size (default "1,2")
  BENCH_OUT           where the JSON goes (default bench-results.json at the repo root)
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from bench import ingest, machine, reads, series
from bench.world import ROOT, Server, World, free_port, migrate, production_environment, settings_of

INGEST_TARGET = 0.5
READ_TARGET_RPS = 1000
READ_TARGET_P99_MS = 50


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


async def run() -> dict[str, Any]:
    dsn = os.environ.get("ENS_DATABASE_URL", "")
    if not dsn.startswith(("postgres://", "postgresql://")):
        sys.exit("make bench runs against PostgreSQL: use 'make bench' (scripts/with-postgres sets ENS_DATABASE_URL)")
    big_rows = _int("BENCH_ROWS", 10_000_000)
    small_rows = min(_int("BENCH_SMALL_ROWS", 10_000), big_rows)
    ingest_count = _int("BENCH_INGEST", 24_000)
    writers = _int("BENCH_WRITERS", 4)
    seconds = _int("BENCH_SECONDS", 12)
    connections = _int("BENCH_CONNECTIONS", 16)
    worker_counts = [int(w) for w in (os.environ.get("BENCH_WORKERS") or "1,2").split(",") if w.strip()]
    started = time.perf_counter()

    env = production_environment(dsn, free_port())
    migrate(env)
    settings = settings_of(env)
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": await machine.describe(dsn),
        "config": {
            "rows_small": small_rows,
            "rows_big": big_rows,
            "ingest_measurements": ingest_count,
            "writers": writers,
            "wrk_seconds": seconds,
            "wrk_connections": connections,
            "server": "ens serve (ENS_ENV=prod), uvicorn, access log off",
        },
        "ingest": [],
        "reads": [],
        "series": [],
    }
    filler = series.Filler(dsn)
    async with World(settings) as world:
        reader = await world.person("reader")
        reader_app = await world.device_app(reader)
        http_apps = [await world.device_app(await world.person(f"http{i}")) for i in range(writers)]
        direct_spaces = [(await world.person(f"direct{i}")).space_id for i in range(writers)]
        copy_spaces = [(await world.person(f"copy{i}")).space_id for i in range(writers)]

        print(f"=== ens serve --workers 1 on {env['ENS_PUBLIC_URL']} (ENS_ENV=prod)", flush=True)
        with Server(env, 1) as server:
            print("--- seeding the reader's year through the API", flush=True)
            await series.seed_reader(server.base_url, reader_app)
            await filler.grow_to(small_rows)
            print(f"--- series read at {small_rows:,} rows", flush=True)
            results["series"].append(await series.time_series(dsn, server.base_url, reader))

            base = datetime.now(UTC) - timedelta(days=300)
            for size in (100, 1000):
                per_writer = max(1, ingest_count // (size * writers))
                work = [ingest.batches(w, per_writer, size, base) for w in range(writers)]
                print(f"--- ingestion, batches of {size}: {per_writer * writers} requests", flush=True)
                # Warm both paths (connections, caches) with one batch each, not timed.
                warm = [ingest.batches(9 + w, 1, size, base - timedelta(days=30)) for w in range(writers)]
                await ingest.post_batches(server.base_url, http_apps, warm)
                await ingest.insert_directly(dsn, direct_spaces, warm)
                http = await ingest.post_batches(server.base_url, http_apps, work)
                direct = await ingest.insert_directly(dsn, direct_spaces, work)
                copy = await ingest.copy_directly(dsn, copy_spaces, work)
                # Fresh record ids for the next size: new rows on every path.
                base -= timedelta(days=1)
                results["ingest"].append(
                    {
                        "batch": size,
                        "requests": http.requests,
                        "http_per_s": http.per_second,
                        "direct_per_s": direct.per_second,
                        "copy_per_s": copy.per_second,
                        "ratio": http.per_second / direct.per_second,
                        "http_ms_per_batch": 1000 * http.seconds / (http.requests / writers),
                    }
                )
                copy_spaces = [(await world.person(f"copy-{size}-{i}")).space_id for i in range(writers)]
                http_apps = [await world.device_app(await world.person(f"http-{size}-{i}")) for i in range(writers)]
                direct_spaces = [(await world.person(f"direct-{size}-{i}")).space_id for i in range(writers)]

            reads.check_page(server.base_url, reader)
            rows_now = await filler.rows()
            print(f"--- page reads, 1 worker, {rows_now:,} rows, wrk {seconds} s x {connections} conn.", flush=True)
            results["reads"].append(
                reads.wrk(
                    server.base_url,
                    reader,
                    server_pgid=server.pgid,
                    workers=1,
                    table_rows=rows_now,
                    seconds=seconds,
                    connections=connections,
                )
            )

        if big_rows > small_rows:
            print(
                f"--- bulk load to {big_rows:,} rows (INSERT ... SELECT generate_series), then VACUUM ANALYZE",
                flush=True,
            )
            added, load_s = await filler.grow_to(big_rows)
            results["bulk_load"] = {"rows": added, "seconds": load_s, "rows_per_s": added / load_s if load_s else 0}
            with Server(env, 1) as server:
                print(f"--- series read at {big_rows:,} rows", flush=True)
                results["series"].append(await series.time_series(dsn, server.base_url, reader))
        rows_now = await filler.rows()
        for workers in worker_counts:
            if workers == 1 and big_rows <= small_rows:
                continue
            with Server(env, workers) as server:
                reads.check_page(server.base_url, reader)
                print(f"--- page reads, {workers} worker(s), {rows_now:,} rows", flush=True)
                results["reads"].append(
                    reads.wrk(
                        server.base_url,
                        reader,
                        server_pgid=server.pgid,
                        workers=workers,
                        table_rows=rows_now,
                        seconds=seconds,
                        connections=connections,
                    )
                )
    results["total_seconds"] = time.perf_counter() - started
    return results


def _jsonable(value: Any) -> Any:
    return asdict(value) if hasattr(value, "__dataclass_fields__") else value


def table(results: dict[str, Any]) -> str:
    m = results["machine"]
    cfg = results["config"]
    out: list[str] = []
    out.append(f"ENS make bench, {results['when']}")
    out.append(
        f"machine: {m['nproc']} cores ({m['cpu_model']}), {m['ram_gib']} GiB RAM, Linux {m['kernel']}, "
        f"PostgreSQL {m['postgresql']} (shared_buffers {m['postgresql_settings']['shared_buffers']}, "
        f"fsync {m['postgresql_settings']['fsync']}), Python {m['python']}, {m['server']}"
    )
    out.append("server, PostgreSQL and load generator share the same cores; ens serve runs with ENS_ENV=prod")
    out.append("")
    out.append(
        f"Ingestion: POST /v1/spaces/{{space}}/vitals by device-app tokens, {cfg['writers']} writers side by side"
    )
    out.append("  direct = the service's multi-row INSERT ... ON CONFLICT ... RETURNING via asyncpg, 1 tx per batch")
    out.append(f"  {'batch':>5}  {'HTTP meas/s':>12}  {'direct meas/s':>13}  {'ratio':>6}  {'target':>7}  "
               f"{'ms/batch':>8}  {'COPY meas/s (ref.)':>18}")  # fmt: skip
    for row in results["ingest"]:
        ok = "met" if row["ratio"] >= INGEST_TARGET else "MISSED"
        out.append(
            f"  {row['batch']:>5}  {row['http_per_s']:>12,.0f}  {row['direct_per_s']:>13,.0f}  {row['ratio']:>6.2f}  "
            f"{'>=0.50':>7}  {row['http_ms_per_batch']:>8.1f}  {row['copy_per_s']:>18,.0f}  {ok}"
        )
    out.append("")
    out.append(
        f"Page reads: GET /v1/spaces/{{space}}/vitals?limit=100 (holder token; door + history row per request), "
        f"wrk 1 thread, {cfg['wrk_connections']} connections, {cfg['wrk_seconds']} s"
    )
    out.append(f"  {'workers':>7}  {'table rows':>11}  {'req/s':>7}  {'p50 ms':>7}  {'p90 ms':>7}  {'p99 ms':>7}  "
               f"{'errors':>6}  {'CPU us/req':>10}  "
               f"target {READ_TARGET_RPS} req/s, p99 < {READ_TARGET_P99_MS} ms")  # fmt: skip
    for r in results["reads"]:
        r = r if isinstance(r, dict) else asdict(r)
        ok = "met" if r["per_second"] >= READ_TARGET_RPS and r["p99_ms"] < READ_TARGET_P99_MS else "MISSED"
        out.append(
            f"  {r['workers']:>7}  {r['table_rows']:>11,}  {r['per_second']:>7,.0f}  {r['p50_ms']:>7.1f}  "
            f"{r['p90_ms']:>7.1f}  {r['p99_ms']:>7.1f}  {r['errors']:>6}  "
            f"{r['server_cpu_us']:>10,.0f}  {ok if r['workers'] == 1 else '(2 workers: info)'}"
        )
    out.append("")
    out.append("Series: one space's body_weight for one year (GET ...?type=body_weight&since=&until=&limit=500)")
    out.append(f"  {'table rows':>11}  {'items':>5}  {'API 1st ms':>10}  {'API median':>10}  {'API p90':>8}  "
               f"{'SQL exec ms':>11}  {'weekly summary':>14}  index")  # fmt: skip
    for s in results["series"]:
        s = s if isinstance(s, dict) else asdict(s)
        out.append(
            f"  {s['table_rows']:>11,}  {s['items']:>5}  {s['api_first_ms']:>10.2f}  {s['api_median_ms']:>10.2f}  "
            f"{s['api_p90_ms']:>8.2f}  {s['sql_median_ms']:>11.3f}  {s['summary_median_ms']:>14.2f}  "
            f"{series.uses_space_index(s['plan'])}"
        )
    if results.get("bulk_load", {}).get("rows"):
        b = results["bulk_load"]
        out.append(f"  (bulk load: {b['rows']:,} rows in {b['seconds']:.0f} s, {b['rows_per_s']:,.0f} rows/s)")
    for s in results["series"]:
        s = s if isinstance(s, dict) else asdict(s)
        out.append(f"  plan at {s['table_rows']:,} rows:")
        out += [f"    {line}" for line in s["plan"]]
    out.append("")
    out.append(f"total {results['total_seconds']:.0f} s")
    return "\n".join(out)


def main() -> None:
    results = asyncio.run(run())
    results = {k: ([_jsonable(x) for x in v] if isinstance(v, list) else v) for k, v in results.items()}
    print()
    print(table(results))
    out = os.environ.get("BENCH_OUT") or str(ROOT / "bench-results.json")
    with open(out, "wb") as f:
        f.write(msgspec.json.format(msgspec.json.encode(results), indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
