"""The rules of writing vitals: batch ingestion, corrections by hand, deletions, the purge.

Every write takes numbers from the space's change-feed counter inside its transaction (see
:class:`ens.vitals.tables.VitalFeedCounter`), so the feed replays writes in commit order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from ens.api import json_pointer
from ens.db import SQLITE_MAX_VARIABLES, fetch, fetch_one, write_transaction
from ens.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from ens.spaces.door import SpaceAccess
from ens.vitals.catalogue import BLOOD_GLUCOSE, BLOOD_PRESSURE, BMI, BY_CODE, STEPS_PER_DAY, VitalType
from ens.vitals.queries import MEASUREMENT_COLUMNS, measurement_read, zone_of
from ens.vitals.schemas import (
    BatchResult,
    Components,
    ItemResult,
    MeasurementCreate,
    MeasurementRead,
    MeasurementUpdate,
    Result,
)

CLOCK_SKEW = timedelta(minutes=5)
MAX_BATCH = 1000
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)

# Column order of the multi-row insert; one tuple of values per measure.
_INSERT_COLUMNS = (
    "id",
    "space_id",
    "type",
    "value",
    "systolic",
    "diastolic",
    "original_value",
    "original_unit",
    "effective_at",
    "local_date",
    "recording_method",
    "writer",
    "source_kind",
    "source_client_id",
    "source_name",
    "client_record_id",
    "client_record_version",
    "device_manufacturer",
    "device_model",
    "device_identifier",
    "body_position",
    "measurement_location",
    "glucose_moment",
    "note",
    "created_at",
    "updated_at",
    "seq",
)
# A replacement changes everything but identity, ownership and creation time.
_REPLACED_COLUMNS = [
    c for c in _INSERT_COLUMNS if c not in ("id", "space_id", "writer", "client_record_id", "created_at")
]
_ROWS_PER_STATEMENT = SQLITE_MAX_VARIABLES // len(_INSERT_COLUMNS)


@dataclass(frozen=True)
class Writer:
    """Who writes: an app (its client id and name) or a person typing by hand."""

    key: str
    kind: Literal["app", "person"]
    client_id: str
    name: str


async def writer_of(access: SpaceAccess) -> Writer:
    """The writing app comes from the token's grant, never from the body; a person is named."""
    caller = access.caller
    if access.role == "app":
        row = await fetch_one("SELECT client_name FROM grants WHERE id = {}", caller.grant_id)
        name = row["client_name"] if row else caller.client_id
        return Writer(key=f"app:{caller.client_id}", kind="app", client_id=caller.client_id, name=name)
    row = await fetch_one(
        "SELECT given_name || ' ' || family_name AS name FROM accounts WHERE id = {}", caller.account_id
    )
    name = row["name"] if row else ""
    return Writer(key=f"person:{caller.account_id}", kind="person", client_id=caller.client_id, name=name)


# ---------------------------------------------------------------------------------------------
# Validation of one measure


@dataclass(frozen=True)
class Canonical:
    """A measure's values in the canonical unit, and the original as sent."""

    value: Decimal | None
    systolic: Decimal | None
    diastolic: Decimal | None
    original: float | dict[str, float]


def _exact(number: float) -> Decimal:
    # repr() is the shortest text that reads back as the same float: the decimal the client wrote.
    return Decimal(repr(number))


def _convert(
    vital: VitalType, unit: str, number: float, pointer: str, errors: list[FieldError], low: Decimal, high: Decimal
) -> Decimal | None:
    conversion = vital.conversion(unit)
    if conversion is None:
        return None
    canonical = conversion.to_canonical(_exact(number))
    if vital.integer and canonical != canonical.to_integral_value():
        errors.append(FieldError(pointer, f"{vital.code} takes whole numbers"))
        return None
    rounded = vital.round(canonical)
    if not low <= rounded <= high:
        errors.append(
            FieldError(pointer, f"{rounded} {vital.unit} is outside the plausible range {low}-{high} {vital.unit}")
        )
        return None
    return rounded


