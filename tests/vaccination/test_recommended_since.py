"""No one is told they missed a dose that was not recommended while they were of age for it
(``recommended_since`` of ``schedule-rules-fr.json``): a dose whose whole window, its catch-up
included, closed before its recommendation began is not listed unless the booklet filled it; a
window still open that day makes the dose due from it, and no longer counted past its catch-up as any other.
Each boundary below is computed from the dates in the data, not written here."""

from __future__ import annotations

import re
from datetime import date, timedelta

import msgspec
import pytest

from ens.vaccination.calendar import CatchUpSchedule, Dose, ScheduleData, check, schedule_data
from ens.vaccination.engine import Person, Schedule, evaluate
from ens.vaccination.engine.dates import add_months, parse_day_or_period
from tests.helpers.vaccination import (
    ADULT_BOOSTERS,
    CHILD_BOOSTERS,
    DTCAP,
    DTP,
    HEPB,
    MMR,
    PCV,
    Shot,
    at_age,
    entries_of,
    item_of,
    shot,
    statuses,
)

TODAY = date(2026, 12, 1)

# A booklet like the demo holder's (born 12 April 1986): DTCoq-Polio at 2, 4 and 11 months, MMR at
# 1 and 6 years, DT-Polio at 6, hepatitis B at 11-12, dT-Polio at 12, dTcaP at 25.
CAMILLE = date(1986, 4, 12)
CAMILLE_BOOKLET = [
    shot(DTCAP, "1986-06-12"),
    shot(DTCAP, "1986-08-14"),
    shot(DTCAP, "1987-03-16"),
    shot(MMR, "1987-04-20"),
    shot(DTP, "1992-05-05"),
    shot(MMR, "1992-05-05"),
    shot(HEPB, "1998-01-12", vaccine="ENGERIX B 20"),
    shot(HEPB, "1998-02-12", vaccine="ENGERIX B 20"),
    shot(HEPB, "1998-08-12", vaccine="ENGERIX B 20"),
    shot(DTP, "1998-09-10"),
    shot(DTCAP, "2011-05-03", vaccine="REPEVAX"),
]


def _evaluate(
    born: date, shots: list[Shot] | None = None, *, today: date = TODAY, data: ScheduleData | None = None
) -> Schedule:
    return evaluate(data or schedule_data(), Person(born, "F", False), entries=entries_of(shots or []), today=today)


def _ids(schedule: Schedule, disease: str) -> list[str]:
    return [item.dose_id for found in schedule.diseases if found.disease == disease for item in found.doses]


def _since(series: str) -> date:
    return parse_day_or_period(schedule_data().rules.recommended_since.series[series].since)[0]


def _dose(dose_id: str) -> Dose:
    return next(d for disease in schedule_data().calendar.diseases for d in disease.doses if d.id == dose_id)


def _plan(plan_id: str) -> CatchUpSchedule:
    return next(
        p for disease in schedule_data().calendar.diseases for p in disease.catch_up_schedules if p.id == plan_id
    )


def test_an_adult_born_in_1986_is_not_overdue_for_doses_recommended_after_her_childhood():
    schedule = _evaluate(CAMILLE, CAMILLE_BOOKLET)
    # The conjugate pneumococcal vaccine (all infants from 2006), Hib (1993) and the adolescents'
    # MenACWY dose (2024): her windows, catch-ups included, had closed before.
    assert _ids(schedule, "pneumococcus") == ["pneumococcus.adult-65y"]
    assert _ids(schedule, "hib") == []
    assert _ids(schedule, "meningococcus_acwy") == []
    assert _ids(schedule, "meningococcus_c") == []
    assert schedule.count("overdue") == 0 and schedule.count("due") == 0
    # What was recommended while she was of age for it stays as it was: done here.
    assert statuses(schedule, ["measles", "hepatitis_b"]) == {
        "measles": {"done": ["mmr-1", "mmr-2"]},
        "hepatitis_b": {
            "done": ["catch-up-2-doses-11-15y#1", "catch-up-2-doses-11-15y#2"],
            "not_counted": ["catch-up-2-doses-11-15y#2"],
        },
    }
    # Past its catch-up (18 years), the calendar no longer recommends it: listed, not counted.
    second = item_of(schedule, "varicella.adolescent-2")
    assert second.status == "not_counted" and second.due_from is not None and second.due_until is not None
    assert second.due_from <= second.due_until


