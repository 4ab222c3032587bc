"""Wire shapes of the spaces capability."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from ens.core.api import ReadStruct


class AccountRead(ReadStruct):
    id: UUID
    given_name: str
    family_name: str
    birthdate: date | None
    gender: str | None
    email: str | None
    issuer: str


class HolderRead(ReadStruct):
    given_name: str
    family_name: str
    birthdate: date | None
    sex: str | None


class SpaceListItem(ReadStruct):
    id: UUID
    holder: HolderRead
    role: Literal["holder", "representative"]
    status: str
    timezone: str
    representative_kind: str | None = None
    representative_until: datetime | None = None


class MeRead(ReadStruct):
    account: AccountRead
    spaces: list[SpaceListItem]


class ActorRead(ReadStruct):
    account_id: UUID
    name: str | None


class ClientRead(ReadStruct):
    client_id: str
    name: str | None


class AccessEventRead(ReadStruct):
    id: str
    at: datetime
    actor: ActorRead | None
    client: ClientRead | None
    acting_as: str
    action: str
    resource_type: str | None
    resource_id: str | None
    outcome: int
    request_id: str


class SessionRead(ReadStruct):
    id: UUID
    client_id: str
    client_name: str
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    current: bool