def check_values(
    vital: VitalType,
    unit: str,
    value: float | None,
    components: Components | None,
    prefix: str,
    errors: list[FieldError],
) -> Canonical | None:
    """Unit, value or components, plausible ranges and cross-component rules of one measure."""
    count = len(errors)
    if vital.conversion(unit) is None:
        accepted = ", ".join(c.unit for c in vital.units)
        errors.append(FieldError(f"{prefix}/unit", f"'{unit}' is not a unit of {vital.code}; accepted: {accepted}"))
    if vital.code == BLOOD_PRESSURE:
        if value is not None:
            errors.append(FieldError(f"{prefix}/value", "blood_pressure takes components, not value"))
        if components is None:
            errors.append(FieldError(f"{prefix}/components", "required for blood_pressure: systolic and diastolic"))
        if len(errors) > count or components is None:
            return None
        systolic_range, diastolic_range = vital.components
        systolic = _convert(
            vital,
            unit,
            components.systolic,
            f"{prefix}/components/systolic",
            errors,
            systolic_range.min,
            systolic_range.max,
        )
        diastolic = _convert(
            vital,
            unit,
            components.diastolic,
            f"{prefix}/components/diastolic",
            errors,
            diastolic_range.min,
            diastolic_range.max,
        )
        if systolic is None or diastolic is None:
            return None
        if systolic <= diastolic:
            errors.append(FieldError(f"{prefix}/components/systolic", "the systolic must be above the diastolic"))
            return None
        original = {"systolic": components.systolic, "diastolic": components.diastolic}
        return Canonical(value=None, systolic=systolic, diastolic=diastolic, original=original)
    if components is not None:
        errors.append(
            FieldError(f"{prefix}/components", f"only blood_pressure has components; send value for {vital.code}")
        )
    if value is None:
        errors.append(FieldError(f"{prefix}/value", f"required for {vital.code}"))
    if len(errors) > count or value is None:
        return None
    canonical = _convert(vital, unit, value, f"{prefix}/value", errors, vital.min, vital.max)
    if canonical is None:
        return None
    return Canonical(value=canonical, systolic=None, diastolic=None, original=value)


def check_time(effective_at: datetime, now: datetime, pointer: str, errors: list[FieldError]) -> None:
    if effective_at > now + CLOCK_SKEW:
        errors.append(FieldError(pointer, "is in the future (more than 5 minutes ahead of the server's clock)"))
    elif effective_at < EARLIEST:
        errors.append(FieldError(pointer, "is before 1900"))


def check_context(vital: VitalType, glucose_moment: str | None, prefix: str, errors: list[FieldError]) -> None:
    if vital.code == BLOOD_GLUCOSE and glucose_moment is None:
        errors.append(
            FieldError(
                f"{prefix}/glucoseMoment",
                "required for blood_glucose: fasting, before_meal, after_meal, bedtime or random",
            )
        )
    if vital.code != BLOOD_GLUCOSE and glucose_moment is not None:
        errors.append(FieldError(f"{prefix}/glucoseMoment", "only blood_glucose has a glucose moment"))


def vital_type_of(code: str, pointer: str, errors: list[FieldError]) -> VitalType | None:
    vital = BY_CODE.get(code)
    if vital is None:
        if code == BMI:
            errors.append(FieldError(pointer, "bmi is computed from the latest weight and height; it cannot be sent"))
        else:
            errors.append(FieldError(pointer, f"unknown type '{code}'; see GET /v1/vital-types"))
    return vital


def _decode_error(prefix: str, error: msgspec.ValidationError) -> FieldError:
    """msgspec's message (``... - at `$.a.b```) to a pointer under ``prefix``."""
    message = str(error)
    path = "$"
    if " - at `" in message:
        message, _, path = message.rpartition(" - at `")
        path = path.rstrip("`")
    pointer = prefix + json_pointer(path)
    if message.startswith("Object contains unknown field `"):
        field = message.removeprefix("Object contains unknown field `").rstrip("`")
        pointer += "/" + field.replace("~", "~0").replace("/", "~1")
        message = "unknown field"
    return FieldError(pointer, message)


# ---------------------------------------------------------------------------------------------
# Ingestion


@dataclass(frozen=True)
class _Prepared:
    index: int
    item: MeasurementCreate
    canonical: Canonical
    local_date: date
    record_key: str | None