def test_a_child_born_in_2020_still_gets_them():
    schedule = _evaluate(date(2020, 3, 1))
    # Listed (recommended to every infant of her years), and past their catch-up limit (2 years, Hib 5):
    # no longer counted, as for an adult.
    # The infant series never started, the catch-up plan of her second year stands for it, as Hib's.
    assert statuses(schedule, ["pneumococcus", "hib"]) == {
        "pneumococcus": {"not_counted": ["catch-up-12-23m#1", "catch-up-12-23m#2"], "upcoming": ["adult-65y"]},
        "hib": {"not_counted": ["catch-up-13m-5y#1"]},
    }
    assert statuses(schedule, ["meningococcus_acwy"])["meningococcus_acwy"] == {"upcoming": ["adolescent-11-14y"]}
    pcv = item_of(schedule, "pneumococcus.catch-up-12-23m#1")
    assert pcv.due_from == date(2021, 3, 1) and "Recommandée à tous depuis" not in pcv.reason


@pytest.mark.parametrize(
    ("series", "dose_id", "window_months", "today"),
    [
        # The last day of a window is the day before (N + 1) months, or (N + 1) years for "N ans révolus".
        # The infant series have no catch-up: the window of the first dose, at 2 months.
        *(
            (series, f"{disease}.hexa-1", (_dose(f"{disease}.hexa-1").age_max_months or 0) + 1, TODAY)
            for series, disease in (
                ("diphtheria-infant", "diphtheria"),
                ("tetanus-infant", "tetanus"),
                ("polio-infant", "polio"),
                ("pertussis-infant", "pertussis"),
            )
        ),
        (
            # Whoever is past 12 months when it began never started the infant series: its catch-up
            # plan of the second year, which ends with it, stands for it.
            "pneumococcus-infant",
            "pneumococcus.catch-up-12-23m#1",
            (_dose("pneumococcus.pcv-1").catch_up_until_age_months or 0) + 1,
            TODAY,
        ),
        (
            "hib-infant",
            "hib.catch-up-13m-5y#1",
            12 * ((_plan("hib.catch-up-13m-5y").catch_up_until_age_years or 0) + 1),
            TODAY,
        ),
        (
            "hepatitis-b",
            "hepatitis_b.catch-up-3-doses#1",
            12 * ((_plan("hepatitis_b.catch-up-3-doses").catch_up_until_age_years or 0) + 1),
            TODAY,
        ),
        (
            "meningococcus-acwy-adolescents",
            "meningococcus_acwy.catch-up-15-24y#1",
            12 * ((_plan("meningococcus_acwy.catch-up-15-24y").catch_up_until_age_years or 0) + 1),
            TODAY,
        ),
        # Withdrawn at the end of 2024: seen as of a day when it was in force.
        (
            "meningococcus-c-one-dose",
            "meningococcus_c.catch-up-to-24y",
            12 * ((_dose("meningococcus_c.catch-up-to-24y").catch_up_until_age_years or 0) + 1),
            date(2012, 1, 1),
        ),
    ],
)
def test_a_dose_applies_from_the_first_birth_date_whose_window_reaches_its_recommendation(
    series: str, dose_id: str, window_months: int, today: date
):
    since = _since(series)
    last_out = add_months(since, -window_months)  # whose window ends the day before
    assert dose_id not in _ids(_evaluate(last_out, today=today), dose_id.split(".")[0])
    first_in = last_out + timedelta(days=1)  # whose window ends that very day
    item = item_of(_evaluate(first_in, today=today), dose_id)
    # Listed, and (the person now an adult, or past its catch-up) no longer counted to do.
    assert (item.status, item.due_from, item.due_until, item.overdue_since) == ("not_counted", since, since, None)
    assert "Recommandée à tous depuis le" in item.reason
    assert "n'est donc plus comptée parmi les vaccinations à faire" in item.reason
    assert set(schedule_data().rules.recommended_since.series[series].source_ids) <= set(item.source_ids)


