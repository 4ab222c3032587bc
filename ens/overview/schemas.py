from __future__ import annotations

from datetime import date
from uuid import UUID

from ens.core.api import ReadStruct
from ens.documents.schemas import DocumentsSummary
from ens.records.schemas import RecordsSummary
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
    # For a representative: their kind (parent, tutelle, curatelle, habilitation_familiale).
    representative_kind: str | None
    # What the caller may do here (the table of rights; see GET /v1/me).
    rights: list[str]
    # A minor's space: the day its holder comes of age (the parents' access ends), and whether it is
    # within three months (the parents may then make the claim code; they are told by e-mail too).
    adulthood_on: date | None
    adulthood_soon: bool
    vitals: list[LatestVital]
    bmi: BmiRead | None
    records: RecordsSummary
    documents: DocumentsSummary
    # The French schedule's doses due and overdue today (GET .../vaccinations/schedule for which);
    # null to a professional whose profession the access matrix does not let read the booklet.
    vaccination: DueCounts | None
    # Professionals' requests for access awaiting an answer (GET .../access-requests lists them; no
    # e-mail tells of one); null to a professional, who does not read them.
    pending_access_requests: int | None


class SpaceStatusRead(ReadStruct):
    id: UUID
    status: str