def _prepare(raw_items: Sequence[Any], zone: ZoneInfo, now: datetime) -> tuple[list[_Prepared], list[FieldError]]:
    errors: list[FieldError] = []
    prepared: list[_Prepared] = []
    seen_records: dict[str, int] = {}
    seen_step_days: dict[date, int] = {}
    for index, raw in enumerate(raw_items):
        prefix = f"/measurements/{index}"
        try:
            item = msgspec.convert(raw, MeasurementCreate, strict=True)
        except msgspec.ValidationError as exc:
            errors.append(_decode_error(prefix, exc))
            continue
        vital = vital_type_of(item.type, f"{prefix}/type", errors)
        if vital is None:
            continue
        count = len(errors)
        canonical = check_values(vital, item.unit, item.value, item.components, prefix, errors)
        check_time(item.effective_at, now, f"{prefix}/effectiveAt", errors)
        check_context(vital, item.glucose_moment, prefix, errors)
        local_day = item.effective_at.astimezone(zone).date()
        record_key = item.client_record_id
        if vital.code == STEPS_PER_DAY:
            first = seen_step_days.setdefault(local_day, index)
            if first != index:
                errors.append(
                    FieldError(
                        f"{prefix}/effectiveAt",
                        f"steps_per_day takes one value per day: {local_day} is also /measurements/{first}",
                    )
                )
            # Without its own id, a day's count is keyed on the day: a re-send never duplicates it.
            record_key = record_key or f"day:{local_day.isoformat()}"
        if item.client_record_id is not None:
            first = seen_records.setdefault(item.client_record_id, index)
            if first != index:
                errors.append(
                    FieldError(f"{prefix}/clientRecordId", f"the same clientRecordId is /measurements/{first}")
                )
        if canonical is not None and len(errors) == count:
            prepared.append(_Prepared(index, item, canonical, local_day, record_key))
    return prepared, errors


def _require_write_scopes(access: SpaceAccess, raw_items: Sequence[Any]) -> None:
    if access.is_person:
        return
    types = {raw.get("type") for raw in raw_items if isinstance(raw, dict)}
    missing = sorted(t for t in types if isinstance(t, str) and t in BY_CODE and not access.may(f"vitals.{t}:write"))
    if missing:
        scopes = ", ".join(f"vitals.{t}:write" for t in missing)
        raise Forbidden(f"This app may not write {', '.join(missing)}: its authorization lacks {scopes}.")


async def take_feed_numbers(space_id: UUID, count: int) -> int:
    """Reserve ``count`` change numbers in the space's feed; returns the last one.

    Must run inside the writing transaction: the counter row stays locked until commit, so the
    writers of one space commit in the order of their numbers.
    """
    row = await fetch_one(
        """INSERT INTO vital_feed_counters (space_id, last_seq, purged_seq) VALUES ({}, {}, 0)
           ON CONFLICT (space_id) DO UPDATE SET last_seq = vital_feed_counters.last_seq + excluded.last_seq
           RETURNING last_seq""",
        space_id,
        count,
    )
    assert row is not None
    return int(row["last_seq"])


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _row(prepared: _Prepared, space_id: UUID, writer: Writer, now: datetime, seq: int) -> tuple[Any, ...]:
    item, canonical = prepared.item, prepared.canonical
    device = item.device
    method = item.recording_method or ("manual" if writer.kind == "person" else "automatic")
    return (
        uuid.uuid4(),
        space_id,
        item.type,
        _float(canonical.value),
        _float(canonical.systolic),
        _float(canonical.diastolic),
        msgspec.json.encode(canonical.original).decode(),
        item.unit,
        item.effective_at.astimezone(UTC),
        prepared.local_date,
        method,
        writer.key,
        writer.kind,
        writer.client_id,
        writer.name,
        prepared.record_key,
        item.client_record_version,
        device.manufacturer if device else None,
        device.model if device else None,
        device.identifier if device else None,
        item.body_position,
        item.measurement_location,
        item.glucose_moment,
        item.note,
        now,
        now,
        seq,
    )


def _upsert_sql(rows: int) -> str:
    placeholders = "(" + ", ".join(["{}"] * len(_INSERT_COLUMNS)) + ")"
    updates = ", ".join(f"{c} = excluded.{c}" for c in _REPLACED_COLUMNS)
    return (
        f"INSERT INTO vital_measurements ({', '.join(_INSERT_COLUMNS)}) VALUES "
        + ", ".join([placeholders] * rows)
        + " ON CONFLICT (space_id, writer, client_record_id) DO UPDATE SET "
        + updates
        + " WHERE excluded.client_record_version > vital_measurements.client_record_version"
        + " RETURNING id, client_record_id"
    )