INFANT = ("hexa-1", "hexa-2", "hexa-3")
DTP_DISEASES = ("diphtheria", "tetanus", "polio")
ByStatus = dict[str, list[str]]


def _infant_and_boosters(schedule: Schedule, disease: str) -> tuple[ByStatus, ByStatus]:
    """A disease's statuses split into its infant doses and the others (the boosters)."""
    found = statuses(schedule, [disease])[disease]
    infant = {status: [d for d in doses if d in INFANT] for status, doses in found.items()}
    boosters = {status: [d for d in doses if d not in INFANT] for status, doses in found.items()}
    return {s: d for s, d in infant.items() if d}, {s: d for s, d in boosters.items() if d}


@pytest.mark.parametrize(
    ("born", "infant_series", "boosters"),
    [
        # Diphtheria compulsory from 25 June 1938; tetanus from 24 November 1940, after her 2-month
        # window (May 1940): the doses after the first wait on it.
        (date(1940, 3, 1), {"diphtheria"}, {"due": ["adult-75y-plus"], "upcoming": ["adult-75y-plus"]}),
        (date(1950, 6, 1), {"diphtheria", "tetanus"}, {"due": ["adult-75y-plus"], "upcoming": ["adult-75y-plus"]}),
        # Pertussis from 1959: his windows closed in 1956.
        (date(1955, 5, 1), {"diphtheria", "tetanus"}, {"overdue": ["adult-65y"], "upcoming": ["adult-75y-plus"]}),
        # Polio compulsory from 1 July 1964: her windows closed in June 1964.
        (
            date(1963, 7, 1),
            {"diphtheria", "tetanus", "pertussis"},
            {"overdue": ["adult-45y"], "upcoming": ["adult-65y", "adult-75y-plus"]},
        ),
        (
            date(1965, 2, 1),
            {"diphtheria", "tetanus", "polio", "pertussis"},
            {"overdue": ["adult-45y"], "upcoming": ["adult-65y", "adult-75y-plus"]},
        ),
        (
            CAMILLE,
            {"diphtheria", "tetanus", "polio", "pertussis"},
            {"overdue": ["adult-25y"], "upcoming": ["adult-45y", "adult-65y", "adult-75y-plus"]},
        ),
        (
            TODAY - timedelta(days=183),
            {"diphtheria", "tetanus", "polio", "pertussis"},
            {"upcoming": sorted([*CHILD_BOOSTERS, *ADULT_BOOSTERS])},
        ),
    ],
    ids=["born-1940", "born-1950", "born-1955", "born-1963", "born-1965", "born-1986", "child-of-today"],
)
def test_the_infant_diphtheria_tetanus_polio_and_pertussis_doses_are_those_of_the_persons_infancy(
    born: date, infant_series: set[str], boosters: ByStatus
):
    """With an empty booklet, the infant doses are listed only for the diseases whose recommendation
    had begun while the person was of age for them, and for an adult they no longer count among the
    doses to do (no_longer_counted: the calendar does not recommend an infant dose to an adult); the
    boosters are as the calendar has them whatever the birth date."""
    schedule = _evaluate(born)
    child = born > add_months(TODAY, -11)
    for disease in (*DTP_DISEASES, "pertussis"):
        infant, others = _infant_and_boosters(schedule, disease)
        if disease not in infant_series:
            assert infant == {}, disease
        elif child:
            assert infant == {"overdue": ["hexa-1", "hexa-2"], "upcoming": ["hexa-3"]}, disease
        else:
            assert infant == {"not_counted": list(INFANT)}, disease
        if disease in DTP_DISEASES:
            assert others == boosters, disease


