from __future__ import annotations

from datetime import date
from uuid import UUID

from ens.core.api import ReadStruct
from ens.vaccination.schemas import DueCounts
from ens.vitals.schemas import BmiRead, LatestVital


class HolderSummary(ReadStruct):
    given_name: str
    family_name: str
    birthdate: date | None
    sex: str | None


class SpaceSummary(ReadStruct):
    id: UUID
    holder: HolderSummary
    status: str
    timezone: str
    role: str
    vitals: list[LatestVital]
    bmi: BmiRead | None
    # The French schedule's doses due and overdue today (GET .../vaccinations/schedule for which).
    vaccination: DueCounts


class SpaceStatusRead(ReadStruct):
    id: UUID
    status: str
