"""The medical profile: what the person says about their own health (conditions, allergies, long-term
treatments, family history)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from msgspec import UNSET, Meta, UnsetType

from ens.core.api import ReadStruct, Struct
from ens.records.schemas.values import (
    NOT_BLANK,
    HiddenRead,
    HideOnAdd,
    HideWrite,
    Icd10,
    Label,
    Relative,
    Severity,
)

Since = Annotated[date | None, Meta(description="Not in the future")]


class ConditionCreate(Struct, kw_only=True):
    label: Label
    since: Since = None
    code: Icd10 | None = None
    hidden_from_representatives: HideOnAdd | UnsetType = UNSET


class ConditionUpdate(Struct, kw_only=True):
    label: Label | UnsetType = UNSET
    since: date | UnsetType | None = UNSET
    code: Icd10 | UnsetType | None = UNSET
    hidden_from_representatives: HideWrite | UnsetType = UNSET


class ConditionRead(ReadStruct, kw_only=True):
    id: UUID
    label: str
    since: date | None
    code: str | None
    created_at: datetime
    updated_at: datetime
    hidden_from_representatives: HiddenRead


class ConditionPage(ReadStruct, kw_only=True):
    items: list[ConditionRead]
    next_cursor: str | None


class AllergyCreate(Struct, kw_only=True):
    substance: Label
    reaction: Annotated[str, Meta(min_length=1, max_length=1000, pattern=NOT_BLANK)] | None = None
    severity: Severity | None = None
    hidden_from_representatives: HideOnAdd | UnsetType = UNSET


class AllergyUpdate(Struct, kw_only=True):
    substance: Label | UnsetType = UNSET
    reaction: Annotated[str, Meta(min_length=1, max_length=1000, pattern=NOT_BLANK)] | UnsetType | None = UNSET
    severity: Severity | UnsetType | None = UNSET
    hidden_from_representatives: HideWrite | UnsetType = UNSET


class AllergyRead(ReadStruct, kw_only=True):
    id: UUID
    substance: str
    reaction: str | None
    severity: Severity | None
    created_at: datetime
    updated_at: datetime
    hidden_from_representatives: HiddenRead


class AllergyPage(ReadStruct, kw_only=True):
    items: list[AllergyRead]
    next_cursor: str | None


class TreatmentCreate(Struct, kw_only=True):
    medication: Label
    dose: Label | None = None
    since: Since = None
    until: Annotated[date | None, Meta(description="Not before since")] = None
    hidden_from_representatives: HideOnAdd | UnsetType = UNSET


class TreatmentUpdate(Struct, kw_only=True):
    medication: Label | UnsetType = UNSET
    dose: Label | UnsetType | None = UNSET
    since: date | UnsetType | None = UNSET
    until: date | UnsetType | None = UNSET
    hidden_from_representatives: HideWrite | UnsetType = UNSET


class TreatmentRead(ReadStruct, kw_only=True):
    id: UUID
    medication: str
    dose: str | None
    since: date | None
    until: date | None
    created_at: datetime
    updated_at: datetime
    hidden_from_representatives: HiddenRead


class TreatmentPage(ReadStruct, kw_only=True):
    items: list[TreatmentRead]
    next_cursor: str | None


class FamilyHistoryCreate(Struct, kw_only=True):
    relative: Relative
    condition: Label
    hidden_from_representatives: HideOnAdd | UnsetType = UNSET


class FamilyHistoryUpdate(Struct, kw_only=True):
    relative: Relative | UnsetType = UNSET
    condition: Label | UnsetType = UNSET
    hidden_from_representatives: HideWrite | UnsetType = UNSET


class FamilyHistoryRead(ReadStruct, kw_only=True):
    id: UUID
    relative: Relative
    condition: str
    created_at: datetime
    updated_at: datetime
    hidden_from_representatives: HiddenRead


class FamilyHistoryPage(ReadStruct, kw_only=True):
    items: list[FamilyHistoryRead]
    next_cursor: str | None
