"""A dose of the calendar laid out on one person's life: its window, its limits, its checks.

A :class:`Step` is what an entry of the booklet can fill. Every date comes from a field of the
calendar (or of ENS's rules, for the adult boosters' tolerance); a field the calendar leaves
``null`` gives no date, and the check it would drive is not made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from ens.vaccination.calendar import (
    BrandLatestAge,
    CatchUpSchedule,
    Dose,
    DoseProduct,
    Interval,
    RecommendedSince,
    ScheduleData,
    SeriesStartBooster,
)
from ens.vaccination.engine.dates import (
    add_interval,
    add_months,
    age_in_months,
    at_months,
    last_day_at_months,
    last_day_at_years,
    months_words,
    parse_day_or_period,
)
from ens.vaccination.engine.model import BookletEntry, Obligation

# A booster's rule by its series' start: the start's ages (months), the rule, its plan's sources.
StartRule = tuple[int, int, SeriesStartBooster, tuple[str, ...]]

ENTRY_DONE = "done"
ENTRY_UNKNOWN = "unknown"


@dataclass(frozen=True)
class StepBase:
    interval: Interval | None
    window_start: date | None
    window_end: date | None
    latest: date | None
    obligation: Obligation
    source_ids: tuple[str, ...]


@dataclass
class Step:
    """One dose to fill, for one person.

    ``window_*`` is the recommended window (``age_min``..``age_max``), ``catch_up_end`` the last
    day of the catch-up the calendar allows, ``latest`` the last day the dose may be given at all
    (``latest_age_months``), ``earliest`` the first day it counts (``earliest_age_*``, or ENS's
    tolerance for adult boosters).
    """

    dose_id: str
    label: str
    recommendation: str
    source_ids: tuple[str, ...]
    dose: Dose | None = None
    plan: CatchUpSchedule | None = None
    # A catch-up plan's dose is in force while the series it catches up is (its root's validity).
    validity: Dose | None = None
    # Since when its series is recommended to everyone (ENS's ``recommended_since``; a plan's: its root's).
    since: date | None = None
    since_rule: RecommendedSince | None = None
    window_start: date | None = None
    window_end: date | None = None
    catch_up_end: date | None = None
    latest: date | None = None
    earliest: date | None = None
    earliest_words: str = ""
    tolerance: bool = False
    interval: Interval | None = None
    has_previous: bool = False
    booster: bool = False
    # Only these vaccines make it (ENS's ``requires_product``); these never do (``excludes_product``).
    product: DoseProduct | None = None
    excluded: DoseProduct | None = None
    # Its rule by the age its series began at (ENS's ``booster_by_series_start``), each with the
    # ages of that start (its catch-up plan's) and the plan's sources; the one applied, if any.
    by_series_start: tuple[StartRule, ...] = ()
    series_start_rule: SeriesStartBooster | None = None
    # The first dose's date (a month, a year) falls under two of those rules: none is assumed.
    series_start_unknown: bool = False
    # Its latest age when the course is made with some brand (ENS's ``latest_age_by_series_brand``),
    # and whether the course is (its ``latest`` then that brand's).
    brand_latest: BrandLatestAge | None = None
    brand_latest_applies: bool = False
    # What the calendar gives the dose, before its series changes it (``fit_to_series``).
    base: StepBase | None = None
    instance_age_years: int | None = None
    obligation: Obligation = "recommended"
    # What the booklet gave it.
    entry: BookletEntry | None = None
    outcome: str = ""
    notes: list[str] = field(default_factory=list)
    replaced_by: Step | None = None
    replaces: list[Step] = field(default_factory=list)

    @property
    def matching_start(self) -> date | None:
        """From when an entry may stand for this dose (the earliest day it counts, else its window)."""
        return self.earliest if self.earliest is not None else self.window_start

    @property
    def closes(self) -> date | None:
        """The last day this dose is recommended at all (its catch-up, else its window)."""
        return self.catch_up_end or self.window_end

    def closed_on(self, day: date) -> bool:
        closes = self.closes
        return closes is not None and closes < day


def dose_step(data: ScheduleData, dose: Dose, *, birthdate: date, instance: int = 0) -> Step:
    """The step of a calendar dose (``instance`` > 0: the n-th repetition of an interval recurrence)."""
    rules = data.rules
    start_months = dose.age_min_months if dose.age_min_months is not None else _years_in_months(dose.age_years)
    every = dose.recurrence.every_years if dose.recurrence and dose.recurrence.type == "interval" else None
    label = dose.label
    instance_age: int | None = None
    window_end: date | None = None
    if start_months is not None and every:
        start_months += 12 * every * instance
        instance_age = start_months // 12
        label = f"{dose.label} — rappel à {instance_age} ans"
        # ENS rule (adult_booster_tolerance): an instance is due until the next one's age.
        window_end = at_months(birthdate, start_months + 12 * every) - timedelta(days=1)
    elif dose.age_max_months is not None:
        window_end = last_day_at_months(birthdate, dose.age_max_months)
    window_start = at_months(birthdate, start_months) if start_months is not None else None
    step = Step(
        dose_id=dose.id,
        label=label,
        recommendation=dose.status,
        source_ids=dose.source_ids,
        dose=dose,
        window_start=window_start,
        window_end=window_end,
        catch_up_end=_catch_up_end(
            birthdate, months=dose.catch_up_until_age_months, years=dose.catch_up_until_age_years
        )
        or _series_catch_up_end(data, dose, birthdate=birthdate),
        latest=at_months(birthdate, dose.latest_age_months) - timedelta(days=1)
        if dose.latest_age_months is not None
        else None,
        interval=dose.min_interval_from_previous if dose.previous_dose_id is not None else None,
        has_previous=dose.previous_dose_id is not None,
        booster=any(dose.id in series for series in rules.booster_series.series.values()),
        product=rules.requires_product.doses.get(dose.id),
        excluded=rules.excludes_product.doses.get(dose.id),
        instance_age_years=instance_age,
        by_series_start=_by_series_start(data, dose),
        brand_latest=rules.latest_age_by_series_brand.doses.get(dose.id),
    )
    series_limit = rules.series_catch_up_limits.of(dose.id)
    if series_limit is not None and step.catch_up_end is not None:
        step.source_ids = (*step.source_ids, *(s for s in series_limit.source_ids if s not in step.source_ids))
    step.since_rule = rules.recommended_since.of(dose.id)
    if step.since_rule is not None:
        step.since = parse_day_or_period(step.since_rule.since)[0]
    tolerance = rules.adult_booster_tolerance
    if dose.id in tolerance.doses and window_start is not None:
        step.earliest = add_months(window_start, -12 * tolerance.years_before)
        step.earliest_words = f"{tolerance.years_before} ans avant l'âge de ce rappel (règle ENS)"
        step.tolerance = True
        step.source_ids = (*step.source_ids, *tolerance.source_ids)
    elif dose.earliest_age_weeks is not None:
        step.earliest = birthdate + timedelta(weeks=dose.earliest_age_weeks)
        step.earliest_words = f"{dose.earliest_age_weeks} semaines"
    elif dose.earliest_age_months is not None:
        step.earliest = at_months(birthdate, dose.earliest_age_months)
        step.earliest_words = months_words(dose.earliest_age_months)
    if step.booster:
        step.source_ids = (*step.source_ids, *rules.booster_series.source_ids)
    step.obligation = obligation_of(dose, birthdate=birthdate, start=step.window_start, end=step.closes)
    if step.by_series_start or step.brand_latest is not None:
        step.base = StepBase(
            step.interval, step.window_start, step.window_end, step.latest, step.obligation, step.source_ids
        )
    return step


def plan_steps(plan: CatchUpSchedule, *, start: date, end: date | None) -> list[Step]:
    """The doses of a catch-up plan whose doses and intervals the calendar gives, for a series that
    may start from ``start`` and must be done by ``end``."""
    count = plan.doses or 0
    offsets = plan.schedule_months
    steps: list[Step] = []
    for number in range(1, count + 1):
        interval: Interval | None = None
        if number > 1:
            if offsets is not None and len(offsets) == count:
                interval = Interval(offsets[number - 1] - offsets[number - 2], "months")
            else:
                interval = plan.min_interval
        steps.append(
            Step(
                dose_id=f"{plan.id}#{number}",
                label=f"Rattrapage : dose {number} sur {count}" if count > 1 else "Rattrapage : dose unique",
                recommendation="catch_up",
                source_ids=plan.source_ids,
                plan=plan,
                window_start=start if number == 1 else None,
                catch_up_end=end,
                interval=interval,
                has_previous=number > 1,
            )
        )
    return steps


def plan_is_computable(plan: CatchUpSchedule) -> bool:
    """Whether the calendar gives the plan's doses and their spacing (else it is only described)."""
    if plan.doses is None or plan.doses < 1:
        return False
    if plan.doses == 1:
        return True
    if plan.schedule_months is not None:
        return len(plan.schedule_months) == plan.doses
    return plan.doses == 2 and plan.min_interval is not None


