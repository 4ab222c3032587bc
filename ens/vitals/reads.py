"""Reading vitals: the catalogue, a stored row as the API shows it, the list (and CSV).

Every query names ``space_id`` first and is served by an index that starts with it. Pages are
keyset-paginated (no OFFSET): a page costs the same at the start or the end of a long series.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

import msgspec

from ens.core.api import Cursors, check_limit
from ens.core.clock import aware
from ens.core.db import Row, as_uuid, fetch
from ens.core.errors import BadRequest, FieldError, Forbidden
from ens.core.spreadsheet import csv_text
from ens.spaces.door import SpaceAccess
from ens.vitals.catalogue import BLOOD_PRESSURE, BMI_TYPE, BY_CODE, TYPE_CODES, VITAL_TYPES, VitalType
from ens.vitals.local_time import parse_instant, zone_of
from ens.vitals.schemas import (
    ComponentRead,
    ComponentsRead,
    DeviceRead,
    MeasurementPage,
    MeasurementRead,
    Source,
    UnitRead,
    VitalTypeList,
    VitalTypeRead,
)
from ens.vitals.scopes import scope_name

MEASUREMENT_COLUMNS = (
    "id, type, value, systolic, diastolic, original_value, original_unit, effective_at, recording_method, "
    "source_client_id, source_name, device_manufacturer, device_model, device_identifier, body_position, "
    "measurement_location, glucose_moment, note, created_at, updated_at, seq"
)


# ---------------------------------------------------------------------------------------------
# Catalogue


def _type_read(vital: VitalType) -> VitalTypeRead:
    return VitalTypeRead(
        code=vital.code,
        label=vital.label,
        loinc=vital.loinc,
        unit=vital.unit,
        units=[UnitRead(unit=u.unit, factor=u.factor_text, offset=str(u.offset)) for u in vital.units],
        min=float(vital.min),
        max=float(vital.max),
        precision=vital.precision,
        integer=vital.integer,
        components=[
            ComponentRead(code=c.code, label=c.label, loinc=c.loinc, min=float(c.min), max=float(c.max))
            for c in vital.components
        ],
        required_context=list(vital.required_context),
        derived=vital.derived,
        note=vital.note,
    )


@cache
def vital_types() -> VitalTypeList:
    """The 10 measures and the derived BMI, as clients need them to send and convert values."""
    return VitalTypeList(items=[*(_type_read(v) for v in VITAL_TYPES), _type_read(BMI_TYPE)])


# ---------------------------------------------------------------------------------------------
# Rows to bodies

_ORIGINAL = msgspec.json.Decoder(float | ComponentsRead)


_UNITS = {code: vital.unit for code, vital in BY_CODE.items()}


def measurement_read(row: Row) -> MeasurementRead:
    """One stored row (selected with ``MEASUREMENT_COLUMNS``) as the API shows it.

    This runs for every item of every page: the row is unpacked by position (in the order of
    ``MEASUREMENT_COLUMNS``), which costs a third of looking up twenty columns by name.
    """
    (
        measurement_id,
        vital_type,
        value,
        systolic,
        diastolic,
        original_value,
        original_unit,
        effective_at,
        recording_method,
        source_client_id,
        source_name,
        manufacturer,
        model,
        identifier,
        body_position,
        measurement_location,
        glucose_moment,
        note,
        created_at,
        updated_at,
        _seq,
        *_more,  # callers may select further columns after these
    ) = row.values()
    is_pressure = vital_type == BLOOD_PRESSURE
    return MeasurementRead(
        id=as_uuid(measurement_id),
        type=vital_type,
        unit=_UNITS[vital_type],
        value=None if is_pressure else value,
        components=ComponentsRead(systolic=systolic, diastolic=diastolic) if is_pressure else None,
        original_value=_ORIGINAL.decode(original_value),
        original_unit=original_unit,
        effective_at=aware(effective_at),
        recording_method=recording_method,
        source=Source(client_id=source_client_id, name=source_name),
        device=DeviceRead(manufacturer=manufacturer, model=model, identifier=identifier)
        if (manufacturer or model or identifier)
        else None,
        body_position=body_position,
        measurement_location=measurement_location,
        glucose_moment=glucose_moment,
        note=note,
        created_at=aware(created_at),
        updated_at=aware(updated_at),
    )


# ---------------------------------------------------------------------------------------------
# Which types the caller may read


def readable_types(access: SpaceAccess, requested: str | None) -> list[str]:
    """The types a listing may show: a person sees all, an app those its grant lets it read."""
    if requested is not None:
        if requested not in BY_CODE:
            detail = "bmi is derived; see GET /v1/spaces/{space}" if requested == "bmi" else "unknown type"
            raise BadRequest(f"type: {detail}.", [FieldError("/type", detail)])
        if not access.may(scope_name(requested, "read")):
            raise Forbidden(f"This app's authorization lacks vitals.{requested}:read.")
        return [requested]
    types = [code for code in TYPE_CODES if access.may(scope_name(code, "read"))]
    if not types:
        raise Forbidden("This app's authorization lets it read no vital type.")
    return types


def type_filter(types: Sequence[str]) -> tuple[str, list[str]]:
    """The SQL condition (and its arguments) restricting a query to ``types``; none for all of them."""
    if len(types) == len(TYPE_CODES):
        return "", []
    if len(types) == 1:
        return " AND type = {}", list(types)
    return f" AND type IN ({', '.join(['{}'] * len(types))})", list(types)


# ---------------------------------------------------------------------------------------------
# The list


async def list_measurements(
    access: SpaceAccess,
    cursors: Cursors,
    *,
    type_: str | None,
    since: str | None,
    until: str | None,
    limit: int | None,
    cursor: str | None,
) -> MeasurementPage:
    """Newest first, keyset on (effective_at, id): inserts during paging never shift a page."""
    zone = zone_of(access.space.timezone)
    types = readable_types(access, type_)
    since_at, until_at = parse_instant(since, "since", zone=zone), parse_instant(until, "until", zone=zone)
    size = check_limit(limit)
    purpose = f"vitals.list:{access.space_id}:{type_ or '*'}"
    sql = f"SELECT {MEASUREMENT_COLUMNS} FROM vital_measurements WHERE space_id = {{}}"
    args: list[Any] = [access.space_id]
    type_sql, type_args = type_filter(types)
    sql += type_sql
    args += type_args
    if since_at is not None:
        sql += " AND effective_at >= {}"
        args.append(since_at)
    if until_at is not None:
        sql += " AND effective_at < {}"
        args.append(until_at)
    if cursor is not None:
        position = cursors.decode(purpose, cursor)
        try:
            after_at, after_id = datetime.fromisoformat(position[0]), UUID(position[1])
        except (IndexError, TypeError, ValueError) as exc:
            raise BadRequest("The cursor is malformed.", [FieldError("/cursor", "malformed")]) from exc
        # A row-value comparison: both engines turn it into one range on the index.
        sql += " AND (effective_at, id) < ({}, {})"
        args += [after_at, after_id]
    sql += " ORDER BY effective_at DESC, id DESC LIMIT {}"
    args.append(size + 1)
    rows = await fetch(sql, *args)
    items = [measurement_read(row) for row in rows[:size]]
    next_cursor = None
    if len(rows) > size:
        last = items[-1]
        next_cursor = cursors.encode(purpose, [last.effective_at.isoformat(), str(last.id)])
    return MeasurementPage(items=items, next_cursor=next_cursor)


CSV_COLUMNS = (
    "id",
    "type",
    "value",
    "systolic",
    "diastolic",
    "unit",
    "originalValue",
    "originalUnit",
    "effectiveAt",
    "recordingMethod",
    "sourceClientId",
    "sourceName",
    "deviceManufacturer",
    "deviceModel",
    "deviceIdentifier",
    "bodyPosition",
    "measurementLocation",
    "glucoseMoment",
    "note",
    "createdAt",
    "updatedAt",
)


def page_as_csv(page: MeasurementPage) -> str:
    """The same rows as the JSON page, one per line, for a spreadsheet or a doctor."""
    return csv_text(CSV_COLUMNS, (_csv_row(item) for item in page.items))


def _csv_row(item: MeasurementRead) -> tuple[object, ...]:
    original = item.original_value
    original_text = f"{original.systolic}/{original.diastolic}" if isinstance(original, ComponentsRead) else original
    device = item.device
    return (
        item.id,
        item.type,
        item.value if item.value is not None else "",
        item.components.systolic if item.components else "",
        item.components.diastolic if item.components else "",
        item.unit,
        original_text,
        item.original_unit,
        item.effective_at.isoformat(),
        item.recording_method,
        item.source.client_id,
        item.source.name,
        (device.manufacturer or "") if device else "",
        (device.model or "") if device else "",
        (device.identifier or "") if device else "",
        item.body_position or "",
        item.measurement_location or "",
        item.glucose_moment or "",
        item.note or "",
        item.created_at.isoformat(),
        item.updated_at.isoformat(),
    )
