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
