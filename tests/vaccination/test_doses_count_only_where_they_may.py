"""A dose counts only where the calendar lets it (an outside audit, 2026-12-05, as a GP, a
pharmacist and a parent would read the booklet): a live vaccine is not "à faire" during a
pregnancy; a pregnancy's dose is its own, given in its weeks; a booster is not filled months before
its age, nor by the same injection recorded twice; a flu shot given just before the campaign's
opening is that campaign's; an adult's pneumococcal dose is not an infant's.

Each test cites the entry of the calendar (``ens/vaccination/data/vaccine-calendar-fr.json``) it
checks the answer against.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ens.vaccination.calendar import schedule_data
from ens.vaccination.engine import Person, evaluate
from ens.vaccination.engine.dates import add_months
from tests.helpers.vaccination import (
    DTCAP,
    FLU,
    HEXA,
    MENACWY,
    MMR,
    PCV,
    at_age,
    child_space,
    entries_of,
    paris_today,
    set_birthdate,
    shot,
    vaccine_id,
)

TODAY = date(2026, 12, 1)
RSV = frozenset({"rsv"})


def _items(schedule: Any, dose_id: str) -> list[Any]:
    disease = dose_id.split(".", 1)[0]
    return [i for d in schedule.diseases if d.disease == disease for i in d.doses if i.dose_id == dose_id]


def _api_items(schedule: dict[str, Any], dose_id: str) -> list[dict[str, Any]]:
    disease = dose_id.split(".", 1)[0]
    return [i for d in schedule["diseases"] if d["disease"] == disease for i in d["doses"] if i["doseId"] == dose_id]


# ---------------------------------------------------------------------------------------------
# live vaccines (MMR) asked "à faire maintenant" during a pregnancy


async def test_no_live_mmr_dose_is_due_during_a_pregnancy(client, person):
    """Reference: measles/mumps/rubella ``catch-up-born-since-1980`` notes: "Contra-indicated during
    pregnancy (live vaccine)"; varicella ``women-childbearing-age``: "contra-indicated during
    pregnancy". A woman born in 1995 with one MMR dose, 24 weeks pregnant, must not be told to get
    her second MMR dose now."""
    await set_birthdate(person.space_id, date(1995, 3, 1), sex="female")
    priorix = await vaccine_id(client, "priorix", "PRIORIX")
    url = "/v1/spaces/me/vaccinations"
    assert (
        await client.post(url, json={"vaccineId": priorix, "date": "1996-04-01"}, headers=person.headers)
    ).status_code == 201
    schedule = (
        await client.get(f"{url}/schedule", params={"pregnant": "true", "gestationalWeeks": 24}, headers=person.headers)
    ).json()
    for dose_id in ("measles.mmr-2", "mumps.mmr-2", "rubella.mmr-2"):
        for item in _api_items(schedule, dose_id):
            assert item["status"] not in ("due", "overdue"), (dose_id, item["status"], item["reason"])
            assert "À faire maintenant" not in item["reason"], (dose_id, item["reason"])
    for item in _api_items(schedule, "varicella.women-childbearing-age"):
        assert "À faire maintenant" not in item["reason"], item["reason"]


# ---------------------------------------------------------------------------------------------
# the RSV vaccine of a pregnancy (ABRYSVO at 32-36 SA)


async def test_rsv_dose_of_a_pregnancy_is_not_the_older_adults_dose_and_is_done(client, person):
    """Reference: ``rsv.pregnancy`` (1 dose between 32 and 36 SA); ``rsv.older-adult-75y-plus``
    (age_min_months 900) and ``rsv.older-adult-65-74y-comorbidity`` (age_min_months 780). A woman of
    31, 34 weeks pregnant, vaccinated with ABRYSVO a week ago: the pregnancy dose is done, and her
    dose at 75 is still to come (the pregnancy dose protects the baby, it is not her 75-year dose)."""
    await set_birthdate(person.space_id, date(1995, 3, 1), sex="female")
    abrysvo = await vaccine_id(client, "abrysvo", "ABRYSVO")
    given = (paris_today() - timedelta(weeks=1)).isoformat()
    url = "/v1/spaces/me/vaccinations"
    entry = await client.post(url, json={"vaccineId": abrysvo, "date": given}, headers=person.headers)
    assert entry.status_code == 201, entry.text
    schedule = (
        await client.get(f"{url}/schedule", params={"pregnant": "true", "gestationalWeeks": 34}, headers=person.headers)
    ).json()
    # The older adults' doses are not filled by a dose given at 31 years.
    for dose_id in ("rsv.older-adult-65-74y-comorbidity", "rsv.older-adult-75y-plus"):
        for item in _api_items(schedule, dose_id):
            assert item["vaccinationId"] is None, (dose_id, item["status"], item["reason"])
    assert [i["status"] for i in _api_items(schedule, "rsv.older-adult-75y-plus")] == ["upcoming"]
    # The pregnancy's dose, given at 33 SA, is done.
    assert [(i["status"], i["vaccinationId"]) for i in _api_items(schedule, "rsv.pregnancy")] == [
        ("done", entry.json()["id"])
    ]


# ---------------------------------------------------------------------------------------------
# the 6-year DTCaP booster filled at 11 months (a same-day duplicate entry)


async def test_a_same_day_duplicate_typed_by_name_is_refused_and_never_fills_the_6_year_booster(client, person):
    """Reference: ``diphtheria.dtcap-6y`` "Rappel à 6 ans" (age_min_months 72, after hexa-3). A parent
    copies the paper booklet ("Hexyon" typed by name) of the 11-month injection the paediatrician
    already recorded from the catalogue: one injection, two entries; the second is taken as the
    6-year booster, "done" at 11 months."""
    born = add_months(paris_today(), -13)
    child = await child_space(person, birthdate=born)
    url = f"/v1/spaces/{child}/vaccinations"
    hexyon = await vaccine_id(client, "hexyon", "HEXYON")
    for months in (2, 4, 11):
        body = {"vaccineId": hexyon, "date": add_months(born, months).isoformat()}
        assert (await client.post(url, json=body, headers=person.headers)).status_code == 201
    twin = await client.post(
        url, json={"vaccineName": "Hexyon", "date": add_months(born, 11).isoformat()}, headers=person.headers
    )
    schedule = (await client.get(f"{url}/schedule", headers=person.headers)).json()
    booster = _api_items(schedule, "diphtheria.dtcap-6y")
    assert [b["status"] for b in booster] == ["upcoming"], (
        twin.status_code,
        [(b["status"], b["given"], b["reason"]) for b in booster],
    )
    # And the booklet should have seen the duplicate (same brand, same day), as it does for two
    # entries of the catalogue.
    assert twin.status_code == 409, twin.text


def test_a_dtcap_dose_at_18_months_is_not_the_6_year_booster():
    """Reference: ``dtcap-6y`` is the booster at 6 years (age 72-83 months). A child vaccinated at 2,
    4 and 11 months then given a DTCaP at 18 months (a foreign 3+1 schedule, or an error) is shown
    the 6-year booster "done" at 18 months and nothing to do until 11 years."""
    born = date(2022, 1, 10)
    shots = [at_age(born, HEXA, months=m) for m in (2, 4, 11)] + [at_age(born, DTCAP, months=18)]
    schedule = evaluate(schedule_data(), Person(born, "F"), entries=entries_of(shots), today=TODAY)
    booster = _items(schedule, "diphtheria.dtcap-6y")
    assert all(i.status != "done" for i in booster), [(i.status, i.given) for i in booster]


# ---------------------------------------------------------------------------------------------
# the MenACWY booster at 12 months filled by a dose at 7 months


def test_a_second_menacwy_dose_at_7_months_is_not_the_12_month_booster():
    """Reference: ``meningococcus_acwy.menacwy-2`` "Méningocoques ACWY rappel à 12 mois"
    (age_min_months 12, mandatory). Doses at 6 and 7 months: the mandatory booster at 12 months is
    still to do; ENS says it is done."""
    born = date(2025, 1, 10)
    shots = [at_age(born, MENACWY, months=6, vaccine="NIMENRIX"), at_age(born, MENACWY, months=7, vaccine="NIMENRIX")]
    schedule = evaluate(schedule_data(), Person(born, "F"), entries=entries_of(shots), today=TODAY)
    booster = _items(schedule, "meningococcus_acwy.menacwy-2")
    assert [i.status for i in booster if i.vaccination_id is None] in (["due"], ["overdue"]), [
        (i.status, i.given, i.reason) for i in booster
    ]


# ---------------------------------------------------------------------------------------------
# the pertussis dose of a pregnancy given in the first trimester


def test_a_dtcap_dose_at_8_weeks_of_amenorrhoea_is_not_the_pregnancy_dose():
    """Reference: ``pertussis.pregnancy``: gestational_age_weeks_min 20, max 36; notes "From the 2nd
    trimester, preferably 20-36 weeks of amenorrhoea". A dTcaP given at 8 SA is counted "done,
    pendant cette grossesse" and the woman, now at 24 SA, is not told to get the dose."""
    weeks = 24
    started = TODAY - timedelta(weeks=weeks)
    shots = [shot(DTCAP, (started + timedelta(weeks=8)).isoformat(), vaccine="REPEVAX")]
    person = Person(date(1995, 3, 1), "F", pregnant=True, gestational_weeks=weeks)
    schedule = evaluate(schedule_data(), person, entries=entries_of(shots), today=TODAY)
    assert [i.status for i in _items(schedule, "pertussis.pregnancy")] == ["due"], [
        (i.status, i.reason) for i in _items(schedule, "pertussis.pregnancy")
    ]