async def record_measurements(access: SpaceAccess, raw_items: Sequence[Any]) -> BatchResult:
    """Store a batch of measures: all of them in one transaction, or none and a 422 naming each bad one.

    A measure re-sent by the same writer with the same ``clientRecordId`` is replaced when its
    ``clientRecordVersion`` is higher, else left as it is; the unique index decides, so two racing
    requests cannot both create it.
    """
    if not 1 <= len(raw_items) <= MAX_BATCH:
        detail = f"between 1 and {MAX_BATCH} measurements per request"
        raise Invalid(f"Send {detail}.", [FieldError("/measurements", detail)])
    _require_write_scopes(access, raw_items)
    now = datetime.now(UTC)
    writer = await writer_of(access)
    prepared, errors = _prepare(raw_items, zone_of(access.space.timezone), now)
    if errors:
        raise Invalid(
            f"{len({e.pointer.split('/')[2] for e in errors})} measurement(s) refused; nothing was stored.", errors
        )
    space_id = access.space_id
    returned: list[dict[str, Any]] = []
    async with write_transaction():
        last = await take_feed_numbers(space_id, len(prepared))
        first_seq = last - len(prepared) + 1
        rows = [_row(p, space_id, writer, now, first_seq + n) for n, p in enumerate(prepared)]
        for start in range(0, len(rows), _ROWS_PER_STATEMENT):
            chunk = rows[start : start + _ROWS_PER_STATEMENT]
            args = [value for row in chunk for value in row]
            returned.extend(await fetch(_upsert_sql(len(chunk)), *args))
        new_ids = {row[0] for row in rows}
        inserted: set[UUID] = set()
        outcome: dict[str, tuple[UUID, Result]] = {}
        for returned_row in returned:
            row_id = _uuid(returned_row["id"])
            if row_id in new_ids:
                inserted.add(row_id)
            else:
                outcome[returned_row["client_record_id"]] = (row_id, "replaced")
        # Neither inserted nor replaced: the stored version was the same or higher. Rows without a
        # clientRecordId always insert, so each of these has a key.
        unchanged = [p.record_key for p, row in zip(prepared, rows, strict=True) if row[0] not in inserted]
        unchanged_keys = [key for key in unchanged if key is not None and key not in outcome]
        for start in range(0, len(unchanged_keys), 500):
            keys = unchanged_keys[start : start + 500]
            existing = await fetch(
                "SELECT id, client_record_id FROM vital_measurements WHERE space_id = {} AND writer = {} "
                f"AND client_record_id IN ({', '.join(['{}'] * len(keys))})",
                space_id,
                writer.key,
                *keys,
            )
            for existing_row in existing:
                outcome[existing_row["client_record_id"]] = (_uuid(existing_row["id"]), "unchanged")
    items: list[ItemResult] = []
    for p, row in zip(prepared, rows, strict=True):
        if row[0] in inserted:
            items.append(ItemResult(id=row[0], result="created"))
        else:
            assert p.record_key is not None
            record_id, result = outcome[p.record_key]
            items.append(ItemResult(id=record_id, result=result))
    return BatchResult(items=items)


def _uuid(value: object) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


# ---------------------------------------------------------------------------------------------
# One measure: correct by hand, delete


async def _measure_row(space_id: UUID, measurement_id: UUID) -> dict[str, Any]:
    row = await fetch_one(
        f"SELECT {MEASUREMENT_COLUMNS}, writer, source_kind FROM vital_measurements "
        "WHERE space_id = {} AND id = {}",
        space_id,
        measurement_id,
    )
    if row is None:
        raise NotFound("No such measurement in this space.")
    return row


async def get_measurement(access: SpaceAccess, measurement_id: UUID) -> MeasurementRead:
    """One measure, if the caller may read its type."""
    row = await _measure_row(access.space_id, measurement_id)
    if not access.may(f"vitals.{row['type']}:read"):
        raise NotFound("No such measurement in this space.")
    return measurement_read(row)


