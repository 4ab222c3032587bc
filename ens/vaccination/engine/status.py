"""Where one person stands with each dose of a series: done, due, overdue, upcoming, not counted or
unknown, with the dates and the reason.

- ``due`` from the dose's date (its age, or the minimum interval after the dose before it) until
  the end of its window, or of its catch-up when the calendar gives one;
- ``overdue`` after that, ``overdue_since`` the day after;
- ``not_counted`` once it may no longer be given at all (past the calendar's ``latest_age_months``,
  or the dose before it is): missed for good, it is no longer to do and in neither count, its
  reason saying since when (as for an entry that counts for nothing); so too once the calendar no
  longer recommends it (past its catch-up limit at any age, or a childhood dose for an adult: the
  rules' ``no_longer_counted``);
- ``upcoming`` before it, with the date; a dose waiting for the one before it gets the date it
  would have if that one were given today;
- ``unknown`` when the space lacks what the rule needs (sex, a condition the booklet cannot tell).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Literal

from ens.vaccination.calendar import Dose, Interval, RecommendedSince, ScheduleData
from ens.vaccination.engine.chains import SERIES_START_UNKNOWN, Chain, NotCounted, brand_matches, infant_end
from ens.vaccination.engine.dates import PartialDate, add_interval, day_words, interval_words, parse_day_or_period
from ens.vaccination.engine.model import MAY_BE_OFFERED, DoseItem, Person, Status
from ens.vaccination.engine.steps import ENTRY_DONE, Step, plan_range

SEX_WORDS = {"F": "aux femmes", "M": "aux hommes"}
CHILDHOOD_DOSE = (
    "Dose de l'enfance : le calendrier ne la recommande pas à l'âge adulte. Si la vaccination n'est pas à jour, "
    "un médecin propose le rattrapage qui convient à l'âge adulte (règle ENS)."
)
NOT_RECORDED = "non enregistré(s)"
OFFERED = (
    "Le calendrier dit seulement qu'elle peut être proposée, sans la recommander à tous : à voir avec un "
    "médecin. Elle n'est pas comptée parmi les vaccinations à faire."
)


@dataclass
class Row:
    """A line of the answer for a step (``item`` None: not shown)."""

    step: Step
    item: DoseItem | None
    kind: Literal["filled", "open", "rejected"]
    applicable: bool = True
    # The series cannot go on: the dose before was not given and may no longer be.
    blocked: bool = False
    replaced: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Timing:
    """``due_from`` dates a dose waiting for the one before it as if that one were given today;
    ``planned_from`` as if it had been given on its own date; ``age_from`` is the dose's own age
    alone. All three start no earlier than the rule does."""

    due_from: date | None
    due_until: date | None
    waiting: bool
    reasons: list[str]
    planned_from: date | None = None
    age_from: date | None = None


def chain_items(
    data: ScheduleData, chain: Chain, *, person: Person, birthdate: date, today: date, listed: bool = True
) -> list[DoseItem]:
    """The answer's lines for one series (``listed`` False: only what the booklet filled)."""
    rows: list[Row] = []
    previous: Row | None = None
    for step in chain.steps:
        rejected = [r for r in chain.not_counted if r.step is step]
        earlier = [r for r in rejected if step.entry is None or r.entry.when.start <= step.entry.when.start]
        rows += [Row(step, _not_counted_item(step, r), "rejected") for r in earlier]
        if step.entry is not None:
            previous = Row(step, _filled_item(step), "filled")
            rows.append(previous)
            rows += [Row(step, _not_counted_item(step, r), "rejected") for r in rejected if r not in earlier]
            continue
        if step.replaced_by is not None or not listed:
            continue
        previous = _open_row(
            data, step, chain=chain, previous=previous, person=person, birthdate=birthdate, today=today
        )
        rows.append(previous)
    _replace_missed_boosters(rows, today=today)
    _keep_next_instance_only(rows)
    return [row.item for row in rows if row.item is not None]


