"""The booklet's entries: record, read, list, correct, delete.

An entry the holder, a representative or an app writes is ``declared``; one a health professional
whose profession may vaccinate writes (the access matrix: doctor, midwife, nurse, pharmacist) is
``validated`` — nothing the body says can set the status. A validated entry is changed or removed
by a professional only. The same
vaccine on the same full day is one entry (409 naming the existing one); a year or a month alone is
never called a duplicate. A space's writes take its booklet counter first, so two of them cannot
both pass the duplicate check.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from ens.core import clock
from ens.core.api import Cursors, check_limit, require_if_match
from ens.core.clock import as_date, aware
from ens.core.db import Row, as_uuid, fetch, fetch_one, write_transaction
from ens.core.errors import BadRequest, Conflict, FieldError, Forbidden, Invalid, NotFound
from ens.spaces.door import SpaceAccess, visible_to
from ens.spaces.matrix import access_matrix
from ens.spaces.rights import Action
from ens.vaccination.calendar import disease_labels
from ens.vaccination.catalogue import fold, get_vaccine
from ens.vaccination.engine import BookletEntry
from ens.vaccination.engine.dates import PartialDate
from ens.vaccination.schemas import (
    RecordedBy,
    VaccinationCreate,
    VaccinationPage,
    VaccinationRead,
    VaccinationUpdate,
)

DECLARED = "declared"
VALIDATED = "validated"
OLDEST_YEAR = 1900

_SELECT = """SELECT e.id, e.vaccine_id, e.vaccine_name, v.cis AS cis, v.atc AS atc, e.diseases, e.date_text,
       e.date_precision, e.earliest_on, e.dose_number, e.lot_number, e.administered_by, e.location, e.note,
       e.status, e.recorded_by_role, e.recorded_by_name, e.recorded_by_client_id, e.created_at, e.updated_at,
       e.hidden_from_representatives
FROM vaccinations e LEFT JOIN vaccines v ON v.id = e.vaccine_id"""

_COLUMNS = (
    "space_id, id, vaccine_id, vaccine_name, vaccine_key, diseases, date_text, date_precision, earliest_on, "
    "latest_on, dose_number, lot_number, administered_by, location, note, status, recorded_by_role, "
    "recorded_by_account_id, recorded_by_client_id, recorded_by_name, created_at, updated_at, "
    "hidden_from_representatives"
)


def space_today(access: SpaceAccess) -> date:
    """Today in the space's time zone (API.md: "today" in the schedule is the space's)."""
    try:
        zone = ZoneInfo(access.space.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("Europe/Paris")
    return clock.now().astimezone(zone).date()


@dataclass(frozen=True)
class Draft:
    """An entry as the body describes it, before its checks."""

    vaccine_id: UUID | None
    vaccine_name: str | None
    diseases: list[str] | None
    date: str
    dose_number: int | None
    lot_number: str | None
    administered_by: str | None
    location: str | None
    note: str | None


@dataclass(frozen=True)
class Checked:
    """An entry that passed its checks: what is stored."""

    vaccine_id: UUID | None
    vaccine_name: str
    vaccine_key: str
    diseases: list[str]
    when: PartialDate
    draft: Draft


async def _check(access: SpaceAccess, draft: Draft) -> Checked:
    """Every rule of an entry; a 422 names each broken one by its JSON Pointer."""
    errors: list[FieldError] = []
    name = ""
    key = ""
    diseases: list[str] = []
    if draft.vaccine_id is None and draft.vaccine_name is None:
        errors.append(FieldError("/vaccineId", "give vaccineId (a vaccine of GET /v1/vaccines) or vaccineName"))
    elif draft.vaccine_id is not None and draft.vaccine_name is not None:
        errors.append(FieldError("/vaccineName", "give vaccineId or vaccineName, not both"))
    elif draft.vaccine_id is not None:
        vaccine = await get_vaccine(draft.vaccine_id)
        if vaccine is None:
            errors.append(FieldError("/vaccineId", "no vaccine of the catalogue has this id"))
        else:
            name, key, diseases = vaccine.brand, f"vaccine:{vaccine.id}", vaccine.diseases
        if draft.diseases is not None:
            errors.append(FieldError("/diseases", "the catalogue gives the diseases of a listed vaccine: leave it out"))
    else:
        name = (draft.vaccine_name or "").strip()
        key = "name:" + fold(name)
        if not fold(name):
            errors.append(FieldError("/vaccineName", "a name with letters or digits"))
        if not draft.diseases:
            errors.append(
                FieldError("/diseases", "required with vaccineName: the diseases this vaccine protects against")
            )
        else:
            known = disease_labels()
            for index, code in enumerate(draft.diseases):
                if code not in known:
                    errors.append(FieldError(f"/diseases/{index}", "unknown disease code"))
                elif code in draft.diseases[:index]:
                    errors.append(FieldError(f"/diseases/{index}", "given twice"))
            diseases = list(draft.diseases)
    when = _checked_date(access, draft.date, errors)
    if errors or when is None:
        raise Invalid("The entry breaks a rule; nothing was stored.", errors)
    return Checked(draft.vaccine_id, name, key, diseases, when, draft)


def _checked_date(access: SpaceAccess, text: str, errors: list[FieldError]) -> PartialDate | None:
    try:
        when = PartialDate.parse(text)
    except ValueError:
        errors.append(FieldError("/date", "not a real date (YYYY, YYYY-MM or YYYY-MM-DD)"))
        return None
    if when.start.year < OLDEST_YEAR:
        errors.append(FieldError("/date", f"before {OLDEST_YEAR}"))
    elif when.start > space_today(access):
        errors.append(FieldError("/date", "in the future"))
    elif access.space.birthdate is not None and when.end < access.space.birthdate:
        errors.append(FieldError("/date", "before the holder's birth"))
    return when


async def _lock_booklet(space_id: UUID) -> None:
    """Take the space's booklet counter (held until the transaction ends)."""
    await fetch(
        """INSERT INTO vaccination_booklets (space_id, revision) VALUES ({}, 1)
           ON CONFLICT (space_id) DO UPDATE SET revision = vaccination_booklets.revision + 1""",
        space_id,
    )


