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
        number = _french(text)
    except phonenumbers.NumberParseException:
        errors.append(FieldError(pointer, "not a phone number"))
        return text
    if not phonenumbers.is_valid_number(number):
        errors.append(FieldError(pointer, "not a valid phone number (national form 06 12 34 56 78, or +country code)"))
        return text
    if number.extension:
        # E.164 has no extension: stored without it, the number would reach the switchboard only
        # (it was dropped without a word).
        errors.append(FieldError(pointer, "an extension cannot be kept: give the direct number"))
        return text
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# France overseas shares the national numbering plan: from anywhere in France, "06 92 12 34 56"
# reaches a mobile in La Réunion, which libphonenumber files under the territory's own region.
_OVERSEAS = ("RE", "YT", "GP", "MQ", "GF", "PM", "BL", "MF")


def _french(text: str) -> phonenumbers.PhoneNumber:
    """``text`` read as dialled in France: mainland first, then the overseas departments and
    territories that dial the same national way (a number with its country code is read as it is)."""
    number = phonenumbers.parse(text, DEFAULT_REGION)
    if phonenumbers.is_valid_number(number) or text.lstrip().startswith(("+", "00")):
        return number
    for region in _OVERSEAS:
        overseas = phonenumbers.parse(text, region)
        if phonenumbers.is_valid_number(overseas):
            return overseas
    return number


def readable(stored: str) -> str:
    """A stored E.164 number as people read it aloud and dial it: ``+33 6 12 34 56 78`` (printed on
    paper, where ``+33612345678`` is hard to read right in a hurry). Anything else comes back as it is."""
    try:
        number = phonenumbers.parse(stored, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return stored
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
