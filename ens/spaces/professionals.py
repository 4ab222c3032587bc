"""Health professionals (DOMAIN.md §7): who they are, and the holder's decisions about them on a
space — authorise for a year, renew, revoke, block — and whether emergency access is allowed.

What a professional may then do on the space is the door's decision (``ens.spaces.door``: the
authorisation's dates, the emergency access, the access matrix). The professional's side — asking
for access, emergency access, their list of patients — is :mod:`ens.spaces.pro_access`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

from ens.core import clock
from ens.core.api import Position, position_at, require_if_match
from ens.core.clock import aware, aware_or_none
from ens.core.db import Row, as_uuid, fetch, fetch_one, row_lock, serialise, write_transaction
from ens.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from ens.core.local_time import local_midnight, zone_of
from ens.core.names import years_later
from ens.spaces.door import SpaceAccess, SpaceRef, adulthood, professional_decisions
from ens.spaces.matrix import access_matrix
from ens.spaces.schemas import EmergencyAccessSettingRead, ProfessionalRead
from ens.spaces.tables import Account, Professional

AUTHORISATION_YEARS = 1


# ---------------------------------------------------------------------------------------------
# Who a professional is (their provider says it at each login)


class Exercise(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One exercise (SubjectRefPro.exercices[]): the profession (TRE_G15) and the places of practice."""

    profession_code: str
    places: list[str] = []


@dataclass(frozen=True)
class ProfessionalIdentity:
    """A professional as their provider (Pro Santé Connect) asserts them."""

    issuer: str
    sub: str
    national_id: str
    given_name: str
    family_name: str
    exercises: tuple[Exercise, ...]


def luhn_valid(digits: str) -> bool:
    """The Luhn check (ISO/IEC 7812-1) over every digit, the last one being the check digit (RPPS
    numbers: a professional's national identifier, the médecin traitant's)."""
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def id_type_of(national_id: str) -> Literal["rpps", "adeli"] | None:
    """``rpps`` for 8 + 11 digits whose last is the Luhn check digit; ``adeli`` for 0 + 9
    characters (the ADELI number, Corsica's departments written 2A/2B); else ``None``."""
    if len(national_id) == 12 and national_id[0] == "8" and national_id.isdigit() and luhn_valid(national_id[1:]):
        return "rpps"
    rest = national_id[1:]
    if (
        len(national_id) == 10
        and national_id[0] == "0"
        and rest[0].isdigit()
        and (rest[1].isdigit() or rest[1] in "AB")
        and rest[2:].isdigit()
    ):
        return "adeli"
    return None


async def sign_in_professional(identity: ProfessionalIdentity) -> UUID:
    """Find or create the professional (by national identifier) and refresh what their provider
    says; the id is also the ``accounts`` row's, which their grants and tokens are keyed by."""
    id_type = id_type_of(identity.national_id)
    if id_type is None:
        raise Invalid("The national identifier is neither an RPPS nor an ADELI number.")
    if not identity.exercises:
        raise Invalid("The provider gave no exercise (profession) for this professional.")
    now = clock.now()
    exercises = msgspec.json.encode(list(identity.exercises)).decode()
    profession = identity.exercises[0].profession_code
    async with write_transaction():
        row = await fetch_one("SELECT id FROM professionals WHERE national_id = {}", identity.national_id)
        if row is not None:
            professional_id = as_uuid(row["id"])
            await fetch(
                "UPDATE professionals SET given_name = {}, family_name = {}, profession_code = {}, exercises = {}, "
                "updated_at = {} WHERE id = {}",
                identity.given_name,
                identity.family_name,
                profession,
                exercises,
                now,
                professional_id,
            )
            await fetch(
                "UPDATE accounts SET given_name = {}, family_name = {}, issuer = {}, sub = {}, updated_at = {} "
                "WHERE id = {}",
                identity.given_name,
                identity.family_name,
                identity.issuer,
                identity.sub,
                now,
                professional_id,
            )
            return professional_id
        professional_id = uuid.uuid4()
        await Account.insert(
            Account(
                id=professional_id,
                issuer=identity.issuer,
                sub=identity.sub,
                given_name=identity.given_name,
                family_name=identity.family_name,
                created_at=now,
                updated_at=now,
            )
        )
        await Professional.insert(
            Professional(
                id=professional_id,
                national_id=identity.national_id,
                id_type=id_type,
                given_name=identity.given_name,
                family_name=identity.family_name,
                profession_code=profession,
                exercises=exercises,
                created_at=now,
                updated_at=now,
            )
        )
    return professional_id


# ---------------------------------------------------------------------------------------------
# The holder's decisions