def plan_range(plan: CatchUpSchedule, *, birthdate: date, after: date | None) -> tuple[date | None, date | None]:
    """When a series may start on this plan: from its minimum age (or, when the calendar gives
    none, the day after ``after``, the end of the infant schedule it catches up) to its limit."""
    start = at_months(birthdate, plan.age_min_months) if plan.age_min_months is not None else after
    ends = [
        end
        for end in (
            last_day_at_months(birthdate, plan.age_max_months) if plan.age_max_months is not None else None,
            last_day_at_years(birthdate, plan.catch_up_until_age_years)
            if plan.catch_up_until_age_years is not None
            else None,
        )
        if end is not None
    ]
    return start, min(ends) if ends else None


def obligation_of(dose: Dose, *, birthdate: date, start: date | None, end: date | None) -> Obligation:
    """Mandatory for this person: born in the cohort, the obligation in force while the dose was due,
    and the dose due before the age the obligation ends."""
    if not dose.mandatory:
        return "recommended"
    if dose.mandatory_for_born_from is not None and birthdate < date.fromisoformat(dose.mandatory_for_born_from):
        return "recommended"
    if dose.mandatory_from_date is not None and end is not None and end < date.fromisoformat(dose.mandatory_from_date):
        return "recommended"
    if (
        dose.mandatory_until_age_months is not None
        and start is not None
        and start >= at_months(birthdate, dose.mandatory_until_age_months)
    ):
        return "recommended"
    return "mandatory"


