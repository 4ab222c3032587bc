"""Request and response bodies of the records API (camelCase on the wire, API.md "Records").

Shapes, lengths and choices are checked here; rules across fields or against stored state (two
witnesses, the trusted person among them, a phone number that parses, the RPPS check digit) are
the services'.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from ens.core.api import ReadStruct, Struct

# A text a person must fill in: not empty, not only spaces.
NOT_BLANK = r"\S"
Name = Annotated[str, Meta(min_length=1, max_length=100, pattern=NOT_BLANK)]
Label = Annotated[str, Meta(min_length=1, max_length=255, pattern=NOT_BLANK)]
Relationship = Annotated[str, Meta(min_length=1, max_length=100, pattern=NOT_BLANK)]
FreeText = Annotated[str, Meta(max_length=4000, description="At most 4,000 characters")]
Phone = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=40,
        description="International (+33 6 12 34 56 78) or French national form (06 12 34 56 78); "
        "stored and answered in E.164 (+33612345678)",
    ),
]
PhoneE164 = Annotated[str, Meta(description="E.164, e.g. +33612345678")]
Email = Annotated[str, Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Rpps = Annotated[str, Meta(pattern=r"^[0-9]{11}$", description="11 digits, the last a Luhn check digit")]
Icd10 = Annotated[
    str, Meta(pattern=r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$", description="A CIM-10 (ICD-10) code, e.g. E11.9")
]
Choice = Literal["accept", "refuse", "let_doctors_decide", "not_stated"]
OrganDonationChoice = Literal["accept", "refuse", "not_stated"]
Severity = Literal["mild", "moderate", "severe"]
Relative = Literal[
    "mother",
    "father",
    "sister",
    "brother",
    "daughter",
    "son",
    "grandmother",
    "grandfather",
    "aunt",
    "uncle",
    "cousin",
    "other",
]

# ---------------------------------------------------------------------------------------------
# Shared values

_HIDDEN_IS = (
    "hidden from the space's representatives (CSP R1111-50): their lists, reads, home-screen summary and export "
    "leave it out, and to them its address answers 404 as if it did not exist"
)
# In requests: who may send it and what it does. (Every change answers 403 to anyone but the holder
# who sends it, even false: the refusal says nothing of the item.)
HideOnAdd = Annotated[
    bool,
    Meta(description=f"Sent by the holder alone (403 for anyone else, even false). true: the item is {_HIDDEN_IS}."),
]
HideWrite = Annotated[
    bool,
    Meta(
        description=f"Set by the holder alone (403 for anyone else, even false). true: the item is {_HIDDEN_IS}; "
        "false shows it again. Hiding or showing changes the item's ETag, like any change."
    ),
]
# In answers: always present; always false in a representative's, who never sees a hidden item.
HiddenRead = Annotated[
    bool,
    Meta(description="true: the holder hid this item from the space's representatives, who never see it"),
]


class Address(Struct, kw_only=True):
    line: Annotated[str, Meta(min_length=1, max_length=255, pattern=NOT_BLANK)]
    postal_code: Annotated[str, Meta(min_length=1, max_length=16, pattern=NOT_BLANK)]
    city: Name
    country: Name | None = None


class ProtectionAuthorisation(Struct, kw_only=True):
    """An adult under a protection measure with representation relating to the person needs the
    judge's or the family council's authorisation (CSP L1111-6, L1111-11): its reference."""

    authority: Literal["judge", "family_council"]
    reference: Label
    granted_on: date | None = None


class CreatedByRead(ReadStruct, kw_only=True):
    account_id: UUID
    name: str | None


# ---------------------------------------------------------------------------------------------
# Advance directives (CSP R1111-17, R1111-18: the official model)


class Wish(Struct, kw_only=True):
    choice: Choice = "not_stated"
    note: FreeText | None = None


ORGAN_DONATION = (
    "Informative only: a refusal of organ donation has legal effect only once written in the national "
    "refusal register (registre national des refus, CSP L1232-1); saying it here does not register it."
)


class OrganDonationWish(Struct, kw_only=True):
    """Informative only (see ``ORGAN_DONATION``)."""

    choice: Annotated[OrganDonationChoice, Meta(description=ORGAN_DONATION)] = "not_stated"
    note: FreeText | None = None


class Treatments(Struct, kw_only=True):
    """Life-sustaining treatments of the official model: each accepted, refused, left to the
    doctors, or not stated, with the person's own words."""

    resuscitation: Wish = msgspec.field(default_factory=Wish)
    ventilation: Wish = msgspec.field(default_factory=Wish)
    dialysis: Wish = msgspec.field(default_factory=Wish)
    nutrition_hydration: Wish = msgspec.field(default_factory=Wish)
    surgery: Wish = msgspec.field(default_factory=Wish)
    transfusion: Wish = msgspec.field(default_factory=Wish)


class Witness(Struct, kw_only=True):
    """A witness when the author cannot write: their name and quality (relationship, role)."""

    given_name: Name
    family_name: Name
    quality: Relationship


class DirectivesPointer(Struct, kw_only=True):
    """Directives that exist on paper: where they are, and who keeps them."""

    location: Annotated[str, Meta(min_length=1, max_length=500, pattern=NOT_BLANK)]
    keeper: Label | None = None