def authorisation_end(space: SpaceRef, *, now: datetime) -> datetime:
    """The instant an authorisation given at ``now`` ends: midnight starting the same calendar date
    next year, in the space's time zone (the anniversary itself is the first day without access)."""
    zone = zone_of(space.timezone)
    today = now.astimezone(zone).date()
    return local_midnight(years_later(today, AUTHORISATION_YEARS), zone)


async def decision_end(access: SpaceAccess, *, now: datetime) -> datetime:
    """When the authorisation ``access``'s caller gives at ``now`` ends: a year (above), and a
    representative's no later than their own right — a parent's the child's 18th birthday, a court
    measure's its end. It lives on their authority, as an app they connect does: the young adult,
    or the adult whose measure ended, decides who reads from then on, and renews whom they want
    (one call; a renewal is their own decision, for a year). A right ended sooner (an operator, a
    parent withdrawing) ends the authorisations given under it then
    (``ens.spaces.representatives``)."""
    until = authorisation_end(access.space, now=now)
    if access.role != "representative":
        return until
    if access.kind == "parent" and access.space.birthdate is not None:
        until = min(until, adulthood(access.space))
    right = await fetch_one(
        "SELECT until FROM representatives WHERE space_id = {} AND account_id = {} AND revoked_at IS NULL",
        access.space_id,
        access.caller.account_id,
    )
    if right is None:
        # Ended since the door let the request in (read under the decisions' lock, which ending a
        # right takes too): nothing is decided on a right that has ended.
        raise Forbidden("Your right to act for the holder of this space has ended.")
    if right["until"] is not None:
        until = min(until, aware(right["until"]))
    return until


async def end_authorisations_decided_by(space_id: UUID, account_id: UUID, *, now: datetime) -> None:
    """The authorisations ``account_id`` gave on the space that still run end at ``now``: they
    lived on a right of theirs that has just ended (:func:`decision_end`). Under the decisions'
    lock, so that a renewal they made at the same moment is either cut here or refused."""
    await serialise_decisions(space_id)
    await fetch(
        "UPDATE space_professionals SET until = {}, updated_at = {} "
        "WHERE space_id = {} AND decided_by = {} AND status = 'authorised' AND until > {}",
        now,
        now,
        space_id,
        account_id,
        now,
    )


_SELECT = """
SELECT sp.id, sp.professional_id, sp.status, sp.since, sp.until, sp.last_access_at, sp.updated_at,
       p.national_id, p.given_name, p.family_name, p.profession_code,
       (SELECT MAX(e.ends_at) FROM emergency_accesses e
        WHERE e.space_id = sp.space_id AND e.professional_id = sp.professional_id
          AND e.ends_at > {}KEPT) AS emergency_until
FROM space_professionals sp JOIN professionals p ON p.id = sp.professional_id
WHERE sp.space_id = {}"""
# As the holder sees them, and as the representatives do: an emergency access a minor's
# professional kept from the parents (CSP L1111-5) neither lists its professional to them while the
# entry it made is kept from them (``hidden_from_representatives``: that access is all that ties
# them to the space, or the holder's own block or revocation of them: a professional the parents
# never heard of, "blocked", told them of it, an outside review), nor says when it ends on a
# professional they know (their own decision lists them).
_SELECT_ALL = _SELECT.replace("KEPT", "")
_SELECT_SEEN_BY_REPRESENTATIVES = (
    _SELECT.replace("KEPT", " AND NOT e.hidden_from_representatives") + " AND NOT sp.hidden_from_representatives"
)


def _select(*, with_hidden: bool) -> str:
    return _SELECT_ALL if with_hidden else _SELECT_SEEN_BY_REPRESENTATIVES


def _read(row: Row, *, now: datetime) -> ProfessionalRead:
    status = row["status"]
    until = aware_or_none(row["until"])
    if status == "authorised" and until is not None and until <= now:
        status = "expired"
    return ProfessionalRead(
        id=as_uuid(row["id"]),
        professional_id=as_uuid(row["professional_id"]),
        national_id=row["national_id"],
        given_name=row["given_name"],
        family_name=row["family_name"],
        profession_code=row["profession_code"],
        profession=access_matrix().label(row["profession_code"]),
        status=status,
        since=aware_or_none(row["since"]),
        until=until,
        last_access_at=aware_or_none(row["last_access_at"]),
        emergency_until=aware_or_none(row["emergency_until"]),
    )