def test_a_man_born_in_1950_has_no_infant_polio_or_pertussis_dose_to_do_and_his_boosters_stand():
    """The case that was reported: born in 1950, booklet of his adult boosters (65 and 75 years). The
    infant polio doses (compulsory from 1964) and pertussis doses (from 1959) are not his; the boosters
    are done and the next one, at 85, comes; the infant diphtheria and tetanus doses (1938, 1940)
    are listed, as the booklet does not record them, and not counted to do: he is an adult."""
    born = date(1950, 6, 1)
    schedule = _evaluate(born, [at_age(born, DTP, years=65, days=9), at_age(born, DTP, years=75, days=9)])
    for disease in DTP_DISEASES:
        assert statuses(schedule, [disease])[disease] == {
            "done": ["adult-65y", "adult-75y-plus"],
            "upcoming": ["adult-75y-plus"],
            **({} if disease == "polio" else {"not_counted": list(INFANT)}),
        }, disease
    assert _infant_and_boosters(schedule, "pertussis")[0] == {}


def test_the_mmr_catch_up_of_people_born_since_1980_is_due_from_the_recommendation():
    assert _ids(_evaluate(date(1979, 12, 31)), "measles") == []
    schedule = _evaluate(date(1980, 1, 1))
    measles, mumps = item_of(schedule, "measles.mmr-1"), item_of(schedule, "mumps.mmr-1")
    assert (measles.status, measles.due_from) == ("due", _since("measles-rubella-first-dose"))
    assert (mumps.status, mumps.due_from) == ("due", _since("mumps-first-dose"))
    assert "Recommandée à tous depuis le 1er janvier 1983 (règle ENS : les sources ne donnent que l'année" in (
        measles.reason
    )
    assert statuses(_evaluate(date(1990, 5, 17)), ["measles"]) == {"measles": {"due": ["mmr-1"], "upcoming": ["mmr-2"]}}


def test_a_window_still_open_when_the_recommendation_began_is_due_from_that_day():
    """Born in 1990, a child was 2½ when Hib vaccination began: the catch-up to 5 years was for them."""
    item = item_of(_evaluate(date(1990, 6, 15)), "hib.catch-up-13m-5y#1")
    assert (item.status, item.due_from) == ("not_counted", _since("hib-infant"))  # its catch-up is past
    assert "(règle ENS : les sources ne donnent que le mois, son premier jour est retenu)" in item.reason


def test_a_dose_the_booklet_filled_is_shown_even_if_recommended_later():
    schedule = _evaluate(CAMILLE, [*CAMILLE_BOOKLET, at_age(CAMILLE, PCV, months=14)])
    # Given at 14 months, it began the catch-up of the second year (the infant series never started).
    assert statuses(schedule, ["pneumococcus"]) == {
        "pneumococcus": {"done": ["catch-up-12-23m#1"], "upcoming": ["adult-65y"]}
    }


def _with_series(name: str, **changes: object) -> ScheduleData:
    data = schedule_data()
    dates = data.rules.recommended_since
    series = {**dates.series, name: msgspec.structs.replace(dates.series[name], **changes)}
    rules = msgspec.structs.replace(data.rules, recommended_since=msgspec.structs.replace(dates, series=series))
    return ScheduleData(calendar=data.calendar, rules=rules)


def test_the_dates_are_data():
    earlier = _with_series("pneumococcus-infant", since="1985")
    pneumococcus = statuses(_evaluate(CAMILLE, CAMILLE_BOOKLET, data=earlier), ["pneumococcus"])["pneumococcus"]
    assert pneumococcus["not_counted"] == ["catch-up-12-23m#1", "catch-up-12-23m#2"]