# ---------------------------------------------------------------------------------------------
# this autumn's flu vaccine given before 14 October


def test_a_flu_dose_of_early_october_counts_for_this_autumn_winter_season():
    """Reference: ``influenza.annual-65y-plus``: one dose a year, season "autumn-winter". A woman of
    70 vaccinated on 1 October 2026 (this autumn's vaccine) is told on 1 December 2026 that her flu
    vaccination is "due" (ENS's season opens on 14 October) — a second flu dose the same autumn."""
    person = Person(date(1956, 5, 1), "F")
    shots = [shot(FLU, "2026-10-01", vaccine="VAXIGRIP")]
    schedule = evaluate(schedule_data(), person, entries=entries_of(shots), today=TODAY)
    assert [i.status for i in _items(schedule, "influenza.annual-65y-plus")] == ["done"]


# ---------------------------------------------------------------------------------------------
# an adult's conjugate pneumococcal dose shown as the infant's dose 1


def test_a_pneumococcal_dose_at_63_is_not_the_infants_dose_1():
    """Reference: ``pneumococcus.pcv-1`` is the infants' dose at 2 months, caught up until 23 months
    (catch_up_until_age_months 23); the disease's notes: "After 24 months, pneumococcal vaccination
    is recommended only for risk groups until 65 y". A PREVENAR 20 given at 63 is listed as
    "Vaccin pneumococcique conjugué dose 1 — done ... elle compte" for a woman born in 1956 (no
    infant pneumococcal dose existed in her infancy)."""
    person = Person(date(1956, 5, 1), "F")
    shots = [shot(PCV, "2019-06-01", vaccine="PREVENAR 20")]
    schedule = evaluate(schedule_data(), person, entries=entries_of(shots), today=TODAY)
    assert [i.status for i in _items(schedule, "pneumococcus.pcv-1")] != ["done"], [
        (i.status, i.reason) for i in _items(schedule, "pneumococcus.pcv-1")
    ]