def _filled_item(step: Step) -> DoseItem:
    entry = step.entry
    assert entry is not None
    reason = " ".join(step.notes)
    if step.replaces:
        reason += " Tient lieu de " + ", ".join(f"« {s.label} »" for s in step.replaces) + f", {NOT_RECORDED}."
    return DoseItem(
        dose_id=step.dose_id,
        label=step.label,
        status="done" if step.outcome == ENTRY_DONE else "unknown",
        obligation=step.obligation,
        recommendation=step.recommendation,
        reason=reason,
        source_ids=step.source_ids,
        due_from=step.window_start,
        due_until=step.closes,
        vaccination_id=entry.id,
        given=entry.when.text,
    )


def _not_counted_item(step: Step, rejected: NotCounted) -> DoseItem:
    return DoseItem(
        dose_id=step.dose_id,
        label=step.label,
        status="not_counted",
        obligation=step.obligation,
        recommendation=step.recommendation,
        reason=rejected.reason,
        source_ids=step.source_ids,
        vaccination_id=rejected.entry.id,
        given=rejected.entry.when.text,
    )


def _open_row(
    data: ScheduleData,
    step: Step,
    *,
    chain: Chain,
    previous: Row | None,
    person: Person,
    birthdate: date,
    today: date,
) -> Row:
    """A dose the booklet has not filled."""
    # A dose that waits on one which does not apply to this person does not apply either.
    if step.interval is not None and previous is not None and not previous.applicable:
        return Row(step, None, "open", applicable=False)
    timing = _timing(step, previous=previous, birthdate=birthdate, today=today)
    due_from, due_until, reasons = timing.due_from, timing.due_until, list(timing.reasons)
    if step.series_start_rule is not None:
        reasons.insert(0, f"Rappel selon le calendrier, {step.series_start_rule.words_fr}.")
    if step.brand_latest is not None and step.brand_latest_applies:
        reasons.append(f"Âge limite : {step.brand_latest.words_fr} (règle ENS).")
    extension = _extension(data, step.dose, birthdate=birthdate)
    if extension is not None and due_until is not None and today > due_until:
        catch_up, applies = extension
        if not applies:
            return Row(step, None, "open", applicable=False)
        due_until = None
        reasons.append(f"{catch_up.label}.")
        step.source_ids = (*step.source_ids, *(s for s in catch_up.source_ids if s not in step.source_ids))
    if not _in_force(step, due_from=due_from, due_until=due_until, person=person, today=today):
        return Row(step, None, "open", applicable=False)
    if _excluded_by_brand(data, step, chain=chain):
        return Row(step, None, "open", applicable=False)
    if _past_the_ages_it_names(data, step, due_until=due_until, today=today):
        return Row(step, None, "open", applicable=False)
    status: Status
    overdue_since: date | None = None
    blocked = previous is not None and previous.step.entry is None and _cannot_go_on(step, previous, today=today)
    # The calendar's latest age (``latest_age_months``: "can be given up to 4 months", "before
    # 8 months") ends the dose for good. A dose that may no longer be given, or whose series may no
    # longer go on, is not to do: not_counted, out of the due and overdue counts, with no
    # overdueSince; so is one the calendar no longer recommends to this person (past its catch-up
    # limit, at any age; or a childhood dose for an adult: the rules' no_longer_counted), which a
    # doctor may still give.
    missed = blocked or (step.latest is not None and today > step.latest)
    if blocked and previous is not None:
        status = "not_counted"
        latest = previous.step.latest
        if previous.blocked or (latest is not None and today > latest):
            reasons.append(f"Ne peut plus être faite : « {previous.step.label} » ne peut plus être donnée.")
        else:
            reasons.append(
                f"Ne peut plus être faite : « {previous.step.label} », jamais faite, n'est plus recommandée à cet "
                "âge (sa limite de rattrapage est passée) ; à voir avec un médecin."
            )
    elif (
        due_until is not None
        and today > due_until
        and timing.waiting
        and _waits_on_a_dose_not_late(previous)
        and not (step.catch_up_end is not None and due_until == step.catch_up_end)
    ):
        # Its age is past, but the dose before it, never given, is not late (still due or to come in
        # its catch-up): this one cannot be given before it, so it is not late either. The MenB
        # booster of a toddler with no MenB dose was overdue since 15 months, counted on the home
        # screen, while its dose 2 was upcoming (an outside audit).
        status = "upcoming"
        reasons.append(f"L'âge recommandé est passé depuis le {day_words(due_until + timedelta(days=1))}.")
        if due_from is not None:
            reasons.append(f"À faire à partir du {day_words(due_from)}.")
        due_until = None
    elif due_until is not None and today > due_until:
        closed = due_until + timedelta(days=1)
        # no_longer_counted: a dose past its catch-up limit, a child's too (the calendar's own age
        # beyond which it stops recommending the dose: PCV after 2 years, Hib after 5); for an
        # adult, also a childhood dose. A child's dose past its age with no such limit stays overdue.
        adult_from = add_interval(birthdate, Interval(data.rules.no_longer_counted.adult_from_years, "years"))
        adult = today >= adult_from
        no_longer = False
        if step.catch_up_end is not None and due_until == step.catch_up_end:
            no_longer = True
            reasons.append(
                f"La limite de rattrapage du calendrier ({day_words(due_until)}) est passée : il ne la recommande "
                "plus à cet âge en population générale ; à voir avec un médecin."
            )
        else:
            reasons.append(f"L'âge recommandé est passé depuis le {day_words(closed)}.")
            if adult and not step.booster and due_until < adult_from:
                no_longer = True
                reasons.append(CHILDHOOD_DOSE)
        if no_longer and not missed:
            missed = True
            step.source_ids = (
                *step.source_ids,
                *(s for s in data.rules.no_longer_counted.source_ids if s not in step.source_ids),
            )
        if missed:
            status = "not_counted"
        elif not timing.waiting and due_from is not None and today < due_from:
            # Late, but the minimum interval after the dose before it (given late) has not passed:
            # it cannot be given yet, so it is to do from then, not overdue now. A child's hexa-3 after
            # a hexa-2 at 10 months was overdue for four diseases (counted on the home screen, "En
            # retard" on the certificate) while the same injection's Hib and hepatitis B said "from
            # 10 August", and a dose given on the day it was called overdue was not counted (an audit).
            status = "upcoming"
            reasons.append(f"À faire à partir du {day_words(due_from)}.")
            due_until = None
        else:
            status, overdue_since = "overdue", closed
    elif missed:
        status = "not_counted"
    elif due_from is not None and today < due_from:
        status = "upcoming"
        reasons.append(f"À faire à partir du {day_words(due_from)}.")
    else:
        status = "due"
        reasons.append(
            f"À faire maintenant, au plus tard le {day_words(due_until)}." if due_until else "À faire maintenant."
        )
        if step.window_end is not None and step.catch_up_end is not None and today > step.window_end:
            passed = step.window_end + timedelta(days=1)  # the first day past it, as the other sentences say
            reasons.append(f"En rattrapage : l'âge recommandé est passé depuis le {day_words(passed)}.")
    reasons += _limits(step, status=status, due_from=due_from, due_until=due_until, today=today)
    if missed:
        reasons.append("Elle n'est donc plus comptée parmi les vaccinations à faire.")
    if status in ("overdue", "not_counted"):
        due_from = _missed_from(timing=timing, due_from=due_from, due_until=due_until)
    elif status == "upcoming" and due_from is not None and due_until is not None and due_from > due_until:
        # It can only be given once its recommended age has ended (its reason says until when): an
        # end before its start would be a window no day fits.
        due_until = None
    unknown_because = _unknown_because(data, step, chain=chain, person=person)
    if unknown_because and status in ("due", "overdue") and not blocked:
        status, overdue_since = "unknown", None
        reasons.insert(0, unknown_because)
    elif unknown_because:
        reasons.append(unknown_because)
    reasons += _described_catch_ups(data, chain, step, status=status, birthdate=birthdate, today=today)
    if step.recommendation == MAY_BE_OFFERED and status in ("due", "overdue"):
        reasons.insert(0, OFFERED)
    item = DoseItem(
        dose_id=step.dose_id,
        label=step.label,
        status=status,
        obligation=step.obligation,
        recommendation=step.recommendation,
        reason=" ".join(reasons),
        source_ids=step.source_ids,
        due_from=due_from,
        due_until=due_until,
        overdue_since=overdue_since,
    )
    return Row(step, item, "open", blocked=blocked)


