"""The French vaccination schedule as data: the calendar file and ENS's rules on it, typed.

Both files ship in ``ens/vaccination/data`` and are read once per process (never per request).
Only the fields the engine uses are declared; the files hold more (notes, products...), which
msgspec skips. :func:`check` refuses data whose parts do not fit together (a dose pointing at a
missing previous dose, a rule naming a dose the calendar lost, a catch-up dose no rule places):
the app does not start on such data, and a test runs it.
"""

from __future__ import annotations

from datetime import date
from functools import cache, cached_property
from pathlib import Path
from typing import Generic, Literal, TypeVar

import msgspec

DATA = Path(__file__).parent / "data"
CALENDAR_FILE = DATA / "vaccine-calendar-fr.json"
RULES_FILE = DATA / "schedule-rules-fr.json"
LABELS_FILE = DATA / "disease-labels-fr.json"


class Interval(msgspec.Struct, frozen=True):
    value: int
    unit: Literal["days", "weeks", "months", "years"]


T = TypeVar("T")


class DoseRules(msgspec.Struct, Generic[T], frozen=True):
    """A rule of ``schedule-rules-fr.json`` given dose by dose: what it says (``about``) and, for each
    calendar dose it names, its value (an interval, an age, a brand's limit...)."""

    about: str
    doses: dict[str, T]


class Population(msgspec.Struct, frozen=True):
    sex: Literal["F", "M"] | None = None
    born_from: str | None = None
    born_until: str | None = None
    pregnant: bool | None = None
    gestational_age_weeks_min: int | None = None
    gestational_age_weeks_max: int | None = None
    condition: str | None = None
    risk_condition_required: bool = False


class Recurrence(msgspec.Struct, frozen=True):
    type: Literal["interval", "annual_seasonal", "seasonal", "each_pregnancy"]
    every_years: int | None = None
    from_age_years: int | None = None
    season: str | None = None


class Dose(msgspec.Struct, frozen=True):
    """One dose of the calendar. Ages in months are completed months; ``None`` means the sources
    state nothing (never "no limit")."""

    id: str
    series_id: str
    label: str
    status: Literal["mandatory", "recommended", "catch_up", "may_be_offered"]
    source_ids: tuple[str, ...]
    age_years: int | None = None
    age_min_months: int | None = None
    age_max_months: int | None = None
    earliest_age_months: int | None = None
    earliest_age_weeks: int | None = None
    latest_age_months: int | None = None
    catch_up_until_age_months: int | None = None
    catch_up_until_age_years: int | None = None
    previous_dose_id: str | None = None
    min_interval_from_previous: Interval | None = None
    mandatory: bool = False
    mandatory_for_born_from: str | None = None
    mandatory_from_date: str | None = None
    mandatory_until_age_months: int | None = None
    population: Population = Population()
    recurrence: Recurrence | None = None
    valid_from: str | None = None
    valid_until: str | None = None


class CatchUpSchedule(msgspec.Struct, frozen=True):
    """A catch-up plan for people who started late or not at all (``doses`` and ``schedule_months``
    or ``min_interval`` when the sources give them; often only a ``description``)."""

    id: str
    description: str
    source_ids: tuple[str, ...]
    age_min_months: int | None = None
    age_max_months: int | None = None
    catch_up_until_age_years: int | None = None
    doses: int | None = None
    schedule_months: tuple[int, ...] | None = None
    min_interval: Interval | None = None
    products: tuple[str, ...] | None = None


class Disease(msgspec.Struct, frozen=True):
    code: str
    label_fr: str
    doses: tuple[Dose, ...]
    catch_up_schedules: tuple[CatchUpSchedule, ...] = ()


class Source(msgspec.Struct, frozen=True):
    id: str
    title: str
    url: str | None = None
    publisher: str | None = None


class Calendar(msgspec.Struct, frozen=True):
    edition: int
    edition_label: str
    sources: tuple[Source, ...]
    diseases: tuple[Disease, ...]


