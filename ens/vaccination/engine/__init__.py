"""The schedule engine: a pure function of (schedule data, person, booklet, today).

For each disease of the calendar, the booklet's entries that cover it fill the calendar's series
(``chains``); each dose then gets its status (``status``); seasonal and pregnancy doses look at
the booklet themselves (``seasons``). Nothing here knows a disease or a vaccine by name: the
rules are the calendar file and ENS's rules file (``ens.vaccination.calendar``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from ens.vaccination.calendar import Disease, ScheduleData
from ens.vaccination.engine.chains import Chain, add_plans, assign, build_chains
from ens.vaccination.engine.model import BookletEntry, DiseaseSchedule, DoseItem, Person, Schedule
from ens.vaccination.engine.obligations import with_earlier_obligations
from ens.vaccination.engine.seasons import is_pregnancy, is_seasonal, pregnancy_item, seasonal_item
from ens.vaccination.engine.status import chain_items
from ens.vaccination.engine.steps import ENTRY_DONE

__all__ = ["BookletEntry", "DiseaseSchedule", "DoseItem", "Person", "Schedule", "evaluate"]

NO_BIRTHDATE = "L'espace n'a pas de date de naissance : aucun âge ne peut être calculé."


def evaluate(data: ScheduleData, person: Person, *, entries: list[BookletEntry], today: date) -> Schedule:
    """Every disease of the calendar, its doses and where this person stands with each."""
    ordered = sorted(entries, key=lambda e: (e.when.start, e.when.end, str(e.id)))
    every = (
        _disease(data, disease, person=person, entries=[e for e in ordered if disease.code in e.diseases], today=today)
        for disease in data.calendar.diseases
    )
    # A disease with nothing to show (a withdrawn rule the booklet never used) is left out.
    diseases = tuple(disease for disease in every if disease.doses)
    cited: list[str] = []
    for disease_schedule in diseases:
        for item in disease_schedule.doses:
            cited += [s for s in item.source_ids if s not in cited]
    return Schedule(as_of=today, diseases=diseases, source_ids=tuple(cited))


def _disease(
    data: ScheduleData, disease: Disease, *, person: Person, entries: list[BookletEntry], today: date
) -> DiseaseSchedule:
    listed = [dose for dose in disease.doses if dose.id not in data.rules.not_listed]
    extending = {dose_id for dose_id, track in data.rules.catch_up_tracks.items() if track.extends}
    birthdate = person.birthdate
    if birthdate is None:
        unknown = [_unknown(dose.id, dose.label, dose.status, dose.source_ids) for dose in listed]
        return DiseaseSchedule(disease.code, disease.label_fr, tuple(unknown))
    serial = [d for d in listed if not is_seasonal(d) and not is_pregnancy(d) and d.id not in extending]
    chains = build_chains(data, serial, birthdate=birthdate)
    chains = add_plans(chains, disease.catch_up_schedules, birthdate=birthdate)
    assign(chains, entries, person=person, birthdate=birthdate)
    pregnancy = {
        dose.id: pregnancy_item(data, dose, entries=entries, person=person, birthdate=birthdate, today=today)
        for dose in listed
        if is_pregnancy(dose)
    }
    # The dose of a pregnancy is that dose: not also listed as "not counted" under a series it is
    # not (the RSV vaccine of 34 weeks under the dose of 75 years).
    claimed = {item.vaccination_id for item in pregnancy.values() if item is not None and item.status == "done"}
    for chain in chains:
        chain.not_counted = [rejected for rejected in chain.not_counted if rejected.entry.id not in claimed]
    _one_dose_among(data, chains)
    shown = _shown(chains, today=today)
    items: list[DoseItem] = []
    for chain in chains:
        items += chain_items(data, chain, person=person, birthdate=birthdate, today=today, listed=chain in shown)
    for dose in listed:
        if is_pregnancy(dose):
            item = pregnancy[dose.id]
        elif is_seasonal(dose):
            item = seasonal_item(data, dose, entries=entries, birthdate=birthdate, today=today)
        else:
            continue
        if item is not None:
            items.append(item)
    items = with_earlier_obligations(data, items, birthdate=birthdate, today=today)
    if person.pregnant:
        live = data.rules.not_in_pregnancy.doses
        items = [_after_the_birth(item) if item.dose_id in live else item for item in items]
    return DiseaseSchedule(disease.code, disease.label_fr, tuple(items))


AFTER_THE_BIRTH = "Vaccin vivant, contre-indiqué pendant la grossesse : à faire après l'accouchement."


def _after_the_birth(item: DoseItem) -> DoseItem:
    """A live vaccine's dose still to do, during a pregnancy: for after the birth (ENS's
    ``not_in_pregnancy``), never "à faire maintenant"."""
    if item.status not in ("due", "overdue", "upcoming") and not (
        item.status == "unknown" and item.vaccination_id is None
    ):
        return item
    return replace(
        item,
        status="upcoming",
        reason=AFTER_THE_BIRTH,
        due_from=None,
        due_until=None,
        overdue_since=None,
    )


def _one_dose_among(data: ScheduleData, chains: list[Chain]) -> None:
    """The rules' ``one_dose_among``: a dose of the group the booklet fills stands for the others."""
    for group in data.rules.one_dose_among:
        steps = [step for chain in chains for step in chain.steps if step.dose_id in group.doses]
        given = next((step for step in steps if step.entry is not None and step.outcome == ENTRY_DONE), None)
        if given is None:
            continue
        for step in steps:
            if step is not given and step.entry is None and step.replaced_by is None:
                step.replaced_by = given
                given.replaces.append(step)
        given.source_ids = (*given.source_ids, *(s for s in group.source_ids if s not in given.source_ids))


def _shown(chains: list[Chain], *, today: date) -> list[Chain]:
    """The series whose open doses the answer lists. A catch-up series stands instead of the infant
    series it replaces when that one was never started and the catch-up has begun, or its ages have
    come (the one whose ages hold today, else the one that ended last; a plan bound to a product
    only once started). Every series still shows what the booklet filled."""
    chosen: dict[int, Chain] = {}
    for chain in chains:
        if not chain.catch_up or chain.replaces is None or chain.replaces.started:
            continue
        key = id(chain.replaces)
        if chain.started:
            chosen[key] = chain
            continue
        if chain.plan is not None and chain.plan.products:
            continue
        if chain.series_start is None or chain.series_start > today:
            continue
        current = chosen.get(key)
        if current is None or (not current.started and _fits_better(chain, current, today=today)):
            chosen[key] = chain
    replaced = set(chosen)
    return [c for c in chains if (not c.catch_up and id(c) not in replaced) or c in chosen.values()]


def _fits_better(candidate: Chain, current: Chain, *, today: date) -> bool:
    def in_time(chain: Chain) -> bool:
        return chain.series_end is None or today <= chain.series_end

    if in_time(candidate) != in_time(current):
        return in_time(candidate)
    if in_time(candidate):
        return False  # the first one the calendar lists
    return (candidate.series_end or date.min) > (current.series_end or date.min)


def _unknown(dose_id: str, label: str, recommendation: str, source_ids: tuple[str, ...]) -> DoseItem:
    return DoseItem(
        dose_id=dose_id,
        label=label,
        status="unknown",
        obligation="recommended",
        recommendation=recommendation,
        reason=NO_BIRTHDATE,
        source_ids=source_ids,
    )
