"""The holder's schedule: the space (birthdate, sex) and its booklet, through the engine, today.

What the space does not say and a rule needs (sex, a pregnancy and its week) may be given with
the request; where it is still missing, the engine says which recommendation it could not
evaluate rather than guessing.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Literal

import msgspec

from ens.core.errors import BadRequest, FieldError
from ens.core.remembered import Remembered
from ens.spaces.door import SpaceAccess
from ens.vaccination.booklet import booklet_entries, space_today
from ens.vaccination.calendar import schedule_data
from ens.vaccination.engine import BookletEntry, Person, Schedule, evaluate
from ens.vaccination.engine.dates import age_in_months
from ens.vaccination.engine.model import Sex
from ens.vaccination.schemas import (
    DueCounts,
    ScheduleDiseaseRead,
    ScheduleDoseRead,
    ScheduleInputs,
    ScheduleRead,
    SourceRead,
)

SexWord = Literal["female", "male"]
# pregnant=true is refused for a holder younger than this (a pregnancy's doses dated before birth).
YOUNGEST_PREGNANCY_MONTHS = 120
_SEX: dict[str, Sex] = {"female": "F", "male": "M"}
_WORD: dict[Sex, SexWord] = {"F": "female", "M": "male"}


def _person(
    access: SpaceAccess, *, sex: SexWord | None, pregnant: bool | None, gestational_weeks: int | None
) -> Person:
    recorded = _SEX.get(access.space.sex or "")
    given = _SEX[sex] if sex is not None else None
    if recorded is not None and given is not None and recorded != given:
        raise BadRequest("sex: the space records another sex.", [FieldError("/sex", "differs from the space's")])
    known = recorded or given
    if gestational_weeks is not None and pregnant is not True:
        raise BadRequest(
            "gestationalWeeks goes with pregnant=true.", [FieldError("/gestationalWeeks", "only with pregnant=true")]
        )
    if pregnant is True and known == "M":
        raise BadRequest("pregnant=true for a male holder.", [FieldError("/pregnant", "the holder is male")])
    if pregnant is True:
        # A pregnancy says the sex the space does not record: its doses were "unknown, the space does
        # not record the sex" (an outside audit).
        known = "F"
    born = access.space.birthdate
    if pregnant is True and born is not None and age_in_months(born, space_today(access)) < YOUNGEST_PREGNANCY_MONTHS:
        raise BadRequest(
            "pregnant=true for a child under 10 years.", [FieldError("/pregnant", "the holder is under 10 years old")]
        )
    return Person(birthdate=access.space.birthdate, sex=known, pregnant=pregnant, gestational_weeks=gestational_weeks)


async def holder_schedule(access: SpaceAccess) -> Schedule:
    """The schedule with only what the space knows (the certificate's)."""
    person, entries, today = await _holder_inputs(access)
    return evaluate(schedule_data(), person, entries=entries, today=today)


async def _holder_inputs(access: SpaceAccess) -> tuple[Person, list[BookletEntry], date]:
    """The engine's inputs from what the space knows: its birthdate and sex, its booklet, its day."""
    person = Person(birthdate=access.space.birthdate, sex=_SEX.get(access.space.sex or ""))
    entries = await booklet_entries(access.space_id, with_hidden=access.sees_confidential)
    return person, entries, space_today(access)


async def vaccination_schedule(
    access: SpaceAccess, *, sex: SexWord | None, pregnant: bool | None, gestational_weeks: int | None
) -> ScheduleRead:
    """Every disease of the French calendar and where the holder stands with each dose."""
    person = _person(access, sex=sex, pregnant=pregnant, gestational_weeks=gestational_weeks)
    data = schedule_data()
    schedule = evaluate(
        data,
        person,
        entries=await booklet_entries(access.space_id, with_hidden=access.sees_confidential),
        today=space_today(access),
    )
    sources = data.sources
    return ScheduleRead(
        as_of=schedule.as_of,
        edition=data.calendar.edition_label,
        inputs=ScheduleInputs(
            birthdate=person.birthdate,
            sex=_WORD[person.sex] if person.sex is not None else None,
            pregnant=person.pregnant,
            gestational_weeks=person.gestational_weeks,
        ),
        counts=DueCounts(due=schedule.count("due"), overdue=schedule.count("overdue")),
        diseases=[
            ScheduleDiseaseRead(
                disease=disease.disease,
                label=disease.label,
                doses=[
                    ScheduleDoseRead(
                        dose_id=item.dose_id,
                        label=item.label,
                        status=item.status,
                        obligation=item.obligation,
                        recommendation=item.recommendation,
                        due_from=item.due_from,
                        due_until=item.due_until,
                        overdue_since=item.overdue_since,
                        vaccination_id=item.vaccination_id,
                        given=item.given,
                        reason=item.reason,
                        source_ids=list(item.source_ids),
                    )
                    for item in disease.doses
                ],
            )
            for disease in schedule.diseases
        ],
        sources=[
            SourceRead(id=source.id, title=source.title, url=source.url, publisher=source.publisher)
            for source in (sources[source_id] for source_id in schedule.source_ids if source_id in sources)
        ],
    )


async def due_counts(access: SpaceAccess) -> DueCounts:
    """How many doses are due and overdue today (the home screen, opened many times a day).

    The engine is a pure function of the calendar (fixed for the process), the person, the
    booklet and the day; evaluating the whole calendar took ~1.7 ms of the ~2.3 ms of CPU a home
    screen cost. The two counts are kept per process for the inputs they came from (a digest of
    them: any change to the booklet, the birthdate, the sex or the day is another key)."""
    person, entries, today = await _holder_inputs(access)
    key = _inputs_digest(person, entries, today)
    counts = _DUE_COUNTS.get(key)
    if counts is None:
        schedule = evaluate(schedule_data(), person, entries=entries, today=today)
        counts = _DUE_COUNTS.put(key, (schedule.count("due"), schedule.count("overdue")))
    return DueCounts(due=counts[0], overdue=counts[1])


def _inputs_digest(person: Person, entries: list[BookletEntry], today: date) -> bytes:
    """What the engine's answer depends on, in a canonical form, hashed (the calendar by its edition)."""
    booklet = sorted(
        (str(e.id), sorted(e.diseases), e.when.text, e.when.precision, e.when.start, e.when.end, e.brand)
        for e in entries
    )
    edition = schedule_data().calendar.edition_label
    canonical = msgspec.json.encode(
        [edition, person.birthdate, person.sex, person.pregnant, person.gestational_weeks, today, booklet]
    )
    return hashlib.blake2b(canonical, digest_size=16).digest()


# ~215 bytes an entry: ~21 MB at most.
_DUE_COUNTS: Remembered[bytes, tuple[int, int]] = Remembered(100_000)
