"""Reading vitals: the catalogue, the list of measures (and its CSV).

Every query names ``space_id`` first and is served by an index that starts with it. Pages are
keyset-paginated (no OFFSET): a page costs the same at the start or the end of a long series.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any
from uuid import UUID

import msgspec
from litestar.connection import ASGIConnection
from msgspec import Raw

from ens.core.api import Cursors, check_limit, check_span, etag_of_versions
from ens.core.db import Scalar, current, fetch, is_postgres, within
from ens.core.errors import BadRequest, FieldError, Forbidden, Invalid
from ens.core.local_time import parse_instant, zone_of
from ens.core.spreadsheet import csv_text, xlsx_bytes
from ens.spaces.caller import Caller
from ens.spaces.door import SpaceAccess, visible_to
from ens.spaces.door.companion import DOOR_SPACE, Companion
from ens.vitals.catalogue import BMI_TYPE, BY_CODE, TYPE_CODES, VITAL_TYPES, VitalType
from ens.vitals.representation import REPRESENTATION_VERSION
from ens.vitals.schemas import (
    ComponentRead,
    ComponentsRead,
    MeasurementRead,
    RawMeasurementPage,
    UnitRead,
    VitalTypeList,
    VitalTypeRead,
)
from ens.vitals.scopes import scope_name

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


def measurements_sql(*, where: str, order: str = "") -> str:
    """A SELECT of measures as the API shows them (``body``, see ``ens.vitals.representation``),
    ``where`` and ``order`` applying to ``vital_measurements m``."""
    return f"SELECT m.body AS body FROM vital_measurements m WHERE {where} {order}"


def raw(body: str) -> Raw:
    """A measure's JSON as a row hands it back (text), to embed in an answer as it is."""
    return Raw(body.encode())


class _Position(msgspec.Struct, rename="camel"):
    effective_at: datetime
    id: UUID


_POSITION = msgspec.json.Decoder(_Position)
_MEASUREMENTS = msgspec.json.Decoder(list[MeasurementRead])


# ---------------------------------------------------------------------------------------------
# Which types the caller may read


def readable_types(access: SpaceAccess, requested: str | frozenset[str] | None) -> list[str]:
    """The types a listing may show: a person sees all, an app those its grant lets it read.

    ``requested`` is one type (the /v1 ``type``), a set of them (the FHIR search's ``code``: each
    one the caller may not read is a 403, as one type would be; an empty set shows nothing), or
    ``None`` for every type the caller may read."""
    if isinstance(requested, frozenset):
        unknown = sorted(requested - BY_CODE.keys())
        if unknown:
            raise BadRequest(f"type: unknown type {unknown[0]}.", [FieldError("/type", "unknown type")])
        asked = [code for code in TYPE_CODES if code in requested]
        lacking = [f"vitals.{code}:read" for code in asked if not access.may(scope_name(code, "read"))]
        if lacking:
            raise Forbidden(f"This app's authorization lacks {', '.join(lacking)}.")
        return asked
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


def type_filter(types: Sequence[str], *, column: str = "type") -> tuple[str, list[str]]:
    """The SQL condition (and its arguments) restricting a query to ``types``; none for all of them."""
    if len(types) == len(TYPE_CODES):
        return "", []
    if len(types) == 1:
        return f" AND {column} = {{}}", list(types)
    return f" AND {column} IN ({', '.join(['{}'] * len(types))})", list(types)


# ---------------------------------------------------------------------------------------------
# The list


@dataclass(frozen=True)
class ListedMeasurements:
    """A page of measures and the strong validator of its JSON (its ETag)."""

    page: RawMeasurementPage
    etag: str


_PAGE_ORDER = "ORDER BY m.effective_at DESC, m.id DESC"
_PAGE_COLUMNS = ("body", "seq")