def _timing(step: Step, *, previous: Row | None, birthdate: date, today: date) -> Timing:
    """When the dose is due: its age, and the minimum interval after the dose before it (given, or
    dated as if given today when it is still to do)."""
    reasons: list[str] = []
    due_from = step.window_start
    planned_from = step.window_start
    waiting = False
    if step.interval is not None and previous is not None:
        words = interval_words(step.interval)
        if previous.step.entry is not None:
            after = add_interval(previous.step.entry.when.end, step.interval)
            reasons.append(f"Au moins {words} après la dose précédente.")
            planned_from = _later(planned_from, after)
        else:
            planned = previous.item.due_from if previous.item is not None else None
            after = add_interval(max(today, planned) if planned is not None else today, step.interval)
            waiting = True
            reasons.append(f"Après « {previous.step.label} » (au moins {words} après).")
            if planned is not None:
                planned_from = _later(planned_from, add_interval(planned, step.interval))
        due_from = _later(due_from, after)
    elif step.has_previous and step.dose is not None and step.window_start is None:
        reasons.append("Le calendrier ne donne ni âge ni intervalle minimal pour cette dose.")
    elif step.has_previous and step.dose is not None and previous is not None and previous.step.entry is None:
        # Both to do: say why nothing keeps them apart (no invented interval).
        reasons.append("Le calendrier ne donne pas d'intervalle minimal après la dose précédente : seul l'âge la date.")
    if due_from is None and not step.has_previous:
        due_from = planned_from = birthdate  # no age given: from birth
    age_from = step.window_start
    # Not due before the rule was: a catch-up opened in December 2025 is due from then, a Hib dose
    # of a child born in 1990 from 1993.
    floors: list[date] = []
    dose = step.dose
    if dose is not None and dose.valid_from:
        floors.append(parse_day_or_period(dose.valid_from)[0])
    if step.since is not None and step.since_rule is not None:
        floors.append(step.since)
        if due_from is not None and due_from < step.since:
            reasons.append(_since_words(step.since, step.since_rule))
            step.source_ids = (*step.source_ids, *(s for s in step.since_rule.source_ids if s not in step.source_ids))
    for floor in floors:
        due_from, planned_from, age_from = (_floor(d, floor) for d in (due_from, planned_from, age_from))
    return Timing(due_from, step.closes, waiting, reasons, planned_from, age_from)


