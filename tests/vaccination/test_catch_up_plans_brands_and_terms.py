"""Where the answer a parent or an adult got disagreed with the calendar's own words (its catch-up
plans and notes) or the HAS texts it cites (an outside review, 2026-12-06): the MenB booster of a
series begun late, ROTARIX's 24 weeks, the dTcaP from the 2nd trimester, the autumn Covid-19 dose
3 months after the last from 80 years, and the day a recommended age ended. Each docstring says
what was answered before (schedule-rules-fr.json holds the rules)."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

from pypdf import PdfReader

from ens.vaccination.calendar import schedule_data
from ens.vaccination.engine import Person, evaluate
from ens.vaccination.engine.dates import add_months
from ens.vaccination.engine.model import Schedule
from tests.helpers.vaccination import (
    COVID,
    DTCAP,
    MENB,
    ROTA,
    Shot,
    at_age,
    child_space,
    entries_of,
    item_of,
    paris_today,
    shot,
    statuses,
    vaccine_id,
)

TODAY = date(2026, 12, 1)


def _schedule(
    born: date,
    shots: list[Shot],
    *,
    today: date = TODAY,
    pregnant: bool | None = None,
    weeks: int | None = None,
) -> Schedule:
    return evaluate(schedule_data(), Person(born, "F", pregnant, weeks), entries=entries_of(shots), today=today)


# --- MenB begun late: the catch-up plans' booster rules ------------------------------------------


def test_menb_started_at_7_months_booster_in_the_second_year_two_months_after_dose_2_counts() -> None:
    """Calendar (meningococcus_b.catch-up-6-11m, and ENS's own French words for it): started at
    6-11 months, 2 doses >= 2 months apart, booster during the 2nd year >= 2 months after the last
    primary dose. Doses at 7, 9 and 12 months complete the (mandatory) series. ENS applies the infant
    booster's 6-month interval: the 12-month booster is 'not counted' and the booster 'overdue'."""
    born = date(2025, 6, 1)
    shots = [at_age(born, MENB, months=m, vaccine="BEXSERO") for m in (7, 9, 12)]
    found = statuses(_schedule(born, shots), ["meningococcus_b"])["meningococcus_b"]
    assert "not_counted" not in found, found
    assert "overdue" not in found, found
    assert sorted(found["done"]) == ["menb-1", "menb-2", "menb-3"]


def test_menb_started_at_13_months_booster_waits_12_months_after_dose_2() -> None:
    """Calendar (meningococcus_b.catch-up-12-23m): started at 12-23 months, 2 doses >= 2 months
    apart, booster 12 to 23 months after the last primary dose. With doses at 13 and 15 months, the
    booster is not due before 27 months: at 26 months it is upcoming, not 'overdue' (ENS: overdue
    since 16 months, counted on the home screen and 'En retard' on the certificate)."""
    born = date(2024, 10, 1)  # 26 months on TODAY
    shots = [at_age(born, MENB, months=m, vaccine="BEXSERO") for m in (13, 15)]
    booster = item_of(_schedule(born, shots), "meningococcus_b.menb-3")
    assert booster.status == "upcoming", (booster.status, booster.due_from, booster.reason)
    assert booster.due_from == add_months(born, 27)


def test_menb_started_at_13_months_a_booster_six_months_after_dose_2_does_not_complete_the_series() -> None:
    """Same plan: a booster only 6 months after dose 2 (at 21 months) is too early for a series
    started at 13 months; ENS says the series is done."""
    born = date(2024, 10, 1)
    shots = [at_age(born, MENB, months=m, vaccine="BEXSERO") for m in (13, 15, 21)]
    booster = item_of(_schedule(born, shots), "meningococcus_b.menb-3")
    assert booster.status != "done", booster.reason


async def test_the_certificate_of_a_child_whose_menb_was_caught_up_on_time_does_not_say_late(client, person):
    """What a crèche reads: a child born in the obligation's cohort, MenB at 7, 9 and 12 months
    (the calendar's 6-11 months plan, complete). The certificate says 'En retard' for MenB."""
    today = paris_today()
    born = add_months(today, -15)
    child = await child_space(person, birthdate=born, given_name="Nour")
    url = f"/v1/spaces/{child}/vaccinations"
    bexsero = await vaccine_id(client, "bexsero", "BEXSERO")
    for months in (7, 9, 12):
        body = {"vaccineId": bexsero, "date": add_months(born, months).isoformat()}
        response = await client.post(url, json=body, headers=person.headers)
        assert response.status_code == 201, response.text
    response = await client.get(url, headers={**person.headers, "Accept": "application/pdf"})
    assert response.status_code == 200, response.text
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages))
    line = re.search(r"méningocoque B\s*(En retard|À faire maintenant|À jour[^A-Z]*)", text)
    assert line is not None, text
    assert line.group(1).startswith("À jour"), line.group(0)