def test_an_mmr_dose_before_12_months_is_not_counted():
    """Control (expected to pass): an MMR at 9 months does not count (mmr-1 earliest 12 months)."""
    born = date(2024, 1, 10)
    shots = [at_age(born, MMR, months=9)]
    schedule = evaluate(schedule_data(), Person(born, "F"), entries=entries_of(shots), today=TODAY)
    statuses = sorted(i.status for i in _items(schedule, "measles.mmr-1"))
    # not counted, and dose 1 still to do (the born-since-1980 catch-up keeps it due without end)
    assert statuses == ["due", "not_counted"]


async def test_the_certificate_says_menacwy_is_up_to_date_after_doses_at_6_and_7_months(client, person):
    """F4 as a crèche sees it: the certificate's "Vaccinations obligatoires" section says the
    meningococcal ACWY vaccination is "À jour" for a child of 13 months given NIMENRIX at 6 and 7
    months, whose mandatory booster at 12 months (``menacwy-2``, age_min_months 12) was never given."""
    import io
    import re

    from pypdf import PdfReader

    born = add_months(paris_today(), -13) - timedelta(days=3)
    child = await child_space(person, birthdate=born, given_name="Inès")
    url = f"/v1/spaces/{child}/vaccinations"
    plan = {
        "HEXYON": (2, 4, 11),
        "PREVENAR 13": (2, 4, 11),
        "BEXSERO": (3, 5, 12),
        "NIMENRIX": (6, 7),
        "PRIORIX": (12,),
    }
    for brand, months in plan.items():
        vaccine = await vaccine_id(client, brand.split()[0].lower(), brand)
        for age in months:
            body = {"vaccineId": vaccine, "date": add_months(born, age).isoformat(), "lotNumber": f"L{age:02d}"}
            assert (await client.post(url, json=body, headers=person.headers)).status_code == 201
    response = await client.get(url, headers={**person.headers, "Accept": "application/pdf"})
    assert response.status_code == 200
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages))
    assert not re.search(r"A, C, W, Y\s*À jour", text), text[text.find("Vaccinations obligatoires") :][:600]