class Season(msgspec.Struct, frozen=True):
    """A campaign window, ``MM-DD`` to ``MM-DD`` (the end may fall in the next year).
    ``ens_choice``: ENS chose the dates (the calendar names the season without them)."""

    label: str
    from_: str = msgspec.field(name="from")
    until: str = ""
    # A dose given from this day (before the opening) counts for the campaign; empty: from its opening.
    counted_from: str = ""
    ens_choice: bool = True
    basis: str = ""

    def window(self, year: int) -> tuple[date, date]:
        """The campaign that opens in ``year`` (its end may fall in the next year)."""
        start = date(year, int(self.from_[:2]), int(self.from_[3:]))
        end = date(year, int(self.until[:2]), int(self.until[3:]))
        return start, end if end >= start else end.replace(year=year + 1)

    def counted(self, year: int) -> date:
        """The first day a dose counts for the campaign that opens in ``year``."""
        if not self.counted_from:
            return self.window(year)[0]
        return date(year, int(self.counted_from[:2]), int(self.counted_from[3:]))


class BoosterSeries(msgspec.Struct, frozen=True):
    rule: str
    basis: str
    source_ids: tuple[str, ...]
    series: dict[str, tuple[str, ...]]


class BoosterTolerance(msgspec.Struct, frozen=True):
    doses: tuple[str, ...]
    years_before: int
    rule: str
    basis: str
    source_ids: tuple[str, ...]


class CatchUpTrack(msgspec.Struct, frozen=True):
    basis: str
    replaces: tuple[str, ...] = ()
    extends: tuple[str, ...] = ()


class SeriesBrand(msgspec.Struct, frozen=True):
    brands: tuple[str, ...]
    basis: str


class SeriesStartBooster(msgspec.Struct, frozen=True):
    """A booster's rule when its series began in the ages of ``plan`` (a catch-up plan of the
    calendar): its minimum interval after the dose before it, and its window, either ages or a
    number of months after that dose (``until_after_previous_months``)."""

    plan: str
    min_interval: Interval
    words_fr: str
    basis: str
    age_min_months: int | None = None
    age_max_months: int | None = None
    until_after_previous_months: int | None = None


class BrandLatestAge(msgspec.Struct, frozen=True):
    """A latest age (in weeks) for a course made with one of ``brands``."""

    brands: tuple[str, ...]
    latest_age_weeks: int
    words_fr: str
    basis: str
    source_ids: tuple[str, ...]


class PregnancyFrom(msgspec.Struct, frozen=True):
    """The term (weeks of amenorrhoea) from which a pregnancy's dose counts, before its preferred window."""

    weeks: int
    words_fr: str
    basis: str
    source_ids: tuple[str, ...]


class IntervalFromAge(msgspec.Struct, frozen=True):
    """A seasonal dose's shorter minimum interval for people of ``from_age_years`` and over."""

    from_age_years: int
    value: int
    unit: Literal["days", "weeks", "months", "years"]
    basis: str
    source_ids: tuple[str, ...]

    @property
    def interval(self) -> Interval:
        return Interval(value=self.value, unit=self.unit)


class PlanDoses(msgspec.Struct, frozen=True):
    doses: int
    basis: str


class CatchUpDoses(msgspec.Struct, frozen=True):
    """``catch_up_doses``: the dose count of plans the calendar gives in words only."""

    about: str
    plans: dict[str, PlanDoses]

    def completed(self, plan: CatchUpSchedule) -> CatchUpSchedule:
        given = self.plans.get(plan.id)
        return plan if given is None or plan.doses is not None else msgspec.structs.replace(plan, doses=given.doses)


class MinInterval(msgspec.Struct, frozen=True):
    value: int
    unit: Literal["days", "weeks", "months", "years"]
    basis: str
    source_ids: tuple[str, ...]


class EarliestAge(msgspec.Struct, frozen=True):
    months: int
    basis: str
    source_ids: tuple[str, ...]


class NotInPregnancy(msgspec.Struct, frozen=True):
    """``not_in_pregnancy``: live vaccines' doses, for after a pregnancy under way."""

    about: str
    basis: str
    doses: frozenset[str]


class SeriesLimit(msgspec.Struct, frozen=True):
    doses: tuple[str, ...]
    until_age_years: int
    basis: str
    source_ids: tuple[str, ...]