def _later(day: date | None, other: date) -> date:
    return other if day is None else max(day, other)


def _floor(day: date | None, floor: date) -> date | None:
    return None if day is None else max(day, floor)


def _since_words(since: date, rule: RecommendedSince) -> str:
    """Since when the dose is recommended to everyone, and whether ENS chose the day."""
    precision = PartialDate.parse(rule.since).precision
    chosen = {
        "year": " (règle ENS : les sources ne donnent que l'année, son premier jour est retenu)",
        "month": " (règle ENS : les sources ne donnent que le mois, son premier jour est retenu)",
        "day": "",
    }[precision]
    return f"Recommandée à tous depuis le {day_words(since)}{chosen}."


def _waits_on_a_dose_not_late(previous: Row | None) -> bool:
    """The dose before, not in the booklet, is still due or to come (not late, not missed)."""
    return (
        previous is not None
        and previous.step.entry is None
        and previous.item is not None
        and previous.item.status in ("due", "upcoming")
    )


def _missed_from(*, timing: Timing, due_from: date | None, due_until: date | None) -> date | None:
    """When a dose that may no longer be given in time was due: on its own schedule, not when it could
    now be given (a dose waiting for the one before it); its own age when the dose before it came too
    late for it; no start at all when no day of its window was left."""
    if timing.waiting:
        due_from = timing.planned_from
    if due_from is not None and due_until is not None and due_from > due_until:
        age_from = timing.age_from
        due_from = age_from if age_from is not None and age_from <= due_until else None
    return due_from