async def _refuse_duplicate(space_id: UUID, checked: Checked, *, other_than: UUID | None = None) -> None:
    if not checked.when.exact:
        return
    row = await fetch_one(
        """SELECT id FROM vaccinations WHERE space_id = {} AND vaccine_key = {} AND earliest_on = {}
           AND date_precision = 'day'""",
        space_id,
        checked.vaccine_key,
        checked.when.start,
    )
    if row is not None and as_uuid(row["id"]) != other_than:
        existing = as_uuid(row["id"])
        raise Conflict(
            f"This vaccine is already in the booklet on {checked.when.text}: entry {existing}.",
            [FieldError("/date", f"same vaccine, same day as entry {existing}")],
        )


async def record_vaccination(access: SpaceAccess, body: VaccinationCreate) -> VaccinationRead:
    """Add an entry to the booklet: ``validated`` when a professional who may vaccinate writes it,
    else ``declared``."""
    draft = Draft(
        vaccine_id=body.vaccine_id,
        vaccine_name=body.vaccine_name,
        diseases=body.diseases,
        date=body.date,
        dose_number=body.dose_number,
        lot_number=body.lot_number,
        administered_by=body.administered_by,
        location=body.location,
        note=body.note,
    )
    if body.hidden_from_representatives:
        access.require(Action.HIDE_FROM_REPRESENTATIVES)
    checked = await _check(access, draft)
    entry_id = uuid.uuid4()
    now = clock.now()
    recorded_by = access.client_name if access.role == "app" else access.actor_name
    async with write_transaction():
        await _lock_booklet(access.space_id)
        await _refuse_duplicate(access.space_id, checked)
        await fetch(
            f"INSERT INTO vaccinations ({_COLUMNS}) VALUES ({', '.join(['{}'] * 23)})",
            access.space_id,
            entry_id,
            checked.vaccine_id,
            checked.vaccine_name,
            checked.vaccine_key,
            " ".join(checked.diseases),
            checked.when.text,
            checked.when.precision,
            checked.when.start,
            checked.when.end,
            draft.dose_number,
            draft.lot_number,
            draft.administered_by,
            draft.location,
            draft.note,
            status_written_by(access),
            access.role,
            access.caller.account_id,
            access.caller.client_id,
            recorded_by,
            now,
            now,
            body.hidden_from_representatives,
        )
        return await _entry(access, entry_id)


async def _entry_row(access: SpaceAccess, entry_id: UUID) -> Row:
    """The entry; one hidden from representatives does not exist for them."""
    row = await fetch_one(
        f"{_SELECT} WHERE e.space_id = {{}} AND e.id = {{}}{visible_to(access, alias='e')}", access.space_id, entry_id
    )
    if row is None:
        raise NotFound("No such vaccination in this booklet.")
    return row


