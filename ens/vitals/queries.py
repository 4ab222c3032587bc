"""Reading vitals: the catalogue, the list (and CSV), summaries, the change feed, the latest values.

Every query names ``space_id`` first and is served by an index that starts with it. Pages are
keyset-paginated (no OFFSET): a page costs the same at the start or the end of a long series.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from ens.api import Cursors, check_limit
from ens.db import current, fetch, fetch_one, is_postgres
from ens.errors import BadRequest, FieldError, Forbidden, Gone, Invalid
from ens.spaces.door import SpaceAccess
from ens.vitals.catalogue import (
    BLOOD_PRESSURE,
    BMI_TYPE,
    BODY_HEIGHT,
    BODY_WEIGHT,
    BY_CODE,
    TYPE_CODES,
    VITAL_TYPES,
    VitalType,
    compute_bmi,
)
from ens.vitals.schemas import (
    BmiRead,
    Bucket,
    ChangeFeed,
    ComponentRead,
    ComponentsRead,
    DeleteChange,
    DeviceRead,
    LatestVital,
    MeasurementPage,
    MeasurementRead,
    Source,
    Summary,
    SummaryItem,
    UnitRead,
    UpsertChange,
    VitalTypeList,
    VitalTypeRead,
)

MEASUREMENT_COLUMNS = (
    "id, type, value, systolic, diastolic, original_value, original_unit, effective_at, recording_method, "
    "source_client_id, source_name, device_manufacturer, device_model, device_identifier, body_position, "
    "measurement_location, glucose_moment, note, created_at, updated_at, seq"
)
MAX_BUCKETS = 1100
# Without ``since``, a summary covers this much before ``until`` (at most ~366 buckets).
DEFAULT_SPANS = {"day": timedelta(days=366), "week": timedelta(weeks=260), "month": timedelta(days=365 * 20)}


@cache
def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Paris")


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


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value))


def measurement_read(row: dict[str, Any]) -> MeasurementRead:
    """One stored row as the API shows it."""
    vital_type = row["type"]
    is_pressure = vital_type == BLOOD_PRESSURE
    has_device = row["device_manufacturer"] or row["device_model"] or row["device_identifier"]
    return MeasurementRead(
        id=row["id"] if isinstance(row["id"], UUID) else UUID(str(row["id"])),
        type=vital_type,
        unit=BY_CODE[vital_type].unit,
        value=None if is_pressure else row["value"],
        components=ComponentsRead(systolic=row["systolic"], diastolic=row["diastolic"]) if is_pressure else None,
        original_value=_ORIGINAL.decode(row["original_value"]),
        original_unit=row["original_unit"],
        effective_at=_datetime(row["effective_at"]),
        recording_method=row["recording_method"],
        source=Source(client_id=row["source_client_id"], name=row["source_name"]),
        device=DeviceRead(
            manufacturer=row["device_manufacturer"], model=row["device_model"], identifier=row["device_identifier"]
        )
        if has_device
        else None,
        body_position=row["body_position"],
        measurement_location=row["measurement_location"],
        glucose_moment=row["glucose_moment"],
        note=row["note"],
        created_at=_datetime(row["created_at"]),
        updated_at=_datetime(row["updated_at"]),
    )


# ---------------------------------------------------------------------------------------------
# Which types the caller may read


def readable_types(access: SpaceAccess, requested: str | None) -> list[str]:
    """The types a listing may show: a person sees all, an app those its grant lets it read."""
    if requested is not None:
        if requested not in BY_CODE:
            detail = "bmi is derived; see GET /v1/spaces/{space}" if requested == "bmi" else "unknown type"
            raise BadRequest(f"type: {detail}.", [FieldError("/type", detail)])
        if not access.may(f"vitals.{requested}:read"):
            raise Forbidden(f"This app's authorization lacks vitals.{requested}:read.")
        return [requested]
    types = [code for code in TYPE_CODES if access.may(f"vitals.{code}:read")]
    if not types:
        raise Forbidden("This app's authorization lets it read no vital type.")
    return types


def _type_filter(types: Sequence[str]) -> tuple[str, list[str]]:
    if len(types) == len(TYPE_CODES):
        return "", []
    if len(types) == 1:
        return " AND type = {}", list(types)
    return f" AND type IN ({', '.join(['{}'] * len(types))})", list(types)


def parse_instant(value: str | None, name: str, zone: ZoneInfo) -> datetime | None:
    """An RFC 3339 timestamp, or a date meaning its midnight in the space's time zone."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), zone).astimezone(UTC)
        # An unescaped "+" in a query string arrives as a space.
        parsed = datetime.fromisoformat(value.replace(" ", "+"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise BadRequest(
            f"{name} must be an RFC 3339 timestamp with an offset, or a date.",
            [FieldError(f"/{name}", "expected an RFC 3339 timestamp with an offset (or YYYY-MM-DD)")],
        )
    return parsed.astimezone(UTC)


# ---------------------------------------------------------------------------------------------
# The list


async def list_measurements(
    access: SpaceAccess,
    cursors: Cursors,
    type_: str | None,
    since: str | None,
    until: str | None,
    limit: int | None,
    cursor: str | None,
) -> MeasurementPage:
    """Newest first, keyset on (effective_at, id): inserts during paging never shift a page."""
    zone = zone_of(access.space.timezone)
    types = readable_types(access, type_)
    since_at, until_at = parse_instant(since, "since", zone), parse_instant(until, "until", zone)
    size = check_limit(limit)
    purpose = f"vitals.list:{access.space_id}:{type_ or '*'}"
    sql = f"SELECT {MEASUREMENT_COLUMNS} FROM vital_measurements WHERE space_id = {{}}"
    args: list[Any] = [access.space_id]
    type_sql, type_args = _type_filter(types)
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
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in page.items:
        original = item.original_value
        original_text = (
            f"{original.systolic}/{original.diastolic}" if isinstance(original, ComponentsRead) else original
        )
        device = item.device
        writer.writerow(
            (
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
        )
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Summaries


def bucket_starts(bucket: Bucket, since: datetime, until: datetime, zone: ZoneInfo) -> list[date]:
    """Local calendar starts of every bucket overlapping [since, until) (weeks start on Monday)."""
    first = since.astimezone(zone).date()
    last = until.astimezone(zone).date()
    if bucket == "week":
        first -= timedelta(days=first.weekday())
    elif bucket == "month":
        first = first.replace(day=1)
    starts: list[date] = []
    day = first
    while day <= last and len(starts) <= MAX_BUCKETS:
        starts.append(day)
        day = next_start(bucket, day)
    return starts


def next_start(bucket: Bucket, day: date) -> date:
    if bucket == "day":
        return day + timedelta(days=1)
    if bucket == "week":
        return day + timedelta(weeks=1)
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant a local day starts (DST days last 23 or 25 hours; the zone knows)."""
    return datetime.combine(day, datetime.min.time(), zone).astimezone(UTC)


async def summarize(
    access: SpaceAccess, type_: str | None, bucket: Bucket, since: str | None, until: str | None
) -> Summary:
    """count, min, max and mean per day, week or month in the space's time zone, computed in SQL.

    Bucket boundaries are local midnights turned into instants here (SQLite knows no time zones),
    then the database aggregates each range with the (space_id, type, effective_at) index.
    """
    if type_ is None:
        raise BadRequest("type is required: the summary is of one type.", [FieldError("/type", "required")])
    readable_types(access, type_)
    vital = BY_CODE[type_]
    zone = zone_of(access.space.timezone)
    now = datetime.now(UTC)
    until_at = parse_instant(until, "until", zone) or now
    since_at = parse_instant(since, "since", zone)
    if since_at is None:
        first = await fetch_one(
            "SELECT MIN(effective_at) AS first FROM vital_measurements WHERE space_id = {} AND type = {}",
            access.space_id,
            type_,
        )
        earliest = _datetime(first["first"]) if first and first["first"] is not None else until_at
        since_at = max(earliest, until_at - DEFAULT_SPANS[bucket])
    if since_at >= until_at:
        raise BadRequest("since must be before until.", [FieldError("/since", "must be before until")])
    starts = bucket_starts(bucket, since_at, until_at, zone)
    if len(starts) > MAX_BUCKETS:
        raise Invalid(
            f"At most {MAX_BUCKETS} buckets per summary; narrow since and until or take a larger bucket.",
            [FieldError("/since", f"more than {MAX_BUCKETS} {bucket} buckets")],
        )
    cast = "CAST({} AS TIMESTAMPTZ)" if is_postgres(current()) else "{}"
    values: list[str] = []
    args: list[Any] = []
    for index, start in enumerate(starts):
        low = max(local_midnight(start, zone), since_at)
        high = min(local_midnight(next_start(bucket, start), zone), until_at)
        values.append(f"(CAST({{}} AS INTEGER), {cast}, {cast})")
        args += [index, low, high]
    if vital.code == BLOOD_PRESSURE:
        aggregates = (
            "MIN(m.systolic) AS min_s, MAX(m.systolic) AS max_s, AVG(m.systolic) AS mean_s, "
            "MIN(m.diastolic) AS min_d, MAX(m.diastolic) AS max_d, AVG(m.diastolic) AS mean_d"
        )
    else:
        aggregates = "MIN(m.value) AS min_v, MAX(m.value) AS max_v, AVG(m.value) AS mean_v"
    sql = (
        f"WITH buckets (k, lo, hi) AS (VALUES {', '.join(values)}) "
        f"SELECT b.k AS k, COUNT(*) AS n, {aggregates} FROM buckets b "
        "JOIN vital_measurements m ON m.space_id = {} AND m.type = {} "
        "AND m.effective_at >= b.lo AND m.effective_at < b.hi GROUP BY b.k ORDER BY b.k"
    )
    rows = await fetch(sql, *args, access.space_id, type_)
    mean_digits = vital.precision + 1
    items: list[SummaryItem] = []
    for row in rows:
        start = starts[int(row["k"])]
        if vital.code == BLOOD_PRESSURE:
            items.append(
                SummaryItem(
                    start=start,
                    count=int(row["n"]),
                    min=ComponentsRead(systolic=float(row["min_s"]), diastolic=float(row["min_d"])),
                    max=ComponentsRead(systolic=float(row["max_s"]), diastolic=float(row["max_d"])),
                    mean=ComponentsRead(
                        systolic=round(float(row["mean_s"]), mean_digits),
                        diastolic=round(float(row["mean_d"]), mean_digits),
                    ),
                )
            )
        else:
            items.append(
                SummaryItem(
                    start=start,
                    count=int(row["n"]),
                    min=float(row["min_v"]),
                    max=float(row["max_v"]),
                    mean=round(float(row["mean_v"]), mean_digits),
                )
            )
    return Summary(type=type_, bucket=bucket, unit=vital.unit, time_zone=zone.key, items=items)


# ---------------------------------------------------------------------------------------------
# The change feed


async def changes(
    access: SpaceAccess, cursors: Cursors, cursor: str | None, limit: int | None, retention_days: int
) -> ChangeFeed:
    """Upserts and deletions after ``cursor``, in the order they were committed.

    Positions are the space's change numbers (see ``VitalFeedCounter``). A cursor older than the
    tombstone retention, or from before a purge, is 410: deletions it would need are gone.
    """
    types = readable_types(access, None)
    size = check_limit(limit)
    purpose = f"vitals.changes:{access.space_id}"
    now = datetime.now(UTC)
    after = 0
    if cursor is not None:
        position = cursors.decode(purpose, cursor)
        try:
            after, issued = int(position[0]), datetime.fromtimestamp(float(position[1]), UTC)
        except (IndexError, TypeError, ValueError) as exc:
            raise BadRequest("The cursor is malformed.", [FieldError("/cursor", "malformed")]) from exc
        counter = await fetch_one("SELECT purged_seq FROM vital_feed_counters WHERE space_id = {}", access.space_id)
        purged = int(counter["purged_seq"]) if counter else 0
        if issued < now - timedelta(days=retention_days) or after < purged:
            raise Gone("This sync cursor has expired: fetch everything again without a cursor.")
    type_sql, type_args = _type_filter(types)
    rows = await fetch(
        f"SELECT {MEASUREMENT_COLUMNS} FROM vital_measurements WHERE space_id = {{}} AND seq > {{}}{type_sql} "
        "ORDER BY seq LIMIT {}",
        access.space_id,
        after,
        *type_args,
        size + 1,
    )
    tombstones = await fetch(
        f"SELECT id, seq FROM vital_tombstones WHERE space_id = {{}} AND seq > {{}}{type_sql} ORDER BY seq LIMIT {{}}",
        access.space_id,
        after,
        *type_args,
        size + 1,
    )
    merged: list[tuple[int, UpsertChange | DeleteChange]] = [
        (int(row["seq"]), UpsertChange(measurement=measurement_read(row))) for row in rows
    ]
    merged += [
        (int(row["seq"]), DeleteChange(id=row["id"] if isinstance(row["id"], UUID) else UUID(str(row["id"]))))
        for row in tombstones
    ]
    merged.sort(key=lambda pair: pair[0])
    page = merged[:size]
    last = page[-1][0] if page else after
    return ChangeFeed(
        changes=[change for _, change in page],
        next_cursor=cursors.encode(purpose, [last, now.timestamp()]),
        has_more=len(merged) > size,
    )


# ---------------------------------------------------------------------------------------------
# The home screen: the latest value of each type, and the BMI


async def latest_values(space_id: UUID) -> list[LatestVital]:
    """The newest measure of each type: ten one-row index lookups in a single statement."""
    parts = [
        f"SELECT * FROM (SELECT type, value, systolic, diastolic, effective_at FROM vital_measurements "
        f"WHERE space_id = {{}} AND type = {{}} ORDER BY effective_at DESC, id DESC LIMIT 1) AS latest_{n}"
        for n in range(len(TYPE_CODES))
    ]
    args: list[Any] = []
    for code in TYPE_CODES:
        args += [space_id, code]
    rows = await fetch(" UNION ALL ".join(parts), *args)
    by_type = {row["type"]: row for row in rows}
    latest: list[LatestVital] = []
    for vital in VITAL_TYPES:
        row = by_type.get(vital.code)
        if row is None:
            continue
        is_pressure = vital.code == BLOOD_PRESSURE
        latest.append(
            LatestVital(
                type=vital.code,
                label=vital.label,
                unit=vital.unit,
                effective_at=_datetime(row["effective_at"]),
                value=None if is_pressure else row["value"],
                components=ComponentsRead(systolic=row["systolic"], diastolic=row["diastolic"])
                if is_pressure
                else None,
            )
        )
    return latest


def bmi_of(latest: Sequence[LatestVital]) -> BmiRead | None:
    """BMI from the latest weight and height; never stored, so it always follows them."""
    by_type = {item.type: item for item in latest}
    weight, height = by_type.get(BODY_WEIGHT), by_type.get(BODY_HEIGHT)
    if weight is None or height is None or weight.value is None or height.value is None:
        return None
    value = compute_bmi(Decimal(repr(weight.value)), Decimal(repr(height.value)))
    return BmiRead(
        value=float(value),
        unit=BMI_TYPE.unit,
        loinc=BMI_TYPE.loinc,
        weight_at=weight.effective_at,
        height_at=height.effective_at,
    )
