"""Measures stored before each row kept its JSON (``body``) get it from the migration's backfill,
the same bytes the service writes today."""

from __future__ import annotations

import importlib

import httpx

from ens.core import db
from ens.vitals.representation import body_of_row
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


async def test_every_body_the_ingestion_writes_is_the_one_its_row_makes(
    client: httpx.AsyncClient, person: Person
) -> None:
    """The ingestion builds each body from the measure as sent (``body_json``); ``body_of_row``
    builds it from the stored columns (``measurement_body``): the same bytes, for every type, whole
    numbers or not, in a unit of its own or the canonical one, with or without device and context."""
    when = weight()["effectiveAt"]
    batch = [
        weight(154.3, unit="[lb_av]", device={"manufacturer": "Withings", "identifier": "SN-1"}),
        {"type": "body_height", "value": 1.713, "unit": "m", "effectiveAt": when},
        {"type": "heart_rate", "value": 64, "unit": "/min", "effectiveAt": when, "recordingMethod": "active"},
        {"type": "heart_rate", "value": 72.4, "unit": "/min", "effectiveAt": weight(minutes_ago=11)["effectiveAt"]},
        pressure(128, 79, bodyPosition="sitting", measurementLocation="left arm", hiddenFromRepresentatives=True),
        pressure(129.5, 80, minutes_ago=12),
        pressure(17.1, 10.4, unit="kPa", minutes_ago=13),
        {"type": "body_temperature", "value": 98.6, "unit": "[degF]", "effectiveAt": when, "note": "soir"},
        {"type": "waist_circumference", "value": 88.5, "unit": "cm", "effectiveAt": when},
        {"type": "blood_glucose", "value": 5.5, "unit": "mmol/L", "effectiveAt": when, "glucoseMoment": "fasting"},
        {"type": "steps_per_day", "value": 8421, "unit": "/d", "effectiveAt": when},
        {"type": "pain_severity", "value": 0, "unit": "{score}", "effectiveAt": when},
        {"type": "head_circumference", "value": 41.2, "unit": "cm", "effectiveAt": when},
    ]
    answer = await client.post(VITALS, json={"measurements": batch}, headers=person.headers)
    assert answer.status_code == 201, answer.text
    rows = await db.fetch("SELECT * FROM vital_measurements WHERE space_id = {}", person.space_id)
    assert len(rows) == len(batch)
    for row in rows:
        assert body_of_row(row) == row["body"], row["type"]