async def _entry(access: SpaceAccess, entry_id: UUID) -> VaccinationRead:
    return read_of(await _entry_row(access, entry_id))


def read_of(row: Row) -> VaccinationRead:
    return VaccinationRead(
        id=as_uuid(row["id"]),
        vaccine_id=as_uuid(row["vaccine_id"]) if row["vaccine_id"] is not None else None,
        vaccine_name=row["vaccine_name"],
        cis=row["cis"],
        atc=row["atc"],
        diseases=str(row["diseases"]).split(),
        date=row["date_text"],
        date_precision=row["date_precision"],
        dose_number=row["dose_number"],
        lot_number=row["lot_number"],
        administered_by=row["administered_by"],
        location=row["location"],
        note=row["note"],
        status=row["status"],
        recorded_by=RecordedBy(role=row["recorded_by_role"], name=row["recorded_by_name"]),
        created_at=aware(row["created_at"]),
        updated_at=aware(row["updated_at"]),
        hidden_from_representatives=bool(row["hidden_from_representatives"]),
    )


async def get_vaccination(access: SpaceAccess, entry_id: UUID) -> VaccinationRead:
    """One entry of the booklet."""
    return await _entry(access, entry_id)


def body_of(entry: VaccinationRead) -> bytes:
    """The entry's JSON exactly as ``GET`` answers it (what ``If-Match`` is compared with)."""
    return msgspec.json.encode(entry)


async def list_vaccinations(
    access: SpaceAccess, cursors: Cursors, *, limit: int | None, cursor: str | None
) -> VaccinationPage:
    """The booklet, newest first (keyset on the first day of each date, then the id)."""
    size = check_limit(limit)
    purpose = f"vaccinations:{access.space_id}"
    where = "e.space_id = {}" + visible_to(access, alias="e")
    args: list[Any] = [access.space_id]
    if cursor is not None:
        position = cursors.decode(purpose, cursor)
        try:
            after_day, after_id = date.fromisoformat(str(position[0])), UUID(str(position[1]))
        except (IndexError, TypeError, ValueError) as exc:
            raise BadRequest("The cursor is malformed.", [FieldError("/cursor", "malformed")]) from exc
        where += " AND (e.earliest_on < {} OR (e.earliest_on = {} AND e.id < {}))"
        args += [after_day, after_day, after_id]
    rows = await fetch(f"{_SELECT} WHERE {where} ORDER BY e.earliest_on DESC, e.id DESC LIMIT {{}}", *args, size + 1)
    items = [read_of(row) for row in rows[:size]]
    next_cursor = None
    if len(rows) > size:
        last = rows[size - 1]
        next_cursor = cursors.encode(purpose, [str(as_date(last["earliest_on"])), str(as_uuid(last["id"]))])
    return VaccinationPage(items=items, next_cursor=next_cursor)


async def all_vaccinations(space_id: UUID, *, with_hidden: bool) -> list[VaccinationRead]:
    """The whole booklet, oldest first (the certificate, the FHIR export); without ``with_hidden``
    (a representative's), the entries hidden from representatives are left out."""
    hidden = "" if with_hidden else " AND NOT e.hidden_from_representatives"
    rows = await fetch(f"{_SELECT} WHERE e.space_id = {{}}{hidden} ORDER BY e.earliest_on, e.id", space_id)
    return [read_of(row) for row in rows]


async def booklet_entries(space_id: UUID, *, with_hidden: bool) -> list[BookletEntry]:
    """The booklet as the schedule engine reads it (for a representative, without the entries
    hidden from them: the schedule they see is computed as if those were not there)."""
    hidden = "" if with_hidden else " AND NOT hidden_from_representatives"
    rows = await fetch(
        "SELECT id, diseases, date_text, vaccine_id, vaccine_name FROM vaccinations WHERE space_id = {}" + hidden,
        space_id,
    )
    return [
        BookletEntry(
            id=as_uuid(row["id"]),
            diseases=frozenset(str(row["diseases"]).split()),
            when=PartialDate.parse(row["date_text"]),
            brand=row["vaccine_name"] if row["vaccine_id"] is not None else "",
        )
        for row in rows
    ]


def status_written_by(access: SpaceAccess) -> str:
    """``validated`` for a professional whose profession may vaccinate (the access matrix)."""
    if access.role == "professional" and access_matrix().vaccinates(access.profession or ""):
        return VALIDATED
    return DECLARED