async def list_professionals(space_id: UUID, *, with_hidden: bool) -> list[tuple[Position, ProfessionalRead]]:
    """Every professional the holder decided about, or who came in an emergency, each with its
    position in the listing (:func:`ens.core.api.page_of`): last changed first. Without
    ``with_hidden`` (a representative), as :data:`_SELECT_SEEN_BY_REPRESENTATIVES` shows them."""
    now = clock.now()
    rows = await fetch(_select(with_hidden=with_hidden) + " ORDER BY sp.updated_at DESC, sp.id DESC", now, space_id)
    return [(position_at(aware(row["updated_at"]), as_uuid(row["id"])), _read(row, now=now)) for row in rows]


async def get_professional(space_id: UUID, entry_id: UUID, *, with_hidden: bool) -> ProfessionalRead:
    """One professional of the space, by the id of their entry there (404 if not this space's, or,
    without ``with_hidden``, one a representative is not shown: :func:`list_professionals`)."""
    now = clock.now()
    row = await fetch_one(_select(with_hidden=with_hidden) + " AND sp.id = {}", now, space_id, entry_id)
    if row is None:
        raise NotFound("No such professional on this space.")
    return _read(row, now=now)


async def authorise(access: SpaceAccess, national_id: str) -> ProfessionalRead:
    """Authorise a professional until the same calendar date next year (exclusive), in the space's
    time zone. The professional must have signed in to ENS once. Authorising a professional who was
    revoked, blocked or whose authorisation expired authorises them again; one whose authorisation
    runs is a conflict (renew it instead)."""
    if id_type_of(national_id) is None:
        raise Invalid(
            "The national identifier's check digit does not match (RPPS numbers end with a Luhn check digit).",
            [FieldError("/nationalId", "the RPPS check digit does not match (Luhn)")],
        )
    professional = await fetch_one("SELECT id FROM professionals WHERE national_id = {}", national_id)
    if professional is None:
        raise Invalid(
            "No professional with this national identifier has signed in to ENS yet.",
            [FieldError("/nationalId", "no professional with this identifier has signed in yet")],
        )
    return await grant_authorisation(access, as_uuid(professional["id"]))


async def grant_authorisation(access: SpaceAccess, professional_id: UUID) -> ProfessionalRead:
    """Authorise ``professional_id`` on the space for a year (see :func:`authorise`)."""
    now = clock.now()
    async with decision(access):
        until = await decision_end(access, now=now)
        row = await fetch_one(
            "SELECT sp.id, sp.status, sp.until, sp.decided_by, p.given_name || ' ' || p.family_name AS name "
            "FROM professionals p "
            "LEFT JOIN space_professionals sp ON sp.space_id = {} AND sp.professional_id = p.id WHERE p.id = {}",
            access.space_id,
            professional_id,
        )
        if row is None:
            raise NotFound("No such professional.")
        if row["id"] is None:
            entry_id = uuid.uuid4()
            await fetch(
                "INSERT INTO space_professionals (space_id, id, professional_id, status, since, until, decided_by, "
                "created_at, updated_at) VALUES ({}, {}, {}, 'authorised', {}, {}, {}, {}, {})",
                access.space_id,
                entry_id,
                professional_id,
                now,
                until,
                access.caller.account_id,
                now,
                now,
            )
        else:
            entry_id = as_uuid(row["id"])
            if row["status"] == "authorised" and row["until"] is not None and aware(row["until"]) > now:
                raise Conflict(f"This professional is authorised already (professionals/{entry_id}): renew instead.")
            access.keep_the_holders_choice(
                row["status"] == "blocked"
                and row["decided_by"] is not None
                and as_uuid(row["decided_by"]) == access.space.holder_account_id
                and not access.is_minors_space,
                "The holder blocked this professional themself: only they may authorise them again.",
            )
            await _set(access, entry_id, status="authorised", since=now, until=until, now=now)
        # The holder's history says whom a representative authorised, not only that they did.
        access.names_new_item(entry_id, "professionals", subject=row["name"])
    return await get_professional(access.space_id, entry_id, with_hidden=access.sees_confidential)


async def _set(
    access: SpaceAccess,
    entry_id: UUID,
    *,
    status: str,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
) -> None:
    dates = ", since = {}, until = {}" if since is not None else ""
    # A professional kept from the representatives (made by an emergency access hidden from a
    # minor's parents) is theirs to know once authorised (the reads under it are shown to them) or
    # decided about by one of them; the holder's block or revocation keeps them kept.
    shown = ", hidden_from_representatives = FALSE" if status == "authorised" or not access.sees_confidential else ""
    args = [status, access.caller.account_id, now, *([since, until] if since is not None else []), access.space_id]
    await fetch(
        "UPDATE space_professionals SET status = {}, decided_by = {}, updated_at = {}"
        + dates
        + shown
        + " WHERE space_id = {} AND id = {}",
        *args,
        entry_id,
    )