def _page_read(
    *,
    types: Sequence[str],
    visible: str,
    since_at: datetime | None,
    until_at: datetime | None,
    after: tuple[datetime, UUID] | None,
    size: int,
) -> tuple[str, tuple[Any, ...]]:
    """The page's statement and arguments, for the space the door resolved (``DOOR_SPACE``): the
    handler's read, and the one a holder's first page predicts (:func:`first_page_companion`)."""
    where = f"m.space_id = {DOOR_SPACE}" + visible
    args: list[Any] = []
    by_type = 1 < len(types) < len(TYPE_CODES) and is_postgres(current())
    if by_type:
        where += " AND m.type = t.type"  # one branch per type (below)
    else:
        type_sql, type_args = type_filter(types, column="m.type")
        where += type_sql
        args += type_args
    range_sql, range_args = within("m.effective_at", since_at, until_at)
    where += range_sql
    args += range_args
    if after is not None:
        # A row-value comparison: both engines turn it into one range on the index.
        where += " AND (m.effective_at, m.id) < ({}, {})"
        args += list(after)
    # The limit written in the statement (a checked integer), not passed: with ``LIMIT $n``
    # PostgreSQL planned the statement again at every call rather than keep its generic plan
    # (measured with the door's companion: its CPU 455 against 105 us a request).
    # The bodies as UTF-8 bytes on PostgreSQL, as they go out: not decoded to text and encoded
    # back (measured: ~30 us of the server's CPU on a 100-item page). Joining them in PostgreSQL
    # (string_agg, one row back) saved the server nothing more.
    body = "convert_to(m.body, 'UTF8')" if is_postgres(current()) else "m.body"
    limit = int(size) + 1
    if by_type:
        # Some types of the space (an app's, a FHIR search's codes): a page of each type, read in
        # order from the (space_id, type, effective_at, id) index, then the newest of those. Written
        # `type IN (...)`, PostgreSQL walked the space by time and dropped the other types: a page
        # for a scale's app in a space full of a watch's heart rates read 100,899 rows for 101
        # (36.5 ms, against 1.0; a scale audit). The types are the catalogue's codes, written out.
        assert all(code in BY_CODE for code in types)
        values = ", ".join(f"('{code}')" for code in types)
        sql = (
            f"SELECT x.body AS body, x.seq AS seq FROM (VALUES {values}) AS t(type), LATERAL ("
            f"SELECT {body} AS body, m.seq AS seq, m.effective_at AS at, m.id AS id FROM vital_measurements m "
            f"WHERE {where} {_PAGE_ORDER} LIMIT {limit}) AS x ORDER BY x.at DESC, x.id DESC LIMIT {limit}"
        )
        return sql, tuple(args)
    sql = f"SELECT {body} AS body, m.seq AS seq FROM vital_measurements m WHERE {where} {_PAGE_ORDER} LIMIT {limit}"
    return sql, tuple(args)


def first_page_companion(connection: ASGIConnection[Any, Any, Any, Any], caller: Caller) -> Companion | None:
    """The read a person's first page (no cursor, no dates) will make if they see what a holder
    sees: sent with the door's query (``ens.spaces.door.companion``). Anything else is read after
    the door as always."""
    if caller.kind != "person" or not is_postgres(current()):
        return None
    query = connection.query_params
    if set(query) - {"limit", "type"} or any(len(query.getall(name)) > 1 for name in query):
        return None
    requested = query.get("type")
    if requested is not None and requested not in BY_CODE:
        return None
    try:
        size = check_limit(int(query["limit"]) if "limit" in query else None)
    except (ValueError, Invalid):
        return None
    types = [requested] if requested is not None else list(TYPE_CODES)
    sql, args = _page_read(types=types, visible="", since_at=None, until_at=None, after=None, size=size)
    return Companion(sql=sql, args=args, columns=_PAGE_COLUMNS)


