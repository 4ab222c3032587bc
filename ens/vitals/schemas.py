"""Request and response bodies of the vitals API (camelCase on the wire)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, Raw, UnsetType

from ens.core.api import ReadStruct, Struct, is_visible

RecordingMethod = Literal["manual", "automatic", "active"]
GlucoseMoment = Literal["fasting", "before_meal", "after_meal", "bedtime", "random"]
BodyPosition = Literal["sitting", "standing", "lying", "reclining"]
Bucket = Literal["day", "week", "month"]
Result = Literal["created", "replaced", "unchanged"]

# Something visible, or the field left out: a blank note, place or device name says nothing, and
# was stored as said (an outside audit), where every other text of a space refuses it. Checked by
# :func:`blank_texts`, not by a pattern in the schema: with one, the fuzzer's generated batches
# mostly failed to build, and its chains from a created measure fell from 31 to 7 (measured).
ShortText = Annotated[str, Meta(min_length=1, max_length=255)]
Note = Annotated[str, Meta(max_length=2000)]


def blank_texts(texts: Mapping[str, object]) -> list[str]:
    """The names (JSON Pointer tokens) of the texts with nothing visible among ``texts``, whose
    values may also be None or unset (left out)."""
    return [name for name, text in texts.items() if isinstance(text, str) and not is_visible(text)]


def all_visible(*texts: str | None) -> bool:
    """Whether :func:`blank_texts` finds nothing among ``texts`` (``None``: left out), without naming
    them: a batch asks it of every measure's device (0.32 us against 0.60, measured in-process)."""
    for text in texts:
        if text is not None and not is_visible(text):
            return False
    return True


AwareDatetime = Annotated[datetime, Meta(tz=True)]

# An instant of RFC 3339 with a fraction of a second, microseconds and beyond (the 7 digits of a
# .NET DateTime's ticks): ``date T time.ffffff`` (T, t or a space, as msgspec reads it) then the
# digits msgspec would round with.
_BEYOND_MICROSECONDS = re.compile(r"([T ]\d\d:\d\d:\d\d\.\d{6})\d+", re.IGNORECASE)
# Where an instant's fraction begins (after YYYY-MM-DDTHH:MM:SS), and its seventh digit.
_FRACTION, _SEVENTH_DIGIT = 19, 26


def to_microseconds(item: Any) -> Any:
    """A measure's item with its ``effectiveAt`` cut to microseconds (the instants' precision here),
    not rounded: msgspec rounds, so 23:59:59.9999999, a .NET client's last tick of a day, was the
    next day's 00:00:00 and its step count that day's. Anything else is left for the item's checks."""
    text = item.get("effectiveAt") if isinstance(item, dict) else None
    # Only an instant whose fraction may have a seventh digit goes to the expression (which decides):
    # run on every measure, it was 1.6 us of each (4 % of a batch's server time, profiled).
    if (
        isinstance(text, str)
        and text[_FRACTION : _FRACTION + 1] == "."
        and text[_SEVENTH_DIGIT : _SEVENTH_DIGIT + 1].isdigit()
    ):
        cut = _BEYOND_MICROSECONDS.sub(r"\1", text, count=1)
        if cut != text:
            return {**item, "effectiveAt": cut}
    return item


# The longest clientRecordId (its column's width).
CLIENT_RECORD_ID_LENGTH = 128

# ---------------------------------------------------------------------------------------------
# Catalogue


class UnitRead(ReadStruct, kw_only=True):
    """An accepted unit: ``canonical = (value + offset) * factor``; ``factor`` is a decimal or ``n/d``."""

    unit: str
    factor: str
    offset: str


class ComponentRead(ReadStruct, kw_only=True):
    code: str
    label: str
    loinc: str
    min: float
    max: float


class VitalTypeRead(ReadStruct, kw_only=True):
    code: str
    label: str
    loinc: str
    unit: str
    units: list[UnitRead]
    min: float
    max: float
    precision: int
    integer: bool
    components: list[ComponentRead]
    required_context: list[str]
    derived: bool
    note: str | None


class VitalTypeList(ReadStruct, kw_only=True):
    items: list[VitalTypeRead]
    next_cursor: str | None = None


# ---------------------------------------------------------------------------------------------
# Writing


class Device(Struct, kw_only=True):
    manufacturer: ShortText | None = None
    model: ShortText | None = None
    identifier: ShortText | None = None


class Components(Struct, kw_only=True):
    systolic: float
    diastolic: float


class MeasurementCreate(Struct, kw_only=True):
    """One item of a batch. Validated one by one (see ``service.record_measurements``)."""

    type: Annotated[str, Meta(min_length=1, max_length=32)]
    value: float | None = None
    components: Components | None = None
    unit: Annotated[str, Meta(min_length=1, max_length=16)]
    effective_at: AwareDatetime
    client_record_id: Annotated[str, Meta(min_length=1, max_length=CLIENT_RECORD_ID_LENGTH)] | None = None
    client_record_version: Annotated[int, Meta(ge=0, le=2**62)] = 0
    recording_method: RecordingMethod | None = None
    device: Device | None = None
    body_position: BodyPosition | None = None
    measurement_location: ShortText | None = None
    glucose_moment: GlucoseMoment | None = None
    note: Note | None = None
    # Created already hidden from the representatives: by whoever may hide (the holder, or a
    # professional on a minor's space, CSP L1111-5), so that a parent never sees it, not even for
    # the moment between its creation and a PATCH hiding it.
    hidden_from_representatives: bool = False


