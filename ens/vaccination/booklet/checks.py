"""The rules of one entry, checked before anything is stored (the vaccine, from the catalogue or by
name, with its diseases as sent or as the name tells them; the date), and how a correction merges
into an entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from ens.core import clock
from ens.core.errors import FieldError, Invalid
from ens.core.local_time import EARLIEST_YEAR
from ens.spaces.door import SpaceAccess
from ens.vaccination.calendar import disease_labels
from ens.vaccination.catalogue import Brand, catalogue_brands, diseases_of_brand, fold, get_vaccine, vaccine_of_brand
from ens.vaccination.engine.dates import PartialDate
from ens.vaccination.generic_names import diseases_of_generic_name, name_key
from ens.vaccination.schemas import VaccinationRead, VaccinationUpdate


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
        # A catalogue's brand typed by name is that vaccine for "one entry per vaccine and day": the
        # same injection, chosen from the list and typed from the paper booklet, was two doses.
        brands = await catalogue_brands() if fold(name) else []
        same = vaccine_of_brand(name, brands)
        key = f"vaccine:{same}" if same is not None else "name:" + fold(name)
        if not fold(name):
            errors.append(FieldError("/vaccineName", "a name with letters or digits"))
        if not draft.diseases:
            # API.md: the server adds the diseases. It knows them when the name is a brand of the
            # catalogue (a paper booklet's "Revaxis") or a generic name (its "ROR", "DT Polio");
            # of another vaccine, only the person does: kept with none, it counts for no dose.
            diseases = await diseases_of_name(name, brands)
        else:
            known = disease_labels()
            for index, code in enumerate(draft.diseases):
                if code not in known:
                    errors.append(FieldError(f"/diseases/{index}", "unknown disease code"))
                elif code in draft.diseases[:index]:
                    errors.append(FieldError(f"/diseases/{index}", "given twice"))
            diseases = list(draft.diseases)
            # Diseases sent win over those a known name (a brand, a generic name) gives, but only
            # among them: fewer is the person's caution (a booklet's "ROR" they know as measles),
            # another is a protection the vaccine does not give: "Revaxis" sent with measles,
            # mumps and rubella was stored so and counted as a MMR dose (an outside audit).
            known_for_name = await diseases_of_name(name, brands)
            if known_for_name and not set(diseases) <= set(known_for_name):
                errors.append(
                    FieldError(
                        "/diseases",
                        f"{name[:60]} protects against {', '.join(known_for_name)} only: leave diseases out, "
                        "or give some of those",
                    )
                )
    when = _checked_date(access, draft.date, errors)
    if errors or when is None:
        raise Invalid("The entry breaks a rule; nothing was stored.", errors)
    return Checked(draft.vaccine_id, name, key, diseases, when, draft)


async def diseases_of_name(name: str, brands: list[Brand] | None = None) -> list[str]:
    """The diseases of a vaccine typed by name: of the catalogue's brand it names, else of the
    booklet's generic name it is ("ROR", "DT Polio"); none for another name (it fills no dose).
    ``brands``: the catalogue's, when the caller read them already."""
    brands = await catalogue_brands() if brands is None else brands
    named = diseases_of_brand(name, brands) if fold(name) else None
    if named is None and name_key(name):
        # The words a booklet writes around a brand aside ("Vaccin Rotarix 2e dose", "Rappel Repevax").
        named = diseases_of_brand(name_key(name), brands)
    if named is None:
        named = diseases_of_generic_name(name)
    return named or []


def _checked_date(access: SpaceAccess, text: str, errors: list[FieldError]) -> PartialDate | None:
    try:
        when = PartialDate.parse(text)
    except ValueError:
        errors.append(FieldError("/date", "not a real date (YYYY, YYYY-MM or YYYY-MM-DD)"))
        return None
    if when.start.year < EARLIEST_YEAR:
        errors.append(FieldError("/date", f"before {EARLIEST_YEAR}"))
    elif when.start > space_today(access):
        errors.append(FieldError("/date", "in the future"))
    elif access.space.birthdate is not None and when.end < access.space.birthdate:
        errors.append(FieldError("/date", "before the holder's birth"))
    return when


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
