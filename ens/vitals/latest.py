"""The home screen's vitals: the latest value of each type, and the BMI computed from them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from ens.core.clock import aware
from ens.core.db import Row, fetch
from ens.core.names import years_later
from ens.vitals.catalogue import (
    BLOOD_PRESSURE,
    BMI_TYPE,
    BODY_HEIGHT,
    BODY_WEIGHT,
    STEPS_PER_DAY,
    TYPE_CODES,
    VITAL_TYPES,
    compute_bmi,
)
from ens.vitals.schemas import BmiRead, ComponentsRead, LatestVital


async def latest_values(space_id: UUID, *, with_hidden: bool) -> list[LatestVital]:
    """The newest measure of each type: ten one-row index lookups in a single statement. Without
    ``with_hidden`` (a representative asks), measures hidden from representatives are left out."""
    hidden = "" if with_hidden else " AND NOT hidden_from_representatives"
    parts = [
        f"SELECT * FROM (SELECT type, value, systolic, diastolic, effective_at, local_date FROM vital_measurements "
        f"WHERE space_id = {{}} AND type = {{}}{hidden} ORDER BY effective_at DESC, id DESC "
        f"LIMIT {DAY_SOURCES if code == STEPS_PER_DAY else 1}) AS latest_{n}"
        for n, code in enumerate(TYPE_CODES)
    ]
    args: list[Any] = []
    for code in TYPE_CODES:
        args += [space_id, code]
    rows = await fetch(" UNION ALL ".join(parts), *args)
    by_type: dict[str, list[Row]] = {}
    for row in rows:
        by_type.setdefault(row["type"], []).append(row)
    latest: list[LatestVital] = []
    for vital in VITAL_TYPES:
        newest = by_type.get(vital.code)
        if not newest:
            continue
        row = newest[0] if vital.code != STEPS_PER_DAY else day_count(newest)
        is_pressure = vital.code == BLOOD_PRESSURE
        latest.append(
            LatestVital(
                type=vital.code,
                label=vital.label,
                unit=vital.unit,
                effective_at=aware(row["effective_at"]),
                value=None if is_pressure else vital.shown(row["value"]),
                components=ComponentsRead(
                    systolic=vital.shown(row["systolic"]), diastolic=vital.shown(row["diastolic"])
                )
                if is_pressure
                else None,
            )
        )
    return latest


# A day's step counts are read from its newest this many: one per app that counts them.
DAY_SOURCES = 8


def day_count(newest: Sequence[Row]) -> Row:
    """The newest day's step count, from its newest counts (newest first): the highest of that
    day's, one per app (a phone and a watch both count; the one worn more counted more steps, and
    the lower count is of the same steps, not others). The newest count alone showed whichever app
    synced last, often the phone's part of the day."""
    day = newest[0]["local_date"]
    return max((row for row in newest if row["local_date"] == day), key=lambda row: row["value"])


# A child grows: a height taken months away from the weight makes a child's BMI wrong. BMI goes as
# 1/height², so 2 % of height is 4 % of BMI: a child grows about 25 cm in the first year, 12 in the
# second, then 5 to 6 a year, up to 10 at the pubertal peak. A weight and a height taken while the
# person was under 18 make a BMI only when taken within this long of each other (under 2 years
# old, the shorter): at most about 1.5 % of height between them, as a clinic measures both at once.
CHILD_MEASURES_WITHIN = timedelta(days=92)
INFANT_MEASURES_WITHIN = timedelta(days=31)


def bmi_of(latest: Sequence[LatestVital], *, birthdate: date | None) -> BmiRead | None:
    """BMI from the latest weight and height; never stored, so it always follows them. ``None``
    outside the range GET /v1/vital-types declares for it: a weight and a height each plausible
    alone can make no body's BMI (a child's height beside an adult's weight, a head circumference
    sent as a height: 355 kg/m², an outside audit), and the home screen must not show it. ``None``
    too for a child whose two measures are too far apart (:data:`CHILD_MEASURES_WITHIN`): the
    height of a year ago beside today's weight showed a child's BMI well above what it was (an
    earlier session's note). An adult's height of any age serves, unless taken as a child."""
    by_type = {item.type: item for item in latest}
    weight, height = by_type.get(BODY_WEIGHT), by_type.get(BODY_HEIGHT)
    if weight is None or height is None or weight.value is None or height.value is None:
        return None
    if birthdate is not None:
        older = min(weight.effective_at, height.effective_at).date()
        if older < years_later(birthdate, 18):
            within = INFANT_MEASURES_WITHIN if older < years_later(birthdate, 2) else CHILD_MEASURES_WITHIN
            if abs(weight.effective_at - height.effective_at) > within:
                return None
    value = compute_bmi(Decimal(repr(weight.value)), Decimal(repr(height.value)))
    if not BMI_TYPE.min <= value <= BMI_TYPE.max:
        return None
    return BmiRead(
        value=float(value),
        unit=BMI_TYPE.unit,
        loinc=BMI_TYPE.loinc,
        weight_at=weight.effective_at,
        height_at=height.effective_at,
    )