def _limits(step: Step, *, status: Status, due_from: date | None, due_until: date | None, today: date) -> list[str]:
    """What else bounds the dose: its latest age, ENS's tolerance for adult boosters, a lateness
    already certain."""
    said: list[str] = []
    if step.latest is not None:
        if today > step.latest:
            said.append(
                f"Ne peut plus être donnée depuis le {day_words(step.latest + timedelta(days=1))} (âge limite)."
            )
        elif status in ("due", "upcoming", "overdue"):
            said.append(f"Ne peut plus être donnée après le {day_words(step.latest)}.")
    if status == "upcoming" and due_from is not None and due_until is not None and due_from > due_until:
        said.append(f"Elle sera en retard : l'âge recommandé se termine le {day_words(due_until)}.")
    if step.tolerance and step.earliest is not None and status in ("due", "upcoming", "overdue"):
        said.append(f"Un rappel fait à partir du {day_words(step.earliest)} compte pour celui-ci (règle ENS).")
    return said


def _past_the_ages_it_names(data: ScheduleData, step: Step, *, due_until: date | None, today: date) -> bool:
    """A dose for people of an age the calendar names in words (``ages_in_words``: "femmes en âge
    de procréer"), the person past it: not theirs any more, as a pregnancy's doses are not outside
    those ages. A woman of 65 had the varicella dose of women of childbearing age listed, closed in
    2011 (an outside audit)."""
    if step.dose is None or step.dose.id not in data.rules.ages_in_words:
        return False
    return due_until is not None and today > due_until


def _cannot_go_on(step: Step, previous: Row, *, today: date) -> bool:
    """The dose before was not given and may no longer be (its latest age has passed), or is no
    longer recommended (no_longer_counted: past its catch-up limit). A booster of ENS's booster
    series goes on regardless: the adult dTP boosters come after childhood doses an adult missed.
    A child past the MenB catch-up with no infant dose was still owed the MenB booster, overdue
    and counted for the rest of childhood (an outside audit)."""
    if previous.blocked:
        return True
    if previous.item is None:
        return False
    latest = previous.step.latest
    if latest is not None and today > latest:
        return True
    # A dose with a catch-up limit of its own (the pneumococcal booster) is ended by it, said so.
    closes = previous.step.catch_up_end
    own_limit = step.catch_up_end is not None
    return (
        not step.booster
        and not own_limit
        and previous.item.status == "not_counted"
        and closes is not None
        and today > closes
    )


def _extension(data: ScheduleData, dose: Dose | None, *, birthdate: date) -> tuple[Dose, bool] | None:
    """A catch-up dose that keeps this infant dose due (MMR for people born since 1980), and whether
    this person is in its population."""
    if dose is None:
        return None
    for catch_up_id, track in data.rules.catch_up_tracks.items():
        if dose.id in track.extends:
            catch_up = next(d for disease in data.calendar.diseases for d in disease.doses if d.id == catch_up_id)
            born_from = catch_up.population.born_from
            return catch_up, born_from is None or birthdate >= date.fromisoformat(born_from)
    return None


def _in_force(step: Step, *, due_from: date | None, due_until: date | None, person: Person, today: date) -> bool:
    """Whether the rule applies to this person: it was in force at some time the dose was due for
    them (a rule withdrawn before today, or one that began after their window closed, is listed
    only when the booklet filled it), and the person is in its population (a catch-up plan follows
    the series it catches up)."""
    # Its whole window (catch-up included) closed before the rule existed: never recommended to them.
    if step.since is not None and due_until is not None and due_until < step.since:
        return False
    dose = step.dose or step.validity
    if dose is None:
        return True
    if dose.valid_until:
        valid_until = parse_day_or_period(dose.valid_until)[1]
        if valid_until < today or (due_from is not None and due_from > valid_until):
            return False
    if dose.valid_from and due_until is not None and due_until < parse_day_or_period(dose.valid_from)[0]:
        return False
    population = dose.population
    if person.birthdate is not None:
        if population.born_from is not None and person.birthdate < date.fromisoformat(population.born_from):
            return False
        if population.born_until is not None and person.birthdate > date.fromisoformat(population.born_until):
            return False
    return not (population.sex is not None and person.sex is not None and population.sex != person.sex)


