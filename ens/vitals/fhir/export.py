"""The space's measures for the export, read in keyset batches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import msgspec

from ens.core.db import fetch
from ens.core.fhir import Resource
from ens.vitals.fhir.to_fhir import device_of, observation_of, read_of_body
from ens.vitals.ingest import DAY_KEY
from ens.vitals.schemas import Source

EXPORT_BATCH = 1000


async def observations(
    space_id: UUID, *, with_hidden: bool, batch: int = EXPORT_BATCH
) -> AsyncIterator[list[Resource]]:
    """Every measure of the space as Observations, oldest first, ``batch`` rows per query (keyset
    on ``(effective_at, id)``, the index that serves every read of a space's measures): memory stays
    that of one batch whatever the number of measures. Each ``Device`` comes once, before the first
    Observation that names it. ``with_hidden`` is false for a representative's export."""
    seen_devices: set[str] = set()
    where = "space_id = {}" + ("" if with_hidden else " AND NOT hidden_from_representatives")
    after: tuple[Any, Any] | None = None
    while True:
        args: list[Any] = [space_id]
        condition = where
        if after is not None:
            condition += " AND (effective_at, id) > ({}, {})"
            args += list(after)
        rows = await fetch(
            "SELECT id, effective_at, body, hidden_from_representatives, original_source, client_record_id, "
            "client_record_version FROM vital_measurements "
            f"WHERE {condition} ORDER BY effective_at, id LIMIT {{}}",
            *args,
            batch,
        )
        if not rows:
            return
        resources: list[Resource] = []
        for row in rows:
            read = read_of_body(row["body"])
            device = device_of(space_id, read)
            if device is not None and device.id not in seen_devices:
                seen_devices.add(device.id)
                resources.append(device)
            original = _ORIGINAL_SOURCE.decode(row["original_source"]) if row["original_source"] else None
            resources.append(
                observation_of(
                    read,
                    space_id=space_id,
                    hidden=bool(row["hidden_from_representatives"]),
                    original_source=(original.client_id, original.name) if original is not None else None,
                    # The apps' own record ids are the holder's export's only: the API shows them to
                    # no reader, and a representative's export is theirs to read (a review).
                    client_record=_client_record(row) if with_hidden else None,
                )
            )
        yield resources
        if len(rows) < batch:
            return
        last = rows[-1]
        after = (last["effective_at"], last["id"])


_ORIGINAL_SOURCE = msgspec.json.Decoder(Source)


def _client_record(row: Any) -> tuple[str, int] | None:
    """The writer's ``clientRecordId`` and ``clientRecordVersion``; none for a measure sent without
    one (a day's step count sent without its own id is kept under the service's key for its day,
    ``day:<date>``, which is no client's)."""
    key = row["client_record_id"]
    if key is None or key.startswith(DAY_KEY):
        return None
    return key, int(row["client_record_version"] or 0)


async def count_measurements(space_id: UUID) -> int:
    """How many measures the space holds (``ens export``'s progress)."""
    rows = await fetch("SELECT COUNT(*) AS n FROM vital_measurements WHERE space_id = {}", space_id)
    return int(rows[0]["n"])