def _by_series_start(data: ScheduleData, dose: Dose) -> tuple[StartRule, ...]:
    boosters = data.rules.booster_by_series_start.doses.get(dose.id, ())
    if not boosters:
        return ()
    plans = {plan.id: plan for disease in data.calendar.diseases for plan in disease.catch_up_schedules}
    found = []
    for booster in boosters:
        plan = plans[booster.plan]
        assert plan.age_min_months is not None and plan.age_max_months is not None, f"{plan.id} gives no ages"
        found.append((plan.age_min_months, plan.age_max_months, booster, plan.source_ids))
    return tuple(found)


def fit_to_series(
    step: Step, *, first: BookletEntry | None, before: BookletEntry | None, brand: str, birthdate: date
) -> None:
    """The step as its series makes it: ``first``, the series' first dose (or the entry that would
    be it), ``before``, the entry of the dose just before this one, ``brand``, the course's vaccine
    (its first dose's, else another of its doses'). Its rule by the age the series began at
    (``booster_by_series_start``) and its latest age for the course's brand
    (``latest_age_by_series_brand``). Each call starts again from the calendar's own values
    (``base``), so a provisional first dose (an entry being offered, then refused) leaves nothing."""
    dose, base = step.dose, step.base
    if dose is None or base is None:
        return
    step.interval, step.window_start, step.window_end = base.interval, base.window_start, base.window_end
    step.latest, step.obligation, step.source_ids = base.latest, base.obligation, base.source_ids
    step.series_start_rule, step.series_start_unknown, step.brand_latest_applies = None, False, False
    if step.by_series_start and first is not None:
        # The rule of the age at the first dose; a date the booklet gives only as a month or a year
        # may fall under two: then neither is assumed (the checks take the least favourable case).
        bounds = (first.when.start, first.when.end)
        found = {id(rule): (rule, sources) for rule, sources in (_start_rule(step, birthdate, d) for d in bounds)}
        if len(found) > 1:
            step.series_start_unknown = True
        else:
            rule, sources = next(iter(found.values()))
            if rule is not None:
                _apply_start_rule(step, rule, sources, before=before, birthdate=birthdate)
    brand_rule = step.brand_latest
    if brand_rule is not None and brand and brand_in(brand, brand_rule.brands):
        step.brand_latest_applies = True
        step.latest = birthdate + timedelta(weeks=brand_rule.latest_age_weeks) - timedelta(days=1)
        step.source_ids = (*step.source_ids, *(s for s in brand_rule.source_ids if s not in step.source_ids))


