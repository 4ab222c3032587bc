"""Series of doses (chains) and how the booklet's entries fill them.

A chain is a root dose and the doses that follow it (``previous_dose_id``), or the doses of a
catch-up plan. Entries are offered in date order:

- an entry continues a series already started, while that series' next dose still accepts it (no
  catch-up limit, or before it);
- otherwise a catch-up series takes it when the infant series it replaces was never started and
  the entry falls in the catch-up's ages;
- otherwise it starts (or continues) the series whose first dose's age is the latest at or before
  the entry (or the nearest one after it).

Within a series, an entry fills the next dose not yet filled, after the checks the calendar
gives (earliest age, minimum interval since the previous dose, latest age). A booster of ENS's
booster series may be skipped: an entry given once a later booster of the series is reachable
(its age, or its tolerance) fills that one, and the closed boosters before it are replaced.
A dose given too early fills nothing: the answer lists it as ``not_counted`` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from ens.vaccination.calendar import CatchUpSchedule, Dose, ScheduleData
from ens.vaccination.engine.dates import add_interval, age_words, interval_words
from ens.vaccination.engine.model import BookletEntry, Person
from ens.vaccination.engine.steps import (
    ENTRY_DONE,
    ENTRY_UNKNOWN,
    Step,
    brand_in,
    dose_step,
    fit_to_series,
    obligation_of,
    plan_is_computable,
    plan_range,
    plan_steps,
)

# A booster whose rule the age at the series' first dose picks, that date given as a month or a year.
SERIES_START_UNKNOWN = (
    "Le carnet ne date pas assez la première dose pour dire à quel âge la série a commencé, dont dépend "
    "ce rappel : impossible de le vérifier."
)

# The 10-yearly booster after 65 is laid out up to this age.
_OLDEST_YEARS = 120


@dataclass(frozen=True)
class NotCounted:
    """An entry that fills no dose, and why."""

    entry: BookletEntry
    step: Step
    reason: str


@dataclass
class Chain:
    """A series of doses for one person. ``replaces`` is the infant series a catch-up series stands
    for when that one was never started; ``series_start``/``series_end`` bound when it may start."""

    steps: list[Step]
    root: Dose | None = None
    plan: CatchUpSchedule | None = None
    catch_up: bool = False
    replaces: Chain | None = None
    series_start: date | None = None
    series_end: date | None = None
    not_counted: list[NotCounted] = field(default_factory=list)
    described: list[CatchUpSchedule] = field(default_factory=list)

    @property
    def started(self) -> bool:
        return any(step.entry is not None for step in self.steps)

    @property
    def start(self) -> date | None:
        """The first day its first dose may stand (for choosing the series of a new entry)."""
        return self.steps[0].matching_start if self.steps else None

    def next_open(self) -> int | None:
        for index, step in enumerate(self.steps):
            if step.entry is None and step.replaced_by is None:
                return index
        return None

    def accepts_continuation(self, entry: BookletEntry) -> bool:
        index = self.next_open()
        if index is None or not self.started:
            return False
        closes = self.steps[index].catch_up_end
        return closes is None or entry.when.start <= closes

    def accepts_start(self, entry: BookletEntry) -> bool:
        """A catch-up series takes an entry that starts it within its ages, if what it replaces
        was never started."""
        if self.replaces is not None and self.replaces.started:
            return False
        if self.series_start is not None and entry.when.start < self.series_start:
            return False
        if self.series_end is not None and entry.when.start > self.series_end:
            return False
        if self.plan is not None and self.plan.products:
            return brand_in(entry.brand, self.plan.products)
        return True


def build_chains(data: ScheduleData, doses: list[Dose], *, birthdate: date) -> list[Chain]:
    """The series of one disease for one person: the calendar's, then the computable catch-up
    plans (described-only plans are quoted in reasons, never computed)."""
    rules = data.rules
    by_id = {dose.id: dose for dose in doses}
    following = {dose.previous_dose_id: dose for dose in doses if dose.previous_dose_id in by_id}
    chains: list[Chain] = []
    for root in doses:
        if root.previous_dose_id in by_id:
            continue
        series: list[Dose] = [root]
        while series[-1].id in following:
            series.append(following[series[-1].id])
        steps: list[Step] = []
        for dose in series:
            steps.append(dose_step(data, dose, birthdate=birthdate))
            recurrence = dose.recurrence
            if recurrence is not None and recurrence.type == "interval" and recurrence.every_years:
                instance = 1
                while (steps[-1].instance_age_years or _OLDEST_YEARS) + recurrence.every_years <= _OLDEST_YEARS:
                    steps.append(dose_step(data, dose, birthdate=birthdate, instance=instance))
                    instance += 1
        chains.append(Chain(steps=steps, root=root, catch_up=root.status == "catch_up"))
    for chain in chains:
        track = rules.catch_up_tracks.get(chain.root.id if chain.root else "")
        if track is not None and track.replaces:
            chain.replaces = next((c for c in chains if c.root is not None and c.root.id in track.replaces), None)
            chain.series_start = chain.steps[0].matching_start
            chain.series_end = chain.steps[0].closes
    return chains


def add_plans(chains: list[Chain], plans: tuple[CatchUpSchedule, ...], *, birthdate: date) -> list[Chain]:
    """Catch-up plans the calendar spells out (doses and spacing) become series of their own, each
    listed right after the series it catches up (where it stands for it: before a later series of
    the disease, an unvaccinated toddler's catch-up before the dose at 65); the others are kept on
    the series they catch up, to be quoted in its reasons."""
    added: list[Chain] = []
    for plan in plans:
        attached = attached_chain(chains, plan, birthdate=birthdate)
        if attached is None:
            continue
        if not plan_is_computable(plan):
            attached.described.append(plan)
            continue
        start, end = plan_range(plan, birthdate=birthdate, after=_day_after(infant_end(attached)))
        if start is None:
            continue
        steps = plan_steps(plan, start=start, end=end)
        root = attached.root
        earliest = start
        for step in steps:
            if step.interval is not None:
                earliest = add_interval(earliest, step.interval)
            # Each dose's obligation for its own ages, under the rules of the series it catches up
            # (``mandatory``, cohort, date in force, ``mandatory_until_age_months``), not the infant
            # dose's: the meningococcal obligation ends at 24 months (décret n° 2024-694), so a
            # catch-up dose from 2 years is recommended although the infant doses were mandatory.
            step.obligation = (
                obligation_of(root, birthdate=birthdate, start=earliest, end=end)
                if root is not None
                else attached.steps[0].obligation
            )
            step.validity = root
            step.since, step.since_rule = attached.steps[0].since, attached.steps[0].since_rule
            # A catch-up of a series no vaccine of a kind makes is not made by it either: PNEUMOVAX
            # at 12 months filled the toddlers' conjugate catch-up (seen over HTTP after the rule).
            step.excluded = attached.steps[0].excluded
        added.append(
            Chain(steps=steps, plan=plan, catch_up=True, replaces=attached, series_start=start, series_end=end)
        )
    ordered: list[Chain] = []
    for chain in chains:
        ordered += [chain, *(plan for plan in added if plan.replaces is chain)]
    return ordered


def attached_chain(chains: list[Chain], plan: CatchUpSchedule, *, birthdate: date) -> Chain | None:
    """The regular series a catch-up plan catches up: the one whose first dose comes latest before
    the plan's minimum age; for a plan without one, the series with a dose sharing the plan's
    catch-up limit (else the first series)."""
    regular = [c for c in chains if not c.catch_up and c.root is not None and c.steps[0].window_start is not None]
    if plan.age_min_months is None:
        limit = plan_limit(plan, birthdate=birthdate)
        sharing = [c for c in regular if any(s.catch_up_end == limit for s in c.steps)]
        candidates = sharing or regular
        return candidates[0] if candidates else None
    before = [c for c in regular if c.root is not None and (c.root.age_min_months or 0) < plan.age_min_months]
    return max(before, key=lambda c: c.root.age_min_months or 0 if c.root else 0, default=None)


def plan_limit(plan: CatchUpSchedule, *, birthdate: date) -> date | None:
    return plan_range(plan, birthdate=birthdate, after=None)[1]


def infant_end(chain: Chain) -> date | None:
    """The last day of a series' recommended windows (not its catch-up)."""
    ends = [step.window_end for step in chain.steps if step.window_end is not None]
    return max(ends) if ends else None


def _day_after(day: date | None) -> date | None:
    return None if day is None else day + timedelta(days=1)


# ---------------------------------------------------------------------------------------------
# Entries into series


def assign(chains: list[Chain], entries: list[BookletEntry], *, person: Person, birthdate: date) -> None:
    """Offer each entry, in date order, to the series that should take it."""
    for entry in entries:
        chain = choose_chain(chains, entry, person=person)
        if chain is not None:
            offer(chain, entry, birthdate=birthdate)
    for chain in chains:
        _fit(chain, None, birthdate=birthdate)


def _fit(chain: Chain, entry: BookletEntry | None, *, birthdate: date) -> None:
    """Each dose as its series so far makes it (``steps.fit_to_series``); ``entry``, being offered,
    stands for the first dose if none is in yet."""
    first = chain.steps[0].entry if chain.steps and chain.steps[0].entry is not None else entry
    # The course's vaccine: its first dose's, else the dose's own (the entry offered), else another's.
    given = [step.entry for step in chain.steps if step.entry is not None]
    brand = next((e.brand for e in (first, entry, *given) if e is not None and e.brand), "")
    before: BookletEntry | None = None
    for step in chain.steps:
        fit_to_series(step, first=first, before=before, brand=brand, birthdate=birthdate)
        before = step.entry


def choose_chain(chains: list[Chain], entry: BookletEntry, *, person: Person) -> Chain | None:
    usable = [c for c in chains if _population_allows(c, person)]
    for chain in usable:
        if chain.accepts_continuation(entry):
            return chain
    catch_ups = [c for c in usable if c.catch_up and c.replaces is not None and not c.started]
    # A plan bound to a product takes precedence when the entry is that product.
    for chain in sorted(catch_ups, key=lambda c: not (c.plan is not None and c.plan.products)):
        if chain.accepts_start(entry):
            return chain
    regular = [c for c in usable if not c.catch_up]
    # A series never started whose catch-up ended before the entry leaves it to a later series of
    # the disease: a conjugate pneumococcal dose at 63 was the infants' "dose 1" (an outside audit).
    lapsed = [c for c in regular if not c.started and _lapsed_before(c, entry.when.start)]
    if lapsed and any(c not in lapsed and c.start is not None and c.start > entry.when.start for c in regular):
        regular = [c for c in regular if c not in lapsed]
    dated = [c for c in regular if c.start is not None]
    before = [c for c in dated if c.start is not None and c.start <= entry.when.start]
    if before:
        # The latest series whose ages have come; else (its dose counts before its age: an earliest
        # age or a tolerance) the one that opens first.
        opened = [c for c in before if (c.steps[0].window_start or date.min) <= entry.when.start]
        if opened:
            return max(opened, key=lambda c: c.steps[0].window_start or date.min)
        return max(before, key=lambda c: (c.start or date.min, -(c.steps[0].window_start or date.max).toordinal()))
    if dated:
        return min(dated, key=lambda c: c.start or date.max)
    return regular[0] if regular else None


def _lapsed_before(chain: Chain, day: date) -> bool:
    end = chain.steps[0].catch_up_end if chain.steps else None
    return end is not None and end < day


def _population_allows(chain: Chain, person: Person) -> bool:
    """A series reserved to a sex or a birth cohort the person is not in takes none of their entries."""
    root = chain.root
    if root is None:
        return True
    population = root.population
    if population.sex is not None and person.sex is not None and population.sex != person.sex:
        return False
    if person.birthdate is not None:
        if population.born_from is not None and person.birthdate < date.fromisoformat(population.born_from):
            return False
        if population.born_until is not None and person.birthdate > date.fromisoformat(population.born_until):
            return False
    return True


def offer(chain: Chain, entry: BookletEntry, *, birthdate: date) -> None:
    """Fill the dose this entry stands for, or record why it counts for none."""
    index = chain.next_open()
    if index is None:
        last = chain.steps[-1]
        chain.not_counted.append(
            NotCounted(entry, last, "Dose en plus : toutes les doses de ce schéma sont déjà enregistrées.")
        )
        return
    target = _skip_to(chain, entry, index=index)
    step = chain.steps[target]
    if step.entry is not None:
        chain.not_counted.append(
            NotCounted(entry, step, "Dose en plus : toutes les doses de ce schéma sont déjà enregistrées.")
        )
        return
    previous = next((s.entry for s in reversed(chain.steps[:target]) if s.entry is not None), None)
    if previous is not None and previous.when.exact and entry.when.exact and previous.when.start == entry.when.start:
        # Two injections against one disease on one day are one dose (the same injection recorded
        # twice, or a mistake): the second filled the next dose, a booster years ahead (an outside audit).
        chain.not_counted.append(
            NotCounted(entry, step, "Dose en plus : une autre injection contre cette maladie est du même jour.")
        )
        return
    _fit(chain, entry, birthdate=birthdate)
    verdict, notes = check_entry(chain, entry, target=target, birthdate=birthdate)
    if verdict in ("too_early", "too_late", "another_vaccine"):
        chain.not_counted.append(NotCounted(entry, step, " ".join(notes)))
        return
    step.entry = entry
    step.outcome = ENTRY_UNKNOWN if verdict == "ambiguous" else ENTRY_DONE
    step.notes = notes
    # Boosters passed over are replaced by this one; infant doses passed over stay open (not recorded).
    for skipped in chain.steps[index:target]:
        if skipped.booster and skipped.entry is None and skipped.replaced_by is None:
            skipped.replaced_by = step
            step.replaces.append(skipped)


def _skip_to(chain: Chain, entry: BookletEntry, *, index: int) -> int:
    """The dose an entry stands for, from the next open one.

    Once an entry reaches a booster of ENS's booster series (its age, or its tolerance), and every
    open dose before that booster has closed (window and catch-up ended), the entry belongs to the
    boosters: it fills the latest booster it reaches, or, that one being filled already, the next
    open booster (whose checks then say whether it counts). It never fills an infant dose."""
    steps = chain.steps
    reached = [
        k
        for k in range(index + 1, len(steps))
        if steps[k].booster and (start := steps[k].matching_start) is not None and start <= entry.when.start
    ]
    if not reached:
        return index
    latest = max(reached)
    if not all(steps[k].closed_on(entry.when.start) for k in range(index, latest) if steps[k].entry is None):
        return index
    if steps[latest].entry is None:
        return latest
    following = [k for k in range(latest + 1, len(steps)) if steps[k].booster and steps[k].entry is None]
    return following[0] if following else latest


def check_entry(chain: Chain, entry: BookletEntry, *, target: int, birthdate: date) -> tuple[str, list[str]]:
    """``ok``, ``ambiguous`` (a year or month that may fall either side of a limit, or a vaccine
    typed by name where the dose needs one kind), ``too_early``, ``too_late`` or
    ``another_vaccine``, with the sentences that say which checks were made and which the calendar
    gives no figure for."""
    step = chain.steps[target]
    when = entry.when
    given = f"Donnée {'le' if when.exact else 'en'} {when.french()} ({given_age(birthdate, entry)})."
    notes = [given]
    verdict = "ok"
    excluded = step.excluded
    if excluded is not None and entry.brand and brand_matches(entry.brand, excluded.brands):
        return "another_vaccine", [given, f"Ne compte pas pour cette dose : {entry.brand} est {excluded.words_fr}."]
    product = step.product
    if product is not None:
        kind = f"{product.words_fr} ({', '.join(product.brands)})"
        if entry.brand and not brand_matches(entry.brand, product.brands):
            return "another_vaccine", [
                given,
                f"Ne compte pas pour cette dose, que seul {kind} fait : {entry.brand} n'en est pas un.",
            ]
        if not entry.brand:
            verdict = "ambiguous"
            notes.append(f"Le carnet ne dit pas quel vaccin a été fait : seul {kind} compte pour cette dose.")
    if not when.exact:
        notes.append("Le carnet ne donne pas le jour : les contrôles retiennent le cas le moins favorable.")
    # Earliest age (or the adult boosters' tolerance).
    if step.earliest is not None and step.tolerance:
        if when.end < step.earliest:
            return "too_early", [
                given,
                f"Ne compte pas pour ce rappel : faite plus de {step.earliest_words} ; le rappel reste à faire.",
            ]
        if when.start < step.earliest:
            verdict = "ambiguous"
            notes.append(f"Impossible de dire si elle a été faite moins de {step.earliest_words}.")
        elif step.window_start is not None and when.start < step.window_start:
            notes.append(f"Faite moins de {step.earliest_words} : elle compte pour ce rappel.")
    elif step.earliest is not None:
        if when.end < step.earliest:
            return "too_early", [
                given,
                f"Ne compte pas : donnée avant l'âge minimal de cette dose ({step.earliest_words}).",
            ]
        if when.start < step.earliest:
            verdict = "ambiguous"
            notes.append(f"Impossible de vérifier l'âge minimal ({step.earliest_words}) avec cette date.")
        else:
            notes.append(f"Âge minimal ({step.earliest_words}) respecté.")
    elif step.dose is not None:
        notes.append("Le calendrier ne donne pas d'âge minimal pour cette dose : non vérifié.")
    if step.series_start_rule is not None:
        notes.append(f"Rappel selon le calendrier, {step.series_start_rule.words_fr}.")
    if step.series_start_unknown:
        verdict = "ambiguous"
        notes.append(SERIES_START_UNKNOWN)
    # Minimum interval since the dose before it in the series.
    previous = next((s for s in reversed(chain.steps[:target]) if s.entry is not None), None)
    if step.interval is not None:
        words = interval_words(step.interval)
        if previous is not None and previous.entry is not None:
            before = previous.entry.when
            if when.end < add_interval(before.start, step.interval):
                return "too_early", [given, f"Ne compte pas : moins de {words} après la dose précédente."]
            if when.start < add_interval(before.end, step.interval):
                verdict = "ambiguous"
                notes.append(f"Impossible de vérifier l'intervalle minimal de {words} avec ces dates.")
            else:
                notes.append(f"Intervalle minimal de {words} après la dose précédente respecté.")
        else:
            notes.append(f"Intervalle minimal de {words} : la dose précédente n'est pas dans le carnet.")
    elif step.has_previous and step.dose is not None:
        notes.append("Le calendrier ne donne pas d'intervalle minimal depuis la dose précédente : non vérifié.")
    # Latest age (a dose after it may no longer be given).
    if step.latest is not None:
        if when.start > step.latest:
            limit = "Ne compte pas : donnée après l'âge limite de cette dose"
            if step.brand_latest is not None and step.brand_latest_applies:
                limit += f" ({step.brand_latest.words_fr}, règle ENS)"
            return "too_late", [given, f"{limit}."]
        if when.end > step.latest:
            verdict = "ambiguous"
            notes.append("Impossible de vérifier l'âge limite de cette dose avec cette date.")
    # Late, but counted.
    if step.catch_up_end is not None and when.start > step.catch_up_end:
        notes.append("Donnée après la limite de rattrapage du calendrier ; elle compte.")
    elif step.window_end is not None and when.start > step.window_end and not step.replaces:
        notes.append("Donnée en retard sur l'âge recommandé ; elle compte.")
    return verdict, notes


def given_age(birthdate: date, entry: BookletEntry) -> str:
    """``à 2 mois``, or ``entre 7 mois et 19 mois`` when the booklet gives only a month or a year."""
    when = entry.when
    first, last = age_words(birthdate, max(when.start, birthdate)), age_words(birthdate, max(when.end, birthdate))
    return f"à {first}" if first == last else f"entre {first} et {last}"


def brand_matches(name: str, brands: tuple[str, ...]) -> bool:
    """Whether a vaccine's name is one of ``brands`` (``ROTATEQ`` matches ``ROTATEQ``, not ``ROTARIX``)."""
    return brand_in(name, brands)
