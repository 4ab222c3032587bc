"""Batch ingestion: a batch of measures checked one by one, then stored in one transaction.

In the transaction: the batch's places in the feed (``ens.vitals.feed``) and the lookup of the
records already stored (their rows locked until commit), in one statement on PostgreSQL; the
keys deleted from the space, only in a space where an app's record was ever deleted (a statement of
its own: ``_deleted_records``); then the new records by ``COPY`` and the replaced ones by a
multi-row ``INSERT ... ON CONFLICT DO UPDATE`` (chunked to SQLite's variable limit): never a loop
of round trips.

A new record can still meet one a concurrent batch is writing (the same batch sent twice at once).
The unique index on (space, writer, clientRecordId) makes the second wait for the first, then fail;
the second batch then runs again from the start and finds the record stored ("unchanged"). Had that
record been deleted before the second batch's ``COPY``, the ``COPY`` would store it again: in a space
that had a deletion, a statement after the ``COPY`` looks the new records up among the deleted ones,
and the batch runs again if one is there (``_refuse_records_deleted_meanwhile``). SQLite has one
writer at a time: there the lookup stays true until commit.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import msgspec
from asyncpg.pgproto.pgproto import UUID as PostgresUUID

from ens.core import clock
from ens.core.api import NOTHING_VISIBLE, field_error
from ens.core.clock import as_date, aware
from ens.core.db import Row, as_uuid, copy_rows, current, fetch, fetch_one, insert_rows, is_postgres, write_transaction
from ens.core.errors import Conflict, FieldError, Forbidden, Invalid
from ens.core.local_time import local_midnight, zone_of
from ens.spaces.door import SpaceAccess
from ens.spaces.history import account_name
from ens.spaces.rights import ACTION_ENGLISH, KIND_ENGLISH, Action
from ens.vitals.catalogue import BY_CODE, STEPS_PER_DAY, VitalType
from ens.vitals.feed import FEED_BLOCK, FEED_PLACES_SQL, FeedNumbers, numbers_from, place_hides, take_feed_numbers
from ens.vitals.representation import body_json
from ens.vitals.rules import Canonical, check_after_birth, check_context, check_time, check_values, vital_type_of
from ens.vitals.schemas import (
    BatchResult,
    ItemResult,
    MeasurementCreate,
    Result,
    Source,
    all_visible,
    blank_texts,
    to_microseconds,
)
from ens.vitals.scopes import scope_name

_ENCODE = msgspec.json.Encoder()

MAX_BATCH = FEED_BLOCK  # a batch's changes are numbered from one block (ens.vitals.feed)


# Column order of the multi-row insert; one tuple of values per measure.
# The columns of a stored measure, in the order of the values of ``_row``.
INSERT_COLUMNS = (
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
    "feed_xid",
    "body",
    "original_source",
    "hidden_from_representatives",
    "shown_to_representatives",
)
# A replacement changes everything but identity, ownership and creation time; a measure once shown
# to the representatives stays one they may have (ens.vitals.feed).
_REPLACED_COLUMNS = [
    c
    for c in INSERT_COLUMNS
    if c not in ("id", "space_id", "writer", "client_record_id", "created_at", "shown_to_representatives")
]
_KEYS_PER_STATEMENT = 1000


@dataclass(frozen=True)
class Writer:
    """Who writes: an app (its client id and name) or a person typing by hand.

    ``key`` owns the records the writer creates (``clientRecordId``s, one step count a day). An app
    a representative connected does not see the measures the holder hid from the representatives
    (:attr:`SpaceAccess.sees_confidential`), yet they may hold its ``clientRecordId``s under the
    app's key, written by the holder's connection of it or before the holder hid them: ``sees_hidden``
    is then false, and ``aside`` (``app:<client id>:rep:<account id>``, :func:`representatives_key`)
    takes the new records a hidden one blocks. Hidden rows are never its records (not found, not
    replaced, in no rule's check or message): the app gets what it would get were they not there."""

    key: str
    kind: Literal["app", "person", "import"]
    client_id: str
    name: str
    aside: str | None = None
    sees_hidden: bool = True

    @property
    def keys(self) -> list[str]:
        """The writer keys whose records are this writer's, in the order they are looked up."""
        return [self.key] if self.aside is None else [self.aside, self.key]


def representatives_key(client_id: str, account_id: UUID) -> str:
    """The writer key of the records an app a representative connected creates where a measure
    hidden from that representative holds the ``clientRecordId`` (or the step count's day)."""
    return f"app:{client_id}:rep:{account_id}"


def keeps_deleted_records(writer: str) -> bool:
    """Whether a deleted measure of this ``writer`` is kept from coming back (``vital_deleted_records``):
    an app's, which its re-syncs send again; not a person's own key (a day's count typed by hand)."""
    return writer.startswith("app:")


def sent_by_app(writer: str, client_id: str) -> bool:
    """Whether a measure's ``writer`` is this app's (whoever connected it): ``app:<client id>``
    or a representative's key of it (:func:`representatives_key`)."""
    own = f"app:{client_id}"
    return writer == own or writer.startswith(f"{own}:rep:")


def import_writer(import_id: UUID) -> Writer:
    """An imported measure's source is the import (the source it had before is kept beside it).

    Each import writes as a writer of its own: what a writer's records are compared with (its
    ``clientRecordId``s, one step count a day) is then only what this import wrote, never what an
    earlier one left in the space — measures hidden from the representative who imports among them,
    whom a refusal or a silent "unchanged" would tell that they exist."""
    return Writer(key=f"import:{import_id}", kind="import", client_id="ens-import", name="Import FHIR")


@dataclass(frozen=True)
class Imported:
    """What an import keeps of a measure beyond its values: where it first came from (client id,
    name) and whether the holder had hidden it from the representatives."""

    original_source: tuple[str, str] | None
    hidden: bool


async def writer_of(access: SpaceAccess) -> Writer:
    """The writing app comes from the token's grant, never from the body; a person is named."""
    caller = access.caller
    if access.role == "app":
        name = access.client_name
        if name is None:  # an access not built by the door (ens demo)
            row = await fetch_one("SELECT client_name FROM grants WHERE id = {}", caller.grant_id)
            name = row["client_name"] if row else caller.client_id
        if access.sees_confidential:
            return Writer(key=f"app:{caller.client_id}", kind="app", client_id=caller.client_id, name=name)
        return Writer(
            key=f"app:{caller.client_id}",
            kind="app",
            client_id=caller.client_id,
            name=name,
            aside=representatives_key(caller.client_id, caller.account_id),
            sees_hidden=False,
        )
    name = access.actor_name
    if name is None:
        name = await account_name(caller.account_id) or ""
    return Writer(key=f"person:{caller.account_id}", kind="person", client_id=caller.client_id, name=name)


def new_ids(count: int) -> list[UUID]:
    """``count`` random (version 4) UUIDs from one read of the system's random source: one
    ``uuid4()`` per measure, one system call each, was 4 % of a batch's server time (measured).

    The version and variant bits are set on all of them at once; on PostgreSQL the UUIDs are
    asyncpg's own (a subclass of ``uuid.UUID`` built in C, the type it reads them back as: 0.13 us
    against 0.87 for ``uuid.UUID``). SQLite's adapters match ``uuid.UUID`` exactly."""
    random = int.from_bytes(os.urandom(16 * count), "big")
    keep, version = _version_masks(count)
    data = ((random & keep) | version).to_bytes(16 * count, "big")
    make: Any = PostgresUUID if is_postgres(current()) else (lambda raw: UUID(bytes=raw))
    return [make(data[i : i + 16]) for i in range(0, 16 * count, 16)]


@lru_cache(maxsize=64)
def _version_masks(count: int) -> tuple[int, int]:
    """Bit masks over ``count`` UUIDs: what to keep of the random bits, and the version 4 and
    variant (RFC 9562) bits to set."""
    keep = bytes([0xFF] * 6 + [0x0F, 0xFF, 0x3F] + [0xFF] * 7)
    version = bytes([0] * 6 + [0x40, 0, 0x80] + [0] * 7)
    return int.from_bytes(keep * count, "big"), int.from_bytes(version * count, "big")


def _decode_error(prefix: str, error: msgspec.ValidationError) -> FieldError:
    """msgspec's message (``... - at `$.a.b```) to a pointer under ``prefix``."""
    message = str(error)
    path = "$"
    if " - at `" in message:
        message, _, path = message.rpartition(" - at `")
        path = path.rstrip("`")
    pointer, detail = field_error(message, path, within=MeasurementCreate)
    return FieldError(prefix + pointer, detail)


# A day's step count sent without its own clientRecordId is recorded under this key and its day.
DAY_KEY = "day:"


@dataclass(slots=True)
class _Prepared:  # not frozen: one per measure, and a frozen init costs twice as much
    index: int
    item: MeasurementCreate
    vital: VitalType
    canonical: Canonical
    local_date: date
    record_key: str | None


def _prepare(
    raw_items: Sequence[Any],
    zone: ZoneInfo,
    *,
    now: datetime,
    born: date | None,
    importing: bool = False,
) -> tuple[list[_Prepared], list[FieldError]]:
    """Each item checked and converted. ``importing``: the space import's, whose step counts are
    each the record of its former id, never a day's second (:func:`_refuse_second_day_counts`)."""
    errors: list[FieldError] = []
    prepared: list[_Prepared] = []
    seen_records: dict[str, int] = {}  # a clientRecordId: the first measure that names it
    seen_step_days: dict[date, int] = {}
    for index, raw in enumerate(raw_items):
        prefix = f"/measurements/{index}"
        if type(raw) is MeasurementCreate:
            item = raw  # converted with its whole batch (MeasurementBatch)
        else:
            try:
                item = msgspec.convert(to_microseconds(raw), MeasurementCreate, strict=True)
            except msgspec.ValidationError as exc:
                errors.append(_decode_error(prefix, exc))
                continue
        vital = BY_CODE.get(item.type)
        if vital is None:
            vital_type_of(item.type, f"{prefix}/type", errors=errors)  # says why
            continue
        count = len(errors)
        canonical = check_values(
            vital, item.unit, value=item.value, components=item.components, prefix=prefix, errors=errors
        )
        check_context(vital, item.glucose_moment, prefix=prefix, errors=errors)
        device = item.device
        if item.note is not None or item.measurement_location is not None:
            texts = {"note": item.note, "measurementLocation": item.measurement_location}
            errors += [FieldError(f"{prefix}/{name}", NOTHING_VISIBLE) for name in blank_texts(texts)]
        if device is not None and not all_visible(device.manufacturer, device.model, device.identifier):
            texts = {"manufacturer": device.manufacturer, "model": device.model, "identifier": device.identifier}
            errors += [FieldError(f"{prefix}/device/{name}", NOTHING_VISIBLE) for name in blank_texts(texts)]
        if device is not None and not (device.manufacturer or device.model or device.identifier):
            # ``{}`` was taken as no device without a word: an app that meant to name one learns it did not.
            errors.append(
                FieldError(
                    f"{prefix}/device", "names no device: give its manufacturer, model or identifier, or omit it"
                )
            )
        if not check_time(item.effective_at, now, prefix=prefix, errors=errors):
            continue  # its local day cannot be computed
        local_day = item.effective_at.astimezone(zone).date()
        check_after_birth(local_day, born, prefix=prefix, errors=errors)
        record_key = item.client_record_id
        if record_key is not None and record_key.startswith(DAY_KEY):
            # The service's own keys for a day's step count: a client's record there would be taken
            # for that count (and the count for it).
            errors.append(FieldError(f"{prefix}/clientRecordId", f"a clientRecordId may not begin with '{DAY_KEY}'"))
            record_key = None
        elif record_key is not None and not record_key.strip():
            # Spaces only identify nothing an app could send again (an outside audit found it taken).
            errors.append(FieldError(f"{prefix}/clientRecordId", "blank: give the record's identifier, or none"))
            record_key = None
        if vital.code == STEPS_PER_DAY:
            first = index if importing else seen_step_days.setdefault(local_day, index)
            if first != index:
                errors.append(
                    FieldError(
                        f"{prefix}/effectiveAt",
                        f"steps_per_day takes one value per day: {local_day} is also /measurements/{first}",
                    )
                )
            # Without its own id, a day's count is keyed on the day: a re-send never duplicates it.
            record_key = record_key or f"{DAY_KEY}{local_day.isoformat()}"
        elif item.client_record_id is None and item.client_record_version:
            # A version names a version of a record: without the record's id it would say nothing,
            # taken without a word (an outside audit). A day's step count is its day's record.
            errors.append(FieldError(f"{prefix}/clientRecordVersion", "only with a clientRecordId"))
        if item.client_record_id is not None and record_key is not None:
            first = seen_records.setdefault(record_key, index)
            if first != index:
                errors.append(
                    FieldError(f"{prefix}/clientRecordId", f"the same clientRecordId is /measurements/{first}")
                )
        if canonical is not None and len(errors) == count:
            prepared.append(_Prepared(index, item, vital, canonical, local_day, record_key))
    return prepared, errors


def _type_sent(raw: Any) -> Any:
    """An item's ``type`` as sent (anything, or ``None`` when it is not an object)."""
    if type(raw) is MeasurementCreate:
        return raw.type
    return raw.get("type") if isinstance(raw, dict) else None


def _require_write_scopes(access: SpaceAccess, raw_items: Sequence[Any]) -> None:
    if access.is_person:
        return
    # Only the items whose type is a known code: any other (a number, an object, a list) is a 422 of
    # the item's own, named by the validation that follows (an object or a list cannot be hashed).
    types = {kind for raw in raw_items if isinstance(kind := _type_sent(raw), str)}
    missing = sorted(t for t in types if t in BY_CODE and not access.may(scope_name(t, "write")))
    if missing:
        scopes = ", ".join(scope_name(t, "write") for t in missing)
        raise Forbidden(f"This app may not write {', '.join(missing)}: its authorization lacks {scopes}.")


def _row(
    prepared: _Prepared,
    space_id: UUID,
    *,
    measurement_id: UUID,
    created_at: datetime,
    hidden: bool,
    writer: Writer,
    key: str,
    source: Source,
    now: datetime,
    place: tuple[int, int],
    original_source: str | None = None,
) -> tuple[Any, ...]:
    """The values of one row, in the order of ``INSERT_COLUMNS`` (its JSON ``body`` last), under the
    writer key ``key``; ``source``: the writer's, made once a batch."""
    item, canonical = prepared.item, prepared.canonical
    device = item.device
    method = item.recording_method or ("manual" if writer.kind == "person" else "automatic")
    effective_at = item.effective_at.astimezone(UTC)
    devices = (device.manufacturer, device.model, device.identifier) if device else (None, None, None)
    context = (item.body_position, item.measurement_location, item.glucose_moment)
    value = None if canonical.value is None else float(canonical.value)
    systolic = None if canonical.systolic is None else float(canonical.systolic)
    diastolic = None if canonical.diastolic is None else float(canonical.diastolic)
    body = body_json(
        measurement_id,
        prepared.vital,
        value,
        systolic,
        diastolic,
        canonical.original,
        item.unit,
        effective_at,
        method,
        source,
        devices,
        context,
        item.note,
        created_at,
        now,
        hidden,
    )
    return (
        measurement_id,
        space_id,
        item.type,
        value,
        systolic,
        diastolic,
        _ENCODE.encode(canonical.original).decode(),
        item.unit,
        effective_at,
        prepared.local_date,
        method,
        key,
        writer.kind,
        writer.client_id,
        writer.name,
        prepared.record_key,
        item.client_record_version,
        *devices,
        *context,
        item.note,
        created_at,
        now,
        place[1],
        place[0],
        body,
        original_source,
        hidden,
        not hidden,
    )


@dataclass(frozen=True)
class _Stored:
    id: UUID
    version: int
    created_at: datetime
    hidden: bool
    type: str
    writer: str
    value: float | None
    local_date: date | None = None


# PostgreSQL, one round trip: the transaction's id and the first of its block of feed numbers (first
# row), then the records this writer already stored under the batch's keys, locked until commit (a
# hide or a correction of one of them waits for this batch). One statement text whatever the number of keys
# (prepared once per connection), one index probe per key: ``client_record_id = ANY(keys)`` read
# every record of the writer in the space instead (the planner, expecting one row per space and
# writer, filtered rather than probed: 2.9 ms against 0.15 ms for 100 keys beside 8,200 records).
# The keys come sorted, so two batches lock the rows they share in one order. They come as one JSON
# array, not a SQL array: PostgreSQL sees how long an array parameter is (unnest's estimate), so a
# plan made for that length always looked cheaper than the prepared generic one and the statement
# was planned again at every batch of fewer than 10 keys (pg_stat_statements: 271 us of planning a
# call, 10 with the JSON array, whose length it does not read).
_PLACES_AND_STORED = (
    "SELECT "
    + FEED_PLACES_SQL
    + """,
       NULL::uuid AS id, NULL::varchar AS client_record_id, NULL::bigint AS client_record_version,
       NULL::timestamptz AS created_at, NULL::boolean AS hidden_from_representatives, NULL::varchar AS type,
       NULL::varchar AS writer, NULL::float8 AS value, NULL::date AS local_date, NULL::boolean AS records_deleted
UNION ALL
SELECT NULL, NULL, m.id, m.client_record_id, m.client_record_version, m.created_at, m.hidden_from_representatives,
       m.type, m.writer, m.value, m.local_date, NULL
FROM jsonb_array_elements_text({}::text::jsonb) AS k(key), LATERAL (
    SELECT id, client_record_id, client_record_version, created_at, hidden_from_representatives, type, writer, value,
           local_date
    FROM vital_measurements WHERE space_id = {} AND writer IN (WRITERS) AND client_record_id = k.key
    FOR UPDATE) AS m
"""
)
# Last (UNION ALL runs its parts in order), for a batch that could meet a deleted record (an app's,
# with clientRecordIds): a row when no app's record was ever deleted in the space (its row of
# ``vital_deletion_free_spaces``, made with the space, deleted by a trigger in the transaction of
# its first deletion, never made again by the service), and the deleted records are then not looked
# up (:func:`_store`). Read under FOR KEY SHARE, which the trigger's DELETE conflicts
# with: a batch waits for a deletion under way, and one that waited above on a measure being deleted
# finds the row gone once the deletion commits (where the statement's snapshot still holds it) and
# looks up the deleted records. Nothing but that DELETE changes the row: the lock makes no other
# write wait (on ``spaces``' row it had made every UPDATE of the space wait for the batches).
# The row is read only with the space's deletions lock taken shared, tried without waiting (a
# transaction-scoped advisory lock the trigger takes whole before its DELETE, migration
# m2026_12_31_0900): PostgreSQL grants a row's KEY SHARE past a DELETE waiting for it, so a stream of
# overlapping batches held a first deletion as long as it lasted (a review: 2.2 s for six); a try
# fails while the trigger holds or waits for the lock whole (heavyweight locks queue), the row is
# then not read, and the batch looks the deleted records up. The deletion waits only for the
# batches already past this point.
_FLAG_PART = """UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, FALSE
FROM (SELECT space_id FROM vital_deletion_free_spaces
      WHERE space_id = {} AND pg_try_advisory_xact_lock_shared(hashtextextended({}, 0)) FOR KEY SHARE) AS f
"""


def deletions_lock(space_id: UUID) -> str:
    """The key of a space's deletions lock (``_FLAG_PART``); the trigger of migration
    m2026_12_31_0900 writes it alike: ``'vital-deletions:' || space_id::text``."""
    return f"vital-deletions:{space_id}"


def _stored(row: Row) -> _Stored:
    return _Stored(
        as_uuid(row["id"]),
        int(row["client_record_version"]),
        aware(row["created_at"]),
        bool(row["hidden_from_representatives"]),
        str(row["type"]),
        str(row["writer"]),
        None if row["value"] is None else float(row["value"]),
        None if row["local_date"] is None else as_date(row["local_date"]),
    )


@dataclass(frozen=True, slots=True)
class _Deleted:
    """A record of this writer's that someone deleted (``vital_deleted_records``)."""

    id: UUID
    version: int


async def _places_and_stored(
    space_id: UUID, writer_keys: list[str], keys: list[str], count: int
) -> tuple[FeedNumbers, dict[tuple[str, str], _Stored], bool]:
    """The batch's places in the feed, what this writer already stored under these
    ``clientRecordId``s (unique index), by (writer key, clientRecordId), inside the batch's
    transaction, and whether its deleted records are to be looked up (:func:`_deleted_records`).
    Hidden rows too: the caller decides what they are to it (:func:`_resolve`)."""
    # Only an app's records are kept once deleted (a person's and a key-less batch's never are).
    could_meet = bool(keys) and any(keeps_deleted_records(key) for key in writer_keys)
    return await _places_and_live(space_id, writer_keys, keys, count, flag=could_meet)


async def _places_and_live(
    space_id: UUID, writer_keys: list[str], keys: list[str], count: int, *, flag: bool
) -> tuple[FeedNumbers, dict[tuple[str, str], _Stored], bool]:
    """The places, the live records under ``keys``, and with ``flag`` whether the space ever had an
    app's record deleted (it has no row in ``vital_deletion_free_spaces``); without, ``False``,
    unread."""
    if is_postgres(current()):
        # The writer keys written out, one placeholder each (one key is then `writer = $n`): written
        # `writer = ANY($n::varchar[])`, the batch cost PostgreSQL five times the CPU a measure (make
        # bench: 152 against 30 us over 4 spaces, 519 against 26 into one). EXPLAIN ANALYZE of the
        # lookup, custom or generic plan, on 3,000 records did not show why.
        sql = _PLACES_AND_STORED.replace("WRITERS", ", ".join(["{}"] * len(writer_keys)))
        args: list[object] = [msgspec.json.encode(sorted(keys)).decode(), space_id, *writer_keys]
        if flag:
            sql, args = sql + _FLAG_PART, [*args, space_id, deletions_lock(space_id)]
        rows = await fetch(sql, *args)
        places = next(row for row in rows if row["xid"] is not None)
        unset = any(row["records_deleted"] is not None for row in rows)
        stored = {
            (row["writer"], row["client_record_id"]): _stored(row)
            for row in rows
            if row["xid"] is None and row["records_deleted"] is None
        }
        return numbers_from(places, count), stored, flag and not unset
    numbers = await take_feed_numbers(space_id, count)
    free = (
        flag
        and await fetch_one("SELECT 1 AS one FROM vital_deletion_free_spaces WHERE space_id = {}", space_id) is not None
    )
    found: dict[tuple[str, str], _Stored] = {}
    writers = ", ".join(["{}"] * len(writer_keys))
    for start in range(0, len(keys), _KEYS_PER_STATEMENT):
        part = keys[start : start + _KEYS_PER_STATEMENT]
        in_part = ", ".join(["{}"] * len(part))
        rows = await fetch(
            "SELECT id, client_record_id, client_record_version, created_at, hidden_from_representatives, type, "
            f"writer, value, local_date FROM vital_measurements WHERE space_id = {{}} AND writer IN ({writers}) "
            f"AND client_record_id IN ({in_part})",
            space_id,
            *writer_keys,
            *part,
        )
        found.update(((row["writer"], row["client_record_id"]), _stored(row)) for row in rows)
    return numbers, found, flag and not free


async def _deleted_records(space_id: UUID, writer_keys: list[str], keys: list[str]) -> dict[tuple[str, str], _Deleted]:
    """Which of ``keys`` someone deleted under the writer's keys: the keys it found no measure of
    its under (:func:`_store`, after :func:`_resolve`), or those it has just created (the check after its
    ``COPY``, :func:`_refuse_records_deleted_meanwhile`). A statement of its own, after the one that
    locked the live records: on PostgreSQL (read committed) it sees a deletion that committed while
    that one waited on the deleted measure's lock, which the first statement's snapshot did not
    (the re-sync would have brought the measure back)."""
    deleted: dict[tuple[str, str], _Deleted] = {}
    writer_keys = [key for key in writer_keys if keeps_deleted_records(key)]
    if not keys or not writer_keys:
        return deleted  # nothing of this writer is kept: no statement
    writers = ", ".join(["{}"] * len(writer_keys))
    if is_postgres(current()):
        # One probe of the index per key, as the live records' lookup (_PLACES_AND_STORED): written
        # `client_record_id = ANY($n)`, the generic plan PostgreSQL settles on after five runs read
        # every deleted record of the writer in the space (50,000: 57 ms a batch, against 0.2 ms;
        # a scale audit), and the table is never purged. One statement text whatever the keys.
        # (A one-time EXISTS first, "has this writer any deleted record here?", to spare the probes
        # of a writer with none: its generic plan read the whole table when the space had none, a
        # review. A probe that finds nothing costs about a microsecond of PostgreSQL's CPU a key.)
        rows = await fetch(
            "SELECT d.id, d.writer, d.client_record_id, d.client_record_version "
            "FROM jsonb_array_elements_text({}::text::jsonb) AS k(key), LATERAL ("
            "SELECT id, writer, client_record_id, client_record_version FROM vital_deleted_records "
            # OFFSET 0: the subquery stays one probe per key (flattened into a join, PostgreSQL
            # may hash the writer's every deleted record instead).
            f"WHERE space_id = {{}} AND writer IN ({writers}) AND client_record_id = k.key OFFSET 0) AS d",
            msgspec.json.encode(keys).decode(),
            space_id,
            *writer_keys,
        )
        deleted.update((_record(row), _deleted(row)) for row in rows)
        return deleted
    for start in range(0, len(keys), _KEYS_PER_STATEMENT):
        part = keys[start : start + _KEYS_PER_STATEMENT]
        in_part = ", ".join(["{}"] * len(part))
        rows = await fetch(
            "SELECT id, writer, client_record_id, client_record_version FROM vital_deleted_records "
            f"WHERE space_id = {{}} AND writer IN ({writers}) AND client_record_id IN ({in_part})",
            space_id,
            *writer_keys,
            *part,
        )
        deleted.update((_record(row), _deleted(row)) for row in rows)
    return deleted


def _record(row: Row) -> tuple[str, str]:
    return str(row["writer"]), str(row["client_record_id"])


def _deleted(row: Row) -> _Deleted:
    return _Deleted(as_uuid(row["id"]), int(row["client_record_version"]))


def _resolve(
    writer: Writer, prepared: list[_Prepared], stored: dict[tuple[str, str], _Stored], blocked_days: set[date]
) -> tuple[dict[int, _Stored], dict[int, str]]:
    """Each measure's stored record (by its index in the batch), if it has one, and the writer key
    a new one goes under. A writer that does not see hidden measures (:class:`Writer`) finds only
    the records it sees: its own key's first, then the app's; a record key (or a step count's day,
    ``blocked_days``) the app's key holds in a hidden measure takes the new measure under its own
    key (``aside``), as if the hidden one were not there. One its own key holds in a hidden measure
    (the holder hid a measure this connection wrote) cannot be written again: refused, naming
    nothing of it but the ``clientRecordId`` the app sent."""
    known: dict[int, _Stored] = {}
    placed: dict[int, str] = {}
    errors: list[FieldError] = []
    for p in prepared:
        placed[p.index] = writer.key
        if writer.aside is not None and p.item.type == STEPS_PER_DAY and p.local_date in blocked_days:
            placed[p.index] = writer.aside
        if p.record_key is None:
            continue
        for key in writer.keys:
            found = stored.get((key, p.record_key))
            if found is None:
                continue
            if writer.sees_hidden or not found.hidden:
                known[p.index] = found
            elif key == writer.aside:
                errors.append(
                    FieldError(
                        f"/measurements/{p.index}/clientRecordId",
                        f"'{p.record_key}' cannot be written again by this app: send it under another clientRecordId",
                    )
                )
            else:
                placed[p.index] = writer.aside or writer.key
                continue
            break
    _refuse(errors)
    return known, placed


# A re-sent record replaces the stored one only with a higher version (the unique index decides).
UPSERT_SUFFIX = (
    "ON CONFLICT (space_id, writer, client_record_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _REPLACED_COLUMNS)
    + ", shown_to_representatives = vital_measurements.shown_to_representatives OR excluded.shown_to_representatives"
    + " WHERE excluded.client_record_version > vital_measurements.client_record_version"
)


async def record_measurements(
    access: SpaceAccess,
    raw_items: Sequence[Any],
    *,
    imported: Sequence[Imported] | None = None,
    import_id: UUID | None = None,
    keep_stored: bool = False,
) -> BatchResult:
    """Store a batch of measures: all of them in one transaction, or none and a 422 naming each bad one.

    A measure re-sent by the same writer with the same ``clientRecordId`` is replaced when its
    ``clientRecordVersion`` is higher, else left as it is; the unique index decides, so two racing
    requests cannot both create it. ``imported`` (one per item) and ``import_id`` are the space
    import's: that import is then the writer (:func:`import_writer`), and each measure keeps its
    original source and hidden flag. ``keep_stored`` (a FHIR conditional create) leaves a record
    already stored as it is whatever the version sent ("unchanged"): only a new one is created.
    """
    if not 1 <= len(raw_items) <= MAX_BATCH:
        detail = f"between 1 and {MAX_BATCH} measurements per request"
        raise Invalid(f"Send {detail}.", [FieldError("/measurements", detail)])
    _require_write_scopes(access, raw_items)
    now = clock.now()
    if imported is not None:
        assert import_id is not None, "an import's measures are written as that import"
        writer = import_writer(import_id)
    else:
        writer = await writer_of(access)
    prepared, errors = _prepare(
        raw_items, zone_of(access.space.timezone), now=now, born=access.space.birthdate, importing=imported is not None
    )
    _refuse(errors)
    if any(p.item.hidden_from_representatives for p in prepared):
        _require_right_to_hide(access)
    # Inside a caller's transaction (the space import) a lost race has failed that transaction:
    # nothing can run again in it, so the caller's whole write is refused.
    attempts = 1 if current().current_transaction.get() is not None else _ATTEMPTS
    for _ in range(attempts):
        try:
            return await _store(
                access,
                writer,
                prepared,
                imported,
                now=now,
                zone=zone_of(access.space.timezone),
                keep_stored=keep_stored,
            )
        except RecordRace:
            continue
    raise Conflict("Other requests were writing the same records at the same time: send the batch again.")


class MayNotHide(Forbidden):
    """403: the caller may not create a measure hidden from the representatives."""


def _require_right_to_hide(access: SpaceAccess) -> None:
    """Who may create a measure hidden from the representatives: whoever may hide one (the holder;
    on a minor's space a professional), and an app the holder connected, which writes on the
    holder's authority (as it sees what the holder sees): its ``hiddenFromRepresentatives`` (the
    restricted label of a FHIR Observation) is the holder's choice made in the app. An app a
    representative connected acts on that representative's authority: 403, like the representative."""
    if access.role == "app":
        if not access.granted_by_holder:
            raise MayNotHide(
                "An app a representative connected may not hide a measure from the representatives: "
                "only the holder (or an app the holder connected) may."
            )
        return
    hide = Action.HIDE_FROM_REPRESENTATIVES
    if not access.allows(hide):
        raise MayNotHide(f"The {KIND_ENGLISH[access.kind]} may not {ACTION_ENGLISH[hide]}.")


# A batch that met a concurrent batch writing one of its new records is run again from the start
# (its transaction rolled back): the second time the lookup finds the record stored.
_ATTEMPTS = 3
_RECORD_INDEX = "vital_measurements_client_record"


def is_record_index(name: str | None) -> bool:
    """The unique index on (space, writer, clientRecordId), or a partition's own copy of it once
    ``ens partition`` has split the table (PostgreSQL names those ``..._client_record_id_idx``)."""
    return name is not None and (name == _RECORD_INDEX or "client_record_id" in name)


class RecordRace(Exception):
    """This batch met a concurrent one over a record: its transaction is rolled back, to run again."""


@asynccontextmanager
async def record_race() -> AsyncIterator[None]:
    """PostgreSQL's refusals of a batch that lost a race over a record, as :class:`RecordRace`: the
    unique index on the records (the other batch stored it first), or a deadlock (a backstop: the
    rows are locked and inserted in the order of their keys)."""
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        if not is_record_index(exc.constraint_name):
            raise
        raise RecordRace from exc
    except asyncpg.DeadlockDetectedError as exc:
        raise RecordRace from exc


async def _store(
    access: SpaceAccess,
    writer: Writer,
    prepared: list[_Prepared],
    imported: Sequence[Imported] | None,
    *,
    now: datetime,
    zone: ZoneInfo,
    keep_stored: bool = False,
) -> BatchResult:
    """One transaction: the places and the lookup in one statement, new records by ``COPY``, the
    replaced ones by an upsert (module doc)."""
    items: list[ItemResult] = []
    space_id = access.space_id
    source = Source(client_id=writer.client_id, name=writer.name)
    async with write_transaction(), record_race():
        keys = [p.record_key for p in prepared if p.record_key]
        numbers, stored, records_deleted = await _places_and_stored(space_id, writer.keys, keys, len(prepared))
        blocked_days = await _refuse_second_day_counts(space_id, writer, prepared, zone)
        found, placed = _resolve(writer, prepared, blocked_days=blocked_days, stored=stored)
        _refuse_other_types(prepared, found)
        # Where an app's record was ever deleted in the space, which of the records this writer has
        # none of its own under (one it sees, _resolve: a key held only by a measure hidden from it
        # is looked up as if that one were not there) were deleted; nowhere else (None).
        deleted = (
            await _deleted_records(
                space_id, writer.keys, [p.record_key for p in prepared if p.record_key and p.index not in found]
            )
            if records_deleted
            else None
        )
        places = iter(numbers.seqs)
        fresh = iter(new_ids(len(prepared)))
        created: list[tuple[str, tuple[Any, ...]]] = []
        created_hidden: list[bool] = []
        replaced: list[tuple[Any, ...]] = []
        newly_hidden: list[tuple[UUID, UUID, str, int, int]] = []
        differing_days: list[FieldError] = []
        for p in prepared:
            known = found.get(p.index)
            result: Result
            origin = imported[p.index] if imported is not None else None
            # (A batch none of whose records was deleted, nearly every one, skips the lookup: 0.47 us a measure.)
            gone = _deleted_record(writer, p, deleted) if known is None and deleted else None
            if gone is not None and (keep_stored or p.item.client_record_version <= gone.version):
                # Deleted since it was sent: sent again as it was, it does not come back.
                items.append(ItemResult(id=gone.id, result="unchanged"))
                continue
            if known is None:
                hidden = origin.hidden if origin is not None else p.item.hidden_from_representatives
                measurement_id, created_at, result = next(fresh), now, "created"
            elif not keep_stored and p.item.client_record_version > known.version:
                if p.item.type == STEPS_PER_DAY and known.local_date not in (None, p.local_date):
                    # A day's count is that day's, as a correction by hand keeps it (PATCH): a higher
                    # version moved it to another day, and the day it left took a new one (an
                    # outside audit).
                    differing_days.append(_moved_count(p, known))
                    continue
                # A replacement keeps the measure's identity, creation time and who may see it (and
                # hides it if it says so).
                hidden = known.hidden or p.item.hidden_from_representatives
                measurement_id, created_at, result = known.id, known.created_at, "replaced"
            else:
                if not keep_stored and _another_count_of_the_day(p, known):
                    differing_days.append(_differing_day(p, known))
                items.append(ItemResult(id=known.id, result="unchanged"))
                continue
            # A replaced record stays under its writer key; a new one goes where _resolve placed it.
            key = known.writer if known is not None else placed[p.index]
            place = (numbers.xid, next(places))
            if known is not None and hidden and not known.hidden:
                newly_hidden.append((measurement_id, space_id, p.item.type, *place))
            row = _row(
                p,
                space_id,
                measurement_id=measurement_id,
                created_at=created_at,
                hidden=hidden,
                writer=writer,
                key=key,
                source=source,
                now=now,
                place=place,
                original_source=_source_json(origin.original_source)
                if origin is not None and origin.original_source is not None
                else None,
            )
            if result == "created":
                created.append((p.record_key or "", row))
                created_hidden.append(hidden)
            else:
                replaced.append(row)
            items.append(ItemResult(id=measurement_id, result=result))
        _refuse(differing_days)
        if len(created_hidden) == 1 or (created_hidden and all(created_hidden)):
            # The request's history row names the measure it created (or one of those it created
            # hidden): whom they are hidden from, now or later, is not shown the row either.
            access.names_new_item(next(i.id for i in items if i.result == "created"), "vitals")
        # New records go in by COPY (PostgreSQL's CPU per measure: the upsert's 31 us against
        # COPY's 15, measured by make bench; a batch of a few, by one INSERT: copy_rows), in the
        # order of their keys: two batches racing on records they share insert them in one order,
        # so one waits for the other and then fails on the unique index (record_race) rather than
        # both deadlocking. The upsert stays for replacements, whose rows the lookup locked.
        created.sort(key=lambda keyed: keyed[0])
        await copy_rows("vital_measurements", INSERT_COLUMNS, rows=[row for _, row in created])
        if deleted is not None and is_postgres(current()):
            await _refuse_records_deleted_meanwhile(space_id, writer, created, deleted)
        await insert_rows("vital_measurements", INSERT_COLUMNS, rows=replaced, suffix=UPSERT_SUFFIX)
        await place_hides(newly_hidden)
    return BatchResult(items=items)


async def _refuse_records_deleted_meanwhile(
    space_id: UUID,
    writer: Writer,
    created: list[tuple[str, tuple[Any, ...]]],
    deleted: dict[tuple[str, str], _Deleted],
) -> None:
    """PostgreSQL, in a space that had a deletion: a record this batch has just created that someone
    deleted since the batch looked the deleted records up. The same record was stored by a
    concurrent batch, which committed after this one's lookup of the live records, and then deleted
    (by someone holding its id) before this one's ``COPY``: the ``COPY`` met no live row and stored
    it again, bringing back a deleted measure (a review; the window runs from the batch's first
    statement to its ``COPY``, lock waits included). A statement after the ``COPY`` sees that
    deletion: the ``COPY`` waited for a deletion under way, and one committed before it is older
    still. The batch then runs again from the start (:class:`RecordRace`) and finds the deleted
    record. A batch that read its space's row of ``vital_deletion_free_spaces`` needs no such
    statement: it took the space's deletions lock (shared) at the end of its first statement, which
    a first deletion's trigger waits for, and the deletion writes the deleted record (firing the
    trigger) before it deletes the measure (``ens.vitals.measurement.delete_measurement``), so the
    batch's ``COPY`` meets the live measure and runs again. (One whose try of the lock failed read no
    row: it looked the deleted records up, and comes here.)"""
    keys = [key for key, _ in created if key]
    if not keys:
        return
    now_deleted = await _deleted_records(space_id, writer.keys, keys)
    if any(deleted.get(record) != gone for record, gone in now_deleted.items()):
        raise RecordRace


def _another_count_of_the_day(p: _Prepared, known: _Stored) -> bool:
    """A day's step count sent without its own ``clientRecordId`` at the stored version, whose
    value is not the one stored for that day: "unchanged" would drop it without a word (a person
    typing the day's count again in the evening, an app unaware of versions). A re-send of the
    same count stays "unchanged" (a retry), so does a lower version (a late one: sending it
    higher would put the older count back)."""
    if p.item.client_record_id is not None or p.canonical.value is None:
        return False
    if p.item.client_record_version < known.version:
        return False  # an older version arriving late (an offline queue): out of date, "unchanged"
    return known.value is None or float(p.canonical.value) != known.value


def _differing_day(p: _Prepared, known: _Stored) -> FieldError:
    return FieldError(
        f"/measurements/{p.index}/value",
        f"{p.local_date} already has another step count from this source (measure {known.id}): "
        "correct it (PATCH, if typed by hand) or send the count with a higher clientRecordVersion",
    )


def _moved_count(p: _Prepared, known: _Stored) -> FieldError:
    return FieldError(
        f"/measurements/{p.index}/effectiveAt",
        f"a steps_per_day count stays on its day: this clientRecordId is the count of {known.local_date}; "
        f"send {p.local_date}'s count under another one",
    )


async def was_deleted(space_id: UUID, measurement_id: UUID) -> bool:
    """Whether ``measurement_id`` is a deleted record of the space's that its app may not bring back
    (``vital_deleted_records``): what an ``unchanged`` answer names when the measure is gone."""
    found = await fetch_one(
        "SELECT 1 AS deleted FROM vital_deleted_records WHERE space_id = {} AND id = {}", space_id, measurement_id
    )
    return found is not None


def _deleted_record(writer: Writer, p: _Prepared, deleted: dict[tuple[str, str], _Deleted]) -> _Deleted | None:
    """The deletion of the record ``p`` sends again, under one of the writer's keys, if any."""
    if p.record_key is None:
        return None
    return next((deleted[(key, p.record_key)] for key in writer.keys if (key, p.record_key) in deleted), None)


def _refuse_other_types(prepared: list[_Prepared], found: dict[int, _Stored]) -> None:
    """A record keeps its type: a re-send under a ``clientRecordId`` that holds a measure of another
    type would replace it, with only the new type's write scope (an app allowed heart rates only
    would erase a weight it may not delete). ``found``: the records the writer sees (:func:`_resolve`)."""
    errors = [
        FieldError(
            f"/measurements/{p.index}/clientRecordId",
            f"'{p.record_key}' is already the record of a {known.type} measure: a record keeps its type",
        )
        for p in prepared
        if (known := found.get(p.index)) is not None and known.type != p.item.type
    ]
    _refuse(errors)


async def _refuse_second_day_counts(
    space_id: UUID, writer: Writer, prepared: list[_Prepared], zone: ZoneInfo
) -> set[date]:
    """One step count per day and writer, across batches too: a day's count is re-sent under the
    record that holds it (its clientRecordId, or none for one keyed on its day), with a higher
    version; under another key it would be a second count of the day, counted twice by the
    summaries. (Two batches racing with two keys for one day can still both pass: rare, and the
    holder sees both.) Read by the summary's index: the writer's counts of those days, a few rows.

    Among the counts the writer sees only (:class:`Writer`): a count hidden from it neither refuses
    nor is named. The days whose only counts under the app's key are hidden from it are returned:
    a new count of such a day goes under the writer's own key (:func:`_resolve`), so the app's key
    never holds two counts of a day (the holder, who sees both, sees two counts that day, as from two
    apps; the writer's own key may hold one it sees beside one the holder hid since).

    An import's counts are each the record of its former id (its ``clientRecordId``), whatever
    their day: an export says which source counted, not under which writer, and a space holds two
    counts of one source on one day (a moved space's watch re-sending the days the import brought,
    an app's count beside the one a representative's connection of it made on a day the holder
    hid): refused, a holder's own export did not import (an outside audit, then a review)."""
    steps = [p for p in prepared if p.item.type == STEPS_PER_DAY]
    if not steps or writer.kind == "import":
        return set()
    days = sorted({p.local_date for p in steps})
    writers = ", ".join(["{}"] * len(writer.keys))
    rows = await fetch(
        "SELECT id, client_record_id, local_date, writer, hidden_from_representatives FROM vital_measurements "
        "WHERE space_id = {} AND type = {} "
        f"AND effective_at >= {{}} AND effective_at < {{}} AND writer IN ({writers})",
        space_id,
        STEPS_PER_DAY,
        local_midnight(days[0], zone),
        local_midnight(days[-1] + timedelta(days=1), zone),
        *writer.keys,
    )
    held: dict[date | None, dict[str | None, UUID]] = {}
    blocked: set[date] = set()
    for row in rows:
        day = as_date(row["local_date"])
        if writer.sees_hidden or not row["hidden_from_representatives"]:
            held.setdefault(day, {})[row["client_record_id"]] = as_uuid(row["id"])
        elif row["writer"] == writer.key and day is not None:
            blocked.add(day)
    # A day that holds two counts already (stored before this rule) takes a re-send of either.
    _refuse(
        [
            FieldError(
                f"/measurements/{p.index}/effectiveAt",
                f"steps_per_day takes one value per day: {p.local_date} has measure {next(iter(keys.values()))} "
                f"already; {_how_to_resend(next(iter(keys)))} with a higher clientRecordVersion",
            )
            for p in steps
            if (keys := held.get(p.local_date)) and p.record_key not in keys
        ]
    )
    return blocked


def _how_to_resend(record_key: str | None) -> str:
    """How an app sends a day's stored count again: under its ``clientRecordId``, or, when the count
    was sent without one (kept under ``day:<date>``, which no app may send), without one. The advice
    had named "its clientRecordId" for both, and an app following it sent ``day:...``: 422 again (an
    outside audit)."""
    if record_key is None or record_key.startswith(DAY_KEY):
        return "send it again without clientRecordId (its day is its record)"
    return f"send it again under its clientRecordId {record_key!r}"


def _refuse(errors: list[FieldError]) -> None:
    """A batch with bad measures is refused whole: a 422 naming each one."""
    if errors:
        raise Invalid(
            f"{len({e.pointer.split('/')[2] for e in errors})} measurement(s) refused; nothing was stored.", errors
        )


def _source_json(source: tuple[str, str]) -> str:
    return msgspec.json.encode({"clientId": source[0], "name": source[1]}).decode()