def _unknown_because(data: ScheduleData, step: Step, *, chain: Chain, person: Person) -> str:
    """What the rule needs and the space does not say."""
    dose = step.dose
    if dose is None:
        return ""
    if step.series_start_unknown:
        return SERIES_START_UNKNOWN
    population = dose.population
    if population.sex is not None and person.sex is None:
        return f"Ne s'applique qu'{SEX_WORDS[population.sex]} : l'espace ne renseigne pas le sexe."
    if population.condition:
        words = data.rules.conditions_fr.words[population.condition]
        return f"Ne s'applique que si : {words} — l'espace ne permet pas de le savoir."
    rule = data.rules.requires_series_brand.get(dose.id)
    if rule is not None:
        names = _series_brands(chain)
        if not names or not all(brand_matches(name, rule.brands) for name in names):
            return f"Seulement si le schéma est fait avec {', '.join(rule.brands)} : le carnet ne le dit pas."
    return ""


def _excluded_by_brand(data: ScheduleData, step: Step, *, chain: Chain) -> bool:
    """A dose reserved to one vaccine's course, when the course was given with another one."""
    rule = data.rules.requires_series_brand.get(step.dose.id) if step.dose is not None else None
    if rule is None:
        return False
    names = _series_brands(chain)
    return bool(names) and not any(brand_matches(name, rule.brands) for name in names)


def _series_brands(chain: Chain) -> list[str]:
    return [s.entry.brand for s in chain.steps if s.entry is not None and s.entry.brand]


def _described_catch_ups(
    data: ScheduleData, chain: Chain, step: Step, *, status: Status, birthdate: date, today: date
) -> list[str]:
    """Catch-up plans the calendar only describes, quoted (in French: the rules'
    ``catch_up_words_fr``) on the late doses of the series they catch up while the person's age is
    in their range (a plan without a minimum age: only on the doses that share its catch-up limit);
    a plan for the unvaccinated, only while the series holds no dose."""
    if status not in ("due", "overdue"):
        return []
    quoted: list[str] = []
    end = infant_end(chain)
    for plan in chain.described:
        start, until = plan_range(plan, birthdate=birthdate, after=end + timedelta(days=1) if end else None)
        if plan.age_min_months is None and step.catch_up_end != until:
            continue
        words = data.rules.catch_up_words_fr.plans[plan.id]
        if words.unvaccinated_only and chain.started:
            continue
        if start is not None and start <= today and (until is None or today <= until):
            quoted.append(f"Rattrapage selon le calendrier : {words.words}")
            step.source_ids = (*step.source_ids, *(s for s in plan.source_ids if s not in step.source_ids))
    return quoted


def _replace_missed_boosters(rows: list[Row], *, today: date) -> None:
    """ENS's booster series: a booster overdue (window and catch-up closed) is replaced by the next
    booster of the series once that one's window opens or it is given; that one says so."""
    for index, row in enumerate(rows):
        if row.kind != "open" or row.item is None or not row.step.booster or row.item.status != "overdue":
            continue
        for later in rows[index + 1 :]:
            if later.kind == "rejected":
                continue
            if not later.step.booster:
                break
            opened = later.step.window_start is not None and later.step.window_start <= today
            if later.item is not None and (later.kind == "filled" or opened):
                later.replaced = [*row.replaced, row.step.label, *later.replaced]
                row.item = None
                break
    for row in rows:
        if row.item is not None and row.replaced:
            names = ", ".join(f"« {label} »" for label in row.replaced)
            row.item = replace(row.item, reason=f"{row.item.reason} Tient lieu de {names}, {NOT_RECORDED}.")


def _keep_next_instance_only(rows: list[Row]) -> None:
    """Of a repeated booster's instances, show those given or due, and only the next one to come."""
    seen_upcoming: set[str] = set()
    for row in rows:
        item = row.item
        if item is None or row.kind != "open" or row.step.instance_age_years is None or item.status != "upcoming":
            continue
        if row.step.dose_id in seen_upcoming:
            row.item = None
        seen_upcoming.add(row.step.dose_id)
