"""The field types of the records API (names, phones, codes, choices), and the values several records
share: an address, a protection measure's authorisation, who created an item, who hid it."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from msgspec import Meta

from ens.core.api import EMAIL_ADDRESS, END, ONE_LINE, VISIBLE, ReadStruct, Struct, said

# A text a person must fill in: not empty, not only spaces or invisible characters.
NOT_BLANK = VISIBLE
# Names, labels and an address's parts are one line (``ONE_LINE``); notes and reactions may be several.
Name = Annotated[str, Meta(min_length=1, max_length=100, pattern=ONE_LINE)]
Label = Annotated[str, Meta(min_length=1, max_length=255, pattern=ONE_LINE)]
Relationship = Annotated[str, Meta(min_length=1, max_length=100, pattern=ONE_LINE)]
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
Email = Annotated[
    str,
    Meta(max_length=254, pattern=said(EMAIL_ADDRESS, "not an e-mail address (name@domain.fr)")),
]
Rpps = Annotated[
    str,
    Meta(
        pattern=said(r"^[0-9]{11}" + END, "11 digits (the RPPS number)"),
        description="11 digits, the last a Luhn check digit",
    ),
]
Icd10 = Annotated[
    str,
    Meta(
        pattern=said(
            r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?" + END, "not a CIM-10 code (a letter, two digits, then ., e.g. E11.9)"
        ),
        description="A CIM-10 (ICD-10) code, e.g. E11.9",
    ),
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
    line: Annotated[str, Meta(min_length=1, max_length=255, pattern=ONE_LINE)]
    postal_code: Annotated[str, Meta(min_length=1, max_length=16, pattern=ONE_LINE)]
    city: Name
    country: Name | None = None


class AddressRead(ReadStruct, kw_only=True):
    """An address as stored and answered. Its texts are read as they were written, not checked again:
    a rule added since (one line, 2026-12-06) made every read of an address written before on two
    lines a 500 (a review). What is written is checked (:class:`Address`)."""

    line: str
    postal_code: str
    city: str
    country: str | None = None


class ProtectionAuthorisation(Struct, kw_only=True):
    """An adult under a protection measure with representation relating to the person needs the
    judge's or the family council's authorisation (CSP L1111-6, L1111-11): its reference. Required
    (422) while such a measure (a tutelle or an habilitation familiale relating to the person) is
    recorded on the space."""

    authority: Literal["judge", "family_council"]
    reference: Label
    granted_on: date | None = None


class ProtectionAuthorisationRead(ReadStruct, kw_only=True):
    """An authorisation as stored and answered, its reference read as written (as :class:`AddressRead`)."""

    authority: Literal["judge", "family_council"]
    reference: str
    granted_on: date | None = None


class CreatedByRead(ReadStruct, kw_only=True):
    account_id: UUID
    name: str | None