@asynccontextmanager
async def decision(access: SpaceAccess) -> AsyncIterator[None]:
    """One of the holder's decisions about the space's professionals (authorise, renew, revoke,
    block, answer a request): each reads a status and writes from it, in a write transaction of its
    own, one at a time per space, so that a renewal running beside a block cannot authorise the
    blocked professional again. An approval that authorises is one decision (one lock)."""
    async with write_transaction():
        await serialise_decisions(access.space_id)
        yield


async def serialise_decisions(space_id: UUID, *, shared: bool = False) -> None:
    """Wait for the holder's decisions about the space's professionals (and an emergency access
    being opened) that run, until the current write transaction ends. ``shared``: for what only
    reads the decisions (a professional's write, a document held back), which the decisions then
    wait for, but not each other (``ens.core.db.serialise``)."""
    await serialise(professional_decisions(space_id), shared=shared)


async def _current(access: SpaceAccess, entry_id: UUID, if_match: str | None) -> ProfessionalRead:
    current = await get_professional(access.space_id, entry_id, with_hidden=access.sees_confidential)
    require_if_match(if_match, msgspec.json.encode(current))
    return current


async def renew(access: SpaceAccess, entry_id: UUID, *, if_match: str | None) -> ProfessionalRead:
    """Renew an authorisation, running or expired, for a year from today; a revoked or blocked
    professional is authorised again with ``POST``, not renewed (409).

    A representative does not renew an authorisation the adult holder gave themself while it runs
    (403): renewed, it became the representative's, bounded by their right and ended with it (a
    guardian's measure ending in 30 days cut the holder's year to 30 days, and its end took the
    professional away; an outside audit). Once it has expired, renewing it is their own decision."""
    now = clock.now()
    async with decision(access):
        current = await _current(access, entry_id, if_match)
        if current.status not in ("authorised", "expired"):
            raise Conflict(
                f"This professional's status is {current.status}: authorise them (POST) instead of renewing."
            )
        if current.status == "authorised" and not access.is_adult_holder and not access.is_minors_space:
            decided = await fetch_one(
                "SELECT decided_by FROM space_professionals WHERE space_id = {} AND id = {}", access.space_id, entry_id
            )
            access.keep_the_holders_choice(
                decided is not None
                and decided["decided_by"] is not None
                and as_uuid(decided["decided_by"]) == access.space.holder_account_id,
                "The holder authorised this professional themself: only they may renew it while it runs"
                + (f" (until {current.until.isoformat()})." if current.until is not None else "."),
            )
        since = current.since if current.status == "authorised" and current.since is not None else now
        until = await decision_end(access, now=now)
        await _set(access, entry_id, status="authorised", since=since, until=until, now=now)
        access.names_subject(f"{current.given_name} {current.family_name}")
    return await get_professional(access.space_id, entry_id, with_hidden=access.sees_confidential)


# What a capability does, in the deciding transaction, when the holder themself ends a
# professional's right on their space (revoked, blocked): (the holder's access, professional,
# now). The documents capability releases what the professional held back from the holder
# (``ens.app.register_capabilities``): nobody else could, and the holder would never see their
# own document again (an outside audit).
RightEnded = Callable[[SpaceAccess, UUID, datetime], Awaitable[None]]
_WHEN_A_RIGHT_ENDS: list[RightEnded] = []


def when_a_right_ends(hook: RightEnded) -> None:
    """Run ``hook`` whenever the holder ends a professional's right on their space (once each)."""
    if hook not in _WHEN_A_RIGHT_ENDS:
        _WHEN_A_RIGHT_ENDS.append(hook)


async def _right_ended(access: SpaceAccess, professional_id: UUID, now: datetime) -> None:
    """The professional's emergency access ends too; and when the holder themself decided, what
    the capabilities hold for that professional (``when_a_right_ends``). A representative's
    decision releases nothing held back from the holder: it would show the representative what a
    professional keeps to explain to the holder in person (a review); the hold ends on its day."""
    await _end_emergency_accesses(access.space_id, now=now, professional_id=professional_id)
    if access.kind != "holder":
        return
    for hook in _WHEN_A_RIGHT_ENDS:
        await hook(access, professional_id, now)


async def authorisation_until(space_id: UUID, professional_id: UUID) -> datetime | None:
    """When the professional's authorisation on the space ends (``None``: none runs)."""
    row = await fetch_one(
        "SELECT until FROM space_professionals WHERE space_id = {} AND professional_id = {} AND status = 'authorised'",
        space_id,
        professional_id,
    )
    return aware(row["until"]) if row is not None and row["until"] is not None else None


