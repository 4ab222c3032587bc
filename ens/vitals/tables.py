"""Vital measurements, their deletion tombstones, and each space's change-feed counter.

Every table carries ``space_id`` and every index starts with it (see ENGINEERING.md, Scale).
"""

from __future__ import annotations

from piccolo.columns import UUID, BigInt, Boolean, Date, DoublePrecision, Text, Timestamptz, Varchar
from piccolo.table import Table


class VitalMeasurement(Table, tablename="vital_measurements"):
    """One measure in its canonical unit, with the value and unit it was sent in.

    ``writer`` is who owns ``client_record_id`` (``app:<client id>`` or ``person:<account id>``);
    ``seq`` is the measure's place in its space's change feed, renewed on every change.
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
    # The measure as the API shows it, written with the row (ens.vitals.representation).
    body = Text(default="")
    # Set by the holder: the space's representatives never see this measure (CSP R1111-50).
    hidden_from_representatives = Boolean(default=False)
    # An imported measure: the source it had before (JSON ``{"clientId", "name"}``); its source
    # columns name the import.
    original_source = Text(null=True, default=None)


class VitalTombstone(Table, tablename="vital_tombstones"):
    """A deleted measure, kept (without its data) so phones learn of the deletion, then purged."""

    id = UUID(primary_key=True)
    space_id = UUID()
    type = Varchar(length=32)
    seq = BigInt()
    deleted_at = Timestamptz()


class VitalFeedCounter(Table, tablename="vital_feed_counters"):
    """The last change number handed out in a space, and the highest one purged.

    Taken with ``UPDATE ... RETURNING`` inside each writing transaction: the row lock makes the
    writers of one space commit in the order of their numbers, so a reader never sees change
    ``n + 1`` before change ``n`` (a sequence cannot promise that on PostgreSQL).
    """

    space_id = UUID(primary_key=True)
    last_seq = BigInt(default=0)
    purged_seq = BigInt(default=0)
