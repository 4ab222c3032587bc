"""Advance directives (CSP R1111-17, R1111-18: the official model): what is written, each version, the
current one."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from ens.core.api import ONE_LINE, ReadStruct, Struct
from ens.records.schemas.values import (
    AddressRead,
    Choice,
    CreatedByRead,
    FreeText,
    Label,
    Name,
    OrganDonationChoice,
    ProtectionAuthorisation,
    ProtectionAuthorisationRead,
    Relationship,
)


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

    location: Annotated[str, Meta(min_length=1, max_length=500, pattern=ONE_LINE)]
    keeper: Label | None = None


# A version is kept as it was written: its texts are read back as they were, not checked again by a
# rule added since (one line, 2026-12-06), which made every read of a version written before with a
# line break in a witness's name or the pointer a 500 (a review). What is written is checked (the
# classes above).


class WitnessRead(ReadStruct, kw_only=True):
    given_name: str
    family_name: str
    quality: str


class DirectivesPointerRead(ReadStruct, kw_only=True):
    location: str
    keeper: str | None = None


class DirectivesWrite(Struct, kw_only=True):
    """Either the structured form (``situation`` and the wishes) or only ``pointer``, not both.

    The trusted person is copied in by the server as designated when the version is written, and
    the author's identity comes from the identity provider: neither is sent. No text holds a
    direction override, embedding or isolate control (U+202A to U+202E, U+2066 to U+2069), which
    would print it in another order than written: 422 at the field. Right-to-left letters and the
    marks U+200E and U+200F are accepted. The author is not one of the witnesses (422)."""

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
    # The official form designates the trusted person with their address: copied since 2026-12-06;
    # a version written before has none to show (absent, not null: nobody said there was none).
    address: Annotated[
        AddressRead | UnsetType | None,
        Meta(description="Absent from a version written before ENS copied the address (2026-12-06)"),
    ] = UNSET


class DirectivesContent(ReadStruct, kw_only=True):
    """What a version says (stored as it is, as JSON). ``None`` throughout for a revocation."""

    situation: Literal["ill", "not_ill"] | None = None
    treatments: Treatments | None = None
    relief_of_suffering: Wish | None = None
    deep_sedation: Wish | None = None
    organ_donation: OrganDonationWish | None = None
    wishes: str | None = None
    witnesses: list[WitnessRead] = []
    protection_authorisation: ProtectionAuthorisationRead | None = None
    pointer: DirectivesPointerRead | None = None
    trusted_person: TrustedPersonCopy | None = None


class AuthorRead(ReadStruct, kw_only=True):
    """The author as the identity provider names them; ``birthplace`` is its INSEE code (a commune),
    ``birthcountry`` the INSEE code of the country (99100 France; FranceConnect's claims)."""

    given_name: str
    family_name: str
    birthdate: date | None
    birthplace: str | None
    birthcountry: str | None = None


class DirectiveVersionRead(ReadStruct, kw_only=True):
    """One version of the directives. ``status`` is what the version said when written (``active``:
    directives; ``revoked``: their revocation), kept as written: a version replaced by a newer one
    still says ``active``. Which one is in force is ``current`` (and ``supersededAt``)."""

    id: UUID
    version: int
    status: Literal["active", "revoked"]
    current: Annotated[
        bool,
        Meta(
            description="Whether this is the current version, the newest: the directives in force when its "
            "status is active, none in force when it is revoked. Every other version is false, whatever its status."
        ),
    ]
    superseded_at: Annotated[
        datetime | None,
        Meta(
            description="When the next version replaced this one (that version's createdAt); null for the current "
            "version. A version replaced is no longer in force, even when its status says active."
        ),
    ]
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
    witnesses: list[WitnessRead]
    protection_authorisation: ProtectionAuthorisationRead | None
    pointer: DirectivesPointerRead | None
    trusted_person: TrustedPersonCopy | None
    last_confirmed_at: Annotated[
        datetime | None,
        Meta(
            description="When its author last confirmed this version as it stands (POST .../directives/confirm), "
            "null if never: a version replaced keeps the confirmations it had."
        ),
    ]


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

    last_reviewed_at: Annotated[datetime, Meta(description="When last written or confirmed")]
    review_due: ReviewDue
    trusted_person_changed: Annotated[
        bool,
        Meta(
            description="The trusted person designated now is not the one this version copied when written "
            "(replaced, removed, changed or designated since): the PDF in force names the one designated now "
            "(CSP L1111-6: a designation is revocable at any time), and a new version copies them."
        ),
    ] = False


class DirectiveVersionPage(ReadStruct, kw_only=True):
    items: list[DirectiveVersionRead]
    next_cursor: str | None
