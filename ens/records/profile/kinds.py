"""The four lists of the profile, each a :class:`_Kind`: its table, its data columns and how a row
becomes what the API shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

from ens.core.clock import as_date, aware
from ens.core.db import Row, as_uuid
from ens.records.schemas import AllergyRead, ConditionRead, FamilyHistoryRead, TreatmentRead

R = TypeVar("R", bound=msgspec.Struct)


@dataclass(frozen=True)
class _Kind(Generic[R]):
    """One profile list: its table, its data columns (in the order of the Read struct's fields) and
    how a row becomes what the API shows."""

    table: str
    # Its name in the access matrix, after "profile/" (``Need.part``): the lists open to different
    # professions.
    part: str
    columns: tuple[str, ...]
    read: Callable[[Row], R]
    missing: str

    def select(self, where: str) -> str:
        columns = ", ".join(self.columns)
        return (
            f"SELECT id, {columns}, created_at, updated_at, hidden_from_representatives, recorded_by_professional, "
            f"recorded_by_representative FROM {self.table} WHERE space_id = {{}} {where}"
        )


def _condition(row: Row) -> ConditionRead:
    return ConditionRead(
        id=as_uuid(row["id"]),
        label=row["label"],
        since=as_date(row["since"]),
        code=row["code"],
        created_at=aware(row["created_at"]),
        updated_at=aware(row["updated_at"]),
        hidden_from_representatives=bool(row["hidden_from_representatives"]),
    )


def _allergy(row: Row) -> AllergyRead:
    return AllergyRead(
        id=as_uuid(row["id"]),
        substance=row["substance"],
        reaction=row["reaction"],
        severity=row["severity"],
        created_at=aware(row["created_at"]),
        updated_at=aware(row["updated_at"]),
        hidden_from_representatives=bool(row["hidden_from_representatives"]),
    )


def _treatment(row: Row) -> TreatmentRead:
    return TreatmentRead(
        id=as_uuid(row["id"]),
        medication=row["medication"],
        dose=row["dose"],
        since=as_date(row["since"]),
        until=as_date(row["until"]),
        created_at=aware(row["created_at"]),
        updated_at=aware(row["updated_at"]),
        hidden_from_representatives=bool(row["hidden_from_representatives"]),
    )


def _family_history(row: Row) -> FamilyHistoryRead:
    return FamilyHistoryRead(
        id=as_uuid(row["id"]),
        relative=row["relative"],
        condition=row["condition"],
        created_at=aware(row["created_at"]),
        updated_at=aware(row["updated_at"]),
        hidden_from_representatives=bool(row["hidden_from_representatives"]),
    )


CONDITIONS = _Kind("profile_conditions", "conditions", ("label", "since", "code"), _condition, "No such condition")
ALLERGIES = _Kind("profile_allergies", "allergies", ("substance", "reaction", "severity"), _allergy, "No such allergy")
TREATMENTS = _Kind(
    "profile_treatments", "treatments", ("medication", "dose", "since", "until"), _treatment, "No such treatment"
)
FAMILY_HISTORY = _Kind(
    "profile_family_history",
    "family-history",
    ("relative", "condition"),
    _family_history,
    "No such family history entry",
)
KINDS: tuple[_Kind[Any], ...] = (CONDITIONS, ALLERGIES, TREATMENTS, FAMILY_HISTORY)
