"""The schedule engine, one row per case: who, what the booklet holds, the day, and for each disease
of interest the doses expected done, due, overdue, upcoming, not counted or unknown.

The engine is a pure function of (the shipped schedule data, the person, the booklet, today): no
database here. Dose ids are the calendar's (``hexa-1`` for ``diphtheria.hexa-1``); a catch-up plan's
doses are ``<plan>#n``.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from ens.vaccination.calendar import schedule_data
from ens.vaccination.engine import Person, evaluate
from tests.helpers.vaccination import (
    ADULT_BOOSTERS,
    CHILD_BOOSTERS,
    COVID,
    DTCAP,
    DTP,
    FLU,
    HEXA,
    HPV,
    MENACWY,
    MENB,
    MMR,
    PCV,
    ROTA,
    ZOSTER,
    Case,
    Shot,
    at_age,
    entries_of,
    item_of,
    normalized,
    shot,
    statuses,
)

TODAY = date(2026, 12, 1)
INFANT_DTP = ["hexa-1", "hexa-2", "hexa-3"]
AFTER_INFANCY = [*CHILD_BOOSTERS, *ADULT_BOOSTERS]


def childhood(born: date) -> list[Shot]:
    """The infant series at 2, 4 and 11 months, the boosters at 6 and 11 years."""
    return [
        at_age(born, HEXA, months=2),
        at_age(born, HEXA, months=4),
        at_age(born, HEXA, months=11),
        at_age(born, DTCAP, years=6),
        at_age(born, DTCAP, years=11),
    ]


def infancy(born: date) -> list[Shot]:
    return [at_age(born, HEXA, months=2), at_age(born, HEXA, months=4), at_age(born, HEXA, months=11)]


B_2M = date(2026, 10, 1)
B_4M = date(2026, 8, 1)
B_5M = date(2026, 7, 1)
B_11M = date(2026, 1, 1)
B_12M = date(2025, 12, 1)
B_16M = date(2025, 8, 1)

CASES = [
    # --- Infants -------------------------------------------------------------------------------
    Case(
        "infant of 2 months, nothing given yet",
        B_2M,
        TODAY,
        [],
        {
            "diphtheria": {"due": ["hexa-1"], "upcoming": ["hexa-2", "hexa-3", *AFTER_INFANCY]},
            "pneumococcus": {"due": ["pcv-1"], "upcoming": ["pcv-2", "pcv-3", "adult-65y"]},
            "rotavirus": {"due": ["rota-1"], "upcoming": ["rota-2", "rota-3-rotateq"]},
            "meningococcus_b": {
                "upcoming": ["menb-1", "menb-2", "menb-3", "adolescent-15-24y-1", "adolescent-15-24y-2"]
            },
        },
        obligations={"diphtheria.hexa-1": "mandatory", "rotavirus.rota-1": "recommended"},
    ),
    Case(
        "infant of 2 months, first hexavalent and pneumococcal doses on time",
        B_2M,
        TODAY,
        [at_age(B_2M, HEXA, months=2), at_age(B_2M, PCV, months=2)],
        {
            "diphtheria": {"done": ["hexa-1"], "upcoming": ["hexa-2", "hexa-3", *AFTER_INFANCY]},
            "hib": {"done": ["hexa-1"], "upcoming": ["hexa-2", "hexa-3"]},
            "pneumococcus": {"done": ["pcv-1"], "upcoming": ["pcv-2", "pcv-3", "adult-65y"]},
        },
    ),
    Case(
        "infant of 4 months, two doses on time",
        B_4M,
        TODAY,
        [at_age(B_4M, HEXA, months=2), at_age(B_4M, HEXA, months=4)],
        {
            "diphtheria": {"done": ["hexa-1", "hexa-2"], "upcoming": ["hexa-3", *AFTER_INFANCY]},
            "hepatitis_b": {"done": ["hexa-1", "hexa-2"], "upcoming": ["hexa-3"]},
        },
    ),
    Case(
        "infant of 4 months, second dose due",
        B_4M,
        TODAY,
        [at_age(B_4M, HEXA, months=2)],
        {"diphtheria": {"done": ["hexa-1"], "due": ["hexa-2"], "upcoming": ["hexa-3", *AFTER_INFANCY]}},
    ),
    Case(
        "infant of 5 months, second dose missed (hepatitis B may still be caught up)",
        B_5M,
        TODAY,
        [at_age(B_5M, HEXA, months=2)],
        {
            "diphtheria": {"done": ["hexa-1"], "overdue": ["hexa-2"], "upcoming": ["hexa-3", *AFTER_INFANCY]},
            "hepatitis_b": {"done": ["hexa-1"], "due": ["hexa-2"], "upcoming": ["hexa-3"]},
            "meningococcus_b": {
                "due": ["menb-1"],
                "upcoming": ["menb-2", "menb-3", "adolescent-15-24y-1", "adolescent-15-24y-2"],
            },
        },
    ),
    Case(
        "infant of 5 months, meningococcus B dose 1 at 3 months: dose 2 due",
        B_5M,
        TODAY,
        [at_age(B_5M, MENB, months=3)],
        {
            "meningococcus_b": {
                "done": ["menb-1"],
                "due": ["menb-2"],
                "upcoming": ["menb-3", "adolescent-15-24y-1", "adolescent-15-24y-2"],
            }
        },
        obligations={"meningococcus_b.menb-2": "mandatory"},
    ),
    Case(
        "infant of 11 months, primary series done: the booster is due",
        B_11M,
        TODAY,
        [at_age(B_11M, HEXA, months=2), at_age(B_11M, HEXA, months=4)],
        {
            "diphtheria": {"done": ["hexa-1", "hexa-2"], "due": ["hexa-3"], "upcoming": AFTER_INFANCY},
            "measles": {"upcoming": ["mmr-1", "mmr-2"]},
        },
    ),
    Case(
        "infant of 11 months, second dose one month after the first does not count",
        B_11M,
        TODAY,
        [at_age(B_11M, HEXA, months=2), at_age(B_11M, HEXA, months=3)],
        {
            "diphtheria": {
                "done": ["hexa-1"],
                "not_counted": ["hexa-2"],
                "overdue": ["hexa-2"],
                "upcoming": ["hexa-3", *AFTER_INFANCY],
            }
        },
    ),
    Case(
        "infant of 12 months on schedule: MMR, MenACWY and MenB boosters due",
        B_12M,
        TODAY,
        [
            *infancy(B_12M),
            at_age(B_12M, PCV, months=2),
            at_age(B_12M, PCV, months=4),
            at_age(B_12M, PCV, months=11),
            at_age(B_12M, MENB, months=3),
            at_age(B_12M, MENB, months=5),
            at_age(B_12M, MENACWY, months=6),
        ],
        {
            "measles": {"due": ["mmr-1"], "upcoming": ["mmr-2"]},
            "meningococcus_b": {
                "done": ["menb-1", "menb-2"],
                "due": ["menb-3"],
                "upcoming": ["adolescent-15-24y-1", "adolescent-15-24y-2"],
            },
            "meningococcus_acwy": {"done": ["menacwy-1"], "due": ["menacwy-2"], "upcoming": ["adolescent-11-14y"]},
            "pneumococcus": {"done": ["pcv-1", "pcv-2", "pcv-3"], "upcoming": ["adult-65y"]},
            "diphtheria": {"done": INFANT_DTP, "upcoming": AFTER_INFANCY},
        },
        obligations={"measles.mmr-1": "mandatory", "meningococcus_acwy.menacwy-2": "mandatory"},
    ),
    Case(
        "infant of 12 months, MMR given at 11 months does not count",
        B_12M,
        TODAY,
        [at_age(B_12M, MMR, months=11, days=4)],
        {"measles": {"not_counted": ["mmr-1"], "due": ["mmr-1"], "upcoming": ["mmr-2"]}},
    ),
    Case(
        "toddler of 16 months with one MMR: the second is due",
        B_16M,
        TODAY,
        [at_age(B_16M, MMR, months=12)],
        {"measles": {"done": ["mmr-1"], "due": ["mmr-2"]}, "rubella": {"done": ["mmr-1"], "due": ["mmr-2"]}},
    ),
    Case(
        "toddler of 16 months with the complete infant schedule",
        B_16M,
        TODAY,
        [
            *infancy(B_16M),
            at_age(B_16M, MENB, months=3),
            at_age(B_16M, MENB, months=5),
            at_age(B_16M, MENB, months=12),
            at_age(B_16M, MENACWY, months=6),
            at_age(B_16M, MENACWY, months=12),
            at_age(B_16M, MMR, months=12),
            at_age(B_16M, MMR, months=16),
            at_age(B_16M, ROTA, months=2, vaccine="ROTARIX (tube)"),
            at_age(B_16M, ROTA, months=3, vaccine="ROTARIX (tube)"),
        ],
        {
            "diphtheria": {"done": INFANT_DTP, "upcoming": AFTER_INFANCY},
            "measles": {"done": ["mmr-1", "mmr-2"]},
            "meningococcus_b": {
                "done": ["menb-1", "menb-2", "menb-3"],
                "upcoming": ["adolescent-15-24y-1", "adolescent-15-24y-2"],
            },
            "meningococcus_acwy": {"done": ["menacwy-1", "menacwy-2"], "upcoming": ["adolescent-11-14y"]},
            "rotavirus": {"done": ["rota-1", "rota-2"]},
        },
    ),
    Case(
        "hexavalent dose at 6 weeks does not count (earliest age 8 weeks)",
        date(2026, 9, 15),
        TODAY,
        [shot(HEXA, "2026-10-27")],
        {
            "diphtheria": {
                "not_counted": ["hexa-1"],
                "due": ["hexa-1"],
                "upcoming": ["hexa-2", "hexa-3", *AFTER_INFANCY],
            }
        },
    ),
    Case(
        "only the month of the first dose is known: its earliest age cannot be checked",
        date(2026, 6, 15),
        TODAY,
        [shot(HEXA, "2026-08")],
        {"diphtheria": {"unknown": ["hexa-1"], "overdue": ["hexa-2"], "upcoming": ["hexa-3", *AFTER_INFANCY]}},
    ),
    Case(
        "first dose late at three and a half months: it counts, the second comes 2 months later",
        B_4M,
        TODAY,
        [shot(HEXA, "2026-11-15")],
        {"diphtheria": {"done": ["hexa-1"], "upcoming": ["hexa-2", "hexa-3", *AFTER_INFANCY]}},
    ),
    # Past the calendar's latest age (rotavirus: dose 1 up to 4 months, the course before 8 months) a
    # dose may no longer be given: it is no longer to do, so not overdue (which counts on the home
    # screen for ever) but not_counted, like the entry given too late, with no vaccinationId.
    Case(
        "rotavirus first dose after 4 months does not count, and the course can no longer be given",
        B_5M,
        TODAY,
        [shot(ROTA, "2026-11-10", vaccine="ROTARIX (tube)")],
        {"rotavirus": {"not_counted": ["rota-1", "rota-1", "rota-2", "rota-3-rotateq"]}},
    ),
    Case(
        "rotavirus at 3 months: the first dose is late but may still be given until 4 months",
        date(2026, 8, 20),
        TODAY,
        [],
        {"rotavirus": {"overdue": ["rota-1"], "upcoming": ["rota-2", "rota-3-rotateq"]}},
    ),
    Case(
        "ROTARIX course of two doses is complete",
        B_5M,
        TODAY,
        [shot(ROTA, "2026-09-01", vaccine="ROTARIX (tube)"), shot(ROTA, "2026-10-01", vaccine="ROTARIX (tube)")],
        {"rotavirus": {"done": ["rota-1", "rota-2"]}},
    ),
    Case(
        "ROTATEQ course needs its third dose",
        B_4M,
        TODAY,
        [shot(ROTA, "2026-10-01", vaccine="ROTATEQ"), shot(ROTA, "2026-11-01", vaccine="ROTATEQ")],
        {"rotavirus": {"done": ["rota-1", "rota-2"], "due": ["rota-3-rotateq"]}},
    ),
    Case(
        "rotavirus course typed by name: whether a third dose is needed depends on the vaccine",
        B_4M,
        TODAY,
        [shot(ROTA, "2026-10-01"), shot(ROTA, "2026-11-01")],
        {"rotavirus": {"done": ["rota-1", "rota-2"], "unknown": ["rota-3-rotateq"]}},
    ),
    Case(
        "born in 2017, before the 2018 obligation: under the older one, only DTP's infant doses are mandatory",
        date(2017, 3, 1),
        TODAY,
        [at_age(date(2017, 3, 1), HEXA, months=2)],
        {
            "diphtheria": {
                "done": ["hexa-1"],
                "overdue": ["hexa-2", "hexa-3", "dtcap-6y"],
                "upcoming": ["dtcap-11-13y", *ADULT_BOOSTERS],
            },
            "meningococcus_b": {"upcoming": ["adolescent-15-24y-1", "adolescent-15-24y-2"]},
        },
        obligations={
            "diphtheria.hexa-1": "mandatory",
            "diphtheria.hexa-2": "mandatory",
            "polio.hexa-3": "mandatory",
            "diphtheria.dtcap-6y": "recommended",
            "pertussis.hexa-1": "recommended",
            "pneumococcus.catch-up-12-23m#1": "recommended",
        },
    ),
    Case(
        "born in 2018, under the obligation",
        date(2018, 1, 10),
        TODAY,
        [at_age(date(2018, 1, 10), HEXA, months=2)],
        {
            "diphtheria": {
                "done": ["hexa-1"],
                "overdue": ["hexa-2", "hexa-3", "dtcap-6y"],
                "upcoming": ["dtcap-11-13y", *ADULT_BOOSTERS],
            }
        },
        obligations={
            "diphtheria.hexa-1": "mandatory",
            "diphtheria.hexa-2": "mandatory",
            "diphtheria.dtcap-6y": "recommended",
        },
    ),
    Case(
        "born in 2022, before the meningococcus B rule: no infant MenB dose listed; the HAS catch-up "
        "of 2 to 4 years for the unvaccinated, recommended, is",
        date(2022, 6, 1),
        TODAY,
        [],
        {
            "meningococcus_b": {
                "due": ["transitional-catch-up-2-4y#1"],
                "upcoming": ["transitional-catch-up-2-4y#2", "adolescent-15-24y-1", "adolescent-15-24y-2"],
            }
        },
        obligations={"meningococcus_b.transitional-catch-up-2-4y#1": "recommended"},
    ),
    Case(
        "toddler of 14 months never vaccinated: single catch-up doses of Hib and MenACWY",
        date(2025, 10, 1),
        TODAY,
        [],
        {
            "hib": {"due": ["catch-up-13m-5y#1"]},
            "meningococcus_acwy": {"due": ["catch-up-12-24m#1"], "upcoming": ["adolescent-11-14y"]},
        },
        obligations={"hib.catch-up-13m-5y#1": "mandatory", "meningococcus_acwy.catch-up-12-24m#1": "mandatory"},
    ),
    Case(
        "toddler of 30 months never vaccinated against meningococci: the ACWY catch-up is recommended, the "
        "obligation ending at 24 months; the MenB catch-up of 2 to 4 years is recommended too",
        date(2024, 6, 10),
        TODAY,
        [at_age(date(2024, 6, 10), HEXA, months=2), at_age(date(2024, 6, 10), PCV, months=2)],
        {
            "meningococcus_acwy": {"due": ["transitional-catch-up-to-3y#1"], "upcoming": ["adolescent-11-14y"]},
            # The HAS catch-up of 2 to 4 years replaces the infant series never started (whose
            # booster had stayed overdue and mandatory for the rest of childhood: an outside audit).
            "meningococcus_b": {
                "due": ["transitional-catch-up-2-4y#1"],
                "upcoming": ["transitional-catch-up-2-4y#2", "adolescent-15-24y-1", "adolescent-15-24y-2"],
            },
        },
        obligations={
            "meningococcus_acwy.transitional-catch-up-to-3y#1": "recommended",
            # Due after 24 months, when the obligation ends.
            "meningococcus_b.transitional-catch-up-2-4y#1": "recommended",
        },
    ),
    # --- Children and teenagers ----------------------------------------------------------------
    Case(
        "child of 6, infant series complete: the 6-year booster is due",
        date(2020, 9, 1),
        TODAY,
        infancy(date(2020, 9, 1)),
        {
            "diphtheria": {"done": INFANT_DTP, "due": ["dtcap-6y"], "upcoming": ["dtcap-11-13y", *ADULT_BOOSTERS]},
            "pertussis": {
                "done": INFANT_DTP,
                "due": ["dtcap-6y"],
                "upcoming": ["dtcap-11-13y", "adult-25y"],
            },
        },
    ),
    Case(
        "child of 8, the 6-year booster missed",
        date(2018, 9, 1),
        TODAY,
        infancy(date(2018, 9, 1)),
        {"diphtheria": {"done": INFANT_DTP, "overdue": ["dtcap-6y"], "upcoming": ["dtcap-11-13y", *ADULT_BOOSTERS]}},
    ),
    Case(
        "child of 11, the 6-year booster missed: the 11-13 booster stands for it",
        date(2015, 6, 1),
        TODAY,
        infancy(date(2015, 6, 1)),
        {"diphtheria": {"done": INFANT_DTP, "due": ["dtcap-11-13y"], "upcoming": ADULT_BOOSTERS}},
    ),
    Case(
        "child of 12 given a booster at 12 after a missed 6-year one",
        date(2014, 5, 1),
        TODAY,
        [*infancy(date(2014, 5, 1)), shot(DTCAP, "2026-06-01")],
        {"diphtheria": {"done": [*INFANT_DTP, "dtcap-11-13y"], "upcoming": ADULT_BOOSTERS}},
    ),
    Case(
        "girl of 12: the first HPV dose is due",
        date(2014, 6, 1),
        TODAY,
        [],
        {"hpv": {"due": ["hpv-1"], "upcoming": ["hpv-2"]}},
    ),
    Case(
        "girl of 12 with one HPV dose: the second, 5 months later, is due",
        date(2014, 6, 1),
        TODAY,
        [shot(HPV, "2026-05-01")],
        {"hpv": {"done": ["hpv-1"], "due": ["hpv-2"]}},
    ),
    Case(
        "HPV second dose 3 months after the first does not count",
        date(2014, 6, 1),
        TODAY,
        [shot(HPV, "2026-05-01"), shot(HPV, "2026-08-01")],
        {"hpv": {"done": ["hpv-1"], "not_counted": ["hpv-2"], "due": ["hpv-2"]}},
    ),
    Case(
        "teenager of 16 never vaccinated against HPV: the 3-dose catch-up",
        date(2010, 6, 1),
        TODAY,
        [],
        {"hpv": {"due": ["catch-up-1"], "upcoming": ["catch-up-2", "catch-up-3"]}},
    ),
    Case(
        "young man of 20 with two HPV catch-up doses: the third is due",
        date(2006, 6, 1),
        TODAY,
        [shot(HPV, "2026-06-01"), shot(HPV, "2026-07-15")],
        {"hpv": {"done": ["catch-up-1", "catch-up-2"], "due": ["catch-up-3"]}},
        sex="M",
    ),
    Case(
        "woman of 30: no HPV dose is recommended any more",
        date(1996, 6, 1),
        TODAY,
        [],
        {"hpv": {}},
    ),
    Case(
        "woman of 24 with one HPV dose at 13: the second is still due, in the catch-up to 26",
        date(2002, 6, 1),
        TODAY,
        [shot(HPV, "2015-09-01")],
        {"hpv": {"done": ["hpv-1"], "due": ["hpv-2"]}},
    ),
    Case(
        "woman of 30 with one HPV dose at 13: past the HPV catch-up (26 years), the second is no longer "
        "counted (it was due for life)",
        date(1996, 6, 1),
        TODAY,
        [shot(HPV, "2009-09-01")],
        {"hpv": {"done": ["hpv-1"], "not_counted": ["hpv-2"]}},
    ),
    Case(
        "man of 27 with a first HPV dose after the catch-up ended: the 11-14 years' second dose is not "
        "counted to do (it was due for life)",
        date(1999, 6, 1),
        TODAY,
        [shot(HPV, "2026-07-01")],
        {"hpv": {"done": ["hpv-1"], "not_counted": ["hpv-2"]}},
        sex="M",
    ),
    Case(
        "teenager of 16 never vaccinated against meningococci ACWY: one catch-up dose",
        date(2010, 6, 1),
        TODAY,
        [],
        {"meningococcus_acwy": {"due": ["catch-up-15-24y#1"]}},
    ),
    Case(
        "teenager of 15: varicella depends on a history the space cannot tell",
        date(2011, 6, 1),
        TODAY,
        [],
        {"varicella": {"unknown": ["adolescent-1", "women-childbearing-age"], "upcoming": ["adolescent-2"]}},
    ),
    Case(
        "child of 10 never vaccinated against hepatitis B: the 3-dose catch-up",
        date(2016, 6, 1),
        TODAY,
        [],
        {"hepatitis_b": {"due": ["catch-up-3-doses#1"], "upcoming": ["catch-up-3-doses#2", "catch-up-3-doses#3"]}},
    ),
    # --- Adults: the fixed-age boosters (25, 45, 65, then every 10 years) -----------------------
    Case(
        "adult of 24: the 25-year booster is next",
        date(2002, 5, 17),
        TODAY,
        childhood(date(2002, 5, 17)),
        {"diphtheria": {"done": [*INFANT_DTP, *CHILD_BOOSTERS], "upcoming": ADULT_BOOSTERS}},
        sex="M",
    ),
    Case(
        "adult of 25 without the booster: due",
        date(2001, 5, 17),
        TODAY,
        childhood(date(2001, 5, 17)),
        {"diphtheria": {"done": [*INFANT_DTP, *CHILD_BOOSTERS], "due": ["adult-25y"], "upcoming": ADULT_BOOSTERS[1:]}},
        sex="M",
    ),
    Case(
        "adult of 25 with the booster",
        date(2001, 5, 17),
        TODAY,
        [*childhood(date(2001, 5, 17)), shot(DTCAP, "2026-06-01")],
        {"diphtheria": {"done": [*INFANT_DTP, *CHILD_BOOSTERS, "adult-25y"], "upcoming": ADULT_BOOSTERS[1:]}},
        sex="M",
    ),
    Case(
        "adult of 44, last booster at 25: next at 45",
        date(1982, 5, 17),
        TODAY,
        [*childhood(date(1982, 5, 17)), shot(DTCAP, "2007-06-01")],
        {"diphtheria": {"done": [*INFANT_DTP, *CHILD_BOOSTERS, "adult-25y"], "upcoming": ADULT_BOOSTERS[1:]}},
        sex="M",
    ),
    Case(
        "adult of 44 given a booster at 41: it stands for the one at 45",
        date(1982, 5, 17),
        TODAY,
        [*childhood(date(1982, 5, 17)), shot(DTCAP, "2007-06-01"), shot(DTP, "2023-06-01")],
        {
            "diphtheria": {
                "done": [*INFANT_DTP, *CHILD_BOOSTERS, "adult-25y", "adult-45y"],
                "upcoming": ADULT_BOOSTERS[2:],
            }
        },
        sex="M",
    ),
    Case(
        "adult of 46, the 45-year booster missed",
        date(1980, 5, 17),
        TODAY,
        [*childhood(date(1980, 5, 17)), shot(DTCAP, "2005-06-01")],
        {
            "diphtheria": {
                "done": [*INFANT_DTP, *CHILD_BOOSTERS, "adult-25y"],
                "overdue": ["adult-45y"],
                "upcoming": ADULT_BOOSTERS[2:],
            }
        },
        sex="M",
    ),
    Case(
        "adult of 46 with the 45-year booster",
        date(1980, 5, 17),
        TODAY,
        [*childhood(date(1980, 5, 17)), shot(DTCAP, "2005-06-01"), shot(DTP, "2025-06-01")],
        {
            "diphtheria": {
                "done": [*INFANT_DTP, *CHILD_BOOSTERS, "adult-25y", "adult-45y"],
                "upcoming": ADULT_BOOSTERS[2:],
            }
        },
        sex="M",
    ),
    Case(
        "adult of 66 without the 65-year booster",
        date(1960, 5, 17),
        TODAY,
        [*childhood(date(1960, 5, 17)), shot(DTCAP, "1985-06-01"), shot(DTP, "2005-06-01")],
        {
            "diphtheria": {
                "done": [*INFANT_DTP, *CHILD_BOOSTERS, "adult-25y", "adult-45y"],
                "overdue": ["adult-65y"],
                "upcoming": ["adult-75y-plus"],
            }
        },
        sex="M",
    ),
    Case(
        "adult of 66 with the 65-year booster: next at 75",
        date(1960, 5, 17),
        TODAY,
        [*childhood(date(1960, 5, 17)), shot(DTCAP, "1985-06-01"), shot(DTP, "2005-06-01"), shot(DTP, "2025-06-01")],
        {
            "diphtheria": {
                "done": [*INFANT_DTP, *CHILD_BOOSTERS, "adult-25y", "adult-45y", "adult-65y"],
                "upcoming": ["adult-75y-plus"],
            }
        },
        sex="M",
    ),
    Case(
        "adult of 35 whose last booster was at 18: it does not count for 25, one booster now",
        date(1991, 5, 17),
        TODAY,
        [*childhood(date(1991, 5, 17)), shot(DTP, "2009-06-01")],
        {
            "diphtheria": {
                "done": [*INFANT_DTP, *CHILD_BOOSTERS],
                "not_counted": ["adult-25y"],
                "overdue": ["adult-25y"],
                "upcoming": ADULT_BOOSTERS[1:],
            }
        },
        sex="M",
    ),
    Case(
        "adult of 43, last booster at 18, one given at 43: it stands for 45, next at 65",
        date(1983, 5, 17),
        TODAY,
        [*childhood(date(1983, 5, 17)), shot(DTP, "2001-06-01"), shot(DTP, "2026-06-01")],
        {
            "diphtheria": {
                "done": [*INFANT_DTP, *CHILD_BOOSTERS, "adult-45y"],
                "not_counted": ["adult-25y"],
                "upcoming": ADULT_BOOSTERS[2:],
            }
        },
        sex="M",
    ),
    Case(
        "adult of 33: an extra booster at 30 does not move the one at 45",
        date(1993, 5, 17),
        TODAY,
        [*childhood(date(1993, 5, 17)), shot(DTCAP, "2018-06-01"), shot(DTP, "2023-06-01")],
        {
            "diphtheria": {
                "done": [*INFANT_DTP, *CHILD_BOOSTERS, "adult-25y"],
                "not_counted": ["adult-45y"],
                "upcoming": ADULT_BOOSTERS[1:],
            }
        },
        sex="M",
    ),
    Case(
        "adult of 88 whose booklet starts at 25: the booster of 85 is due (the infant doses listed, not counted)",
        date(1938, 5, 17),
        TODAY,
        [shot(DTP, "1963-06-01"), shot(DTP, "1983-06-01"), shot(DTP, "2003-06-01"), shot(DTP, "2013-06-01")],
        {
            "diphtheria": {
                "not_counted": INFANT_DTP,
                "done": ADULT_BOOSTERS,
                "due": ["adult-75y-plus"],
                "upcoming": ["adult-75y-plus"],
            }
        },
        sex="M",
    ),
    Case(
        "adult booster known only by its year",
        date(1990, 5, 17),
        TODAY,
        [*childhood(date(1990, 5, 17)), shot(DTCAP, "2015")],
        {"diphtheria": {"done": [*INFANT_DTP, *CHILD_BOOSTERS, "adult-25y"], "upcoming": ADULT_BOOSTERS[1:]}},
        sex="M",
    ),
    Case(
        "woman of 30 without an adult pertussis booster: catch-up until 39",
        date(1996, 3, 1),
        TODAY,
        childhood(date(1996, 3, 1)),
        {"pertussis": {"done": [*INFANT_DTP, *CHILD_BOOSTERS], "due": ["adult-25y"], "unknown": ["pregnancy"]}},
    ),
    Case(
        "man of 41 without an adult pertussis booster: the catch-up has ended, no longer counted",
        date(1985, 3, 1),
        TODAY,
        childhood(date(1985, 3, 1)),
        {"pertussis": {"done": [*INFANT_DTP, *CHILD_BOOSTERS], "not_counted": ["adult-25y"]}},
        sex="M",
    ),
    Case(
        "born 1990 without any MMR: both doses to catch up",
        date(1990, 5, 17),
        TODAY,
        [],
        {"measles": {"due": ["mmr-1"], "upcoming": ["mmr-2"]}},
    ),
    Case(
        "born 1975: MMR catch-up is for people born since 1980",
        date(1975, 5, 17),
        TODAY,
        [],
        {"measles": {}},
    ),
    # --- Older adults and seasons ---------------------------------------------------------------
    Case(
        "woman of 70, influenza given this season, Covid-19 not yet",
        date(1956, 3, 1),
        TODAY,
        [shot(FLU, "2026-10-20"), shot(COVID, "2026-04-20")],
        {
            "influenza": {"done": ["annual-65y-plus"]},
            "covid19": {"due": ["autumn-65y-plus"], "upcoming": ["spring-80y-plus"]},
        },
        pregnant=False,
    ),
    Case(
        "woman of 70 in July: the next campaigns",
        date(1956, 3, 1),
        date(2026, 7, 1),
        [shot(FLU, "2025-10-20")],
        {
            "influenza": {"upcoming": ["annual-65y-plus"]},
            "covid19": {"upcoming": ["autumn-65y-plus", "spring-80y-plus"]},
        },
        pregnant=False,
    ),
    Case(
        "man of 66 without influenza this season: due",
        date(1960, 5, 17),
        TODAY,
        [shot(FLU, "2025-11-02")],
        {"influenza": {"due": ["annual-65y-plus"]}},
        sex="M",
    ),
    Case(
        "man of 64: influenza from the first campaign after 65",
        date(1962, 3, 1),
        TODAY,
        [],
        {"influenza": {"upcoming": ["annual-65y-plus"]}},
        sex="M",
    ),
    Case(
        "man of 82 in May: the spring Covid-19 dose is due",
        date(1944, 3, 1),
        date(2026, 5, 1),
        [shot(COVID, "2025-11-20")],
        {"covid19": {"due": ["spring-80y-plus"], "upcoming": ["autumn-65y-plus"]}},
        sex="M",
    ),
    Case(
        "boy of 8 in season: influenza is proposed",
        date(2018, 6, 1),
        TODAY,
        [],
        {"influenza": {"due": ["children-2-17y"], "upcoming": ["annual-65y-plus"]}},
        sex="M",
    ),
    Case(
        "influenza known only by its year: this season cannot be told",
        date(1956, 3, 1),
        TODAY,
        [shot(FLU, "2026")],
        {"influenza": {"unknown": ["annual-65y-plus"]}},
        pregnant=False,
    ),
    Case(
        "man of 66: the pneumococcal dose of 65 is due; the infant doses, recommended from 2006, are not his",
        date(1960, 5, 17),
        TODAY,
        [],
        {"pneumococcus": {"due": ["adult-65y"]}},
        sex="M",
    ),
    Case(
        "woman of 68 with one shingles dose: the second is due",
        date(1958, 1, 1),
        TODAY,
        [shot(ZOSTER, "2026-08-01", vaccine="SHINGRIX")],
        {"herpes_zoster": {"done": ["rzv-1"], "due": ["rzv-2"]}},
        pregnant=False,
    ),
    # --- Series past the catch-up their calendar gives (series_catch_up_limits, blocked series) ---
    Case(
        "child of 8 whose Hib series stopped after two doses: past the Hib catch-up (5 years), the booster "
        "is no longer counted",
        date(2018, 3, 10),
        TODAY,
        [at_age(date(2018, 3, 10), HEXA, months=2), at_age(date(2018, 3, 10), HEXA, months=4)],
        {"hib": {"done": ["hexa-1", "hexa-2"], "not_counted": ["hexa-3"]}},
    ),
    Case(
        "child of 3 whose Hib series stopped after two doses: the booster is due in catch-up until 5",
        date(2023, 9, 1),
        TODAY,
        [at_age(date(2023, 9, 1), HEXA, months=2), at_age(date(2023, 9, 1), HEXA, months=4)],
        {"hib": {"done": ["hexa-1", "hexa-2"], "due": ["hexa-3"]}},
    ),
    Case(
        "toddler of 30 months with one MenB dose: the second, past its catch-up, is not counted, nor the "
        "booster that waits on it",
        date(2024, 6, 10),
        TODAY,
        [at_age(date(2024, 6, 10), MENB, months=3, vaccine="BEXSERO")],
        {
            "meningococcus_b": {
                "done": ["menb-1"],
                "not_counted": ["menb-2", "menb-3"],
                "upcoming": ["adolescent-15-24y-1", "adolescent-15-24y-2"],
            }
        },
    ),
    Case(
        "toddler of 21 months never vaccinated against MenB: the booster waits on the two primary doses "
        "still in catch-up, upcoming (it was overdue since 15 months, before its dose 1)",
        date(2025, 3, 1),
        TODAY,
        [],
        {
            "meningococcus_b": {
                "due": ["menb-1"],
                "upcoming": ["menb-2", "menb-3", "adolescent-15-24y-1", "adolescent-15-24y-2"],
            }
        },
    ),
    Case(
        "woman of 65: the varicella dose of women of childbearing age is no longer hers",
        date(1961, 6, 1),
        TODAY,
        [],
        # The adolescents' doses are childhood doses she is past (not counted), as before.
        {"varicella": {"not_counted": ["adolescent-1", "adolescent-2"]}},
        pregnant=False,
    ),
    # --- Doses only one kind of vaccine makes (requires_product) ---------------------------------
    Case(
        "woman of 68 vaccinated with the live shingles vaccine: the recombinant course is still to do",
        date(1958, 1, 1),
        TODAY,
        [shot(ZOSTER, "2026-06-15", vaccine="ZOSTAVAX")],
        {"herpes_zoster": {"not_counted": ["rzv-1"], "due": ["rzv-1"], "upcoming": ["rzv-2"]}},
        pregnant=False,
    ),
    Case(
        "woman of 68 whose shingles dose is typed by name: which vaccine cannot be told",
        date(1958, 1, 1),
        TODAY,
        [shot(ZOSTER, "2026-08-01")],
        {"herpes_zoster": {"unknown": ["rzv-1"], "due": ["rzv-2"]}},
        pregnant=False,
    ),
    Case(
        "man of 66 vaccinated with the polysaccharide pneumococcal vaccine: the conjugate dose is due",
        date(1960, 5, 17),
        TODAY,
        [shot(PCV, "2026-07-01", vaccine="PNEUMOVAX")],
        {"pneumococcus": {"not_counted": ["adult-65y"], "due": ["adult-65y"]}},
        sex="M",
    ),
    Case(
        "man of 66 vaccinated with PREVENAR 20: the dose of 65 is done",
        date(1960, 5, 17),
        TODAY,
        [shot(PCV, "2026-07-01", vaccine="PREVENAR 20")],
        {"pneumococcus": {"done": ["adult-65y"]}},
        sex="M",
    ),
    Case(
        "man of 76: the RSV dose is due; the 65-74 one depends on a condition",
        date(1950, 5, 17),
        TODAY,
        [],
        {"rsv": {"due": ["older-adult-75y-plus"], "unknown": ["older-adult-65-74y-comorbidity"]}},
        sex="M",
    ),
    # --- Pregnancy, sex and a missing birthdate -------------------------------------------------
    Case(
        "pregnant at 24 weeks",
        date(1996, 3, 1),
        TODAY,
        childhood(date(1996, 3, 1)),
        {
            "pertussis": {"done": [*INFANT_DTP, *CHILD_BOOSTERS], "due": ["adult-25y", "pregnancy"]},
            "influenza": {"due": ["pregnancy"], "upcoming": ["annual-65y-plus"]},
            "rsv": {
                "unknown": ["pregnancy"],
                "upcoming": ["older-adult-75y-plus", "older-adult-65-74y-comorbidity"],
            },
        },
        pregnant=True,
        weeks=24,
    ),
    Case(
        "pregnant at 38 weeks without dTcaP: past the recommended weeks",
        date(1996, 3, 1),
        TODAY,
        childhood(date(1996, 3, 1)),
        {"pertussis": {"done": [*INFANT_DTP, *CHILD_BOOSTERS], "due": ["adult-25y"], "overdue": ["pregnancy"]}},
        pregnant=True,
        weeks=38,
    ),
    Case(
        "pregnant at 38 weeks without the RSV dose: its weeks (32 to 36) are past, it is no longer to do in "
        "this pregnancy (it was 'unknown', the season's dates not given)",
        date(1996, 3, 1),
        TODAY,
        childhood(date(1996, 3, 1)),
        {
            "rsv": {
                "not_counted": ["pregnancy"],
                "upcoming": ["older-adult-75y-plus", "older-adult-65-74y-comorbidity"],
            }
        },
        pregnant=True,
        weeks=38,
    ),
    Case(
        "pregnant at 38 weeks, dTcaP given at 30 weeks",
        date(1996, 3, 1),
        TODAY,
        [*childhood(date(1996, 3, 1)), shot(DTCAP, "2026-09-22")],
        {"pertussis": {"done": [*INFANT_DTP, *CHILD_BOOSTERS, "adult-25y", "pregnancy"]}},
        pregnant=True,
        weeks=38,
    ),
    Case(
        "pregnant without the week: the pertussis dose cannot be placed",
        date(1996, 3, 1),
        TODAY,
        childhood(date(1996, 3, 1)),
        {
            "pertussis": {"done": [*INFANT_DTP, *CHILD_BOOSTERS], "due": ["adult-25y"], "unknown": ["pregnancy"]},
            "influenza": {"due": ["pregnancy"], "upcoming": ["annual-65y-plus"]},
        },
        pregnant=True,
    ),
    Case(
        "sex not recorded: the recommendations for women are unknown",
        date(1996, 3, 1),
        TODAY,
        childhood(date(1996, 3, 1)),
        {
            "pertussis": {"done": [*INFANT_DTP, *CHILD_BOOSTERS], "due": ["adult-25y"], "unknown": ["pregnancy"]},
            # The adolescents' doses: their catch-up (18) is past, no longer counted whatever her history.
            "varicella": {"not_counted": ["adolescent-1", "adolescent-2"], "unknown": ["women-childbearing-age"]},
        },
        sex=None,
    ),
    Case(
        "man: no pregnancy or women-only recommendation",
        date(1996, 3, 1),
        TODAY,
        childhood(date(1996, 3, 1)),
        {
            "pertussis": {"done": [*INFANT_DTP, *CHILD_BOOSTERS], "due": ["adult-25y"]},
            "varicella": {"not_counted": ["adolescent-1", "adolescent-2"]},
        },
        sex="M",
    ),
    Case(
        "no birthdate: every rule is unknown",
        None,
        TODAY,
        [],
        {
            "diphtheria": {"unknown": [*INFANT_DTP, *AFTER_INFANCY]},
            "influenza": {"unknown": ["annual-65y-plus", "children-2-17y", "pregnancy"]},
        },
    ),
]


def test_the_table_has_at_least_forty_rows() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_schedule(case: Case) -> None:
    person = Person(birthdate=case.born, sex=case.sex, pregnant=case.pregnant, gestational_weeks=case.weeks)  # type: ignore[arg-type]
    schedule = evaluate(schedule_data(), person, entries=entries_of(case.shots), today=case.today)
    assert statuses(schedule, list(case.expected)) == normalized(case.expected)
    for dose_id, obligation in case.obligations.items():
        items = [i for d in schedule.diseases for i in d.doses if i.dose_id == dose_id]
        assert items and {i.obligation for i in items} == {obligation}, dose_id


def test_a_dose_past_its_latest_age_is_missed_for_good_and_counts_neither_due_nor_overdue() -> None:
    """A child of 2½ years vaccinated on time with everything but rotavirus: the three rotavirus
    doses may no longer be given (the calendar's latest age), so they are listed as not counted,
    saying since when, and nothing is overdue (the home screen counted 3 for ever)."""
    born = date(2024, 6, 10)
    shots = [
        *[at_age(born, HEXA, months=m) for m in (2, 4, 11)],
        *[at_age(born, PCV, months=m) for m in (2, 4, 11)],
        *[at_age(born, MENB, months=m) for m in (3, 5, 12)],
        *[at_age(born, MENACWY, months=m) for m in (6, 12)],
        at_age(born, MMR, months=12),
        at_age(born, MMR, months=16),
    ]
    schedule = evaluate(schedule_data(), Person(born, "F"), entries=entries_of(shots), today=TODAY)
    assert statuses(schedule, ["rotavirus"]) == {"rotavirus": {"not_counted": ["rota-1", "rota-2", "rota-3-rotateq"]}}
    rotavirus = next(d for d in schedule.diseases if d.disease == "rotavirus").doses
    for item in rotavirus:
        assert (item.vaccination_id, item.given, item.overdue_since) == (None, None, None), item.dose_id
        assert "Ne peut plus être donnée depuis le" in item.reason, item.dose_id
        assert "plus comptée parmi les vaccinations à faire" in item.reason, item.dose_id
    assert "Ne peut plus être donnée depuis le 10 octobre 2024 (âge limite)." in rotavirus[0].reason
    assert schedule.count("overdue") == 0


def test_a_late_dose_that_may_still_be_given_says_until_when() -> None:
    late = item_of(
        evaluate(schedule_data(), Person(date(2026, 8, 20), "F"), entries=[], today=TODAY), "rotavirus.rota-1"
    )
    assert (late.status, late.overdue_since) == ("overdue", date(2026, 11, 20))
    assert "Ne peut plus être donnée après le 19 décembre 2026." in late.reason


def test_a_late_dose_that_cannot_be_given_yet_is_to_do_from_its_interval_not_overdue() -> None:
    """hexa-2 given late (10 months): hexa-3, past its age, needs 6 months after it (10 August 2026).
    On 15 June every disease of the injection says "from 10 August" (four said overdue, counted on
    the home screen, while Hib and hepatitis B said upcoming: an audit); given that day, it counts."""
    born = date(2025, 3, 31)
    booklet = [shot(HEXA, "2025-05-31", vaccine="HEXYON"), shot(HEXA, "2026-02-10", vaccine="HEXYON")]
    schedule = evaluate(schedule_data(), Person(born, "F"), entries=entries_of(booklet), today=date(2026, 6, 15))
    for disease in sorted(HEXA):
        dose = item_of(schedule, f"{disease}.hexa-3")
        assert (dose.status, dose.due_from, dose.overdue_since) == ("upcoming", date(2026, 8, 10), None), disease
        assert "À faire à partir du 10 août 2026." in dose.reason, (disease, dose.reason)
    assert schedule.count("overdue") == 0
    given = entries_of([*booklet, shot(HEXA, "2026-08-10", vaccine="HEXYON")])
    later = evaluate(schedule_data(), Person(born, "F"), entries=given, today=date(2026, 8, 10))
    assert {item_of(later, f"{disease}.hexa-3").status for disease in HEXA} == {"done"}


def test_every_dose_label_the_booklet_shows_is_in_french() -> None:
    """The schedule's labels reach the person's phone as they are. Three (nine doses' worth: the
    hexavalent booster, the 11-13 and 25-year boosters) were left in part in English by the
    reference they were copied from ("Rappel (booster) at 11 months")."""
    english = re.compile(r"\b(at|months?|booster|if|years?|includes|unless|received|then|ago)\b|\d+ y\b")
    labels = {dose.id: dose.label for disease in schedule_data().calendar.diseases for dose in disease.doses}
    assert {dose_id: label for dose_id, label in labels.items() if english.search(label)} == {}


def test_the_polysaccharide_vaccine_fills_no_dose_of_the_infants_conjugate_series() -> None:
    """PNEUMOVAX (PPSV23) three times in infancy: the mandatory conjugate series stays to do, each
    entry saying why (it was "done": an audit); PREVENAR 13 on the same days fills it."""
    born = date(2025, 3, 10)
    days = ("2025-05-10", "2025-07-10", "2026-02-10")
    pneumovax = evaluate(
        schedule_data(),
        Person(born, "F"),
        entries=entries_of([shot(PCV, day, vaccine="PNEUMOVAX") for day in days]),
        today=date(2026, 6, 15),
    )
    statuses_of = {i.dose_id: i.status for d in pneumovax.diseases if d.disease == "pneumococcus" for i in d.doses}
    assert "done" not in statuses_of.values(), statuses_of
    refused = [i for d in pneumovax.diseases for i in d.doses if i.vaccination_id is not None]
    assert refused and all("polyosidique 23-valent" in i.reason for i in refused), [i.reason for i in refused]
    prevenar = evaluate(
        schedule_data(),
        Person(born, "F"),
        entries=entries_of([shot(PCV, day, vaccine="PREVENAR 13") for day in days]),
        today=date(2026, 6, 15),
    )
    assert [item_of(prevenar, f"pneumococcus.pcv-{n}").status for n in (1, 2, 3)] == ["done"] * 3
    # Nor its catch-up: a toddler's first PNEUMOVAX at 12 months leaves the 12-23 months plan to do.
    toddler = evaluate(
        schedule_data(),
        Person(date(2025, 10, 1), "M"),
        entries=entries_of([shot(PCV, "2026-10-02", vaccine="PNEUMOVAX")]),
        today=date(2026, 12, 8),
    )
    caught_up = {i.dose_id: i.status for d in toddler.diseases if d.disease == "pneumococcus" for i in d.doses}
    assert "done" not in caught_up.values(), caught_up