class SeriesCatchUpLimits(msgspec.Struct, frozen=True):
    """``series_catch_up_limits``: the catch-up limit of infant doses the calendar gives none."""

    about: str
    limits: dict[str, SeriesLimit]

    def of(self, dose_id: str) -> SeriesLimit | None:
        return next((limit for limit in self.limits.values() if dose_id in limit.doses), None)


class DoseProduct(msgspec.Struct, frozen=True):
    """A dose only these vaccines make (``requires_product``); ``words_fr`` names their kind."""

    brands: tuple[str, ...]
    words_fr: str
    basis: str


class EarlierObligation(msgspec.Struct, frozen=True):
    """An obligation the law set for a birth cohort the calendar does not model (the diphtheria,
    tetanus and polio obligation of children born before 2018): the calendar's ``doses`` it makes
    mandatory for people born on or before ``born_until``, while they are under ``until_age_years``.
    ``reason`` is said on each dose it makes mandatory."""

    label: str
    born_until: str
    until_age_years: int
    doses: tuple[str, ...]
    reason: str
    legal_basis: str
    basis: str
    source_ids: tuple[str, ...]


class RecommendedSince(msgspec.Struct, frozen=True):
    """The day from which the calendar's ``doses`` have been recommended to the general population
    in France (``since``: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; a year or a month stands for its
    first day)."""

    doses: tuple[str, ...]
    since: str
    basis: str
    source_ids: tuple[str, ...]


class NotDated(msgspec.Struct, frozen=True):
    """Doses whose start no source read gives: they apply whatever the birth date, and ``why`` says so."""

    doses: tuple[str, ...]
    why: str
    source_ids: tuple[str, ...] = ()


class RecommendationDates(msgspec.Struct, frozen=True, dict=True):
    """``recommended_since``: when each dated series began, and the doses left undated on purpose.

    ``series_of_dose`` indexes the series by dose, built when the rules are read (``__post_init__``,
    which also runs for a copy made with ``msgspec.structs.replace``): it is asked for each of the
    ~90 steps of an evaluation, and scanning the series each time cost ~0.2 ms of its ~1.8."""

    rule: str
    basis: str
    series: dict[str, RecommendedSince]
    not_dated: dict[str, NotDated] = {}

    def __post_init__(self) -> None:
        self.series_of_dose  # noqa: B018 - built once, with the rules, not on the first request

    @cached_property
    def series_of_dose(self) -> dict[str, RecommendedSince]:
        """Each dated dose and its series (not a field: never read from nor written to the file)."""
        return {dose_id: series for series in self.series.values() for dose_id in series.doses}

    def of(self, dose_id: str) -> RecommendedSince | None:
        """The dated series ``dose_id`` belongs to, if any."""
        return self.series_of_dose.get(dose_id)


class NoLongerCounted(msgspec.Struct, frozen=True):
    """``no_longer_counted``: when a dose the booklet lacks stops counting among those to do."""

    rule: str
    basis: str
    adult_from_years: int
    source_ids: tuple[str, ...]


class AgeInWords(msgspec.Struct, frozen=True):
    """``ages_in_words``: the ages of a dose the calendar gives in words only ("femmes en âge de
    procréer"), as the completed months of its window (``Dose.age_min_months``/``age_max_months``)."""

    words: str
    age_min_months: int
    age_max_months: int
    basis: str
    source_ids: tuple[str, ...]


class CatchUpWords(msgspec.Struct, frozen=True):
    """``catch_up_words_fr``: a catch-up plan the calendar only describes (in English in the
    calendar file), in French as the reasons quote it; ``unvaccinated_only``: it is for those who
    never started the series, and is not quoted to those who did."""

    words: str
    unvaccinated_only: bool


class CatchUpPlansFr(msgspec.Struct, frozen=True):
    about: str
    plans: dict[str, CatchUpWords]


class OneDose(msgspec.Struct, frozen=True):
    """``one_dose_among``: doses of the calendar that are one dose for a person (the older adults'
    RSV dose, at 75 or from 65 with a chronic disease): the one the booklet fills stands for the others."""

    doses: tuple[str, ...]
    basis: str
    source_ids: tuple[str, ...]


