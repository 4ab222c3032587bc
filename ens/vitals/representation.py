"""A stored measure as the API shows it: built once, when it is written, and kept with the row.

Every answer that shows measures (the list, one measure, the change feed, a correction) returns the
``body`` column as it is, so they are the same bytes everywhere. Measured on a 100-item page:
turning each row into Python objects and then into JSON cost ~8 µs a measure on the server (most
of the page's time), and having PostgreSQL build the JSON at read time (``json_build_object``)
cost it as much; reading a stored text costs neither. A measure is read many more times than it is
written, and writing its body costs ~2 µs once.

The shape is :class:`ens.vitals.schemas.MeasurementRead` (camelCase, absent fields omitted); a test
decodes every representation strictly into it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from ens.core.clock import aware
from ens.vitals.catalogue import BLOOD_PRESSURE, BY_CODE, VitalType
from ens.vitals.schemas import ComponentsRead, DeviceRead, MeasurementRead, Source

# Bump when the shape of ``body`` changes (then re-run the backfill): validators include it.
REPRESENTATION_VERSION = 2  # 2: whole-number types' values as JSON integers (72, not 72.0)

_ORIGINAL = msgspec.json.Decoder(float | ComponentsRead)
_ENCODE = msgspec.json.Encoder()


def measurement_body(
    *,
    measurement_id: UUID,
    vital_type: str,
    value: float | None,
    systolic: float | None,
    diastolic: float | None,
    original_value: str,
    original_unit: str,
    effective_at: datetime,
    recording_method: str,
    source_client_id: str,
    source_name: str,
    device: Sequence[str | None],
    context: Sequence[str | None],
    note: str | None,
    created_at: datetime,
    updated_at: datetime,
    hidden_from_representatives: bool = False,
) -> str:
    """The JSON of one measure (``device``: manufacturer, model, identifier; ``context``: body
    position, measurement location, glucose moment)."""
    return body_json(
        measurement_id,
        BY_CODE[vital_type],
        value,
        systolic,
        diastolic,
        _ORIGINAL.decode(original_value),
        original_unit,
        aware(effective_at),
        recording_method,
        Source(client_id=source_client_id, name=source_name),
        device,
        context,
        note,
        aware(created_at),
        aware(updated_at),
        hidden_from_representatives,
    )


def body_json(
    measurement_id: UUID,
    vital: VitalType,
    value: float | None,
    systolic: float | None,
    diastolic: float | None,
    original: float | ComponentsRead | dict[str, float],
    original_unit: str,
    effective_at: datetime,
    recording_method: str,
    source: Source,
    device: Sequence[str | None],
    context: Sequence[str | None],
    note: str | None,
    created_at: datetime,
    updated_at: datetime,
    hidden_from_representatives: bool,
) -> str:
    """:func:`measurement_body` for the ingestion, which makes one per measure of a batch: the
    original as sent (a blood pressure's as a dict or :class:`ComponentsRead`) rather than its
    JSON, which was encoded only to be decoded here; the writer's :class:`Source` made once a
    batch; aware instants. Positional: sixteen keywords cost ~0.45 us a call (measured in-process)."""
    pressure = vital.code == BLOOD_PRESSURE
    if isinstance(original, dict):
        original = ComponentsRead(systolic=original["systolic"], diastolic=original["diastolic"])
    shown: float | int | ComponentsRead = original
    if vital.precision == 0:
        # VitalType.shown and shown_as_sent, as :func:`encoded` applies them, inlined: ingestion
        # makes a body per measure, and the calls cost ~0.3 us of its ~25.
        if pressure:
            systolic, diastolic = int(systolic or 0), int(diastolic or 0)
            if isinstance(original, ComponentsRead):
                shown = _as_sent(vital, original)
        elif value is not None:
            value = int(value)
            if type(original) is float and original.is_integer():
                shown = int(original)
    manufacturer, model, identifier = device
    body_position, measurement_location, glucose_moment = context
    read = MeasurementRead(
        id=measurement_id,
        type=vital.code,
        unit=vital.unit,
        value=None if pressure else value,
        components=ComponentsRead(systolic=systolic or 0.0, diastolic=diastolic or 0.0) if pressure else None,
        original_value=shown,
        original_unit=original_unit,
        effective_at=effective_at,
        recording_method=recording_method,
        source=source,
        device=DeviceRead(manufacturer=manufacturer, model=model, identifier=identifier)
        if (manufacturer or model or identifier)
        else None,
        body_position=body_position,
        measurement_location=measurement_location,
        glucose_moment=glucose_moment,
        note=note,
        created_at=created_at,
        updated_at=updated_at,
        hidden_from_representatives=hidden_from_representatives,
    )
    return _ENCODE.encode(read).decode()


def encoded(read: MeasurementRead) -> bytes:
    """The JSON of a measure read back and changed (a hide): a whole-number type's numbers as
    JSON integers, as :func:`measurement_body` writes them (``72``; read back into the floats of
    :class:`MeasurementRead` and encoded as they were, a hide wrote ``72.0`` again)."""
    vital = BY_CODE[read.type]
    if vital.precision == 0:
        original = read.original_value
        read = msgspec.structs.replace(
            read,
            value=None if read.value is None else vital.shown(read.value),
            components=None
            if read.components is None
            else ComponentsRead(
                systolic=vital.shown(read.components.systolic), diastolic=vital.shown(read.components.diastolic)
            ),
            original_value=_as_sent(vital, original),
        )
    return _ENCODE.encode(read)


def _as_sent(vital: VitalType, original: float | ComponentsRead) -> float | int | ComponentsRead:
    if isinstance(original, ComponentsRead):
        return ComponentsRead(
            systolic=vital.shown_as_sent(original.systolic), diastolic=vital.shown_as_sent(original.diastolic)
        )
    return vital.shown_as_sent(original)


def body_of_row(row: Any) -> str:
    """The JSON of a stored row selected with all its columns (the migration that added ``body``)."""
    return measurement_body(
        measurement_id=UUID(str(row["id"])),
        vital_type=row["type"],
        value=row["value"],
        systolic=row["systolic"],
        diastolic=row["diastolic"],
        original_value=row["original_value"],
        original_unit=row["original_unit"],
        effective_at=row["effective_at"],
        recording_method=row["recording_method"],
        source_client_id=row["source_client_id"],
        source_name=row["source_name"],
        device=(row["device_manufacturer"], row["device_model"], row["device_identifier"]),
        context=(row["body_position"], row["measurement_location"], row["glucose_moment"]),
        note=row["note"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        # (Absent from rows stored before measures could be hidden.)
        hidden_from_representatives=bool(row.get("hidden_from_representatives") or False),
    )
