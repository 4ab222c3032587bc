"""The schedule's rules live in the data: a change to the calendar file changes the answer with no
change to the code; data whose parts do not fit is refused; each answer says which checks were made,
which the calendar gives no figure for, and which rule ENS chose where the calendar is silent."""

from __future__ import annotations

import re
from datetime import date

import msgspec
import pytest

from ens.vaccination.calendar import Calendar, Dose, Interval, Rules, ScheduleData, check, schedule_data
from ens.vaccination.engine import Person, evaluate
from ens.vaccination.engine.dates import last_day_at_months, parse_day_or_period
from ens.vaccination.engine.model import DoseItem, Schedule
from tests.helpers.vaccination import DTCAP, DTP, FLU, HEXA, PCV, at_age, entries_of, item_of, shot, statuses
from tests.vaccination.test_schedule_engine import CASES, TODAY, childhood


def _with_dose(data: ScheduleData, dose_id: str, **changes: object) -> ScheduleData:
    """The shipped data with one dose of the calendar changed."""
    diseases = []
    for disease in data.calendar.diseases:
        doses = tuple(msgspec.structs.replace(d, **changes) if d.id == dose_id else d for d in disease.doses)
        diseases.append(msgspec.structs.replace(disease, doses=doses))
    return ScheduleData(calendar=msgspec.structs.replace(data.calendar, diseases=tuple(diseases)), rules=data.rules)


def test_a_new_minimum_interval_in_the_data_changes_the_answer():
    born = date(2026, 1, 1)
    shots = [at_age(born, HEXA, months=2), at_age(born, HEXA, months=3, days=10)]
    shipped = evaluate(schedule_data(), Person(born, "F"), entries=entries_of(shots), today=TODAY)
    assert statuses(shipped, ["diphtheria"])["diphtheria"]["not_counted"] == ["hexa-2"]
    relaxed = _with_dose(schedule_data(), "diphtheria.hexa-2", min_interval_from_previous=Interval(1, "months"))
    changed = evaluate(relaxed, Person(born, "F"), entries=entries_of(shots), today=TODAY)
    assert "not_counted" not in statuses(changed, ["diphtheria"])["diphtheria"]
    assert item_of(changed, "diphtheria.hexa-2").status == "done"


def test_a_new_earliest_age_is_checked_and_a_removed_one_is_not():
    born = date(2026, 1, 1)
    early_pcv = [at_age(born, PCV, days=40)]  # at 40 days: the calendar gives no earliest age for pcv-1
    shipped = evaluate(schedule_data(), Person(born, "F"), entries=entries_of(early_pcv), today=TODAY)
    done = item_of(shipped, "pneumococcus.pcv-1", "done")
    assert "ne donne pas d'âge minimal pour cette dose : non vérifié" in done.reason
    stricter = _with_dose(schedule_data(), "pneumococcus.pcv-1", earliest_age_weeks=8)
    refused = evaluate(stricter, Person(born, "F"), entries=entries_of(early_pcv), today=TODAY)
    assert (
        "avant l'âge minimal de cette dose (8 semaines)" in item_of(refused, "pneumococcus.pcv-1", "not_counted").reason
    )


def test_a_rule_withdrawn_in_the_data_is_no_longer_listed_unless_given():
    born = date(2026, 3, 1)
    withdrawn = _with_dose(schedule_data(), "rotavirus.rota-1", valid_until="2025-12-31")
    answer = evaluate(withdrawn, Person(born, "F"), entries=[], today=TODAY)
    assert "rota-1" not in str(statuses(answer, ["rotavirus"]))


def test_the_obligation_follows_the_cohort_the_data_gives():
    born = date(2019, 6, 1)
    shipped = evaluate(schedule_data(), Person(born, "F"), entries=[], today=TODAY)
    assert item_of(shipped, "diphtheria.hexa-1").obligation == "mandatory"
    later = _with_dose(schedule_data(), "diphtheria.hexa-1", mandatory_for_born_from="2020-01-01")
    assert (
        item_of(evaluate(later, Person(born, "F"), entries=[], today=TODAY), "diphtheria.hexa-1").obligation
        == "recommended"
    )