async def list_measurements(
    access: SpaceAccess,
    cursors: Cursors,
    *,
    type_: str | frozenset[str] | None,
    since: str | datetime | None,
    until: str | datetime | None,
    limit: int | None,
    cursor: str | None,
) -> ListedMeasurements:
    """Newest first, keyset on (effective_at, id): inserts during paging never shift a page.

    ``type_`` one type (the /v1 ``type``), a set of them (the FHIR search's ``code``s), or ``None``
    for all the caller may read (:func:`readable_types`); a cursor is bound to it. ``since`` and
    ``until`` as the query wrote them, or instants a caller already read (the FHIR search's
    ``date``: read once, its bounds are not read again as if written)."""
    zone = zone_of(access.space.timezone)
    types = readable_types(access, type_)
    since_at = since if isinstance(since, datetime) else parse_instant(since, "since", zone=zone)
    until_at = until if isinstance(until, datetime) else parse_instant(until, "until", zone=zone)
    if not isinstance(since, datetime) and not isinstance(until, datetime):
        # The FHIR search's bounds (instants) may not meet: its answer is then an empty Bundle.
        check_span(since_at, until_at)
    since, until = (b.isoformat() if isinstance(b, datetime) else b for b in (since, until))
    size = check_limit(limit)
    # A cursor serves the listing that issued it: the same space and the same type(s) asked (a set
    # written in one order, whatever order the query gave; no type is written with a comma).
    asked = ",".join(sorted(type_)) if isinstance(type_, frozenset) else type_ or "*"
    purpose = f"vitals.list:{access.space_id}:{asked}"
    after = None
    if cursor is not None:
        position = cursors.decode(purpose, cursor)
        try:
            after = (datetime.fromisoformat(position[0]), UUID(position[1]))
        except (IndexError, TypeError, ValueError) as exc:
            raise BadRequest("The cursor is malformed.", [FieldError("/cursor", "malformed")]) from exc
    sql, args = _page_read(
        types=types, visible=visible_to(access, alias="m"), since_at=since_at, until_at=until_at, after=after, size=size
    )
    # The bodies and change numbers, as the door's companion hands them over (one list each).
    if not types:
        # No type asked (FHIR codes whose intersection is empty): nothing to read.
        columns: tuple[list[Any], ...] | None = ([], [])
    else:
        columns = access.prefetched.columns_for(sql, args) if access.prefetched is not None else None
    if columns is None:
        rows = await fetch(sql.replace(DOOR_SPACE, "{}", 1), access.space_id, *args)
        columns = ([row["body"] for row in rows], [row["seq"] for row in rows])
    stored, seqs = columns
    # PostgreSQL gives the bodies as UTF-8 bytes (see _page_read), SQLite as text.
    bodies = stored[:size] if not stored or isinstance(stored[0], bytes) else [body.encode() for body in stored[:size]]
    next_cursor = None
    if len(stored) > size:
        last = _POSITION.decode(bodies[-1])
        next_cursor = cursors.encode(purpose, [last.effective_at.isoformat(), str(last.id)])
    # Every change to a measure gives it a new change number (seq): the numbers of a page's rows,
    # with the query and the representation's version, determine its bytes.
    versions = [REPRESENTATION_VERSION, since, until, cursor, next_cursor, *seqs[:size]]
    # One join for the page: the bodies go out as they are stored.
    page = RawMeasurementPage(items=Raw(b"[" + b",".join(bodies) + b"]"), next_cursor=next_cursor)
    return ListedMeasurements(page=page, etag=etag_of_versions(purpose, versions))


async def count_measurements(
    access: SpaceAccess, *, type_: frozenset[str] | None, since: datetime | None, until: datetime | None
) -> int:
    """How many measures :func:`list_measurements` would list over all its pages with the same
    types and bounds (the FHIR search's ``_summary=count``): the same types the caller may read,
    the same visibility, in one ``COUNT`` over the space's index (a space's measures only)."""
    types = readable_types(access, type_)
    if not types:
        return 0
    type_sql, type_args = type_filter(types, column="m.type")
    range_sql, range_args = within("m.effective_at", since, until)
    where = "m.space_id = {}" + visible_to(access, alias="m") + type_sql + range_sql
    rows = await fetch(
        f"SELECT COUNT(*) AS n FROM vital_measurements m WHERE {where}", access.space_id, *type_args, *range_args
    )
    return int(rows[0]["n"])


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


# The columns that hold instants: UTC in the CSV (as the JSON), the space's local time in a workbook.
_INSTANT_COLUMNS = frozenset({"effectiveAt", "createdAt", "updatedAt"})