# --- Rotavirus: ROTARIX's limit of 6 months ---------------------------------------------------------


def test_a_rotarix_second_dose_at_7_months_does_not_count() -> None:
    """The calendar file's own note (rotavirus.rota-2): 'Last dose of ROTARIX (2-dose course) must
    be given before 6 months; RotaTeq course before 8 months' (ROTARIX SmPC: completed by 24 weeks).
    ENS applies the RotaTeq limit to every brand: a ROTARIX dose at 7 months is 'done'."""
    born = date(2026, 2, 1)
    shots = [
        at_age(born, ROTA, months=2, vaccine="ROTARIX (tube)"),
        at_age(born, ROTA, months=7, vaccine="ROTARIX (tube)"),
    ]
    second = [i for d in _schedule(born, shots).diseases for i in d.doses if i.given == shots[1].when]
    assert second and second[0].status == "not_counted", [(i.dose_id, i.status, i.reason) for i in second]


def test_an_unfinished_rotarix_course_at_7_months_is_no_longer_to_do() -> None:
    """ROTARIX dose 1 at 2 months, nothing since, the baby is 7.5 months old: the course can no
    longer be completed (before 6 months), so dose 2 is missed for good (not_counted), not 'overdue'
    with 'Ne peut plus être donnée après' the 8-month date."""
    born = date(2026, 4, 15)
    shots = [at_age(born, ROTA, months=2, vaccine="ROTARIX (tube)")]
    second = item_of(_schedule(born, shots), "rotavirus.rota-2")
    assert second.status == "not_counted", (second.status, second.reason)


# --- Pertussis in pregnancy: "from the 2nd trimester, preferably 20-36 SA" --------------------------


def test_a_dtcap_in_the_second_trimester_before_20_weeks_counts_for_the_pregnancy() -> None:
    """HAS, 7 April 2022 (taken up in the calendar; the calendar file's note on pertussis.pregnancy
    says the same): vaccination 'à partir du deuxième trimestre de grossesse, en privilégiant la
    période entre 20 et 36 SA'. A dTcaP at 17 SA is this pregnancy's dose; ENS says it does not
    count and tells her to have another one."""
    weeks = 30
    started = TODAY - timedelta(weeks=weeks)
    given = shot(DTCAP, (started + timedelta(weeks=17)).isoformat(), vaccine="REPEVAX")
    schedule = _schedule(date(1995, 3, 1), [given], pregnant=True, weeks=weeks)
    dose = item_of(schedule, "pertussis.pregnancy")
    assert dose.status == "done", (dose.status, dose.reason)


# --- Covid-19: 3 months after the last injection from 80 years --------------------------------------


def test_covid_autumn_dose_for_an_82_year_old_is_due_three_months_after_the_spring_dose() -> None:
    """HAS/DGS (and the calendar file's own note on covid19.spring-80y-plus): from 80 years the
    minimum interval after the last injection is 3 months, not 6. An 82-year-old vaccinated on
    15 May is due when the autumn campaign opens (14 October); ENS says 'à partir du 15 novembre'."""
    today = date(2026, 10, 20)
    spring = shot(COVID, "2026-05-15", vaccine="COMIRNATY LP.8.1 30 µg/dose")
    dose = item_of(_schedule(date(1944, 3, 1), [spring], today=today), "covid19.autumn-65y-plus")
    assert dose.status == "due", (dose.status, dose.due_from, dose.reason)


# --- Wording: "passé depuis" names the last day of the window --------------------------------------


