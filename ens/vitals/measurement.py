"""One stored measure: read it, correct it by hand, delete it (leaving a tombstone in the feed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from msgspec import Raw

from ens.core import clock
from ens.core.api import NOTHING_VISIBLE
from ens.core.db import Row, fetch, fetch_one, row_lock, write_transaction
from ens.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from ens.core.local_time import zone_of
from ens.spaces.door import SpaceAccess, visible_to
from ens.vitals.catalogue import BLOOD_PRESSURE, BY_CODE, STEPS_PER_DAY
from ens.vitals.feed import FeedNumbers, Place, hidden_measure_deleted, place_hide, take_feed_numbers
from ens.vitals.ingest import keeps_deleted_records, sent_by_app
from ens.vitals.reads import measurements_sql, raw
from ens.vitals.representation import encoded, measurement_body
from ens.vitals.rules import check_after_birth, check_context, check_time, check_values, float_or_none
from ens.vitals.schemas import Components, MeasurementRead, MeasurementUpdate, blank_texts
from ens.vitals.scopes import scope_name

_MEASUREMENT = msgspec.json.Decoder(MeasurementRead)


async def _measure_row(access: SpaceAccess, measurement_id: UUID, *, for_update: bool = False) -> Row:
    """The measure's ``body`` (as the API shows it) and what the rules need: type, writer, source.
    A measure hidden from representatives does not exist for them. ``for_update`` (in a write
    transaction): on PostgreSQL the row stays locked until commit, so two changes of one measure
    are made one after the other, the second checking its If-Match against the first's result
    (SQLite's writers already queue)."""
    sql = measurements_sql(where="m.space_id = {} AND m.id = {}" + visible_to(access, alias="m")).replace(
        " AS body FROM",
        " AS body, m.type, m.writer, m.source_kind, m.source_name, m.hidden_from_representatives AS hidden,"
        " m.shown_to_representatives AS shown, m.client_record_id, m.client_record_version,"
        " m.feed_xid AS place_xid, m.seq AS place_seq, m.updated_at = m.created_at AS unchanged FROM",
    )
    if for_update:
        sql += row_lock("UPDATE")
    row = await fetch_one(sql, access.space_id, measurement_id)
    if row is None:
        raise NotFound("No such measurement in this space.")
    return row


async def get_measurement(access: SpaceAccess, measurement_id: UUID) -> Raw:
    """One measure, if the caller may read its type."""
    row = await _measure_row(access, measurement_id)
    if not access.may(scope_name(row["type"], "read")):
        raise NotFound("No such measurement in this space.")
    return raw(row["body"])


async def was_deleted_in_view(access: SpaceAccess, measurement_id: UUID) -> bool:
    """Whether ``measurement_id`` names a measure deleted from this space that the caller could
    read when it was there: its tombstone (``vital_tombstones``, kept for the change feed's
    retention, found by its primary key), of a type the caller may read, not hidden from them.
    Outside that, a deleted measure is as one that never was (not found): the answer tells neither
    another space's caller, nor an app without the type's read scope, nor a representative the
    measure hidden from them, that it existed. After the feed's purge the server no longer knows."""
    row = await fetch_one(
        "SELECT t.type FROM vital_tombstones t WHERE t.space_id = {} AND t.id = {}" + visible_to(access, alias="t"),
        access.space_id,
        measurement_id,
    )
    return row is not None and access.may(scope_name(row["type"], "read"))


async def correct_measurement(
    access: SpaceAccess, measurement_id: UUID, *, update: MeasurementUpdate, if_match: str | None
) -> Raw:
    """Correct a measure typed by hand. An app's measures are corrected by the app (higher version)."""
    from ens.core.api import require_if_match

    if not access.is_person:
        raise Forbidden("Apps correct their measures by re-sending them with a higher clientRecordVersion.")
    blank = blank_texts({"note": update.note, "measurementLocation": update.measurement_location})
    if blank:
        raise Invalid(
            "The correction breaks a rule; nothing was changed.",
            [FieldError(f"/{name}", NOTHING_VISIBLE) for name in blank],
        )
    requested = access.hiding(update.hidden_from_representatives)
    now = clock.now()
    async with write_transaction():
        row = await _measure_row(access, measurement_id, for_update=True)
        current = _MEASUREMENT.decode(row["body"])
        require_if_match(if_match, row["body"].encode())
        changed = access.hiding_change(current.hidden_from_representatives, requested, _taken_by(row), noun="measures")
        hidden = current.hidden_from_representatives if changed is None else changed
        # Where the measure was first shown, if its row is still there (see ens.vitals.feed.place_hides).
        shown = (int(row["place_xid"]), int(row["place_seq"])) if row["unchanged"] else None
        if not update.corrects_values():
            return await _set_hidden(access, measurement_id, current, hidden=hidden, now=now, shown=shown)
        if row["source_kind"] != "person":
            raise Conflict(
                f"This measure was sent by {row['source_name']}; only measures typed by hand can be corrected."
            )
        access.refuse_a_professional_on_others(_taken_by(row), verb="corrects", noun="measures")
        vital = BY_CODE[row["type"]]
        errors: list[FieldError] = []
        unit = update.unit if isinstance(update.unit, str) else current.original_unit
        new_value = not isinstance(update.value, msgspec.UnsetType) or not isinstance(
            update.components, msgspec.UnsetType
        )
        typed_in = vital.conversion(current.original_unit)
        if new_value and not isinstance(update.unit, str) and not (typed_in is not None and typed_in.identity):
            # Typed in one unit, read in another (150 [lb_av], read as 68.039 kg): a new value alone
            # could mean either, and the wrong one stores another weight without a word. (A unit
            # that is the canonical one under another name, steps' /d, is not ambiguous.)
            errors.append(
                FieldError(
                    "/unit",
                    f"required with a new value: this measure was typed in {current.original_unit} and reads "
                    f"in {current.unit}; say which unit the value is in",
                )
            )
        if not new_value and isinstance(update.unit, str) and update.unit != current.original_unit:
            # A unit alone re-read the number typed in another one: 151 [lb_av] became 151 kg (an
            # outside audit).
            errors.append(
                FieldError(
                    "/unit",
                    f"only with a new value: this measure was typed in {current.original_unit}; send the "
                    "value in the unit you give",
                )
            )
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
        canonical = check_values(vital, unit, value=value, components=components, prefix="", errors=errors)
        effective_at = update.effective_at if isinstance(update.effective_at, datetime) else current.effective_at
        zone = zone_of(access.space.timezone)
        if check_time(effective_at, now, prefix="", errors=errors) and effective_at != current.effective_at:
            # Only a moved measure is checked: one stored before the rule stays correctable, its
            # effectiveAt sent back as it is too (an app's form sends every field: a review).
            check_after_birth(effective_at.astimezone(zone).date(), access.space.birthdate, prefix="", errors=errors)
        if (
            current.type == STEPS_PER_DAY
            and effective_at.astimezone(zone).date() != current.effective_at.astimezone(zone).date()
        ):
            # A day's count is that day's (one value per day, recorded under its day): another
            # day's count is another measure.
            errors.append(FieldError("/effectiveAt", "a steps_per_day count stays on its day"))
        glucose_moment = _kept(update.glucose_moment, current.glucose_moment)
        check_context(vital, glucose_moment, prefix="", errors=errors)
        if errors or canonical is None:
            raise Invalid("The correction breaks a rule; nothing was changed.", errors)
        numbers = await take_feed_numbers(access.space_id, 1)
        values = (float_or_none(canonical.value), float_or_none(canonical.systolic), float_or_none(canonical.diastolic))
        original = msgspec.json.encode(canonical.original).decode()
        context = (
            _kept(update.body_position, current.body_position),
            _kept(update.measurement_location, current.measurement_location),
            glucose_moment,
        )
        note = _kept(update.note, current.note)
        device = current.device
        body = measurement_body(
            measurement_id=measurement_id,
            vital_type=current.type,
            value=values[0],
            systolic=values[1],
            diastolic=values[2],
            original_value=original,
            original_unit=unit,
            # Shown in UTC, as a recorded measure's (a correction sent at -05:00 kept its offset in the
            # body every read gives: an outside audit).
            effective_at=effective_at.astimezone(UTC),
            recording_method=current.recording_method,
            source_client_id=current.source.client_id,
            source_name=current.source.name,
            device=(device.manufacturer, device.model, device.identifier) if device else (None, None, None),
            context=context,
            note=note,
            created_at=current.created_at,
            updated_at=now,
            hidden_from_representatives=hidden,
        )
        await fetch(
            """UPDATE vital_measurements SET value = {}, systolic = {}, diastolic = {}, original_value = {},
                   original_unit = {}, effective_at = {}, local_date = {}, body_position = {},
                   measurement_location = {}, glucose_moment = {}, note = {}, updated_at = {}, seq = {}, feed_xid = {},
                   body = {}, hidden_from_representatives = {},
                   shown_to_representatives = shown_to_representatives OR {}
               WHERE space_id = {} AND id = {}""",
            *values,
            original,
            unit,
            effective_at.astimezone(UTC),
            effective_at.astimezone(zone_of(access.space.timezone)).date(),
            *context,
            note,
            now,
            numbers.seqs[0],
            numbers.xid,
            body,
            hidden,
            not hidden,
            access.space_id,
            measurement_id,
        )
        await _place_hide(access, current, hidden=hidden, numbers=numbers, shown=shown)
        return Raw(body.encode())


async def _set_hidden(
    access: SpaceAccess,
    measurement_id: UUID,
    current: MeasurementRead,
    *,
    hidden: bool,
    now: datetime,
    shown: Place | None,
) -> Raw:
    """Hide a measure from the representatives, or show it again: any measure, an app's too. It
    takes a new change number, so the representatives' feed tells them it is gone (or back)."""
    if hidden == current.hidden_from_representatives:
        return Raw(encoded(current))
    numbers = await take_feed_numbers(access.space_id, 1)
    body = encoded(msgspec.structs.replace(current, hidden_from_representatives=hidden, updated_at=now))
    await fetch(
        "UPDATE vital_measurements SET hidden_from_representatives = {}, updated_at = {}, seq = {}, feed_xid = {}, "
        "body = {}, shown_to_representatives = shown_to_representatives OR {} WHERE space_id = {} AND id = {}",
        hidden,
        now,
        numbers.seqs[0],
        numbers.xid,
        body.decode(),
        not hidden,
        access.space_id,
        measurement_id,
    )
    await _place_hide(access, current, hidden=hidden, numbers=numbers, shown=shown)
    return Raw(body)


async def _place_hide(
    access: SpaceAccess, current: MeasurementRead, *, hidden: bool, numbers: FeedNumbers, shown: Place | None
) -> None:
    """The hide's place in the representatives' feed, for a change of ``current`` at ``numbers``."""
    was = current.hidden_from_representatives
    await place_hide(
        access.space_id, current.id, current.type, was_hidden=was, hidden=hidden, numbers=numbers, shown=shown
    )


def _original_float(original: float | Any) -> float | None:
    return original if isinstance(original, float | int) else None


def _kept(update: Any, current: str | None) -> str | None:
    return current if update is msgspec.UNSET else update


def _taken_by(row: Row) -> str | None:
    """The account of the person who took the measure (its writer is ``person:<account id>``),
    ``None`` for an app's or an import's. A professional's right to write measures is to take them:
    they correct or remove theirs, not the person's own, an app's or another professional's
    (:meth:`SpaceAccess.refuse_a_professional_on_others`; hiding one on a minor's space, at the
    minor's request, is another matter: any measure)."""
    kind, _, account = str(row["writer"]).partition(":")
    return account if kind == "person" else None


async def delete_measurement(access: SpaceAccess, measurement_id: UUID, *, if_match: str | None) -> None:
    """Delete a measure, leaving a tombstone in the change feed (purged after the retention)."""
    from ens.core.api import require_if_match

    now = clock.now()
    async with write_transaction():
        row = await _measure_row(access, measurement_id, for_update=True)
        if not access.is_person:
            # Its measures whoever connected it (the holder or a representative: ingest.Writer); the
            # ones hidden from the caller were not found above. A measure the app may not read and
            # did not send does not exist for it, as for GET: a 403 told it the measure's type.
            its_own = sent_by_app(str(row["writer"]), access.caller.client_id)
            if not its_own and not access.may(scope_name(row["type"], "read")):
                raise NotFound("No such measurement in this space.")
            if not access.may(scope_name(row["type"], "write")):
                raise Forbidden(f"This app's authorization lacks vitals.{row['type']}:write.")
            if not its_own:
                raise Forbidden("An app may delete only the measures it sent.")
        access.refuse_a_professional_on_others(_taken_by(row), verb="removes", noun="measures")
        require_if_match(if_match, row["body"].encode())
        numbers = await take_feed_numbers(access.space_id, 1)
        if row["client_record_id"] is not None and keeps_deleted_records(str(row["writer"])):
            # Before the DELETE: a space's first deletion waits here for the batches in flight (the
            # trigger's deletions lock) with the measure still live, so a batch's COPY of its record
            # fails at once on the unique index and runs again. Deleted first, the measure made that
            # COPY wait for the deletion, which waited for the batch: a deadlock, PostgreSQL ended
            # the deletion after a second (503; a review).
            # Sent again by its app at this version or a lower one (a re-sync), it is not brought back.
            await fetch(
                "INSERT INTO vital_deleted_records (id, space_id, writer, client_record_id, client_record_version, "
                "deleted_at) VALUES ({}, {}, {}, {}, {}, {}) ON CONFLICT (space_id, writer, client_record_id) "
                "DO UPDATE SET id = excluded.id, deleted_at = excluded.deleted_at, client_record_version = CASE "
                "WHEN excluded.client_record_version > vital_deleted_records.client_record_version "
                "THEN excluded.client_record_version ELSE vital_deleted_records.client_record_version END",
                measurement_id,
                access.space_id,
                row["writer"],
                row["client_record_id"],
                int(row["client_record_version"]),
                now,
            )
        await fetch("DELETE FROM vital_measurements WHERE space_id = {} AND id = {}", access.space_id, measurement_id)
        await fetch(
            "INSERT INTO vital_tombstones (id, space_id, type, seq, feed_xid, deleted_at, hidden_from_representatives, "
            "shown_to_representatives) VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
            measurement_id,
            access.space_id,
            row["type"],
            numbers.seqs[0],
            numbers.xid,
            now,
            bool(row["hidden"]),
            bool(row["shown"]),
        )
        if row["hidden"]:
            await hidden_measure_deleted(access.space_id, measurement_id, now)
