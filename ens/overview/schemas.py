from __future__ import annotations

from datetime import date
from uuid import UUID

from ens.core.api import ReadStruct
from ens.records.schemas import RecordsSummary
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
    records: RecordsSummary


class SpaceStatusRead(ReadStruct):
    id: UUID
    status: str