def test_dates_naming_a_dose_the_calendar_has_not_or_citing_nothing_are_refused():
    check(schedule_data())
    with pytest.raises(ValueError, match=re.escape("names pneumococcus.pcv-9, which the calendar has not")):
        check(_with_series("pneumococcus-infant", doses=("pneumococcus.pcv-1", "pneumococcus.pcv-9")))
    with pytest.raises(ValueError, match=re.escape("recommended_since names hib.hexa-1 twice")):
        check(_with_series("pneumococcus-infant", doses=("pneumococcus.pcv-1", "hib.hexa-1")))
    with pytest.raises(ValueError, match="is not YYYY, YYYY-MM or YYYY-MM-DD"):
        check(_with_series("pneumococcus-infant", since="2006-13"))
    with pytest.raises(ValueError, match="pneumococcus-infant cites no source"):
        check(_with_series("pneumococcus-infant", source_ids=()))
    with pytest.raises(ValueError, match=re.escape("cites unknown source nowhere")):
        check(_with_series("pneumococcus-infant", source_ids=("nowhere",)))


@pytest.mark.parametrize(
    ("born", "overdue"),
    [
        # The case reported: no infant dose, nothing past its catch-up, counted for an adult.
        (date(1950, 3, 1), []),
        # The booster of 25, missed: to do now (the transition rules: an immediate booster).
        (date(1990, 6, 1), ["diphtheria.adult-25y", "polio.adult-25y", "tetanus.adult-25y"]),
    ],
)
def test_an_adults_empty_booklet_counts_only_what_the_calendar_still_recommends_to_them(
    born: date, overdue: list[str]
) -> None:
    schedule = evaluate(schedule_data(), Person(born, "M"), entries=[], today=TODAY)
    items = [item for disease in schedule.diseases for item in disease.doses]
    assert sorted(item.dose_id for item in items if item.status == "overdue") == overdue
    infant = item_of(schedule, "diphtheria.hexa-1")
    assert infant.status == "not_counted" and infant.overdue_since is None
    assert "Dose de l'enfance" in infant.reason and "n'est donc plus comptée" in infant.reason
    assert set(schedule_data().rules.no_longer_counted.source_ids) <= set(infant.source_ids)


def test_a_childs_missed_doses_stay_overdue_until_the_18th_birthday() -> None:
    born = date(2009, 1, 10)  # 17 on TODAY; 18 on 10 January 2027
    before = item_of(_evaluate(born), "diphtheria.hexa-1")
    after = item_of(_evaluate(born, today=date(2027, 1, 10)), "diphtheria.hexa-1")
    assert (before.status, after.status) == ("overdue", "not_counted")


def test_a_dose_past_its_catch_up_limit_is_not_counted_for_a_child_as_for_an_adult() -> None:
    """The demo child's case (born 14 June 2016): her infant pneumococcal doses (catch-up to 2 years)
    and her Hib catch-up (to 5 years) were counted overdue on her home screen, their reason saying the
    calendar no longer recommends them at her age, while an adult's varicella doses past their
    catch-up limit, with the same reason, were not counted. Past the limit the calendar gives, a dose
    is not counted at any age; a child's dose late with no such limit (the infant DTP doses) stays
    overdue."""
    child = _evaluate(date(2016, 6, 14))
    adult = _evaluate(CAMILLE, CAMILLE_BOOKLET)
    for schedule, dose_id in (
        (child, "pneumococcus.catch-up-12-23m#1"),
        (child, "pneumococcus.catch-up-12-23m#2"),
        (child, "hib.catch-up-13m-5y#1"),
        (adult, "varicella.adolescent-1"),
    ):
        item = item_of(schedule, dose_id)
        assert (item.status, item.overdue_since) == ("not_counted", None), dose_id
        assert "La limite de rattrapage du calendrier" in item.reason, dose_id
        assert "n'est donc plus comptée" in item.reason, dose_id
        assert set(schedule_data().rules.no_longer_counted.source_ids) <= set(item.source_ids), dose_id
    late = item_of(child, "diphtheria.hexa-1")
    assert late.status == "overdue" and late.overdue_since is not None
    counted = {
        item.dose_id for disease in child.diseases for item in disease.doses if item.status in ("due", "overdue")
    }
    assert not {d for d in counted if d.startswith(("pneumococcus.", "hib."))}
