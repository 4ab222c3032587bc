"""``make bench`` writes rows behind the service's back (its direct and COPY references, the export's
space): those rows must be what the service itself stores, column for column, so a schema change
that the bench misses fails here rather than in a benchmark nobody ran (issue 15's
``original_source`` once stopped ``make bench`` with a KeyError)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from bench import export as bench_export
from bench import ingest as bench_ingest
from ens.core.db import insert_rows
from ens.vitals.ingest import INSERT_COLUMNS
from tests.helpers.people import Person


async def test_the_bench_rows_are_the_service_s_rows(client: httpx.AsyncClient, person: Person) -> None:
    now = datetime.now(UTC)
    base = now - timedelta(days=2)
    items = bench_ingest.batches(0, 1, 8, base)[0]
    rows = [bench_ingest.row_of(item, person.space_id, "app:bench", now, seq + 1) for seq, item in enumerate(items)]
    rows += [bench_export._row(person.space_id, k, base, now) for k in range(100, 104)]
    assert all(len(row) == len(INSERT_COLUMNS) for row in rows)
    await insert_rows("vital_measurements", INSERT_COLUMNS, rows=rows)

    answer = await client.get("/v1/spaces/me/vitals", params={"limit": 50}, headers=person.headers)
    assert answer.status_code == 200, answer.text
    listed = answer.json()["items"]
    assert len(listed) == len(rows)
    for item in listed:
        one = await client.get(f"/v1/spaces/me/vitals/{item['id']}", headers=person.headers)
        assert one.status_code == 200, one.text
        assert one.json() == item
