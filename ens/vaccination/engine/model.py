"""What the schedule engine takes and gives: plain values, no database, no HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal
from uuid import UUID

from ens.vaccination.engine.dates import PartialDate

Status = Literal["done", "due", "overdue", "upcoming", "not_counted", "unknown"]

# The calendar's word for a dose it allows without recommending it to everyone.
MAY_BE_OFFERED = "may_be_offered"
Obligation = Literal["mandatory", "recommended"]
Sex = Literal["F", "M"]


@dataclass(frozen=True)
class Person:
    """What the schedule needs to know of the holder. ``None`` is "not known": the engine then says
    which recommendation it could not evaluate rather than guessing."""

    birthdate: date | None
    sex: Sex | None = None
    pregnant: bool | None = None
    gestational_weeks: int | None = None


@dataclass(frozen=True)
class BookletEntry:
    """One injection of the booklet, with every disease its vaccine covers. ``brand`` is the
    catalogue's brand of the vaccine, empty for a vaccine typed by name (whose brand the engine
    does not trust for a rule that depends on the product)."""

    id: UUID
    diseases: frozenset[str]
    when: PartialDate
    brand: str = ""


@dataclass(frozen=True)
class DoseItem:
    """One line of the answer: a dose of the calendar and where this person stands with it.

    ``dose_id`` names the calendar rule (``<disease>.<series>``, or a catch-up schedule's id with
    ``#n``); ``source_ids`` its sources, and those of any ENS rule that shaped the answer.
    """

    dose_id: str
    label: str
    status: Status
    obligation: Obligation
    recommendation: str
    reason: str
    source_ids: tuple[str, ...]
    due_from: date | None = None
    due_until: date | None = None
    overdue_since: date | None = None
    vaccination_id: UUID | None = None
    given: str | None = None


@dataclass(frozen=True)
class DiseaseSchedule:
    disease: str
    label: str
    doses: tuple[DoseItem, ...]


@dataclass(frozen=True)
class Schedule:
    as_of: date
    diseases: tuple[DiseaseSchedule, ...]
    source_ids: tuple[str, ...] = field(default=())

    def count(self, status: Status) -> int:
        """How many doses have ``status``; a dose the calendar says only "may be offered" (MenB at
        15-24 years) is not counted among those to do: nobody is behind for not having had it."""
        return sum(
            1
            for disease in self.diseases
            for dose in disease.doses
            if dose.status == status and dose.recommendation != MAY_BE_OFFERED
        )