def test_the_catch_up_sentence_names_the_day_the_recommended_age_ended() -> None:
    """Born 10 May 1990, the 25-year booster's window ends on 9 May 2016: the other sentences say
    the age 'est passé depuis le 10 mai 2016'; the catch-up sentence of the pertussis booster says
    'depuis le 9 mai 2016', a day when it had not passed."""
    dose = item_of(_schedule(date(1990, 5, 10), []), "pertussis.adult-25y")
    assert "passé depuis le 10 mai 2016" in dose.reason, dose.reason


def test_the_shingles_vaccine_is_due_from_its_recommendation_not_from_a_65th_birthday_before_it() -> None:
    """Born in 1950: the recombinant vaccine was recommended from 2024 (before, ZOSTAVAX at 65-74);
    its first dose was said due 'from' 1 March 2015."""
    dose = item_of(_schedule(date(1950, 3, 1), []), "herpes_zoster.rzv-1")
    assert dose.status == "due", dose.reason
    assert dose.due_from == date(2024, 1, 1), dose.due_from
    assert "depuis le 1er janvier 2024" in dose.reason


def test_a_rotarix_second_dose_at_7_months_does_not_count_when_dose_1_was_typed_without_brand() -> None:
    """latest_age_by_series_brand's own 'about': 'when the course is made with that vaccine (its
    first dose's brand, else the dose's own)'. Only the first dose's was read: a dose 2 typed ROTARIX
    at 7 months after an untyped dose 1 counted ('done', RotaTeq's 8 months; a review)."""
    born = date(2026, 2, 1)
    shots = [at_age(born, ROTA, months=2), at_age(born, ROTA, months=7, vaccine="ROTARIX (tube)")]
    schedule = _schedule(born, shots, today=date(2026, 10, 1))
    second = [i for d in schedule.diseases for i in d.doses if i.given == shots[1].when]
    assert second and second[0].status == "not_counted", [(i.dose_id, i.status, i.reason) for i in second]


def test_the_booster_of_a_menb_series_begun_at_13_months_is_not_mandatory() -> None:
    """The 12-23 months plan puts the booster 12 to 23 months after dose 2: from 26 months at the
    earliest, after the obligation's end (mandatory_until_age_months = 24, décret 2024-694; the
    catch-up chains recompute a dose's obligation for its own ages too). The booster's window moved,
    its 'mandatory' stayed: overdue and mandatory at 40 months (a review)."""
    born = date(2025, 1, 15)
    shots = [at_age(born, MENB, months=m, vaccine="BEXSERO") for m in (13, 15)]
    booster = item_of(_schedule(born, shots, today=add_months(born, 40)), "meningococcus_b.menb-3")
    assert booster.obligation == "recommended", (booster.status, booster.obligation, booster.due_from)


def test_a_menb_series_begun_in_a_year_only_does_not_count_its_booster_under_the_kindest_plan() -> None:
    """Dose 1 dated '2025' only (born 10 March 2024: between 9 and 21 months): the 6-11 months plan
    (booster 2 months after dose 2) or the 12-23 months plan (12 months after) may apply. The plan
    was picked by the range's start (9 months, the most favourable): a booster 3 months after dose 2
    was 'done', where the checks retain the least favourable case (a review)."""
    born = date(2024, 3, 10)
    shots = [
        shot(MENB, "2025", vaccine="BEXSERO"),
        at_age(born, MENB, months=20, vaccine="BEXSERO"),
        at_age(born, MENB, months=23, vaccine="BEXSERO"),
    ]
    booster = item_of(_schedule(born, shots, today=date(2026, 6, 1)), "meningococcus_b.menb-3")
    assert booster.status != "done", (booster.status, booster.reason)


def test_the_booster_of_a_series_begun_at_13_months_waits_for_its_second_dose_to_be_dated() -> None:
    """'12 to 23 months after the last primary dose': with dose 2 not given, the booster's window
    was counted from dose 1 (a review)."""
    born = date(2025, 1, 15)
    shots = [at_age(born, MENB, months=13, vaccine="BEXSERO")]
    booster = item_of(_schedule(born, shots, today=add_months(born, 20)), "meningococcus_b.menb-3")
    assert booster.due_until is None, (booster.status, booster.due_from, booster.due_until)