async def correct_measurement(
    access: SpaceAccess, measurement_id: UUID, update: MeasurementUpdate, if_match: str | None
) -> MeasurementRead:
    """Correct a measure typed by hand. An app's measures are corrected by the app (higher version)."""
    from ens.api import require_if_match

    if not access.is_person:
        raise Forbidden("Apps correct their measures by re-sending them with a higher clientRecordVersion.")
    now = datetime.now(UTC)
    async with write_transaction():
        row = await _measure_row(access.space_id, measurement_id)
        current = measurement_read(row)
        require_if_match(if_match, msgspec.json.encode(current))
        if row["source_kind"] != "person":
            raise Conflict(
                f"This measure was sent by {row['source_name']}; only measures typed by hand can be corrected."
            )
        vital = BY_CODE[row["type"]]
        errors: list[FieldError] = []
        unit = update.unit if isinstance(update.unit, str) else current.original_unit
        value: float | None = None
        components: Components | None = None
        if vital.code == BLOOD_PRESSURE:
            if isinstance(update.components, Components):
                components = update.components
            elif isinstance(current.original_value, msgspec.Struct):
                components = Components(
                    systolic=current.original_value.systolic, diastolic=current.original_value.diastolic
                )
            if isinstance(update.value, float):
                value = update.value
        else:
            value = update.value if isinstance(update.value, float) else _original_float(current.original_value)
            if isinstance(update.components, Components):
                components = update.components
        canonical = check_values(vital, unit, value, components, "", errors)
        effective_at = update.effective_at if isinstance(update.effective_at, datetime) else current.effective_at
        check_time(effective_at, now, "/effectiveAt", errors)
        glucose_moment = _kept(update.glucose_moment, current.glucose_moment)
        check_context(vital, glucose_moment, "", errors)
        if errors or canonical is None:
            raise Invalid("The correction breaks a rule; nothing was changed.", errors)
        seq = await take_feed_numbers(access.space_id, 1)
        await fetch(
            """UPDATE vital_measurements SET value = {}, systolic = {}, diastolic = {}, original_value = {},
                   original_unit = {}, effective_at = {}, local_date = {}, body_position = {},
                   measurement_location = {}, glucose_moment = {}, note = {}, updated_at = {}, seq = {}
               WHERE space_id = {} AND id = {}""",
            _float(canonical.value),
            _float(canonical.systolic),
            _float(canonical.diastolic),
            msgspec.json.encode(canonical.original).decode(),
            unit,
            effective_at.astimezone(UTC),
            effective_at.astimezone(zone_of(access.space.timezone)).date(),
            _kept(update.body_position, current.body_position),
            _kept(update.measurement_location, current.measurement_location),
            glucose_moment,
            _kept(update.note, current.note),
            now,
            seq,
            access.space_id,
            measurement_id,
        )
        return measurement_read(await _measure_row(access.space_id, measurement_id))


def _original_float(original: float | Any) -> float | None:
    return original if isinstance(original, float | int) else None


def _kept(update: Any, current: str | None) -> str | None:
    return current if update is msgspec.UNSET else update


async def delete_measurement(access: SpaceAccess, measurement_id: UUID, if_match: str | None) -> None:
    """Delete a measure, leaving a tombstone in the change feed (purged after the retention)."""
    from ens.api import require_if_match

    now = datetime.now(UTC)
    async with write_transaction():
        row = await _measure_row(access.space_id, measurement_id)
        if not access.is_person:
            if not access.may(f"vitals.{row['type']}:write"):
                raise Forbidden(f"This app's authorization lacks vitals.{row['type']}:write.")
            if row["writer"] != f"app:{access.caller.client_id}":
                raise Forbidden("An app may delete only the measures it sent.")
        require_if_match(if_match, msgspec.json.encode(measurement_read(row)))
        seq = await take_feed_numbers(access.space_id, 1)
        await fetch("DELETE FROM vital_measurements WHERE space_id = {} AND id = {}", access.space_id, measurement_id)
        await fetch(
            "INSERT INTO vital_tombstones (id, space_id, type, seq, deleted_at) VALUES ({}, {}, {}, {}, {})",
            measurement_id,
            access.space_id,
            row["type"],
            seq,
            now,
        )


async def purge_tombstones(retention_days: int, now: datetime | None = None) -> int:
    """Remove tombstones older than the retention; feed cursors from before them then answer 410."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    async with write_transaction():
        # Remember, per space, the newest change number purged: an older cursor would miss it.
        await fetch(
            """UPDATE vital_feed_counters SET purged_seq = purged.max_seq
               FROM (SELECT space_id, MAX(seq) AS max_seq FROM vital_tombstones
                     WHERE deleted_at < {} GROUP BY space_id) AS purged
               WHERE vital_feed_counters.space_id = purged.space_id""",
            cutoff,
        )
        removed = await fetch("DELETE FROM vital_tombstones WHERE deleted_at < {} RETURNING id", cutoff)
    return len(removed)
