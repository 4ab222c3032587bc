"""Phone numbers as people type them, stored in E.164 (``phonenumbers``, Google's libphonenumber)."""

from __future__ import annotations

import phonenumbers

from ens.core.errors import FieldError

# A number without a country code is read as French: the space's people type "06 12 34 56 78".
DEFAULT_REGION = "FR"


def e164(text: str, *, pointer: str, errors: list[FieldError]) -> str:
    """``text`` in E.164 (``+33612345678``); a number that does not parse, or that no numbering plan
    assigns, adds an error at ``pointer`` (and ``text`` comes back, unused)."""
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        errors.append(FieldError(pointer, "not a phone number"))
        return text
    if not phonenumbers.is_valid_number(number):
        errors.append(FieldError(pointer, "not a valid phone number (national form 06 12 34 56 78, or +country code)"))
        return text
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def readable(stored: str) -> str:
    """A stored E.164 number as people read it aloud and dial it: ``+33 6 12 34 56 78`` (printed on
    paper, where ``+33612345678`` is hard to read right in a hurry). Anything else comes back as it is."""
    try:
        number = phonenumbers.parse(stored, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return stored
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
