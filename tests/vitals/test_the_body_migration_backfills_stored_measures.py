"""Measures stored before each row kept its JSON (``body``) get it from the migration's backfill,
the same bytes the service writes today."""

from __future__ import annotations

import importlib

import httpx

from ens.core import db
from tests.helpers.people import Person
from tests.helpers.vitals import VITALS, pressure, weight

MIGRATION = importlib.import_module("ens.vitals.piccolo_migrations.m2026_12_01_0003_measurement_body")


async def test_backfilled_bodies_are_what_the_service_writes(client: httpx.AsyncClient, person: Person) -> None:
    batch = [weight(70.4, note="matin", device={"model": "B1"}), pressure(128, 79, bodyPosition="sitting")]
    assert (await client.post(VITALS, json={"measurements": batch}, headers=person.headers)).status_code == 201
    written = await db.fetch("SELECT id, body FROM vital_measurements WHERE space_id = {} ORDER BY id", person.space_id)
    # As if stored before the column existed:
    await db.fetch("UPDATE vital_measurements SET body = '' WHERE space_id = {}", person.space_id)
    assert await MIGRATION.backfill() >= 2
    again = await db.fetch("SELECT id, body FROM vital_measurements WHERE space_id = {} ORDER BY id", person.space_id)
    assert [dict(r) for r in again] == [dict(r) for r in written]