def _items_converted(body: Any) -> Any:
    """A batch's body with its items converted in one call when every one of them converts (each
    instant cut to the microsecond first, as one by one): ~2 us a measure less than a call each.
    If any does not, the body is left as it came, and ``record_measurements`` reads its items one by
    one to name every bad one, as it always has."""
    if isinstance(body, dict) and type(items := body.get("measurements")) is list:
        try:
            converted = msgspec.convert([to_microseconds(item) for item in items], _ITEMS, strict=True)
        except msgspec.ValidationError:
            return body
        return {**body, "measurements": converted}
    return body


class MeasurementBatch(Struct, kw_only=True):
    """1 to 1000 items, each validated on its own so that every bad one is named (the count is
    checked by the service, for the same reason): a batch whose items all convert has them as
    :class:`MeasurementCreate` (converted together), any other keeps them raw."""

    prepare_json: ClassVar[Callable[[Any], Any]] = staticmethod(_items_converted)

    measurements: list[Any]


_ITEMS = list[MeasurementCreate]


class MeasurementUpdate(Struct, kw_only=True):
    """A correction of a measure typed by hand; absent fields are kept, ``null`` clears optional ones.
    A new value or components without ``unit`` are in the unit the measure was typed in, which must
    then be the one it reads in (else 422 at ``/unit``: say which)."""

    # Its body as read, before it is converted (``ens.core.strict_json``).
    prepare_json: ClassVar[Callable[[Any], Any]] = staticmethod(to_microseconds)

    value: float | UnsetType = UNSET
    components: Components | UnsetType = UNSET
    unit: Annotated[str, Meta(min_length=1, max_length=16)] | UnsetType = UNSET
    effective_at: AwareDatetime | UnsetType = UNSET
    body_position: BodyPosition | UnsetType | None = UNSET
    measurement_location: ShortText | UnsetType | None = UNSET
    glucose_moment: GlucoseMoment | UnsetType | None = UNSET
    note: Note | UnsetType | None = UNSET
    # The holder hides the measure from the space's representatives (any measure, an app's too).
    hidden_from_representatives: bool | UnsetType = UNSET

    def corrects_values(self) -> bool:
        """Whether this changes the measure itself, not only who may see it."""
        return any(
            getattr(self, name) is not UNSET for name in self.__struct_fields__ if name != "hidden_from_representatives"
        )


class ItemResult(ReadStruct, kw_only=True):
    id: UUID
    result: Result


class BatchResult(ReadStruct, kw_only=True):
    items: list[ItemResult]


# ---------------------------------------------------------------------------------------------
# Reading


class Source(ReadStruct, kw_only=True):
    client_id: str
    name: str


class DeviceRead(ReadStruct, omit_defaults=True, kw_only=True):
    """What the writing app said of its device; absent parts are omitted."""

    manufacturer: str | None = None
    model: str | None = None
    identifier: str | None = None


class ComponentsRead(ReadStruct, kw_only=True):
    systolic: float
    diastolic: float


class MeasurementRead(ReadStruct, omit_defaults=True, kw_only=True):
    """A stored measure. ``value`` or ``components`` (blood pressure) is present, never both."""

    id: UUID
    type: str
    unit: str
    original_value: float | ComponentsRead
    original_unit: str
    effective_at: datetime
    recording_method: str
    source: Source
    created_at: datetime
    updated_at: datetime
    value: float | None = None
    components: ComponentsRead | None = None
    device: DeviceRead | None = None
    body_position: str | None = None
    measurement_location: str | None = None
    glucose_moment: str | None = None
    note: str | None = None
    # Present (true) only to the holder, on a measure hidden from the representatives.
    hidden_from_representatives: bool = False


class MeasurementPage(ReadStruct, kw_only=True):
    items: list[MeasurementRead]
    next_cursor: str | None


# On the wire, measures are the JSON the database built (``ens.vitals.representation``), embedded
# as they are: these carry them. The typed classes above document the same bytes (OpenAPI, tests).


class RawMeasurementPage(ReadStruct, kw_only=True):
    """:class:`MeasurementPage` with its items as stored: one JSON array joined from their bodies."""

    items: Raw
    next_cursor: str | None


class SummaryItem(ReadStruct, kw_only=True):
    start: date
    count: int
    min: float | ComponentsRead
    max: float | ComponentsRead
    mean: float | ComponentsRead


class Summary(ReadStruct, kw_only=True):
    type: str
    bucket: Bucket
    unit: str
    time_zone: str
    items: list[SummaryItem]
    # The moment a glucose summary was asked of; absent when it is of every measure.
    glucose_moment: GlucoseMoment | UnsetType = UNSET


class Change(ReadStruct, omit_defaults=True, tag_field="op", kw_only=True):
    """Base of the change-feed entries (tagged by ``op``)."""


class UpsertChange(Change, tag="upsert", kw_only=True):
    measurement: MeasurementRead


class DeleteChange(Change, tag="delete", kw_only=True):
    id: UUID


class ChangeFeed(ReadStruct, kw_only=True):
    changes: list[UpsertChange | DeleteChange]
    next_cursor: str
    has_more: bool


class RawUpsertChange(Change, tag="upsert", kw_only=True):
    """:class:`UpsertChange` with its measure as the database's JSON."""

    measurement: Raw


class RawChangeFeed(ReadStruct, kw_only=True):
    """:class:`ChangeFeed` with its measures as the database's JSON."""

    changes: list[RawUpsertChange | DeleteChange]
    next_cursor: str
    has_more: bool


class LatestVital(ReadStruct, omit_defaults=True, kw_only=True):
    """The latest value of one type, for the home-screen summary."""

    type: str
    label: str
    unit: str
    effective_at: datetime
    value: float | None = None
    components: ComponentsRead | None = None


class BmiRead(ReadStruct, kw_only=True):
    value: float
    unit: str
    loinc: str
    weight_at: datetime
    height_at: datetime
