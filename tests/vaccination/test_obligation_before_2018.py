"""The diphtheria, tetanus and polio obligation of children born before 1 January 2018 (CSP L3111-2
and L3111-3 before the loi n° 2017-1836, ``earlier_obligations`` of ``schedule-rules-fr.json``):
the primary series and the first booster of the three diseases are mandatory for such a child, and
nothing else; a child born from 2018 keeps the 11 vaccinations of the calendar's own obligation; an
adult has none."""

from __future__ import annotations

import re
from datetime import date

import msgspec
import pytest

from ens.vaccination.calendar import ScheduleData, check, schedule_data
from ens.vaccination.engine import Person, Schedule, evaluate
from tests.helpers.vaccination import DTCAP, HEXA, Shot, at_age, entries_of, item_of

TODAY = date(2026, 12, 1)
DTP_DISEASES = {"diphtheria", "tetanus", "polio"}
INFANT = ["hexa-1", "hexa-2", "hexa-3"]
OBLIGATION_SOURCES = {
    "csp_l3111_2_before_2018",
    "csp_l3111_3_before_2018",
    "csp_r3111_2_r3111_3_before_2018",
    "decret_65_213_polio",
    "loi_2017_1836_art_49",
}


def _mandatory(schedule: Schedule) -> dict[str, list[str]]:
    """Per disease, the doses mandatory for this holder (series ids, in the answer's order)."""
    found: dict[str, list[str]] = {}
    for disease in schedule.diseases:
        doses = [item.dose_id.split(".", 1)[1] for item in disease.doses if item.obligation == "mandatory"]
        if doses:
            found[disease.disease] = doses
    return found


def _evaluate(
    born: date, *, today: date = TODAY, shots: list[Shot] | None = None, data: ScheduleData | None = None
) -> Schedule:
    return evaluate(data or schedule_data(), Person(born, "F"), entries=entries_of(shots or []), today=today)


def test_born_on_the_last_day_of_2017_only_the_dtp_primary_series_and_first_booster_are_mandatory():
    schedule = _evaluate(date(2017, 12, 31))
    assert _mandatory(schedule) == {disease: INFANT for disease in ("diphtheria", "tetanus", "polio")}
    booster = item_of(schedule, "tetanus.hexa-3")
    assert booster.status == "overdue"
    assert "Obligatoire pour un enfant né avant le 1er janvier 2018" in booster.reason
    assert "L3111-2 et L3111-3" in booster.reason and "loi n° 2017-1836" in booster.reason
    assert OBLIGATION_SOURCES <= set(booster.source_ids)
    assert OBLIGATION_SOURCES <= set(schedule.source_ids)
    # The same injection's other diseases, and the later boosters, stay as the calendar has them.
    for dose_id in ("pertussis.hexa-1", "pneumococcus.catch-up-12-23m#1", "measles.mmr-1", "diphtheria.dtcap-6y"):
        assert item_of(schedule, dose_id).obligation == "recommended", dose_id
        assert "Obligatoire" not in item_of(schedule, dose_id).reason


def test_born_on_the_first_day_of_2018_the_eleven_vaccinations_are_unchanged():
    schedule = _evaluate(date(2018, 1, 1))
    mandatory = _mandatory(schedule)
    # The calendar's own obligation, for the diseases it lists at this age.
    assert {"diphtheria", "tetanus", "polio", "pertussis", "hib", "hepatitis_b", "pneumococcus"} <= set(mandatory)
    assert {"measles", "mumps", "rubella"} <= set(mandatory)
    assert all(mandatory[disease] == INFANT for disease in DTP_DISEASES)
    # Not under the older obligation: its reason and sources are not added.
    hexa = item_of(schedule, "diphtheria.hexa-1")
    assert "né avant le 1er janvier 2018" not in hexa.reason
    assert not OBLIGATION_SOURCES & set(hexa.source_ids)


def test_born_in_2016_done_and_missed_doses_are_mandatory_the_later_boosters_are_not():
    born = date(2016, 4, 12)
    shots = [at_age(born, HEXA, months=2), at_age(born, HEXA, months=4), at_age(born, DTCAP, years=6)]
    schedule = _evaluate(born, shots=shots)
    for disease in DTP_DISEASES:
        first, second, booster = (item_of(schedule, f"{disease}.{dose}") for dose in INFANT)
        assert (first.status, second.status, booster.status) == ("done", "done", "overdue")
        assert {first.obligation, second.obligation, booster.obligation} == {"mandatory"}
        six = item_of(schedule, f"{disease}.dtcap-6y")
        assert (six.status, six.obligation) == ("done", "recommended")
        assert item_of(schedule, f"{disease}.dtcap-11-13y").obligation == "recommended"
    assert set(_mandatory(schedule)) == DTP_DISEASES


def test_an_adult_born_in_1990_has_no_obligation():
    schedule = _evaluate(date(1990, 5, 17))
    assert _mandatory(schedule) == {}
    assert item_of(schedule, "diphtheria.hexa-1").obligation == "recommended"


def test_the_obligation_ends_on_the_eighteenth_birthday():
    """The law binds the parents or guardians of a minor: the day before 18 it is shown, from 18 not."""
    born = date(2008, 12, 2)
    assert set(_mandatory(_evaluate(born, today=date(2026, 12, 1)))) == DTP_DISEASES
    assert _mandatory(_evaluate(born, today=date(2026, 12, 2))) == {}


def _with_obligation(**changes: object) -> ScheduleData:
    data = schedule_data()
    obligations = {
        key: msgspec.structs.replace(value, **changes) for key, value in data.rules.earlier_obligations.items()
    }
    return ScheduleData(
        calendar=data.calendar, rules=msgspec.structs.replace(data.rules, earlier_obligations=obligations)
    )


def test_the_obligation_is_data():
    born = date(2017, 6, 1)
    earlier_cohort = _with_obligation(born_until="2016-12-31")
    assert _mandatory(_evaluate(born, data=earlier_cohort)) == {}
    polio_only = _with_obligation(doses=("polio.hexa-1",))
    assert _mandatory(_evaluate(born, data=polio_only)) == {"polio": ["hexa-1"]}


def test_an_obligation_naming_a_dose_or_a_source_the_data_has_not_is_refused():
    with pytest.raises(ValueError, match=re.escape("names polio.hexa-9")):
        check(_with_obligation(doses=("polio.hexa-1", "polio.hexa-9")))
    with pytest.raises(ValueError, match=re.escape("cites unknown source nowhere")):
        check(_with_obligation(source_ids=("nowhere",)))
    with pytest.raises(ValueError, match="cites no source"):
        check(_with_obligation(source_ids=()))
