"""The doctor: the médecin traitant, one per space, with an optional RPPS number."""

from __future__ import annotations

import uuid

import msgspec

from ens.core import clock
from ens.core.clock import aware
from ens.core.db import Row, Scalar, as_uuid, fetch, fetch_one, write_transaction
from ens.core.errors import FieldError, Invalid, NotFound
from ens.records.concurrency import check_precondition, lock_records
from ens.records.phones import e164
from ens.records.schemas import AddressRead, DoctorRead, DoctorWrite
from ens.spaces.door import SpaceAccess
from ens.spaces.professionals import luhn_valid

_ADDRESS = msgspec.json.Decoder(AddressRead)
_NOT_FOUND = "No doctor is recorded in this space."


def _read(row: Row) -> DoctorRead:
    return DoctorRead(
        id=as_uuid(row["id"]),
        given_name=row["given_name"],
        family_name=row["family_name"],
        rpps=row["rpps"],
        phone=row["phone"],
        address=_ADDRESS.decode(row["address"]) if row["address"] else None,
        updated_at=aware(row["updated_at"]),
    )


async def _current(space_id: uuid.UUID) -> DoctorRead | None:
    row = await fetch_one(
        "SELECT id, given_name, family_name, rpps, phone, address, updated_at FROM doctors WHERE space_id = {}",
        space_id,
    )
    return _read(row) if row is not None else None


async def get_doctor(access: SpaceAccess) -> DoctorRead:
    """The médecin traitant."""
    doctor = await _current(access.space_id)
    if doctor is None:
        raise NotFound(_NOT_FOUND)
    return doctor


async def set_doctor(access: SpaceAccess, body: DoctorWrite, *, if_match: str | None) -> tuple[DoctorRead, bool]:
    """Record the médecin traitant, or replace the one recorded; whether it is the first comes back."""
    errors: list[FieldError] = []
    if body.rpps is not None and not luhn_valid(body.rpps):
        errors.append(FieldError("/rpps", "the check digit does not match (Luhn)"))
    elif body.rpps is not None and not body.rpps.strip("0"):
        # Eleven zeros pass the Luhn check and name no one: a placeholder typed to get past the field.
        errors.append(FieldError("/rpps", "not an RPPS number (eleven zeros)"))
    phone = e164(body.phone, pointer="/phone", errors=errors) if body.phone is not None else None
    if errors:
        raise Invalid("The doctor's details break a rule; nothing was stored.", errors)
    now = clock.now()
    address = msgspec.json.encode(body.address).decode() if body.address is not None else None
    async with write_transaction():
        await lock_records(access.space_id)
        current = await _current(access.space_id)
        check_precondition(if_match, current, required=False)
        if current is None:
            await fetch(
                """INSERT INTO doctors (space_id, id, given_name, family_name, rpps, phone, address, created_at,
                       updated_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {})""",
                access.space_id,
                uuid.uuid4(),
                body.given_name.strip(),
                body.family_name.strip(),
                body.rpps,
                phone,
                address,
                now,
                now,
            )
        else:
            await fetch(
                """UPDATE doctors SET given_name = {}, family_name = {}, rpps = {}, phone = {}, address = {},
                       updated_at = {} WHERE space_id = {}""",
                body.given_name.strip(),
                body.family_name.strip(),
                body.rpps,
                phone,
                address,
                now,
                access.space_id,
            )
        doctor = await _current(access.space_id)
    assert doctor is not None
    return doctor, current is None


async def remove_doctor(access: SpaceAccess, *, if_match: str | None) -> None:
    """Forget the médecin traitant."""
    async with write_transaction():
        await lock_records(access.space_id)
        current = await _current(access.space_id)
        if current is None:
            raise NotFound(_NOT_FOUND)
        check_precondition(if_match, current, required=False)
        await fetch("DELETE FROM doctors WHERE space_id = {}", access.space_id)


async def get_doctor_or_none(space_id: uuid.UUID) -> DoctorRead | None:
    """The médecin traitant of a space, if one is recorded (for the export)."""
    return await _current(space_id)


def doctor_recorded(space_id: uuid.UUID) -> Scalar:
    """Whether a médecin traitant is recorded (the home screen, :func:`fetch_scalars`)."""
    return Scalar("SELECT EXISTS (SELECT 1 FROM doctors WHERE space_id = {})", (space_id,))