def _start_rule(step: Step, birthdate: date, day: date) -> tuple[SeriesStartBooster | None, tuple[str, ...]]:
    age = age_in_months(birthdate, day)
    matching = ((rule, sources) for low, high, rule, sources in step.by_series_start if low <= age <= high)
    return next(matching, (None, ()))


def _apply_start_rule(
    step: Step, rule: SeriesStartBooster, sources: tuple[str, ...], *, before: BookletEntry | None, birthdate: date
) -> None:
    assert step.dose is not None
    step.series_start_rule = rule
    step.interval = rule.min_interval
    if rule.age_min_months is not None and rule.age_max_months is not None:
        step.window_start = at_months(birthdate, rule.age_min_months)
        step.window_end = last_day_at_months(birthdate, rule.age_max_months)
    if rule.until_after_previous_months is not None:
        # "12 to 23 months after" the dose before: until the day before its 24th month, as an age's
        # end; none while that dose is not in the booklet.
        step.window_end = (
            add_months(before.when.start, rule.until_after_previous_months + 1) - timedelta(days=1)
            if before is not None
            else None
        )
    # Mandatory only while the obligation runs: a booster due past it (a series begun at 13 months,
    # its booster 12 months after the second dose) is recommended.
    start = add_interval(before.when.start, rule.min_interval) if before is not None else step.window_start
    if start is not None and step.window_start is not None:
        start = max(start, step.window_start)
    step.obligation = obligation_of(step.dose, birthdate=birthdate, start=start, end=step.closes)
    step.source_ids = (*step.source_ids, *(s for s in sources if s not in step.source_ids))


def brand_in(name: str, brands: tuple[str, ...]) -> bool:
    """Whether a vaccine's name is one of ``brands`` (``ROTATEQ`` matches ``ROTATEQ``, not
    ``ROTARIX``; ``ROTARIX (tube)`` matches ``ROTARIX``)."""
    folded = name.strip().upper()
    return any(folded == brand.upper() or folded.startswith(brand.upper() + " ") for brand in brands)


def _years_in_months(years: int | None) -> int | None:
    return None if years is None else 12 * years


def _series_catch_up_end(data: ScheduleData, dose: Dose, *, birthdate: date) -> date | None:
    """The catch-up limit ENS's ``series_catch_up_limits`` gives a dose the calendar gives none."""
    limit = data.rules.series_catch_up_limits.of(dose.id)
    return None if limit is None else last_day_at_years(birthdate, limit.until_age_years)


def _catch_up_end(birthdate: date, *, months: int | None, years: int | None) -> date | None:
    if months is not None:
        return last_day_at_months(birthdate, months)
    if years is not None:
        return last_day_at_years(birthdate, years)
    return None