def page_as_csv(page: RawMeasurementPage) -> str:
    """The same rows as the JSON page, one per line, for a spreadsheet or a doctor."""
    rows = (_cells(item) for item in _MEASUREMENTS.decode(page.items))
    return csv_text(CSV_COLUMNS, ([_instant(c) if isinstance(c, datetime) else c for c in row] for row in rows))


def page_as_xlsx(page: RawMeasurementPage, timezone: str) -> bytes:
    """The same rows as an Excel workbook, for a doctor: numbers as numbers, the instants as dates
    and times of the space's time zone (a spreadsheet keeps no zone: the header names it), and
    after ``effectiveAt`` its UTC offset: the hour a clock goes back is lived twice, and its two
    02:30 were one cell's value, nothing on the sheet saying which came first."""
    zone = zone_of(timezone)
    header = [f"{name} ({timezone})" if name in _INSTANT_COLUMNS else name for name in CSV_COLUMNS]
    header.insert(_EFFECTIVE_AT + 1, "effectiveAtUtcOffset")
    rows = []
    items = _MEASUREMENTS.decode(page.items)
    for item in items:
        row = [c.astimezone(zone).replace(tzinfo=None) if isinstance(c, datetime) else c for c in _cells(item)]
        row.insert(_EFFECTIVE_AT + 1, _offset(item.effective_at.astimezone(zone)))
        rows.append(row)
    # Dated by its newest change, not by the time it is made: one page is one file, whose ETag
    # then stays while nothing changes (If-None-Match: 304), as the JSON page's does.
    as_of = max((item.updated_at for item in items), default=_NO_CHANGE)
    return xlsx_bytes("Mesures", header, rows, created=as_of)


_NO_CHANGE = datetime(2000, 1, 1, tzinfo=UTC)


_EFFECTIVE_AT = CSV_COLUMNS.index("effectiveAt")


def _offset(moment: datetime) -> str:
    """An aware instant's UTC offset as RFC 3339 writes it (``+01:00``; a zone's mean solar time
    of old, ``+00:09:21``, keeps its seconds)."""
    offset = moment.utcoffset()
    seconds = int(offset.total_seconds()) if offset is not None else 0
    hours, rest = divmod(abs(seconds), 3600)
    minutes, rest = divmod(rest, 60)
    return f"{'-' if seconds < 0 else '+'}{hours:02d}:{minutes:02d}" + (f":{rest:02d}" if rest else "")


def _instant(moment: datetime) -> str:
    """An instant as the JSON writes it (``2026-12-04T22:30:00Z``; ``isoformat`` wrote ``+00:00``)."""
    return msgspec.json.encode(moment)[1:-1].decode()


def _cells(item: MeasurementRead) -> tuple[object, ...]:
    """A measure's row of :data:`CSV_COLUMNS`: numbers, text, and its instants as ``datetime``."""
    # The numbers as the JSON gives them (a whole-number type's 72, not the 72.0 a float prints).
    vital = BY_CODE[item.type]
    original, as_sent = item.original_value, vital.shown_as_sent
    original_text = (
        f"{as_sent(original.systolic)}/{as_sent(original.diastolic)}"
        if isinstance(original, ComponentsRead)
        else as_sent(original)
    )
    device = item.device
    return (
        item.id,
        item.type,
        vital.shown(item.value) if item.value is not None else "",
        vital.shown(item.components.systolic) if item.components else "",
        vital.shown(item.components.diastolic) if item.components else "",
        item.unit,
        original_text,
        item.original_unit,
        item.effective_at,
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
        item.created_at,
        item.updated_at,
    )


def any_measure_seen(access: SpaceAccess) -> Scalar:
    """Whether the space holds a measure the caller sees, or the deletion of one their change feed
    shows (its tombstone), as one value of a statement (``fetch_scalars``): what the space import
    calls "not empty" (``ens.overview.space_import``). What is hidden from the caller is not seen."""
    seen = visible_to(access)
    return Scalar(
        f"SELECT EXISTS (SELECT 1 FROM vital_measurements WHERE space_id = {{}}{seen})"
        f" OR EXISTS (SELECT 1 FROM vital_tombstones WHERE space_id = {{}}{seen})",
        (access.space_id, access.space_id),
    )