async def revoke(access: SpaceAccess, entry_id: UUID, *, if_match: str | None) -> None:
    """End the authorisation, and any emergency access of the professional that runs, now: their
    next request on the space is refused (the door reads both on every request). Revoking a blocked
    professional keeps them blocked."""
    now = clock.now()
    async with decision(access):
        current = await _current(access, entry_id, if_match)
        access.names_subject(f"{current.given_name} {current.family_name}")
        if current.status == "blocked":
            return
        await _set(access, entry_id, status="revoked", now=now)
        await _right_ended(access, current.professional_id, now)


async def block(access: SpaceAccess, entry_id: UUID) -> ProfessionalRead:
    """Block the professional: no access, not even in an emergency, until authorised again; an
    emergency access of theirs that runs ends now."""
    now = clock.now()
    async with decision(access):
        current = await get_professional(access.space_id, entry_id, with_hidden=access.sees_confidential)
        access.names_subject(f"{current.given_name} {current.family_name}")
        if current.status == "blocked" and access.kind != "holder":
            # Blocked already: a representative's block decides nothing, above all not who decided
            # it, which is what keeps the holder's own block from being undone by them (blocking it
            # again made it theirs to lift: an outside audit). The holder's makes it theirs.
            return current
        await _set(access, entry_id, status="blocked", now=now)
        await _right_ended(access, current.professional_id, now)
    return await get_professional(access.space_id, entry_id, with_hidden=access.sees_confidential)


async def _end_emergency_accesses(space_id: UUID, *, now: datetime, professional_id: UUID | None = None) -> None:
    """End the running emergency accesses to the space (one professional's, or everyone's): ended,
    not hidden — the door hid them while the switch was off or the professional blocked, and they
    came back with their old reason when the holder allowed emergencies again or authorised the
    professional anew (an outside review, 2026-12-02)."""
    await fetch(
        "UPDATE emergency_accesses SET ends_at = {} WHERE space_id = {} AND ends_at > {}"
        + (" AND professional_id = {}" if professional_id is not None else ""),
        now,
        space_id,
        now,
        *([professional_id] if professional_id is not None else []),
    )


async def emergency_setting(space_id: UUID) -> EmergencyAccessSettingRead:
    """Whether emergency access to the space is allowed (it is unless the holder forbade it)."""
    row = await fetch_one("SELECT emergency_access FROM spaces WHERE id = {}", space_id)
    return EmergencyAccessSettingRead(allowed=bool(row["emergency_access"]) if row else True)


async def set_emergency_access(
    access: SpaceAccess, *, allowed: bool, if_match: str | None = None
) -> EmergencyAccessSettingRead:
    """Allow or forbid emergency access to the space; forbidding ends the running ones at once
    (the door reads the switch on every request). ``If-Match`` is compared with the setting's GET,
    read under the space row's lock: two changes sent with the same tag cannot both pass."""
    now = clock.now()
    async with write_transaction():
        # One at a time with an emergency access being opened: it cannot start after the holder
        # forbade emergencies, from a read made before.
        await serialise_decisions(access.space_id)
        row = await fetch_one(
            # NO KEY UPDATE (what its UPDATE takes): the request's KEY SHARE (ens.spaces.door.access,
            # readmit) and another change's do not block it, where FOR UPDATE deadlocked two changes.
            # (A batch of an app's measures in flight may hold the row FOR SHARE: waited for, a few
            # ms; ens.vitals.ingest._FLAG_PART.)
            "SELECT emergency_access, emergency_forbidden_by_holder FROM spaces WHERE id = {}"
            + row_lock("NO KEY UPDATE"),
            access.space_id,
        )
        was_allowed = bool(row["emergency_access"]) if row else True
        by_holder = row is not None and not was_allowed and bool(row["emergency_forbidden_by_holder"])
        if if_match is not None:
            require_if_match(if_match, msgspec.json.encode(EmergencyAccessSettingRead(allowed=was_allowed)))
        access.keep_the_holders_choice(
            allowed and by_holder, "The holder forbade emergency access themself: only they may allow it again."
        )
        await fetch(
            "UPDATE spaces SET emergency_access = {}, emergency_forbidden_by_holder = {}, updated_at = {} "
            "WHERE id = {}",
            allowed,
            not allowed and (access.is_adult_holder or by_holder),
            now,
            access.space_id,
        )
        if not allowed:
            await _end_emergency_accesses(access.space_id, now=now)
    return EmergencyAccessSettingRead(allowed=allowed)