class DirectivesWrite(Struct, kw_only=True):
    """Either the structured form (``situation`` and the wishes) or only ``pointer``, not both.

    The trusted person is copied in by the server as designated when the version is written, and
    the author's identity comes from the identity provider: neither is sent."""

    situation: Literal["ill", "not_ill"] | None = None
    treatments: Treatments | None = None
    relief_of_suffering: Wish | None = None
    deep_sedation: Wish | None = None
    organ_donation: Annotated[OrganDonationWish | None, Meta(description=ORGAN_DONATION)] = None
    wishes: FreeText | None = None
    witnesses: Annotated[list[Witness], Meta(max_length=2)] = []
    protection_authorisation: ProtectionAuthorisation | None = None
    pointer: DirectivesPointer | None = None


class TrustedPersonCopy(ReadStruct, kw_only=True):
    """The trusted person as designated when a version was written (a later change leaves it)."""

    given_name: str
    family_name: str
    relationship: str | None
    phone: str | None
    email: str | None


class DirectivesContent(ReadStruct, kw_only=True):
    """What a version says (stored as it is, as JSON). ``None`` throughout for a revocation."""

    situation: Literal["ill", "not_ill"] | None = None
    treatments: Treatments | None = None
    relief_of_suffering: Wish | None = None
    deep_sedation: Wish | None = None
    organ_donation: OrganDonationWish | None = None
    wishes: str | None = None
    witnesses: list[Witness] = []
    protection_authorisation: ProtectionAuthorisation | None = None
    pointer: DirectivesPointer | None = None
    trusted_person: TrustedPersonCopy | None = None


class AuthorRead(ReadStruct, kw_only=True):
    """The author as the identity provider names them; ``birthplace`` is its INSEE code."""

    given_name: str
    family_name: str
    birthdate: date | None
    birthplace: str | None


class DirectiveVersionRead(ReadStruct, kw_only=True):
    id: UUID
    version: int
    status: Literal["active", "revoked"]
    form: Literal["structured", "pointer"] | None
    created_at: datetime
    created_by: CreatedByRead
    author: AuthorRead
    situation: Literal["ill", "not_ill"] | None
    treatments: Treatments | None
    relief_of_suffering: Wish | None
    deep_sedation: Wish | None
    organ_donation: Annotated[OrganDonationWish | None, Meta(description=ORGAN_DONATION)]
    wishes: str | None
    witnesses: list[Witness]
    protection_authorisation: ProtectionAuthorisation | None
    pointer: DirectivesPointer | None
    trusted_person: TrustedPersonCopy | None


ReviewDue = Annotated[
    bool,
    Meta(
        description="A reminder to reread the directives, true 3 years after they were last written or "
        "confirmed. Never an expiry: advance directives have had no validity limit since 2016 (CSP "
        "L1111-11); they stay in force until changed or revoked."
    ),
]


class DirectivesRead(DirectiveVersionRead, kw_only=True):
    """The current version, with when the author last wrote or confirmed it."""

    last_confirmed_at: datetime | None
    last_reviewed_at: Annotated[datetime, Meta(description="When last written or confirmed")]
    review_due: ReviewDue


class DirectiveVersionPage(ReadStruct, kw_only=True):
    items: list[DirectiveVersionRead]
    next_cursor: str | None


# ---------------------------------------------------------------------------------------------
# Trusted person (CSP L1111-6)


class TrustedPersonWrite(Struct, kw_only=True):
    given_name: Name
    family_name: Name
    relationship: Relationship | None = None
    phone: Phone | None = None
    email: Email | None = None
    address: Address | None = None
    birthdate: Annotated[date | None, Meta(description="When given, the trusted person must be an adult")] = None
    accepted_at: Annotated[date | None, Meta(description="The date they co-signed their designation")] = None
    also_emergency_contact: bool = False
    protection_authorisation: ProtectionAuthorisation | None = None


class TrustedPersonRead(ReadStruct, kw_only=True):
    id: UUID
    given_name: str
    family_name: str
    relationship: str | None
    phone: PhoneE164 | None
    email: str | None
    address: Address | None
    birthdate: date | None
    accepted_at: date | None
    also_emergency_contact: bool
    protection_authorisation: ProtectionAuthorisation | None
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
    address: Address | None
    birthdate: date | None
    accepted_at: date | None
    protection_authorisation: ProtectionAuthorisation | None
    designated_at: datetime
    ended_at: datetime
    end_reason: Literal["replaced", "updated", "removed"]


class FormerTrustedPersonPage(ReadStruct, kw_only=True):
    items: list[FormerTrustedPersonRead]
    next_cursor: str | None


# ---------------------------------------------------------------------------------------------
# Emergency contacts

MAX_CONTACTS = 10
Priority = Annotated[int, Meta(ge=1, le=MAX_CONTACTS, description="1 = call first")]
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
    priority: Priority | UnsetType = UNSET
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
    address: Address | None
    updated_at: datetime


# ---------------------------------------------------------------------------------------------
# Medical profile: what the person says about their own health

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


# ---------------------------------------------------------------------------------------------
# The home screen's part


DirectivesState = Literal["none", "active", "pointer", "revoked"]


class RecordsSummary(ReadStruct, kw_only=True):
    directives: DirectivesState
    review_due: ReviewDue
    directives_reviewed_at: Annotated[
        datetime | None, Meta(description="When the directives in force were last written or confirmed")
    ]
    trusted_person: bool
    emergency_contacts: Annotated[
        int, Meta(description="To a representative, those hidden from representatives are not counted")
    ]
    doctor: bool
    profile: Annotated[
        int,
        Meta(
            description="Entries of the medical profile, all four lists together (to a representative, those "
            "hidden from representatives are not counted)"
        ),
    ]
