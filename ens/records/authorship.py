"""Who may write what only its author may: advance directives and the designation of a trusted
person are an adult holder's own acts (CSP L1111-6, L1111-11). A minor cannot make them, and a
representative never makes them for the person — whatever the door lets the representative do
elsewhere in the space. (Nor does a representative hide an item from the representatives, or show
it again: the holder does, CSP R1111-50 — see ``SpaceAccess.hiding``.)"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from ens.core import clock
from ens.core.errors import Forbidden
from ens.spaces.door import SpaceAccess
from ens.spaces.identity import AccountIdentity, account_identity

ADULT_AGE = 18


def today_in(access: SpaceAccess) -> date:
    """Today in the space's time zone (API.md: days are counted in it)."""
    return clock.now().astimezone(ZoneInfo(access.space.timezone)).date()


def age_on(birthdate: date, day: date) -> int:
    """Full years from ``birthdate`` to ``day`` (a 29 February birthday comes on 1 March)."""
    return day.year - birthdate.year - ((day.month, day.day) < (birthdate.month, birthdate.day))


async def adult_holder(access: SpaceAccess, *, act: str) -> AccountIdentity:
    """The holder's identity, if an adult by the identity their provider gave; else 403 saying why.

    The door already let only the holder through (the table of rights: a representative never
    writes directives or designates the trusted person, nor does a holder under 18 by the space's
    birthdate); this checks the account's own birthdate, which must be known.
    ``act`` names what is refused ("Advance directives are written", ...)."""
    identity = await account_identity(access.caller.account_id)
    if identity.birthdate is None:
        raise Forbidden(f"{act} by an adult, and the identity provider gave no birthdate for this account.")
    if age_on(identity.birthdate, today_in(access)) < ADULT_AGE:
        raise Forbidden(f"{act} by an adult: a minor cannot.")
    return identity
