"""The people of the records: the trusted person (CSP L1111-6), the emergency contacts, the doctor
(médecin traitant)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from msgspec import UNSET, Meta, UnsetType

from ens.core.api import ReadStruct, Struct
from ens.records.schemas.values import (
    Address,
    AddressRead,
    Email,
    HiddenRead,
    HideOnAdd,
    HideWrite,
    Name,
    Phone,
    PhoneE164,
    ProtectionAuthorisation,
    ProtectionAuthorisationRead,
    Relationship,
    Rpps,
)

# ---------------------------------------------------------------------------------------------
# Trusted person (CSP L1111-6)


class TrustedPersonWrite(Struct, kw_only=True):
    """Printed in the advance directives: no text holds a direction override, embedding or isolate
    control (U+202A to U+202E, U+2066 to U+2069), 422 at the field; right-to-left letters and the
    marks U+200E and U+200F are accepted."""

    given_name: Name
    family_name: Name
    relationship: Relationship | None = None
    phone: Phone | None = None
    email: Email | None = None
    address: Address | None = None
    birthdate: Annotated[date | None, Meta(description="When given, the trusted person must be an adult")] = None
    accepted_at: Annotated[
        date | None,
        Meta(description="The date they co-signed their designation: not before either of them came of age"),
    ] = None
    also_emergency_contact: bool = False
    protection_authorisation: ProtectionAuthorisation | None = None


class TrustedPersonRead(ReadStruct, kw_only=True):
    id: UUID
    given_name: str
    family_name: str
    relationship: str | None
    phone: PhoneE164 | None
    email: str | None
    address: AddressRead | None
    birthdate: date | None
    accepted_at: date | None
    also_emergency_contact: bool
    protection_authorisation: ProtectionAuthorisationRead | None
    designated_at: datetime


class FormerTrustedPersonRead(ReadStruct, kw_only=True):
    """A trusted person no longer designated: ``replaced`` by another, ``updated`` (the same person's
    details changed) or ``removed``."""

    id: UUID
    given_name: str
    family_name: str
    relationship: str | None
    phone: PhoneE164 | None
    email: str | None
    address: AddressRead | None
    birthdate: date | None
    accepted_at: date | None
    protection_authorisation: ProtectionAuthorisationRead | None
    designated_at: datetime
    ended_at: datetime
    end_reason: Literal["replaced", "updated", "removed"]


class FormerTrustedPersonPage(ReadStruct, kw_only=True):
    items: list[FormerTrustedPersonRead]
    next_cursor: str | None


# ---------------------------------------------------------------------------------------------
# Emergency contacts

MAX_CONTACTS = 10
# What the holder may see: the 10 the representatives see, and at most 10 hidden from them (the
# representatives' 10 are those they see: ``ens.records.emergency_contacts``).
MAX_LISTED = 2 * MAX_CONTACTS
Priority = Annotated[int, Meta(ge=1, le=MAX_CONTACTS, description="1 = call first")]
Place = Annotated[int, Meta(ge=1, le=MAX_LISTED, description="1 = call first")]
Phones = Annotated[list[Phone], Meta(min_length=1, max_length=3)]


class EmergencyContactCreate(Struct, kw_only=True):
    given_name: Name
    family_name: Name
    relationship: Relationship | None = None
    phones: Phones
    email: Email | None = None
    priority: Annotated[
        Priority | None, Meta(description="Where it goes in the list; absent: last. The others move down.")
    ] = None
    hidden_from_representatives: HideOnAdd | UnsetType = UNSET


class EmergencyContactUpdate(Struct, kw_only=True):
    """Absent fields are kept; ``null`` clears an optional one. ``priority`` moves the contact, the
    others close up (no gaps). The trusted person's entry takes only ``priority``: it cannot be
    hidden, since the representatives see the trusted person at ``/trusted-person``."""

    given_name: Name | UnsetType = UNSET
    family_name: Name | UnsetType = UNSET
    relationship: Relationship | UnsetType | None = UNSET
    phones: Phones | UnsetType = UNSET
    email: Email | UnsetType | None = UNSET
    priority: Place | UnsetType = UNSET
    hidden_from_representatives: HideWrite | UnsetType = UNSET


class EmergencyContactRead(ReadStruct, kw_only=True):
    """``trustedPerson``: this entry lists the current trusted person, whose data it shows."""

    id: UUID
    priority: int
    trusted_person: bool
    given_name: str
    family_name: str
    relationship: str | None
    phones: list[PhoneE164]
    email: str | None
    hidden_from_representatives: HiddenRead


class EmergencyContactPage(ReadStruct, kw_only=True):
    items: list[EmergencyContactRead]
    next_cursor: str | None


# ---------------------------------------------------------------------------------------------
# The doctor (médecin traitant)


class DoctorWrite(Struct, kw_only=True):
    given_name: Name
    family_name: Name
    rpps: Rpps | None = None
    phone: Phone | None = None
    address: Address | None = None


class DoctorRead(ReadStruct, kw_only=True):
    id: UUID
    given_name: str
    family_name: str
    rpps: str | None
    phone: PhoneE164 | None
    address: AddressRead | None
    updated_at: datetime