class ConditionWords(msgspec.Struct, frozen=True):
    """``conditions_fr``: a dose's population condition (the calendar's English) in French."""

    about: str
    words: dict[str, str]


class Rules(msgspec.Struct, frozen=True):
    """``schedule-rules-fr.json``: ENS's reading of what the calendar says only in words."""

    sources: tuple[Source, ...]
    booster_series: BoosterSeries
    adult_booster_tolerance: BoosterTolerance
    seasons: dict[str, Season]
    catch_up_tracks: dict[str, CatchUpTrack]
    not_listed: dict[str, str]
    requires_series_brand: dict[str, SeriesBrand]
    requires_product: DoseRules[DoseProduct]
    excludes_product: DoseRules[DoseProduct]
    series_catch_up_limits: SeriesCatchUpLimits
    catch_up_doses: CatchUpDoses
    min_intervals: DoseRules[MinInterval]
    earliest_ages: DoseRules[EarliestAge]
    booster_by_series_start: DoseRules[tuple[SeriesStartBooster, ...]]
    latest_age_by_series_brand: DoseRules[BrandLatestAge]
    pregnancy_counted_from_weeks: DoseRules[PregnancyFrom]
    min_interval_from_age: DoseRules[IntervalFromAge]
    not_in_pregnancy: NotInPregnancy
    recommended_since: RecommendationDates
    no_longer_counted: NoLongerCounted
    conditions_fr: ConditionWords
    ages_in_words: dict[str, AgeInWords] = {}
    # The ages at which a pregnancy's doses are asked about when the space does not say whether one
    # is under way (ens.vaccination.engine.seasons.pregnancy_item).
    pregnancy_ages: AgeInWords | None = None
    one_dose_among: tuple[OneDose, ...] = ()
    catch_up_words_fr: CatchUpPlansFr = CatchUpPlansFr(about="", plans={})
    earlier_obligations: dict[str, EarlierObligation] = {}


class DiseaseLabels(msgspec.Struct, frozen=True):
    labels: dict[str, str]


class ScheduleData(msgspec.Struct, frozen=True):
    """Everything the engine reads: the calendar and ENS's rules, with their sources by id."""

    calendar: Calendar
    rules: Rules

    @property
    def sources(self) -> dict[str, Source]:
        return {source.id: source for source in (*self.calendar.sources, *self.rules.sources)}


def read_schedule_data(calendar_file: Path = CALENDAR_FILE, rules_file: Path = RULES_FILE) -> ScheduleData:
    """Decode and check both files (a ``ValueError`` says what does not fit)."""
    calendar = msgspec.json.decode(calendar_file.read_bytes(), type=Calendar)
    rules = msgspec.json.decode(rules_file.read_bytes(), type=Rules)
    data = ScheduleData(calendar=_completed(calendar, rules), rules=rules)
    check(data)
    return data


def _completed(calendar: Calendar, rules: Rules) -> Calendar:
    """The calendar with what it gives in words only written as its other entries' (the calendar
    file itself is kept as compiled): the ages of a dose (``ages_in_words``), the minimum interval
    since the dose before it (``min_intervals``), the dose count of a catch-up plan
    (``catch_up_doses``), the age before which a dose does not count (``earliest_ages``)."""

    def aged(dose: Dose) -> Dose:
        age = rules.ages_in_words.get(dose.id)
        if age is not None:
            if dose.age_min_months is not None or dose.age_max_months is not None:
                # The calendar gives this dose its ages now: ENS's reading of its words no longer applies.
                raise ValueError(f"ages_in_words names {dose.id}, which the calendar gives ages of its own")
            dose = msgspec.structs.replace(dose, age_min_months=age.age_min_months, age_max_months=age.age_max_months)
        interval = rules.min_intervals.doses.get(dose.id)
        if interval is not None:
            if dose.min_interval_from_previous is not None or dose.previous_dose_id is None:
                # The calendar states this interval now, or the dose follows none: the rule no longer applies.
                raise ValueError(f"min_intervals names {dose.id}, which has an interval of its own or no previous dose")
            dose = msgspec.structs.replace(
                dose, min_interval_from_previous=Interval(value=interval.value, unit=interval.unit)
            )
        earliest = rules.earliest_ages.doses.get(dose.id)
        if earliest is not None:
            if dose.earliest_age_months is not None or dose.earliest_age_weeks is not None:
                raise ValueError(f"earliest_ages names {dose.id}, which the calendar gives an earliest age of its own")
            cited = (*dose.source_ids, *(s for s in earliest.source_ids if s not in dose.source_ids))
            dose = msgspec.structs.replace(dose, earliest_age_months=earliest.months, source_ids=cited)
        return dose

    diseases = tuple(
        msgspec.structs.replace(
            disease,
            doses=tuple(aged(dose) for dose in disease.doses),
            catch_up_schedules=tuple(rules.catch_up_doses.completed(plan) for plan in disease.catch_up_schedules),
        )
        for disease in calendar.diseases
    )
    return msgspec.structs.replace(calendar, diseases=diseases)


