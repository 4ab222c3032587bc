"""Vital measurements, their deletion tombstones, and each space's change-feed counter.

Every table carries ``space_id`` and every index starts with it (see ENGINEERING.md, Scale).
"""

from __future__ import annotations

from typing import ClassVar

from piccolo.columns import UUID, BigInt, Boolean, Date, DoublePrecision, Text, Timestamptz, Varchar
from piccolo.table import Table


class VitalMeasurement(Table, tablename="vital_measurements"):
    """One measure in its canonical unit, with the value and unit it was sent in.

    ``writer`` is who owns ``client_record_id`` (``app:<client id>``, ``person:<account id>``,
    ``import:<import id>``, or ``app:<client id>:rep:<account id>`` for an app a representative
    connected, where a measure hidden from them holds the key: ``ens.vitals.ingest.Writer``);
    ``(feed_xid, seq)`` is the measure's place in its space's change feed, renewed on every change
    (``ens.vitals.feed``).
    """

    id = UUID(primary_key=True)
    space_id = UUID()
    type = Varchar(length=32)
    value = DoublePrecision(null=True, default=None)
    systolic = DoublePrecision(null=True, default=None)
    diastolic = DoublePrecision(null=True, default=None)
    original_value = Text()
    original_unit = Varchar(length=16)
    effective_at = Timestamptz()
    local_date = Date()
    recording_method = Varchar(length=16)
    writer = Varchar(length=200)
    source_kind = Varchar(length=16)
    source_client_id = Varchar(length=128)
    source_name = Varchar(length=255)
    client_record_id = Varchar(length=128, null=True, default=None)
    client_record_version = BigInt(default=0)
    device_manufacturer = Varchar(length=255, null=True, default=None)
    device_model = Varchar(length=255, null=True, default=None)
    device_identifier = Varchar(length=255, null=True, default=None)
    body_position = Varchar(length=32, null=True, default=None)
    measurement_location = Varchar(length=64, null=True, default=None)
    glucose_moment = Varchar(length=32, null=True, default=None)
    note = Text(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    seq = BigInt()
    # PostgreSQL: the id of the transaction that wrote this version (0 on SQLite, and before 2026-12-06).
    feed_xid = BigInt(default=0)
    # The measure as the API shows it, written with the row (ens.vitals.representation).
    body = Text(default="")
    # Set by the holder: the space's representatives never see this measure (CSP R1111-50).
    hidden_from_representatives = Boolean(default=False)
    # Ever visible to the representatives (added visible, or shown since): a measure that never was
    # is nothing in their change feed, its deletion neither (ens.vitals.feed).
    shown_to_representatives = Boolean(default=True)
    # An imported measure: the source it had before (JSON ``{"clientId", "name"}``); its source
    # columns name the import.
    original_source = Text(null=True, default=None)


class VitalTombstone(Table, tablename="vital_tombstones"):
    """A deleted measure, kept (without its data) so phones learn of the deletion, then purged."""

    id = UUID(primary_key=True)
    space_id = UUID()
    type = Varchar(length=32)
    seq = BigInt()
    feed_xid = BigInt(default=0)
    deleted_at = Timestamptz()
    # The measure was hidden from representatives: a representative's first sync leaves it out.
    hidden_from_representatives = Boolean(default=False)
    # The measure was ever visible to them: a representative's feed leaves out one that never was.
    shown_to_representatives = Boolean(default=True)


class VitalHide(Table, tablename="vital_hides"):
    """A measure shown to the space's representatives, then hidden from them: to them, a deletion,
    at the hide's place in the change feed (``ens.vitals.feed``). While the measure stays hidden its
    own row and its tombstone are nothing in their feed, so its later changes tell them nothing.
    Removed when the measure is shown again; ``deleted_at`` set when it is deleted hidden, then
    purged with its tombstone. ``shown_xid``, ``shown_seq``: the place the measure took when it was
    added, if it was not changed before the hide (a representative whose feed has not reached it
    never had the measure: told nothing); null, the hide is sent to every representative past it."""

    id = UUID(primary_key=True)
    space_id = UUID()
    type = Varchar(length=32)
    seq = BigInt()
    feed_xid = BigInt(default=0)
    deleted_at = Timestamptz(null=True, default=None)
    shown_xid = BigInt(null=True, default=None)
    shown_seq = BigInt(null=True, default=None)


class VitalDeletedRecord(Table, tablename="vital_deleted_records"):
    """A measure an app sent under a ``clientRecordId`` and someone deleted: the same record sent
    again at the same or a lower version is ``unchanged`` (nothing stored), so an app's routine
    re-sync does not bring back what the holder deleted; a higher version is a new measure. One row
    per (space, writer, record), the deleted measure's id and the highest version deleted; kept as
    long as the space (no data of the measure in it)."""

    id = UUID(primary_key=True)
    space_id = UUID()
    writer = Varchar(length=200)
    client_record_id = Varchar(length=128)
    client_record_version = BigInt()
    deleted_at = Timestamptz()


class VitalDeletionFreeSpace(Table, tablename="vital_deletion_free_spaces"):
    """A space where no app's record was ever deleted (no row of :class:`VitalDeletedRecord`): an
    app's batch into it does not look its keys up among the deleted records (``ens.vitals.ingest``).

    Made with its space by a trigger on ``spaces``, deleted by a trigger on
    ``vital_deleted_records`` in the transaction of the space's first deletion (migration
    ``m2026_12_31_0900``). Never made again by the service: a deletion in a space without a row takes
    no lock here, so a row made beside it could miss its record and let the app's re-sync bring the
    measure back; ``ens vitals recheck-deletions`` locks each space's row first
    (``ens.vitals.deletion_flags``)."""

    # Made with every space: a row here is nothing a person put in it (ens.spaces.service.closing.holds_data).
    holds_no_data: ClassVar[bool] = True

    space_id = UUID(primary_key=True)


class VitalFeedCounter(Table, tablename="vital_feed_counters"):
    """Per space: the last change number handed out (SQLite), and the newest feed position purged.

    On SQLite, the one writer at a time takes its numbers from this row, so numbers follow commits.
    On PostgreSQL numbers come from the sequence ``vital_feed_seq`` and the feed orders by the
    writing transaction first (``ens.vitals.feed``): no row is locked, writers of one space run
    side by side; the row then only keeps the purged position.
    """

    space_id = UUID(primary_key=True)
    last_seq = BigInt(default=0)
    purged_seq = BigInt(default=0)
    purged_xid = BigInt(default=0)