def _may_change(access: SpaceAccess, row: Row) -> None:
    if row["status"] == VALIDATED and access.role != "professional":
        raise Forbidden("A validated entry is changed by a health professional only.")
    if access.role == "app" and (
        row["recorded_by_role"] != "app" or row["recorded_by_client_id"] != access.caller.client_id
    ):
        raise Forbidden("An app may change only the entries it recorded.")


async def update_vaccination(
    access: SpaceAccess, entry_id: UUID, *, update: VaccinationUpdate, if_match: str | None
) -> VaccinationRead:
    """Correct an entry (it stays ``declared``), and/or hide it from the representatives or show
    it again (the holder alone; any entry)."""
    hide = not isinstance(update.hidden_from_representatives, msgspec.UnsetType)
    if hide:
        access.require(Action.HIDE_FROM_REPRESENTATIVES)
    async with write_transaction():
        await _lock_booklet(access.space_id)
        row = await _entry_row(access, entry_id)
        current = read_of(row)
        require_if_match(if_match, body_of(current))
        if hide and update.hidden_from_representatives != current.hidden_from_representatives:
            await fetch(
                "UPDATE vaccinations SET hidden_from_representatives = {}, updated_at = {} "
                "WHERE space_id = {} AND id = {}",
                update.hidden_from_representatives,
                clock.now(),
                access.space_id,
                entry_id,
            )
        if not update.corrects_entry():
            return await _entry(access, entry_id)
        _may_change(access, row)
        draft = _merged(current, update)
        checked = await _check(access, draft)
        await _refuse_duplicate(access.space_id, checked, other_than=entry_id)
        await fetch(
            """UPDATE vaccinations SET vaccine_id = {}, vaccine_name = {}, vaccine_key = {}, diseases = {},
                   date_text = {}, date_precision = {}, earliest_on = {}, latest_on = {}, dose_number = {},
                   lot_number = {}, administered_by = {}, location = {}, note = {}, updated_at = {}
               WHERE space_id = {} AND id = {}""",
            checked.vaccine_id,
            checked.vaccine_name,
            checked.vaccine_key,
            " ".join(checked.diseases),
            checked.when.text,
            checked.when.precision,
            checked.when.start,
            checked.when.end,
            draft.dose_number,
            draft.lot_number,
            draft.administered_by,
            draft.location,
            draft.note,
            clock.now(),
            access.space_id,
            entry_id,
        )
        return await _entry(access, entry_id)


def _merged(current: VaccinationRead, update: VaccinationUpdate) -> Draft:
    """The entry with the update applied. Naming a vaccine (either way) replaces the previous one;
    a listed vaccine's diseases come from the catalogue, a free name keeps its own."""
    unset = msgspec.UNSET
    vaccine_id: UUID | None
    vaccine_name: str | None
    diseases: list[str] | None
    if update.vaccine_id is not unset or update.vaccine_name is not unset:
        vaccine_id = None if isinstance(update.vaccine_id, msgspec.UnsetType) else update.vaccine_id
        vaccine_name = None if isinstance(update.vaccine_name, msgspec.UnsetType) else update.vaccine_name
        diseases = None if isinstance(update.diseases, msgspec.UnsetType) else update.diseases
    elif current.vaccine_id is not None:
        vaccine_id, vaccine_name = current.vaccine_id, None
        diseases = None if isinstance(update.diseases, msgspec.UnsetType) else update.diseases
    else:
        vaccine_id, vaccine_name = None, current.vaccine_name
        diseases = current.diseases if isinstance(update.diseases, msgspec.UnsetType) else update.diseases

    def kept(new: Any, old: Any) -> Any:
        return old if new is unset else new

    return Draft(
        vaccine_id=vaccine_id,
        vaccine_name=vaccine_name,
        diseases=diseases,
        date=kept(update.date, current.date),
        dose_number=kept(update.dose_number, current.dose_number),
        lot_number=kept(update.lot_number, current.lot_number),
        administered_by=kept(update.administered_by, current.administered_by),
        location=kept(update.location, current.location),
        note=kept(update.note, current.note),
    )


async def delete_vaccination(access: SpaceAccess, entry_id: UUID, *, if_match: str | None) -> None:
    """Remove an entry from the booklet."""
    async with write_transaction():
        await _lock_booklet(access.space_id)
        row = await _entry_row(access, entry_id)
        require_if_match(if_match, body_of(read_of(row)))
        _may_change(access, row)
        await fetch("DELETE FROM vaccinations WHERE space_id = {} AND id = {}", access.space_id, entry_id)
