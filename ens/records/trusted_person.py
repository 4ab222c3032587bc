"""The trusted person (personne de confiance, CSP L1111-6): one at most, an adult, designated by
the adult holder alone; replaced or removed ones stay, ended, as a history the holder can read.

A designation is never edited in place: a change ends the current row (``updated`` when it is
the same person, ``replaced`` when another) and adds a new one, so the history says who was the
trusted person on any date.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from uuid import UUID

import msgspec
from msgspec import UNSET

from ens.core import clock
from ens.core.api import Cursors, check_limit, time_and_id
from ens.core.clock import as_date, aware
from ens.core.db import Row, Scalar, as_uuid, fetch, fetch_one, write_transaction
from ens.core.errors import FieldError, Invalid, NotFound
from ens.core.local_time import EARLIEST_YEAR
from ens.core.names import same_names
from ens.records.authorship import ADULT_AGE, adult_holder, age_on, today_in
from ens.records.concurrency import check_precondition, lock_records
from ens.records.emergency_contacts import (
    keep_former_trusted_person,
    list_trusted_person,
    one_address,
    trusted_person_listed,
    unlist_trusted_person,
)
from ens.records.phones import e164
from ens.records.schemas import (
    AddressRead,
    DirectivesRead,
    FormerTrustedPersonPage,
    FormerTrustedPersonRead,
    ProtectionAuthorisation,
    ProtectionAuthorisationRead,
    TrustedPersonCopy,
    TrustedPersonRead,
    TrustedPersonWrite,
)
from ens.spaces.door import SpaceAccess
from ens.spaces.representatives import represented_as_a_person

_COLUMNS = (
    "id, given_name, family_name, relationship, phone, email, address, birthdate, accepted_at, "
    "protection_authorisation, designated_at, ended_at, end_reason"
)
_ADDRESS = msgspec.json.Decoder(AddressRead)
_AUTHORISATION = msgspec.json.Decoder(ProtectionAuthorisationRead)
_ACT = "A trusted person is designated"
_NOT_FOUND = "No trusted person is designated in this space."


def _address(text: str | None) -> AddressRead | None:
    return _ADDRESS.decode(text) if text else None


def _authorisation(text: str | None) -> ProtectionAuthorisationRead | None:
    return _AUTHORISATION.decode(text) if text else None


def _json(value: msgspec.Struct | None) -> str | None:
    return msgspec.json.encode(value).decode() if value is not None else None


def _read(row: Row, *, listed: bool) -> TrustedPersonRead:
    return TrustedPersonRead(
        id=as_uuid(row["id"]),
        given_name=row["given_name"],
        family_name=row["family_name"],
        relationship=row["relationship"],
        phone=row["phone"],
        email=row["email"],
        address=_address(row["address"]),
        birthdate=as_date(row["birthdate"]),
        accepted_at=as_date(row["accepted_at"]),
        also_emergency_contact=listed,
        protection_authorisation=_authorisation(row["protection_authorisation"]),
        designated_at=aware(row["designated_at"]),
    )


def _former(row: Row) -> FormerTrustedPersonRead:
    return FormerTrustedPersonRead(
        id=as_uuid(row["id"]),
        given_name=row["given_name"],
        family_name=row["family_name"],
        relationship=row["relationship"],
        phone=row["phone"],
        email=row["email"],
        address=_address(row["address"]),
        birthdate=as_date(row["birthdate"]),
        accepted_at=as_date(row["accepted_at"]),
        protection_authorisation=_authorisation(row["protection_authorisation"]),
        designated_at=aware(row["designated_at"]),
        ended_at=aware(row["ended_at"]),
        end_reason=row["end_reason"],
    )


async def _current_row(space_id: UUID) -> Row | None:
    return await fetch_one(
        f"SELECT {_COLUMNS} FROM trusted_persons WHERE space_id = {{}} AND ended_at IS NULL", space_id
    )


async def _current(space_id: UUID) -> TrustedPersonRead | None:
    row = await _current_row(space_id)
    return _read(row, listed=await trusted_person_listed(space_id)) if row is not None else None


async def current_trusted_person(space_id: UUID) -> TrustedPersonRead | None:
    """The trusted person designated now, if any (for the export)."""
    return await _current(space_id)


async def former_trusted_persons(space_id: UUID) -> list[FormerTrustedPersonRead]:
    """Those who were the trusted person, in the order their designation ended (for the export, as
    ``GET .../trusted-person/history`` serves them)."""
    rows = await fetch(
        f"SELECT {_COLUMNS} FROM trusted_persons WHERE space_id = {{}} AND ended_at IS NOT NULL ORDER BY ended_at, id",
        space_id,
    )
    return [_former(row) for row in rows]


async def get_trusted_person(access: SpaceAccess) -> TrustedPersonRead:
    """The trusted person designated now."""
    current = await _current(access.space_id)
    if current is None:
        raise NotFound(_NOT_FOUND)
    return current


async def trusted_person_copy(space_id: UUID) -> TrustedPersonCopy | None:
    """The trusted person as advance directives copy them when a version is written."""
    row = await _current_row(space_id)
    if row is None:
        return None
    return TrustedPersonCopy(
        given_name=row["given_name"],
        family_name=row["family_name"],
        relationship=row["relationship"],
        phone=row["phone"],
        email=row["email"],
        address=_address(row["address"]),
    )


def same_designation(copied: TrustedPersonCopy | None, now: TrustedPersonCopy | None) -> bool:
    """Whether a version's copy of the trusted person is the one designated ``now``. A copy written
    before addresses were copied has none (``UNSET``): its address is not compared, or every such
    version would be told its trusted person changed."""
    if copied is not None and now is not None and copied.address is UNSET:
        now = msgspec.structs.replace(now, address=UNSET)
    return copied == now


def copy_of(trusted: TrustedPersonRead) -> TrustedPersonCopy:
    """What a version of the directives keeps of the trusted person, from what was read of them."""
    return TrustedPersonCopy(
        given_name=trusted.given_name,
        family_name=trusted.family_name,
        relationship=trusted.relationship,
        phone=trusted.phone,
        email=trusted.email,
        address=trusted.address,
    )


async def trusted_person_now(space_id: UUID, directives: DirectivesRead | None) -> TrustedPersonCopy | None:
    """The trusted person designated today, as a version copies them: the copy of ``directives``
    (the current version) when nothing changed since it (read again only when it did)."""
    if directives is not None and not directives.trusted_person_changed:
        return directives.trusted_person
    return await trusted_person_copy(space_id)


def _checked(
    body: TrustedPersonWrite, *, authorisation_required: bool, today: date, holder_born: date | None
) -> str | None:
    """The phone in E.164; 422 with every broken rule. (A direction control in any text, printed in
    the directives, is refused as the body is read: :mod:`ens.core.text_direction`.)"""
    errors: list[FieldError] = []
    phone = e164(body.phone, pointer="/phone", errors=errors) if body.phone is not None else None
    one_address(body.email, pointer="/email", errors=errors)
    if body.also_emergency_contact and body.phone is None:
        # An emergency contact is someone to call: listed without a phone, the entry had none,
        # where the contacts' own route asks 1 to 3 (an outside audit).
        errors.append(
            FieldError("/alsoEmergencyContact", "an emergency contact is called: give the trusted person's phone")
        )
    if body.birthdate is not None:
        if body.birthdate > today:
            errors.append(FieldError("/birthdate", "in the future"))
        elif body.birthdate.year < EARLIEST_YEAR:
            errors.append(FieldError("/birthdate", f"not before {EARLIEST_YEAR}"))
        elif age_on(body.birthdate, today) < ADULT_AGE:
            errors.append(FieldError("/birthdate", "the trusted person must be an adult (CSP L1111-6)"))
    if body.accepted_at is not None and body.accepted_at > today:
        errors.append(FieldError("/acceptedAt", "in the future"))
    elif body.accepted_at is not None and (
        body.accepted_at.year < EARLIEST_YEAR or (body.birthdate is not None and body.accepted_at < body.birthdate)
    ):
        errors.append(FieldError("/acceptedAt", f"not before {EARLIEST_YEAR}, nor before the trusted person's birth"))
    elif (
        body.accepted_at is not None
        and body.birthdate is not None
        and age_on(body.birthdate, body.accepted_at) < ADULT_AGE
    ):
        # The trusted person is an adult (CSP L1111-6) when they co-sign, not only today: a child of
        # 10 accepting was kept (an outside audit of the records).
        errors.append(FieldError("/acceptedAt", "before the trusted person came of age: they accept as an adult"))
    elif body.accepted_at is not None and holder_born is not None and age_on(holder_born, body.accepted_at) < ADULT_AGE:
        # The designation is an adult's act (CSP L1111-6): co-signed before the holder came of age (a
        # date of 1950 for a holder born in 1990 was kept: an outside audit), it is a mistake.
        errors.append(FieldError("/acceptedAt", "before the holder came of age: the designation is an adult's act"))
    check_authorisation(
        body.protection_authorisation,
        required=authorisation_required,
        today=today,
        holder_born=holder_born,
        errors=errors,
    )
    if errors:
        raise Invalid("The designation breaks a rule; nothing was stored.", errors)
    return phone


def check_authorisation(
    authorisation: ProtectionAuthorisation | None,
    *,
    required: bool,
    today: date,
    holder_born: date | None,
    errors: list[FieldError],
) -> None:
    """The judge's or family council's authorisation: ``required`` of a person represented as a
    person (:func:`ens.spaces.representatives.represented_as_a_person`: it was stored without one,
    an outside review), and a decision already taken: not dated ahead (2999-01-01 was accepted)."""
    if authorisation is None:
        if required:
            errors.append(
                FieldError(
                    "/protectionAuthorisation",
                    "required: under a tutelle or an habilitation familiale relating to the person, this is done "
                    "with the authorisation of the judge or the family council (CSP L1111-6, L1111-11)",
                )
            )
        return
    if authorisation.granted_on is not None and authorisation.granted_on > today:
        errors.append(FieldError("/protectionAuthorisation/grantedOn", "in the future"))
    elif authorisation.granted_on is not None and authorisation.granted_on.year < EARLIEST_YEAR:
        errors.append(FieldError("/protectionAuthorisation/grantedOn", f"not before {EARLIEST_YEAR}"))
    elif authorisation.granted_on is not None and holder_born is not None and authorisation.granted_on < holder_born:
        errors.append(FieldError("/protectionAuthorisation/grantedOn", "before the holder's birth"))


async def designate_trusted_person(
    access: SpaceAccess, body: TrustedPersonWrite, *, if_match: str | None
) -> tuple[TrustedPersonRead, bool]:
    """Designate the trusted person, or replace the one designated (then ``If-Match`` is required:
    a second trusted person is never added by a device that did not see the first). Whether it is
    the first designation comes back with it."""
    identity = await adult_holder(access, act=_ACT)
    if any(
        same_names(body.given_name, body.family_name, other=names)
        for names in (
            (access.space.given_name, access.space.family_name),
            (identity.given_name, identity.family_name),
        )
    ):
        # CSP L1111-6: another person, whom the holder's care team consults when they cannot speak.
        raise Invalid(
            "The holder cannot be their own trusted person; nothing was stored.",
            [FieldError("/familyName", "the holder's own name: the trusted person is another person")],
        )
    now = clock.now()
    phone = _checked(
        body,
        authorisation_required=await represented_as_a_person(access.space_id, now),
        today=today_in(access),
        holder_born=identity.birthdate,
    )
    async with write_transaction():
        await lock_records(access.space_id)
        row = await _current_row(access.space_id)
        current = _read(row, listed=await trusted_person_listed(access.space_id)) if row is not None else None
        check_precondition(if_match, current, required=True)
        if current is not None:
            same = same_names(body.given_name, body.family_name, other=(current.given_name, current.family_name))
            await _end(access, current.id, reason="updated" if same else "replaced", now=now)
            if not same and current.also_emergency_contact and not body.also_emergency_contact and current.phone:
                # Another person becomes the trusted one, not listed: the former stays an emergency
                # contact, at their place, with their details (replacing them took them off the
                # list without a word: an outside audit); the holder removes the entry if they
                # wish. Listed, the new one takes the entry's place, as the entry is the trusted
                # person's whoever they are. Without a phone the former leaves the list: a contact
                # is a number to call (one without would be refused on the route, and by an import
                # of the space's export: a review).
                await keep_former_trusted_person(access.space_id, current, now=now)
        person_id = uuid.uuid4()
        await fetch(
            """INSERT INTO trusted_persons (id, given_name, family_name, relationship, phone, email, address,
                   birthdate, accepted_at, protection_authorisation, designated_at, space_id, designated_by_account_id)
               VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})""",
            person_id,
            body.given_name.strip(),
            body.family_name.strip(),
            body.relationship.strip() if body.relationship else None,
            phone,
            body.email,
            _json(body.address),
            body.birthdate,
            body.accepted_at,
            _json(body.protection_authorisation),
            now,
            access.space_id,
            access.caller.account_id,
        )
        if body.also_emergency_contact:
            await list_trusted_person(access, body.given_name, body.family_name, now=now)
        else:
            await unlist_trusted_person(access.space_id, now=now)
        designated = await _current(access.space_id)
        assert designated is not None
        return designated, current is None


async def _end(access: SpaceAccess, person_id: UUID, *, reason: str, now: datetime) -> None:
    await fetch(
        """UPDATE trusted_persons SET ended_at = {}, ended_by_account_id = {}, end_reason = {}
           WHERE space_id = {} AND id = {}""",
        now,
        access.caller.account_id,
        reason,
        access.space_id,
        person_id,
    )


async def remove_trusted_person(access: SpaceAccess, *, if_match: str | None) -> None:
    """End the designation (kept in the history); the emergency contacts no longer list them."""
    await adult_holder(access, act="A trusted person is removed")
    now = clock.now()
    async with write_transaction():
        await lock_records(access.space_id)
        current = await _current(access.space_id)
        if current is None:
            raise NotFound(_NOT_FOUND)
        # As replacing them, and as removing their emergency-contact entry: the strongest change was
        # the least guarded (an outside audit).
        check_precondition(if_match, current, required=True)
        await _end(access, current.id, reason="removed", now=now)
        await unlist_trusted_person(access.space_id, now=now)


async def list_former_trusted_persons(
    access: SpaceAccess, cursors: Cursors, *, limit: int | None, cursor: str | None
) -> FormerTrustedPersonPage:
    """Former trusted persons, the most recently ended first (keyset on ``(ended_at, id)``)."""
    size = check_limit(limit)
    purpose = f"trusted-person-history:{access.space_id}"
    args: list[object] = [access.space_id]
    after = ""
    if cursor:
        ended, last_id = cursors.place(purpose, cursor, time_and_id)
        after = "AND (ended_at < {} OR (ended_at = {} AND id < {}))"
        args += [ended, ended, last_id]
    rows = await fetch(
        f"""SELECT {_COLUMNS} FROM trusted_persons WHERE space_id = {{}} AND ended_at IS NOT NULL {after}
            ORDER BY ended_at DESC, id DESC LIMIT {{}}""",
        *args,
        size + 1,
    )
    items = [_former(row) for row in rows[:size]]
    next_cursor = None
    if len(rows) > size:
        last = items[-1]
        next_cursor = cursors.encode(purpose, [last.ended_at.isoformat(), str(last.id)])
    return FormerTrustedPersonPage(items=items, next_cursor=next_cursor)


def trusted_person_designated(space_id: UUID) -> Scalar:
    """Whether a trusted person is designated now (the home screen, :func:`fetch_scalars`)."""
    return Scalar("SELECT EXISTS (SELECT 1 FROM trusted_persons WHERE space_id = {} AND ended_at IS NULL)", (space_id,))
