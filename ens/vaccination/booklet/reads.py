"""Reading the booklet: one entry (and its JSON, what ``If-Match`` is compared with), a page, the whole
booklet, and the entries as the schedule engine reads them.

The booklet holds one entry per vaccine and full day as each caller sees it, so the holder's may
hold two of one injection: the entry hidden from the representatives, and the one a representative
recorded beside it without seeing it (``writes._refuse_duplicate``). Both are entries — the list and
each entry show them to the holder — but what counts doses takes one injection once
(:func:`_one_per_injection`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec

from ens.core.api import Cursors, check_limit
from ens.core.clock import as_date, aware
from ens.core.db import Row, Scalar, as_uuid, fetch, fetch_one
from ens.core.errors import BadRequest, FieldError, NotFound
from ens.spaces.door import SpaceAccess, visible_to
from ens.vaccination.engine import BookletEntry
from ens.vaccination.engine.dates import PartialDate
from ens.vaccination.schemas import RecordedBy, VaccinationPage, VaccinationRead

_SELECT = """SELECT e.id, e.vaccine_id, e.vaccine_name, v.cis AS cis, v.atc AS atc, e.diseases, e.date_text,
       e.date_precision, e.earliest_on, e.dose_number, e.lot_number, e.administered_by, e.location, e.note,
       e.status, e.recorded_by_role, e.recorded_by_name, e.recorded_by_client_id, e.created_at, e.updated_at,
       e.hidden_from_representatives, e.vaccine_key, e.recorded_by_account_id, e.declared_by_role, e.declared_by_name
FROM vaccinations e LEFT JOIN vaccines v ON v.id = e.vaccine_id"""


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
        declared_by=RecordedBy(role=row["declared_by_role"], name=row["declared_by_name"])
        if row["declared_by_role"] is not None
        else None,
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
        # A row-value comparison: one range of the (space_id, earliest_on, id) index, as the measures'
        # keyset (written with OR, each page filtered the space's booklet from its start: an audit).
        where += " AND (e.earliest_on, e.id) < ({}, {})"
        args += [after_day, after_id]
    rows = await fetch(f"{_SELECT} WHERE {where} ORDER BY e.earliest_on DESC, e.id DESC LIMIT {{}}", *args, size + 1)
    items = [read_of(row) for row in rows[:size]]
    next_cursor = None
    if len(rows) > size:
        last = rows[size - 1]
        next_cursor = cursors.encode(purpose, [str(as_date(last["earliest_on"])), str(as_uuid(last["id"]))])
    return VaccinationPage(items=items, next_cursor=next_cursor)


async def all_vaccinations(space_id: UUID, *, with_hidden: bool) -> list[VaccinationRead]:
    """The whole booklet, oldest first, one entry per injection (the certificate, the FHIR export:
    what others read count its doses); without ``with_hidden`` (a representative's), the entries
    hidden from representatives are left out."""
    hidden = "" if with_hidden else " AND NOT e.hidden_from_representatives"
    rows = await fetch(f"{_SELECT} WHERE e.space_id = {{}}{hidden} ORDER BY e.earliest_on, e.id", space_id)
    return [read_of(row) for row in _one_per_injection(rows)]


async def booklet_entries(space_id: UUID, *, with_hidden: bool) -> list[BookletEntry]:
    """The booklet as the schedule engine reads it, one entry per injection (for a representative,
    without the entries hidden from them: the schedule they see is computed as if those were not
    there)."""
    hidden = "" if with_hidden else " AND NOT hidden_from_representatives"
    rows = await fetch(
        "SELECT id, diseases, date_text, date_precision, earliest_on, vaccine_id, vaccine_name, vaccine_key, status, "
        "hidden_from_representatives, created_at FROM vaccinations WHERE space_id = {}" + hidden,
        space_id,
    )
    return [
        BookletEntry(
            id=as_uuid(row["id"]),
            diseases=frozenset(str(row["diseases"]).split()),
            when=PartialDate.parse(row["date_text"]),
            brand=row["vaccine_name"] if row["vaccine_id"] is not None else "",
        )
        for row in _one_per_injection(rows)
    ]


def _one_per_injection(rows: list[Row]) -> list[Row]:
    """The rows, in their order, with one entry per vaccine and full day: the holder's booklet may
    hold two records of one injection (the module's docstring), which are one dose. The one kept is
    a professional's (``validated``) first, then the one hidden from the representatives (the
    holder's, which the representative's repeats), then the older; the other's details are not
    merged into it (a free-named vaccine's diseases included: each record says them as its writer
    did). A year or a month alone is never the same injection as another entry."""
    kept: dict[tuple[str, date | None], Row] = {}
    for row in rows:
        if row["date_precision"] != "day":
            continue
        key = (str(row["vaccine_key"]), as_date(row["earliest_on"]))
        if key not in kept or _kept_first(row) < _kept_first(kept[key]):
            kept[key] = row
    ids = {as_uuid(row["id"]) for row in kept.values()}
    return [row for row in rows if row["date_precision"] != "day" or as_uuid(row["id"]) in ids]


def _kept_first(row: Row) -> tuple[bool, bool, datetime, str]:
    return (
        row["status"] != "validated",
        not row["hidden_from_representatives"],
        aware(row["created_at"]),
        str(as_uuid(row["id"])),
    )


def any_vaccination_seen(access: SpaceAccess) -> Scalar:
    """Whether the booklet holds an entry the caller sees, as one value of a statement
    (``fetch_scalars``): what the space import calls "not empty". The booklet's counter
    (``vaccination_booklets``) is no entry: hidden entries' writes take it too."""
    return Scalar(
        f"SELECT EXISTS (SELECT 1 FROM vaccinations WHERE space_id = {{}}{visible_to(access)})", (access.space_id,)
    )
