"""The clinical rules of one measure: its type, unit, plausible range, components, time and context.

Each check appends a :class:`ens.core.errors.FieldError` per broken rule (under a JSON pointer), so a batch
can name every bad measure at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from ens.core.errors import FieldError
from ens.core.local_time import EARLIEST_YEAR
from ens.vitals.catalogue import BLOOD_GLUCOSE, BLOOD_PRESSURE, BMI, BY_CODE, UnitConversion, VitalType
from ens.vitals.schemas import Components

CLOCK_SKEW = timedelta(minutes=5)
# Any canonical value beyond this is refused before it is rounded (the plausible ranges are far below).
MAGNITUDE = Decimal(10) ** 9
_BELOW_MAGNITUDE = -MAGNITUDE


@dataclass(slots=True)
class Canonical:  # not frozen: one per measure, and a frozen init costs twice as much
    """A measure's values in the canonical unit, and the original as sent."""

    value: Decimal | None
    systolic: Decimal | None
    diastolic: Decimal | None
    original: float | dict[str, float]


def _exact(number: float) -> Decimal:
    # repr() is the shortest text that reads back as the same float: the decimal the client wrote.
    return Decimal(repr(number))


def _convert(
    vital: VitalType,
    conversion: UnitConversion,
    number: float,
    low: Decimal,
    high: Decimal,
    prefix: str,
    name: str,
    errors: list[FieldError],
) -> Decimal | None:
    """``number`` in the canonical unit, rounded to the type's precision, or ``None`` with the
    reason added to ``errors`` at ``prefix/name`` (the pointer is made only then: this runs for
    every measure of a batch)."""
    canonical = conversion.to_canonical(_exact(number))
    if not _BELOW_MAGNITUDE < canonical < MAGNITUDE:
        # Far outside any plausible range, and too large to round to the type's precision.
        errors.append(FieldError(f"{prefix}/{name}", f"is outside the plausible range {low}-{high} {vital.unit}"))
        return None
    if vital.integer and canonical != canonical.to_integral_value():
        errors.append(FieldError(f"{prefix}/{name}", f"{vital.code} takes whole numbers"))
        return None
    rounded = vital.round(canonical)
    if not low <= rounded <= high:
        errors.append(
            FieldError(
                f"{prefix}/{name}", f"{rounded} {vital.unit} is outside the plausible range {low}-{high} {vital.unit}"
            )
        )
        return None
    return rounded + 0  # -0 read as 0: a pain of -0.0 was stored and answered as -0.0 (an outside audit)


def check_values(
    vital: VitalType,
    unit: str,
    *,
    value: float | None,
    components: Components | None,
    prefix: str,
    errors: list[FieldError],
) -> Canonical | None:
    """Unit, value or components, plausible ranges and cross-component rules of one measure."""
    count = len(errors)
    conversion = vital.conversion(unit)
    if conversion is None:
        accepted = ", ".join(c.unit for c in vital.units)
        errors.append(FieldError(f"{prefix}/unit", f"'{unit}' is not a unit of {vital.code}; accepted: {accepted}"))
    if vital.code == BLOOD_PRESSURE:
        if value is not None:
            errors.append(FieldError(f"{prefix}/value", "blood_pressure takes components, not value"))
        if components is None:
            errors.append(FieldError(f"{prefix}/components", "required for blood_pressure: systolic and diastolic"))
        if len(errors) > count or components is None or conversion is None:
            return None
        systolic_range, diastolic_range = vital.components
        systolic = _convert(
            vital,
            conversion,
            components.systolic,
            systolic_range.min,
            systolic_range.max,
            prefix,
            "components/systolic",
            errors,
        )
        diastolic = _convert(
            vital,
            conversion,
            components.diastolic,
            diastolic_range.min,
            diastolic_range.max,
            prefix,
            "components/diastolic",
            errors,
        )
        if systolic is None or diastolic is None:
            return None
        if systolic <= diastolic:
            errors.append(FieldError(f"{prefix}/components/systolic", "the systolic must be above the diastolic"))
            return None
        original = {"systolic": components.systolic, "diastolic": components.diastolic}
        return Canonical(None, systolic, diastolic, original)
    if components is not None:
        errors.append(
            FieldError(f"{prefix}/components", f"only blood_pressure has components; send value for {vital.code}")
        )
    if value is None:
        errors.append(FieldError(f"{prefix}/value", f"required for {vital.code}"))
    if len(errors) > count or value is None or conversion is None:
        return None
    canonical = _convert(vital, conversion, value, vital.min, vital.max, prefix, "value", errors)
    if canonical is None:
        return None
    return Canonical(canonical, None, None, value)  # (by position: ~0.1 us less a measure)


def check_time(effective_at: datetime, now: datetime, *, prefix: str, errors: list[FieldError]) -> bool:
    """Refuse an ``effectiveAt`` beyond the allowed clock skew, or implausibly old (at
    ``prefix/effectiveAt``, made only then); False if refused.

    The year is looked at first, as written: an instant at the edge of the calendar (year 1 at
    +14:00) cannot even be converted to UTC, so it must be refused before any comparison. The
    earliest year is the instant's: 1900-01-01T05:00+14:00 is still 1899 in UTC, where every read
    and search places it (an outside audit: stored, it was out of reach of ``since``).
    """
    if effective_at.year < EARLIEST_YEAR or (
        effective_at.year == EARLIEST_YEAR and effective_at.astimezone(UTC).year < EARLIEST_YEAR
    ):
        errors.append(FieldError(f"{prefix}/effectiveAt", f"is before {EARLIEST_YEAR}"))
        return False
    if effective_at.year > now.year + 1 or effective_at > now + CLOCK_SKEW:
        errors.append(
            FieldError(f"{prefix}/effectiveAt", "is in the future (more than 5 minutes ahead of the server's clock)")
        )
        return False
    return True


def check_after_birth(local_day: date, born: date | None, *, prefix: str, errors: list[FieldError]) -> None:
    """Refuse a measure of a day before the person was born (the space's birthdate, the day in the
    space's time zone): a weight of 1950 in the space of a person born in 1986 was stored, and drawn
    in their curves (an outside audit). A space with no birthdate takes any day from 1900."""
    if born is not None and local_day < born:
        errors.append(FieldError(f"{prefix}/effectiveAt", f"is before the person's birth ({born.isoformat()})"))


def check_context(vital: VitalType, glucose_moment: str | None, *, prefix: str, errors: list[FieldError]) -> None:
    """Glucose needs its moment of measurement; no other type accepts one."""
    if vital.code == BLOOD_GLUCOSE and glucose_moment is None:
        errors.append(
            FieldError(
                f"{prefix}/glucoseMoment",
                "required for blood_glucose: fasting, before_meal, after_meal, bedtime or random",
            )
        )
    if vital.code != BLOOD_GLUCOSE and glucose_moment is not None:
        errors.append(FieldError(f"{prefix}/glucoseMoment", "only blood_glucose has a glucose moment"))


def vital_type_of(code: str, pointer: str, *, errors: list[FieldError]) -> VitalType | None:
    """The catalogue entry for ``code``, or ``None`` with the reason added to ``errors`` (BMI is derived)."""
    vital = BY_CODE.get(code)
    if vital is None:
        if code == BMI:
            errors.append(FieldError(pointer, "bmi is computed from the latest weight and height; it cannot be sent"))
        else:
            errors.append(FieldError(pointer, f"unknown type '{code}'; see GET /v1/vital-types"))
    return vital


def float_or_none(value: Decimal | None) -> float | None:
    """A canonical value as the column stores it."""
    return None if value is None else float(value)