def _infant_series_reaches_its_recommendation(born: date, disease: str) -> bool:
    """Whether the 2-month window of ``disease``'s infant series (``recommended_since``) reaches the
    day its recommendation began: the doses after it wait on it."""
    first = next(d for found in schedule_data().calendar.diseases for d in found.doses if d.id == f"{disease}.hexa-1")
    dated = schedule_data().rules.recommended_since.of(first.id)
    assert dated is not None and first.age_max_months is not None
    return last_day_at_months(born, first.age_max_months) >= parse_day_or_period(dated.since)[0]


def _without_infant_doses(by_status: dict[str, list[str]]) -> dict[str, list[str]]:
    kept = {status: [d for d in doses if not d.startswith("hexa-")] for status, doses in by_status.items()}
    return {status: doses for status, doses in kept.items() if doses}


def test_diphtheria_tetanus_and_polio_agree_but_on_infant_doses_recommended_after_the_childhood():
    """One injection, one answer: the three diseases list the same doses with the same statuses. Each
    infant series is dated on its own (diphtheria 1938, tetanus 1940, polio 1964), as Hib and
    hepatitis B, given in the same injection, already were: someone whose infant windows closed
    before one of them began is not told to do that disease's infant doses (those the booklet filled
    are still shown), and the rest still agrees."""
    three = ["diphtheria", "tetanus", "polio"]
    split = 0
    for case in CASES:
        person = Person(case.born, case.sex, case.pregnant, case.weeks)  # type: ignore[arg-type]
        answer = statuses(evaluate(schedule_data(), person, entries=entries_of(case.shots), today=case.today), three)
        born = case.born
        recommended = [d for d in three if born is None or _infant_series_reaches_its_recommendation(born, d)]
        for disease in recommended:
            assert answer[disease] == answer[recommended[0]], case.name
        for disease in three:
            assert _without_infant_doses(answer[disease]) == _without_infant_doses(answer["diphtheria"]), case.name
            if disease not in recommended:
                to_do = [d for s in ("due", "overdue", "upcoming") for d in answer[disease].get(s, [])]
                assert to_do == [d for d in to_do if not d.startswith("hexa-")], case.name
                split += answer[disease] != answer["diphtheria"]
    assert split > 0  # some case is old enough to tell


def test_every_answer_cites_sources_the_data_describes():
    sources = schedule_data().sources
    for case in CASES:
        person = Person(case.born, case.sex, case.pregnant, case.weeks)  # type: ignore[arg-type]
        schedule = evaluate(schedule_data(), person, entries=entries_of(case.shots), today=case.today)
        for disease in schedule.diseases:
            for item in disease.doses:
                assert item.source_ids and set(item.source_ids) <= set(sources), (case.name, item.dose_id)
        assert set(schedule.source_ids) <= set(sources)


def test_reasons_say_which_checks_were_made_and_which_the_calendar_gives_no_figure_for():
    born = date(2026, 1, 1)
    shots = [at_age(born, HEXA, months=2), at_age(born, HEXA, months=4)]
    schedule = evaluate(schedule_data(), Person(born, "F"), entries=entries_of(shots), today=TODAY)
    first, second = item_of(schedule, "diphtheria.hexa-1", "done"), item_of(schedule, "diphtheria.hexa-2", "done")
    assert "Âge minimal (8 semaines) respecté." in first.reason
    assert "Le calendrier ne donne pas d'âge minimal pour cette dose : non vérifié." in second.reason
    assert "Intervalle minimal de 2 mois après la dose précédente respecté." in second.reason
    child = date(2014, 3, 1)
    infant_series = [at_age(child, HEXA, months=2), at_age(child, HEXA, months=4), at_age(child, HEXA, months=11)]
    booster = evaluate(
        schedule_data(),
        Person(child, "F"),
        entries=entries_of([*infant_series, shot(DTCAP, "2020-04-01")]),
        today=TODAY,
    )
    assert (
        "ne donne pas d'intervalle minimal depuis la dose précédente : non vérifié"
        in item_of(booster, "diphtheria.dtcap-6y", "done").reason
    )


