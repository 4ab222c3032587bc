"""No answer gives a dose a window that ends before it starts (``dueFrom`` after ``dueUntil``), for
any birth date, booklet or status: a dose missed for good is dated by when it was due, not by when
it could now be given; one that can only be given once its recommended age has ended has no
``dueUntil`` (its reason says when that age ended); a seasonal dose the minimum interval pushes past
the campaign is for the next one."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta

from ens.vaccination.calendar import schedule_data
from ens.vaccination.engine import BookletEntry, Person, Schedule, evaluate
from ens.vaccination.engine.dates import PartialDate, add_months
from tests.helpers.vaccination import COVID, HEXA, MMR, PCV, Shot, at_age, entries_of, item_of, shot

TODAY = date(2026, 12, 1)
SUMMER = date(2026, 7, 1)


def _inverted(schedule: Schedule) -> list[str]:
    return [
        f"{item.dose_id} {item.status} {item.due_from} > {item.due_until}"
        for disease in schedule.diseases
        for item in disease.doses
        if item.due_from is not None and item.due_until is not None and item.due_from > item.due_until
    ]


def _rows_sharing_a_key(schedule: Schedule) -> list[str]:
    """Rows of one disease that share ``doseId``, ``dueFrom`` and ``vaccinationId``: the key the
    API description gives a row (``doseId`` alone repeats: a recurring booster, an entry that
    fills no dose)."""
    keys = [
        (disease.disease, item.dose_id, item.due_from, item.vaccination_id)
        for disease in schedule.diseases
        for item in disease.doses
    ]
    return [str(key) for key in set(keys) if keys.count(key) > 1]


def _random_booklet(rng: random.Random, born: date, today: date) -> list[BookletEntry]:
    """A few injections of any diseases of the calendar, on any day between birth and today, given
    as a day, a month or a year."""
    codes = [disease.code for disease in schedule_data().calendar.diseases]
    entries = []
    for _ in range(rng.randint(1, 6)):
        day = born + timedelta(days=rng.randint(0, max(0, (today - born).days)))
        text = rng.choice([day.isoformat(), day.isoformat()[:7], day.isoformat()[:4]])
        covers = frozenset(rng.sample(codes, rng.randint(1, 3)))
        entries.append(BookletEntry(uuid.uuid4(), covers, PartialDate.parse(text)))
    return entries


def _on_time(born: date) -> list[Shot]:
    return [
        *(at_age(born, HEXA, months=m) for m in (2, 4, 11)),
        *(at_age(born, PCV, months=m) for m in (2, 4, 11)),
        at_age(born, MMR, months=12),
        at_age(born, MMR, months=16),
    ]


def test_no_dose_of_any_disease_ends_before_it_starts_for_any_birth_date():
    rng = random.Random(20261201)
    born = date(1900, 1, 1)
    checked = 0
    while born <= TODAY:
        for today in (TODAY, SUMMER):
            if born > today:
                continue
            kind = rng.randrange(3)
            entries = (
                []
                if kind == 0
                else entries_of([s for s in _on_time(born) if date.fromisoformat(s.when) <= today])
                if kind == 1
                else _random_booklet(rng, born, today)
            )
            sex = rng.choice(["F", "M", None])
            pregnant = rng.choice([None, False, True]) if sex == "F" else None
            weeks = rng.choice([None, 10, 24, 34, 39]) if pregnant else None
            schedule = evaluate(schedule_data(), Person(born, sex, pregnant, weeks), entries=entries, today=today)  # type: ignore[arg-type]
            assert _inverted(schedule) == [], (born, today, kind)
            assert _rows_sharing_a_key(schedule) == [], (born, today, kind)
            checked += 1
        born += timedelta(days=rng.randint(20, 60))
    assert checked > 1000


def test_a_missed_dose_waiting_for_a_missed_one_is_dated_when_it_was_due():
    """The second varicella dose of an adult of 40: both adolescent doses past their catch-up (no
    longer counted, whatever her history of varicella), the second dated 4 weeks after the first's
    age, not after today."""
    born = date(1986, 4, 12)
    schedule = evaluate(schedule_data(), Person(born, "F", False), entries=[], today=TODAY)
    first, second = item_of(schedule, "varicella.adolescent-1"), item_of(schedule, "varicella.adolescent-2")
    assert (first.status, second.status) == ("not_counted", "not_counted")
    assert first.due_from == add_months(born, 144)
    assert second.due_from == first.due_from + timedelta(weeks=4)
    assert second.due_until == first.due_until == add_months(born, 12 * 19) - timedelta(days=1)


def test_a_missed_dose_whose_previous_dose_came_too_late_is_dated_by_its_age():
    """Hepatitis B: the first dose given at 20, the second never; past the catch-up limit of
    15 years the second is missed from its own age (4 months), not from 2 months after the first (an
    adult's childhood dose: listed, no longer counted)."""
    born = date(1990, 5, 17)
    schedule = evaluate(schedule_data(), Person(born, "M"), entries=entries_of([shot(HEXA, "2010-06-01")]), today=TODAY)
    second = item_of(schedule, "hepatitis_b.hexa-2")
    assert second.status == "not_counted"
    assert second.due_from is not None and second.due_until is not None and second.due_from <= second.due_until


def test_a_dose_that_can_only_be_given_late_has_no_end_and_says_when_its_age_ended():
    """HPV catch-up at 26 years and 8 months: the third dose's interval brings it past 26 révolus."""
    born = date(2000, 4, 1)
    schedule = evaluate(schedule_data(), Person(born, "F", False), entries=[], today=TODAY)
    third = item_of(schedule, "hpv.catch-up-3")
    assert third.status == "upcoming" and third.due_until is None
    assert third.due_from is not None and third.due_from > add_months(born, 12 * 27) - timedelta(days=1)
    assert "Elle sera en retard : l'âge recommandé se termine le 31 mars 2027." in third.reason
    assert _inverted(schedule) == []


def test_a_seasonal_dose_the_interval_pushes_past_the_campaign_is_for_the_next_one():
    """Covid-19 at 69, a dose on 25 August (before the days that count for the autumn campaign): six
    months later the 2026-2027 autumn campaign is over."""
    schedule = evaluate(
        schedule_data(),
        Person(date(1957, 2, 16), "F", False),
        entries=entries_of([shot(COVID, "2026-08-25")]),
        today=TODAY,
    )
    autumn = item_of(schedule, "covid19.autumn-65y-plus")
    assert (autumn.status, autumn.due_from, autumn.due_until) == ("upcoming", date(2027, 10, 14), date(2028, 1, 31))
    assert autumn.label.endswith("2027-2028")