@cache
def schedule_data() -> ScheduleData:
    """The shipped schedule, read once per process."""
    return read_schedule_data()


@cache
def disease_labels() -> dict[str, str]:
    """French name of every disease code the calendar or the vaccine list uses."""
    extra = msgspec.json.decode(LABELS_FILE.read_bytes(), type=DiseaseLabels).labels
    return {**extra, **{disease.code: disease.label_fr for disease in schedule_data().calendar.diseases}}


def check(data: ScheduleData) -> None:
    """Refuse data whose parts do not fit together."""
    problems: list[str] = []
    doses = {dose.id: (disease.code, dose) for disease in data.calendar.diseases for dose in disease.doses}
    sources = data.sources
    for disease in data.calendar.diseases:
        successors: dict[str, str] = {}
        for dose in disease.doses:
            if dose.previous_dose_id is not None:
                previous = doses.get(dose.previous_dose_id)
                if previous is None or previous[0] != disease.code:
                    problems.append(f"{dose.id}: previous dose {dose.previous_dose_id} is not a dose of {disease.code}")
                elif dose.previous_dose_id in successors:
                    problems.append(f"{dose.previous_dose_id} has two next doses ({successors[dose.previous_dose_id]})")
                successors[dose.previous_dose_id] = dose.id
            if dose.status == "catch_up" and dose.previous_dose_id is None:
                if dose.id not in data.rules.catch_up_tracks:
                    problems.append(f"{dose.id}: a catch-up dose no rule of schedule-rules-fr.json places")
            missing = [s for s in dose.source_ids if s not in sources]
            if missing:
                problems.append(f"{dose.id}: unknown sources {missing}")
            condition = dose.population.condition
            if condition and condition not in data.rules.conditions_fr.words:
                problems.append(f"{dose.id}: its condition has no French words in schedule-rules-fr.json")
    named: list[str] = [
        *data.rules.adult_booster_tolerance.doses,
        *(dose for series in data.rules.booster_series.series.values() for dose in series),
        *data.rules.catch_up_tracks,
        *(dose for track in data.rules.catch_up_tracks.values() for dose in (*track.replaces, *track.extends)),
        *data.rules.not_listed,
        *data.rules.requires_series_brand,
        *data.rules.booster_by_series_start.doses,
        *data.rules.latest_age_by_series_brand.doses,
        *data.rules.pregnancy_counted_from_weeks.doses,
        *data.rules.min_interval_from_age.doses,
        *data.rules.requires_product.doses,
        *data.rules.excludes_product.doses,
        *(dose for limit in data.rules.series_catch_up_limits.limits.values() for dose in limit.doses),
        *data.rules.ages_in_words,
        *data.rules.min_intervals.doses,
        *data.rules.earliest_ages.doses,
        *data.rules.not_in_pregnancy.doses,
        *(dose for group in data.rules.one_dose_among for dose in group.doses),
        *(dose for obligation in data.rules.earlier_obligations.values() for dose in obligation.doses),
        *_dated_and_undated(data.rules.recommended_since),
    ]
    problems += [
        f"schedule-rules-fr.json names {dose_id}, which the calendar has not"
        for dose_id in named
        if dose_id not in doses
    ]
    from ens.vaccination.engine.steps import plan_is_computable

    plans = {plan.id: plan for disease in data.calendar.diseases for plan in disease.catch_up_schedules}
    problems += [
        f"the catch-up plan {plan_id}, quoted in the reasons, has no French words in schedule-rules-fr.json"
        for plan_id, plan in plans.items()
        if not plan_is_computable(plan) and plan_id not in data.rules.catch_up_words_fr.plans
    ]
    problems += [
        f"{rule} names {plan_id}, which the calendar has not"
        for rule, named_plans in (
            ("catch_up_words_fr", data.rules.catch_up_words_fr.plans),
            ("catch_up_doses", data.rules.catch_up_doses.plans),
            (
                "booster_by_series_start",
                {b.plan: b for boosters in data.rules.booster_by_series_start.doses.values() for b in boosters},
            ),
        )
        for plan_id in named_plans
        if plan_id not in plans
    ]
    for dose_id, age in data.rules.ages_in_words.items():
        if not 0 <= age.age_min_months <= age.age_max_months:
            problems.append(f"ages_in_words of {dose_id}: {age.age_min_months} to {age.age_max_months} months")
    for disease_code, series in data.rules.booster_series.series.items():
        if any(doses.get(dose_id, ("",))[0] != disease_code for dose_id in series):
            problems.append(f"booster series of {disease_code} names a dose of another disease")
    for obligation in data.rules.earlier_obligations.values():
        if not obligation.source_ids:
            problems.append(f"the obligation « {obligation.label} » cites no source")
    problems += _recommendation_date_problems(data.rules.recommended_since)
    for source_ids in (
        data.rules.booster_series.source_ids,
        data.rules.adult_booster_tolerance.source_ids,
        data.rules.no_longer_counted.source_ids,
        *(age.source_ids for age in data.rules.ages_in_words.values()),
        *(interval.source_ids for interval in data.rules.min_intervals.doses.values()),
        *(rule.source_ids for rule in data.rules.latest_age_by_series_brand.doses.values()),
        *(rule.source_ids for rule in data.rules.pregnancy_counted_from_weeks.doses.values()),
        *(rule.source_ids for rule in data.rules.min_interval_from_age.doses.values()),
        *(earliest.source_ids for earliest in data.rules.earliest_ages.doses.values()),
        *((data.rules.pregnancy_ages.source_ids,) if data.rules.pregnancy_ages is not None else ()),
        *(group.source_ids for group in data.rules.one_dose_among),
        *(obligation.source_ids for obligation in data.rules.earlier_obligations.values()),
        *(series.source_ids for series in data.rules.recommended_since.series.values()),
        *(undated.source_ids for undated in data.rules.recommended_since.not_dated.values()),
    ):
        problems += [f"schedule-rules-fr.json cites unknown source {s}" for s in source_ids if s not in sources]
    if problems:
        raise ValueError("the vaccination schedule data does not fit together: " + "; ".join(problems))


def _dated_and_undated(dates: RecommendationDates) -> list[str]:
    return [
        *(dose for series in dates.series.values() for dose in series.doses),
        *(dose for undated in dates.not_dated.values() for dose in undated.doses),
    ]


def _recommendation_date_problems(dates: RecommendationDates) -> list[str]:
    """Each dose dated once at most (or said undated), each date a real day, month or year, each
    dated series with a source."""
    # Imported here: the engine's dates module reads this one's types.
    from ens.vaccination.engine.dates import parse_day_or_period

    problems: list[str] = []
    seen: set[str] = set()
    for dose_id in _dated_and_undated(dates):
        if dose_id in seen:
            problems.append(f"recommended_since names {dose_id} twice")
        seen.add(dose_id)
    for name, series in dates.series.items():
        try:
            parse_day_or_period(series.since)
        except ValueError:
            problems.append(f"recommended_since {name}: {series.since!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
        if not series.source_ids:
            problems.append(f"recommended_since {name} cites no source")
    return problems