def test_the_adult_booster_rule_chosen_by_ens_is_stated_in_the_answer():
    born = date(1982, 5, 17)
    schedule = evaluate(
        schedule_data(),
        Person(born, "M"),
        entries=entries_of([*childhood(born), shot(DTCAP, "2007-06-01"), shot(DTP, "2023-06-01")]),
        today=TODAY,
    )
    early = item_of(schedule, "diphtheria.adult-45y", "done")
    assert "Faite moins de 5 ans avant l'âge de ce rappel (règle ENS) : elle compte pour ce rappel." in early.reason
    assert "hcsp_transition_2013" in early.source_ids
    upcoming = item_of(schedule, "diphtheria.adult-65y", "upcoming")
    assert upcoming.due_from == date(2047, 5, 17)
    assert "Un rappel fait à partir du 17 mai 2042 compte pour celui-ci (règle ENS)." in upcoming.reason


def test_overdue_says_since_when_and_a_passed_catch_up_says_so():
    born = date(2026, 6, 1)
    schedule = evaluate(
        schedule_data(), Person(born, "F"), entries=entries_of([at_age(born, HEXA, months=2)]), today=TODAY
    )
    late = item_of(schedule, "diphtheria.hexa-2")
    assert (late.status, late.due_from, late.due_until, late.overdue_since) == (
        "overdue",
        date(2026, 10, 1),
        date(2026, 10, 31),
        date(2026, 11, 1),
    )
    teenager = evaluate(schedule_data(), Person(date(2010, 5, 17), "M"), entries=[], today=TODAY)
    pcv = item_of(teenager, "pneumococcus.catch-up-12-23m#1")
    assert (pcv.status, pcv.overdue_since, pcv.due_until) == ("not_counted", None, date(2012, 5, 16))
    assert "La limite de rattrapage du calendrier (16 mai 2012) est passée" in pcv.reason


def test_the_season_windows_chosen_by_ens_are_stated():
    schedule = evaluate(
        schedule_data(),
        Person(date(1956, 3, 1), "F", False),
        entries=entries_of([shot(FLU, "2026-10-20")]),
        today=TODAY,
    )
    flu = item_of(schedule, "influenza.annual-65y-plus")
    assert (flu.status, flu.due_from, flu.due_until) == ("done", date(2026, 10, 14), date(2027, 1, 31))
    assert "dates retenues par ENS" in flu.reason and flu.label.endswith("2026-2027")


def test_only_the_month_known_makes_a_check_unknown_not_failed():
    born = date(2026, 6, 15)
    schedule = evaluate(schedule_data(), Person(born, "F"), entries=entries_of([shot(HEXA, "2026-08")]), today=TODAY)
    unknown = item_of(schedule, "diphtheria.hexa-1", "unknown")
    assert "Impossible de vérifier l'âge minimal (8 semaines) avec cette date." in unknown.reason
    assert unknown.given == "2026-08"
    assert unknown.reason.startswith("Donnée en août 2026 (entre 6 semaines et 2 mois).")


def _broken(**rules_changes: object) -> ScheduleData:
    data = schedule_data()
    return ScheduleData(calendar=data.calendar, rules=msgspec.structs.replace(data.rules, **rules_changes))


def test_data_whose_parts_do_not_fit_is_refused():
    data = schedule_data()
    check(data)
    with pytest.raises(ValueError, match=re.escape("names measles.mmr-9")):
        check(_broken(not_listed={**data.rules.not_listed, "measles.mmr-9": "gone"}))
    tracks = {k: v for k, v in data.rules.catch_up_tracks.items() if k != "hpv.catch-up-1"}
    with pytest.raises(ValueError, match=re.escape("hpv.catch-up-1: a catch-up dose no rule")):
        check(_broken(catch_up_tracks=tracks))
    orphan = _with_dose(data, "hpv.hpv-2", previous_dose_id="hpv.hpv-0")
    with pytest.raises(ValueError, match=re.escape("previous dose hpv.hpv-0")):
        check(orphan)
    uncited = _with_dose(data, "hpv.hpv-2", source_ids=("nowhere",))
    with pytest.raises(ValueError, match="unknown sources"):
        check(uncited)


