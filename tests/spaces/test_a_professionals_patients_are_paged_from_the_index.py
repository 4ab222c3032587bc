"""``GET /v1/pro/patients`` pages a professional's patients by space id from an index in that order:
keyed (professional_id, status), every page read and sorted all of the professional's rows (5,019
rows: 23.8 ms a page, the whole list O(n²); a scale audit)."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest

from ens.core import db
from ens.core.settings import Settings
from tests.helpers.plans import Statements
from tests.helpers.professionals import sign_in_pro

pytestmark = pytest.mark.skipif(
    not os.environ.get("ENS_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's plan and generate_series"
)
PATIENTS = 300


async def test_every_page_reads_a_page(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ens.spaces import pro_access

    pro = await sign_in_pro(settings)
    # Many patients, and as many rows of others' (blocked, ended) that the index must step over.
    await db.fetch(
        "WITH made AS (INSERT INTO spaces (id, given_name, family_name, created_at, updated_at) "
        "SELECT gen_random_uuid(), 'Patient', 'N' || i, now(), now() FROM generate_series(1, {}) AS i RETURNING id) "
        "INSERT INTO space_professionals (space_id, id, professional_id, status, since, until, created_at, updated_at) "
        "SELECT id, gen_random_uuid(), {}, 'authorised', now() - interval '1 day', now() + interval '300 days', "
        "now(), now() "
        "FROM made",
        PATIENTS,
        pro.professional_id,
    )
    # The service's many other spaces (a national table), and another professional's many patients
    # among them: walking every space in order for this one's is not the way either (a review: with
    # only this professional's rows, the (space_id, professional_id) index served the old plan well).
    other = await sign_in_pro(settings)
    await db.fetch(
        "WITH made AS (INSERT INTO spaces (id, given_name, family_name, created_at, updated_at) "
        "SELECT gen_random_uuid(), 'Other', 'N' || i, now(), now() FROM generate_series(1, 20000) AS i "
        "RETURNING id) "
        "INSERT INTO space_professionals (space_id, id, professional_id, status, since, until, created_at, updated_at) "
        "SELECT id, gen_random_uuid(), {}, 'authorised', now() - interval '1 day', now() + interval '300 days', "
        "now(), now() FROM made",
        other.professional_id,
    )
    await db.fetch("ANALYZE space_professionals")
    await db.fetch("ANALYZE spaces")
    try:
        statements = Statements(monkeypatch, pro_access)
        listed: list[str] = []
        params: dict[str, Any] = {"limit": 10}
        while True:
            page = await client.get("/v1/pro/patients", params=params, headers=pro.headers)
            assert page.status_code == 200, page.text
            listed += [item["space"] for item in page.json()["items"]]
            if page.json()["nextCursor"] is None:
                break
            params = {"limit": 10, "cursor": page.json()["nextCursor"]}
        assert len(listed) == PATIENTS and listed == sorted(listed, key=lambda space: int(space.replace("-", ""), 16))
        for generic in (False, True):
            assert await statements.most_rows_looked_at("FROM space_professionals sp", generic=generic) <= 11
            read = await statements.indexes_read("FROM space_professionals sp", generic=generic)
            assert "space_professionals_patients_by_space" in read, read
    finally:  # the suite's other tests share the database
        made = "SELECT id FROM spaces WHERE given_name IN ('Patient', 'Other') AND family_name LIKE 'N%'"
        # Each statement on health data names its space (tests/statements), the suite's own too.
        await db.fetch(f"DELETE FROM space_professionals WHERE space_id IN ({made})")
        await db.fetch(made.replace("SELECT id FROM", "DELETE FROM"))
