"""Doses that come back with the seasons (influenza, Covid-19) and doses of a pregnancy.

They fill no series: each looks at the booklet for a dose in the current campaign (or in the
current pregnancy) and says whether this one is done, due, or when the next campaign opens.
The calendar names the seasons without dates; ENS's rules give each season's window
(``schedule-rules-fr.json``), and every answer quotes it.
"""

from __future__ import annotations

from datetime import date, timedelta

from ens.vaccination.calendar import Dose, Interval, ScheduleData
from ens.vaccination.engine.dates import (
    add_interval,
    age_in_months,
    at_months,
    day_words,
    interval_words,
    last_day_at_months,
    parse_day_or_period,
)
from ens.vaccination.engine.model import BookletEntry, DoseItem, Person, Status
from ens.vaccination.engine.steps import obligation_of

_YEARS_AHEAD = 130


def is_seasonal(dose: Dose) -> bool:
    return dose.recurrence is not None and dose.recurrence.type in ("annual_seasonal", "seasonal")


def is_pregnancy(dose: Dose) -> bool:
    return dose.population.pregnant is True


def seasonal_item(
    data: ScheduleData, dose: Dose, *, entries: list[BookletEntry], birthdate: date, today: date
) -> DoseItem | None:
    """This season's dose if the campaign is open, else the next campaign the person is eligible for."""
    recurrence = dose.recurrence
    assert recurrence is not None
    eligible_from = _eligible_from(dose, birthdate)
    eligible_until = last_day_at_months(birthdate, dose.age_max_months) if dose.age_max_months is not None else None
    valid_from = parse_day_or_period(dose.valid_from)[0] if dose.valid_from else None
    season = data.rules.seasons.get(recurrence.season or "")
    if season is None:
        return _item(
            dose,
            "unknown",
            birthdate=birthdate,
            reason="Le calendrier ne donne pas les dates de cette saison : impossible de dire quand.",
        )
    year = today.year - 1
    # A campaign opening in a year ends at the latest the next year: those opening before the year
    # before eligibility (or validity) are out of reach, not worth computing (an adult's campaigns
    # from 65 were ~60 windows an evaluation).
    for not_before in (eligible_from, valid_from):
        if not_before is not None:
            year = max(year, not_before.year - 1)
    shorter = data.rules.min_interval_from_age.doses.get(dose.id)
    while year < today.year + _YEARS_AHEAD:
        start, end = season.window(year)
        counted = min(season.counted(year), start)
        interval = dose.min_interval_from_previous
        older = shorter is not None and age_in_months(birthdate, start) >= 12 * shorter.from_age_years
        if shorter is not None and older:
            # From that age on the campaign's opening day, the shorter interval (ENS's min_interval_from_age).
            interval = shorter.interval
        in_reach = end >= today and (eligible_from is None or eligible_from <= end)
        in_reach = in_reach and (eligible_until is None or eligible_until >= start)
        in_reach = in_reach and (valid_from is None or end >= valid_from)
        if in_reach and not _interval_allows(entries, start=counted, end=end, until=eligible_until, interval=interval):
            in_reach = False
        if in_reach:
            break
        year += 1
    else:
        return None
    if eligible_until is not None and eligible_until < today and start > today:
        return None
    years = str(start.year) if start.year == end.year else f"{start.year}-{end.year}"
    label = f"{dose.label} — {season.label} {years}"
    chosen = (
        "dates retenues par ENS, le calendrier ne datant pas la saison"
        if season.ens_choice
        else ("dates de la dernière campagne données par le calendrier, reprises chaque année")
    )
    basis = f"Campagne du {day_words(start)} au {day_words(end)} ({chosen})."
    due_from = max(d for d in (start, eligible_from) if d is not None)
    due_until = min(d for d in (end, eligible_until) if d is not None)
    after = _after_interval(entries, start=counted, interval=interval)
    if interval is not None and after is not None:
        due_from = max(due_from, after)
        basis += f" Au moins {interval_words(interval)} après la dernière injection"
        basis += f" (à partir de {shorter.from_age_years} ans, règle ENS)." if shorter is not None and older else "."
    if counted <= today:
        # A dose given shortly before the opening (``counted_from``) is this campaign's: an outside
        # audit found a flu shot of 1 October followed by "à faire" for the campaign of 14 October.
        inside = [e for e in entries if counted <= e.when.start and e.when.end <= end]
        if inside:
            given = inside[-1]
            during = "pendant la campagne" if start <= given.when.start else "avant l'ouverture, pour cette campagne"
            return _item(
                dose,
                "done",
                birthdate=birthdate,
                label=label,
                reason=f"Faite {_on(given)} {given.when.french()}, {during}. {basis}",
                due_from=due_from,
                due_until=due_until,
                entry=given,
            )
        straddling = [e for e in entries if e.when.start <= end and e.when.end >= counted]
        if straddling:
            given = straddling[-1]
            return _item(
                dose,
                "unknown",
                birthdate=birthdate,
                label=label,
                reason=f"Le carnet donne seulement « {given.when.text} » : impossible de dire si c'était pendant la "
                f"campagne. {basis}",
                due_from=due_from,
                due_until=due_until,
                entry=given,
            )
    if due_from > today:
        return _item(
            dose,
            "upcoming",
            birthdate=birthdate,
            label=label,
            reason=f"À partir du {day_words(due_from)}. {basis}",
            due_from=due_from,
            due_until=due_until,
        )
    return _item(
        dose,
        "due",
        birthdate=birthdate,
        label=label,
        reason=f"À faire avant le {day_words(due_until)}. {basis}",
        due_from=due_from,
        due_until=due_until,
    )