def test_the_shipped_files_decode_into_the_typed_model():
    data = schedule_data()
    assert isinstance(data.calendar, Calendar) and isinstance(data.rules, Rules)
    assert len(data.calendar.diseases) == 20
    assert all(isinstance(d, Dose) for disease in data.calendar.diseases for d in disease.doses)


def test_doses_to_do_without_a_stated_interval_say_so():
    schedule = evaluate(schedule_data(), Person(date(2020, 6, 1), "F"), entries=[], today=TODAY)
    booster = item_of(schedule, "diphtheria.dtcap-6y")
    assert booster.status == "due"
    assert "Le calendrier ne donne pas d'intervalle minimal après la dose précédente" in booster.reason


def test_infant_pneumococcal_doses_take_the_intervals_of_the_vaccines_product_information():
    """The calendar states none (min_intervals): three doses on three days in a row completed the
    series, and an unvaccinated child of 14 months had the three doses due at once (outside audits)."""
    born = date(2025, 1, 10)
    in_a_row = entries_of([shot(PCV, "2025-03-10"), shot(PCV, "2025-03-11"), shot(PCV, "2025-03-12")])
    schedule = evaluate(schedule_data(), Person(born, "F"), entries=in_a_row, today=TODAY)
    too_soon = [d for d in schedule_of(schedule, "pneumococcus") if d.status == "not_counted"]
    assert [d.given for d in too_soon] == ["2025-03-11", "2025-03-12"]
    assert all("Ne compte pas : moins de 2 mois après la dose précédente." in d.reason for d in too_soon)
    assert item_of(schedule, "pneumococcus.pcv-2", "due").due_from == date(2025, 5, 10)
    on_time = entries_of([shot(PCV, "2025-03-10"), shot(PCV, "2025-05-12"), shot(PCV, "2025-12-12")])
    done = evaluate(schedule_data(), Person(born, "F"), entries=on_time, today=TODAY)
    assert [d.status for d in schedule_of(done, "pneumococcus")][:3] == ["done", "done", "done"]
    assert (
        "Intervalle minimal de 2 mois après la dose précédente respecté." in item_of(done, "pneumococcus.pcv-3").reason
    )
    # Unvaccinated at 14 months, the child is on the catch-up plan of the second year (catch_up_doses):
    # two doses at least 2 months apart, not the infant series' three (an outside audit).
    unvaccinated = evaluate(schedule_data(), Person(date(2025, 10, 1), "F"), entries=[], today=TODAY)
    assert [(d.dose_id, d.status, d.due_from) for d in schedule_of(unvaccinated, "pneumococcus")] == [
        ("pneumococcus.catch-up-12-23m#1", "due", date(2026, 10, 1)),
        ("pneumococcus.catch-up-12-23m#2", "upcoming", date(2027, 2, 1)),
        # Listed after the plan that stands for the infant series (it came first, appended last).
        ("pneumococcus.adult-65y", "upcoming", date(2090, 10, 1)),
    ]
    started = evaluate(
        schedule_data(), Person(date(2025, 10, 1), "F"), entries=entries_of([shot(PCV, "2026-11-02")]), today=TODAY
    )
    assert [(d.dose_id, d.status, d.due_from) for d in schedule_of(started, "pneumococcus")][:2] == [
        ("pneumococcus.catch-up-12-23m#1", "done", date(2026, 10, 1)),
        ("pneumococcus.catch-up-12-23m#2", "upcoming", date(2027, 1, 2)),
    ]


def schedule_of(schedule: Schedule, disease: str) -> tuple[DoseItem, ...]:
    """The doses of one disease, in the order the schedule lists them."""
    return next(d.doses for d in schedule.diseases if d.disease == disease)
