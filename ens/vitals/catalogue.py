"""The 10 measures: codes, LOINC, canonical UCUM units, accepted units and plausible ranges.

Conversions are exact: each accepted unit is ``canonical = (value + offset) * factor`` with the
factor kept as a fraction (°F needs 5/9, which no decimal holds), computed in ``Decimal`` and
rounded once, half-even, to the type's ``precision``. Ranges are in the canonical unit and refuse
what no living body produces (a body temperature of 60 °C), not what is merely alarming.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction

BLOOD_PRESSURE = "blood_pressure"
BLOOD_GLUCOSE = "blood_glucose"
STEPS_PER_DAY = "steps_per_day"
BODY_WEIGHT = "body_weight"
BODY_HEIGHT = "body_height"
BMI = "bmi"

GLUCOSE_MOMENTS = ("fasting", "before_meal", "after_meal", "bedtime", "random")


# The context of conversions: 40 significant digits (far beyond any measure), so that the only
# rounding is the final one to the type's precision. A Context object, not localcontext(): this
# runs for every measure of every batch.
_EXACT = Context(prec=40)
_QUANTA = {digits: Decimal(1).scaleb(-digits) for digits in range(7)}


@dataclass(frozen=True)
class UnitConversion:
    """One accepted unit: ``canonical = (value + offset) * factor``."""

    unit: str
    factor: Fraction = Fraction(1)
    offset: Decimal = Decimal(0)
    # The canonical unit itself (decided once: comparing a Fraction costs more than the rest).
    identity: bool = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "identity", self.factor == 1 and not self.offset)

    def to_canonical(self, value: Decimal) -> Decimal:
        if self.identity:
            return value  # the canonical unit itself: most measures (no arithmetic, no rounding)
        # 40 significant digits: far beyond any measure, so the only rounding is the final one.
        shifted = _EXACT.add(value, self.offset)
        return _EXACT.divide(_EXACT.multiply(shifted, Decimal(self.factor.numerator)), Decimal(self.factor.denominator))

    @property
    def factor_text(self) -> str:
        """The factor as a client can use it exactly: a decimal, or ``n/d`` when no decimal holds it."""
        if _is_finite_decimal(self.factor):
            return _decimal_text(Decimal(self.factor.numerator) / Decimal(self.factor.denominator))
        return f"{self.factor.numerator}/{self.factor.denominator}"


@dataclass(frozen=True)
class Component:
    code: str
    label: str
    loinc: str
    min: Decimal
    max: Decimal


@dataclass(frozen=True)
class VitalType:
    code: str
    label: str
    loinc: str
    unit: str
    units: tuple[UnitConversion, ...]
    min: Decimal
    max: Decimal
    precision: int
    integer: bool = False
    components: tuple[Component, ...] = ()
    required_context: tuple[str, ...] = ()
    derived: bool = False
    note: str | None = None
    _by_unit: dict[str, UnitConversion] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_unit.update({conversion.unit: conversion for conversion in self.units})

    def conversion(self, unit: str) -> UnitConversion | None:
        return self._by_unit.get(unit)

    def round(self, value: Decimal) -> Decimal:
        return value.quantize(_QUANTA[self.precision], ROUND_HALF_EVEN)  # (by position: ~0.2 us less a measure)

    def shown(self, value: float) -> float | int:
        """A stored value as the answers give it. The types counted in whole units (heart rate,
        blood pressure, steps, pain: stored to precision 0) answer JSON integers, ``72`` and not
        ``72.0``, which a client that reads them into an integer accepts (Swift's and Kotlin's
        decoders refuse ``72.0`` for an ``Int``); the others answer their number as it is."""
        return int(value) if self.precision == 0 else value

    def shown_as_sent(self, value: float) -> float | int:
        """A value as it was sent (``originalValue``): whole for a whole-number type when it is one
        (``8000`` steps sent, ``8000`` shown), else as it is (``72.4`` /min, read as ``72``)."""
        return int(value) if self.precision == 0 and value.is_integer() else value


def _is_finite_decimal(fraction: Fraction) -> bool:
    denominator = fraction.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    return denominator == 1


def _decimal_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


_LENGTH_UNITS = (
    UnitConversion("cm"),
    UnitConversion("m", Fraction(100)),
    UnitConversion("mm", Fraction(1, 10)),
    UnitConversion("[in_i]", Fraction("2.54")),
)

VITAL_TYPES: tuple[VitalType, ...] = (
    VitalType(
        code=BODY_WEIGHT,
        label="Poids",
        loinc="29463-7",
        unit="kg",
        units=(
            UnitConversion("kg"),
            UnitConversion("g", Fraction(1, 1000)),
            UnitConversion("[lb_av]", Fraction("0.45359237")),
        ),
        # From a very premature newborn to the heaviest recorded adults; grams kept for babies.
        min=Decimal("0.2"),
        max=Decimal("650"),
        precision=3,
    ),
    VitalType(
        code=BODY_HEIGHT,
        label="Taille",
        loinc="8302-2",
        unit="cm",
        units=_LENGTH_UNITS,
        min=Decimal("20"),
        max=Decimal("280"),
        precision=1,
    ),
    VitalType(
        code="heart_rate",
        label="Fréquence cardiaque",
        loinc="8867-4",
        unit="/min",
        units=(UnitConversion("/min"),),
        min=Decimal("20"),
        max=Decimal("350"),
        precision=0,
    ),
    VitalType(
        code=BLOOD_PRESSURE,
        label="Tension artérielle",
        loinc="85354-9",
        unit="mm[Hg]",
        units=(UnitConversion("mm[Hg]"), UnitConversion("kPa", Fraction(1000) / Fraction("133.322387415"))),
        min=Decimal("20"),
        max=Decimal("300"),
        precision=0,
        components=(
            Component("systolic", "Pression systolique", "8480-6", Decimal("40"), Decimal("300")),
            Component("diastolic", "Pression diastolique", "8462-4", Decimal("20"), Decimal("200")),
        ),
        note="The systolic pressure must be above the diastolic.",
    ),
    VitalType(
        code="body_temperature",
        label="Température",
        loinc="8310-5",
        unit="Cel",
        units=(UnitConversion("Cel"), UnitConversion("[degF]", Fraction(5, 9), Decimal(-32))),
        min=Decimal("25"),
        max=Decimal("45"),
        precision=2,
    ),
    VitalType(
        code="waist_circumference",
        label="Tour de taille",
        loinc="8280-0",
        unit="cm",
        units=_LENGTH_UNITS,
        min=Decimal("20"),
        max=Decimal("300"),
        precision=1,
    ),
    VitalType(
        code=BLOOD_GLUCOSE,
        label="Glycémie",
        loinc="2339-0",
        unit="mg/dL",
        units=(
            UnitConversion("mg/dL"),
            UnitConversion("g/L", Fraction(100)),
            UnitConversion("mmol/L", Fraction("18.016")),
        ),
        min=Decimal("10"),
        max=Decimal("2000"),
        precision=1,
        required_context=("glucoseMoment",),
    ),
    VitalType(
        code=STEPS_PER_DAY,
        label="Nombre de pas",
        loinc="41950-7",
        unit="1/(24.h)",
        units=(UnitConversion("1/(24.h)"), UnitConversion("/d")),
        min=Decimal("0"),
        max=Decimal("200000"),
        precision=0,
        integer=True,
        note="One value per day (in the space's time zone) per source.",
    ),
    VitalType(
        code="pain_severity",
        label="Douleur",
        loinc="72514-3",
        unit="{score}",
        # UCUM's "1" is the same dimensionless number, and the one the ANS guide's pain profile
        # fixes (valueQuantity.code #1, unit "Level"): an Observation written to the guide was
        # refused (an outside audit).
        units=(UnitConversion("{score}"), UnitConversion("1")),
        min=Decimal("0"),
        max=Decimal("10"),
        precision=0,
        integer=True,
    ),
    VitalType(
        code="head_circumference",
        label="Périmètre crânien",
        loinc="8287-5",
        unit="cm",
        units=_LENGTH_UNITS,
        min=Decimal("20"),
        max=Decimal("75"),
        precision=1,
    ),
)

BMI_TYPE = VitalType(
    code=BMI,
    label="IMC",
    loinc="39156-5",
    unit="kg/m2",
    units=(),
    min=Decimal("5"),
    max=Decimal("150"),
    precision=1,
    derived=True,
    note="Computed from the latest weight and height; never stored, never accepted.",
)

BY_CODE: dict[str, VitalType] = {vital_type.code: vital_type for vital_type in VITAL_TYPES}
TYPE_CODES: tuple[str, ...] = tuple(BY_CODE)


def compute_bmi(weight_kg: Decimal, height_cm: Decimal) -> Decimal:
    """Weight over height squared, in kg/m², at the catalogue's precision."""
    height_m = _EXACT.divide(height_cm, Decimal(100))
    return BMI_TYPE.round(_EXACT.divide(weight_kg, _EXACT.multiply(height_m, height_m)))