def pregnancy_item(
    data: ScheduleData, dose: Dose, *, entries: list[BookletEntry], person: Person, birthdate: date, today: date
) -> DoseItem | None:
    """A dose of the current pregnancy; ``unknown`` when the space does not say whether there is one."""
    population = dose.population
    if person.sex == "M" or person.pregnant is False:
        return None
    ages = data.rules.pregnancy_ages
    if person.pregnant is None and ages is not None:
        months = age_in_months(birthdate, today)
        if not ages.age_min_months <= months <= ages.age_max_months:
            return None  # not asked about outside the ages a pregnancy is asked about
    if person.sex is None:
        return _item(
            dose,
            "unknown",
            birthdate=birthdate,
            reason="Recommandation de la grossesse : l'espace ne renseigne pas le sexe.",
        )
    if person.pregnant is None:
        return _item(
            dose,
            "unknown",
            birthdate=birthdate,
            reason="Recommandation de la grossesse : l'espace ne dit pas si une grossesse est en cours "
            "(paramètre pregnant).",
        )
    weeks = person.gestational_weeks
    window = (population.gestational_age_weeks_min, population.gestational_age_weeks_max)
    started = today - timedelta(weeks=weeks) if weeks is not None else None
    needs_weeks = window[0] is not None or window[1] is not None
    if needs_weeks and started is None:
        return _item(
            dose,
            "unknown",
            birthdate=birthdate,
            reason=f"Recommandée entre {window[0]} et {window[1]} semaines d'aménorrhée : l'âge de la grossesse "
            "n'est pas donné (paramètre gestationalWeeks).",
        )
    due_from = started + timedelta(weeks=window[0]) if started is not None and window[0] is not None else None
    due_until = (
        started + timedelta(weeks=window[1] + 1) - timedelta(days=1)
        if started is not None and window[1] is not None
        else None
    )
    if is_seasonal(dose) and not needs_weeks:
        return seasonal_item(data, dose, entries=entries, birthdate=birthdate, today=today)
    weeks_words = f"entre {window[0]} et {window[1]} semaines d'aménorrhée" if needs_weeks else "pendant la grossesse"
    early = ""
    if started is not None:
        # Only a dose of the pregnancy's window is its dose (whatever the season: the booklet says it
        # was given): a dTcaP at 8 weeks counted as the one of 20 to 36 weeks, and the RSV dose of 34
        # weeks stayed unknown for want of the season's dates (an outside audit).
        # A term before the preferred window from which the dose counts (ENS's
        # pregnancy_counted_from_weeks: the dTcaP "from the 2nd trimester, preferably 20-36").
        earlier = data.rules.pregnancy_counted_from_weeks.doses.get(dose.id)
        counts_from = started + timedelta(weeks=earlier.weeks) if earlier is not None else due_from or started
        during = [e for e in entries if e.when.start >= counts_from]
        if during:
            given = during[-1]
            return _item(
                dose,
                "done",
                birthdate=birthdate,
                reason=f"Faite {_on(given)} {given.when.french()}, pendant cette grossesse."
                + (
                    f" Avant la période recommandée ({weeks_words}), elle compte : {earlier.words_fr} (règle ENS)."
                    if earlier is not None and due_from is not None and given.when.start < due_from
                    else ""
                ),
                due_from=due_from,
                due_until=due_until,
                entry=given,
            )
        straddling = [e for e in entries if e.when.end >= counts_from]
        if straddling:
            given = straddling[-1]
            return _item(
                dose,
                "unknown",
                birthdate=birthdate,
                reason=f"Le carnet donne seulement « {given.when.text} » : impossible de dire si c'était "
                f"{'pendant cette grossesse' if counts_from == started else weeks_words}.",
                due_from=due_from,
                due_until=due_until,
                entry=given,
            )
        too_soon = [e for e in entries if e.when.start >= started]
        if too_soon:
            given = too_soon[-1]
            before = f"{earlier.weeks} semaines" if earlier is not None else f"{window[0]} semaines"
            early = (
                f" La dose {_on(given)} {given.when.french()} a été faite avant {before} d'aménorrhée : "
                "elle ne compte pas pour cette grossesse."
            )
    if is_seasonal(dose):
        seasonal = seasonal_item(data, dose, entries=entries, birthdate=birthdate, today=today)
        if seasonal is None or seasonal.status == "done":
            return seasonal
        if due_until is not None and today > due_until:
            # The season's dates decide nothing once the pregnancy's weeks are past: the dose is no
            # longer to do in it (it was "unknown, impossible to say when" at 38 weeks: an outside audit).
            return _item(
                dose,
                "not_counted",
                birthdate=birthdate,
                reason=f"Recommandée {weeks_words} : ce terme est passé, elle ne se fait plus pendant cette "
                f"grossesse ; la protection du nourrisson est à voir avec le médecin ou la sage-femme.{early}",
                due_from=due_from,
                due_until=due_until,
            )
        return _item(
            dose,
            "unknown",
            birthdate=birthdate,
            reason=f"Recommandée entre {window[0]} et {window[1]} semaines d'aménorrhée. {seasonal.reason}{early}",
            due_from=due_from,
            due_until=due_until,
        )
    if due_until is not None and today > due_until:
        return _item(
            dose,
            "overdue",
            birthdate=birthdate,
            reason=f"Recommandée à chaque grossesse, {weeks_words} : ce terme est passé.{early}",
            due_from=due_from,
            due_until=due_until,
            overdue_since=due_until + timedelta(days=1),
        )
    if due_from is not None and today < due_from:
        return _item(
            dose,
            "upcoming",
            birthdate=birthdate,
            reason=f"Recommandée à chaque grossesse, {weeks_words} : à partir du {day_words(due_from)}.{early}",
            due_from=due_from,
            due_until=due_until,
        )
    return _item(
        dose,
        "due",
        birthdate=birthdate,
        reason=f"Recommandée à chaque grossesse, {weeks_words}.{early}",
        due_from=due_from,
        due_until=due_until,
    )


def _interval_allows(
    entries: list[BookletEntry], *, start: date, end: date, until: date | None, interval: Interval | None
) -> bool:
    """Whether a dose may still be given in this campaign after the minimum interval since the last
    injection (else it is for the next one), or the booklet has something in it to show."""
    after = _after_interval(entries, start=start, interval=interval)
    if after is None or after <= (end if until is None else min(end, until)):
        return True
    return any(e.when.start <= end and e.when.end >= start for e in entries)


def _after_interval(entries: list[BookletEntry], *, start: date, interval: Interval | None) -> date | None:
    """The first day the minimum interval allows after the last injection before a campaign opening on ``start``."""
    previous = [e for e in entries if e.when.start < start]
    if interval is None or not previous:
        return None
    return add_interval(max(e.when.end for e in previous), interval)


def _on(entry: BookletEntry) -> str:
    return "le" if entry.when.exact else "en"


def _eligible_from(dose: Dose, birthdate: date) -> date | None:
    if dose.age_min_months is not None:
        return at_months(birthdate, dose.age_min_months)
    recurrence = dose.recurrence
    if recurrence is not None and recurrence.from_age_years is not None:
        return at_months(birthdate, 12 * recurrence.from_age_years)
    return None


def _item(
    dose: Dose,
    status: Status,
    *,
    birthdate: date,
    reason: str,
    label: str | None = None,
    due_from: date | None = None,
    due_until: date | None = None,
    overdue_since: date | None = None,
    entry: BookletEntry | None = None,
) -> DoseItem:
    return DoseItem(
        dose_id=dose.id,
        label=label or dose.label,
        status=status,
        obligation=obligation_of(dose, birthdate=birthdate, start=due_from, end=due_until),
        recommendation=dose.status,
        reason=reason,
        source_ids=dose.source_ids,
        due_from=due_from,
        due_until=due_until,
        overdue_since=overdue_since,
        vaccination_id=entry.id if entry is not None else None,
        given=entry.when.text if entry is not None else None,
    )
