"""Booklets as the tests build them: injections of common vaccines, and the schedule read back per
disease and status."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from ens.core import clock, db
from ens.vaccination.engine import BookletEntry, Schedule
from ens.vaccination.engine.dates import PartialDate, add_months
from tests.helpers.people import Person

# What one injection of a common vaccine covers (the vaccine list's disease codes).
HEXA = frozenset({"diphtheria", "tetanus", "polio", "pertussis", "hib", "hepatitis_b"})
DTCAP = frozenset({"diphtheria", "tetanus", "polio", "pertussis"})
DTP = frozenset({"diphtheria", "tetanus", "polio"})
PCV = frozenset({"pneumococcus"})
HEPB = frozenset({"hepatitis_b"})
MENB = frozenset({"meningococcus_b"})
MENACWY = frozenset({"meningococcus_acwy"})
MMR = frozenset({"measles", "mumps", "rubella"})
ROTA = frozenset({"rotavirus"})
HPV = frozenset({"hpv"})
FLU = frozenset({"influenza"})
COVID = frozenset({"covid19"})
ZOSTER = frozenset({"herpes_zoster"})

ADULT_BOOSTERS = ["adult-25y", "adult-45y", "adult-65y", "adult-75y-plus"]
CHILD_BOOSTERS = ["dtcap-6y", "dtcap-11-13y"]

Expected = dict[str, dict[str, list[str]]]


@dataclass(frozen=True)
class Shot:
    """An injection: what it covers, when (``YYYY``, ``YYYY-MM`` or a day), the catalogue's brand."""

    covers: frozenset[str]
    when: str
    vaccine: str = ""


def shot(covers: frozenset[str], when: str, *, vaccine: str = "") -> Shot:
    return Shot(covers, when, vaccine)


def at_age(
    born: date, covers: frozenset[str], *, months: int = 0, years: int = 0, days: int = 0, vaccine: str = ""
) -> Shot:
    """An injection given at an age (``days`` after the months and years)."""
    day = add_months(born, months + 12 * years) + timedelta(days=days)
    return Shot(covers, day.isoformat(), vaccine)


def entries_of(shots: list[Shot]) -> list[BookletEntry]:
    return [BookletEntry(uuid.uuid4(), shot.covers, PartialDate.parse(shot.when), shot.vaccine) for shot in shots]


def statuses(schedule: Schedule, diseases: list[str]) -> Expected:
    """For each disease asked: status -> the doses in it (``hexa-1``, without the disease), sorted."""
    found: dict[str, dict[str, list[str]]] = {disease: defaultdict(list) for disease in diseases}
    for disease in schedule.diseases:
        if disease.disease not in found:
            continue
        for item in disease.doses:
            found[disease.disease][item.status].append(item.dose_id.split(".", 1)[1])
    return {
        disease: {status: sorted(doses) for status, doses in by_status.items()} for disease, by_status in found.items()
    }


def normalized(expected: Expected) -> Expected:
    return {disease: {s: sorted(d) for s, d in by.items() if d} for disease, by in expected.items()}


@dataclass(frozen=True)
class Case:
    """One row of the engine's table: who, what the booklet holds, when, and what is expected."""

    name: str
    born: date | None
    today: date
    shots: list[Shot]
    expected: Expected
    sex: str | None = "F"
    pregnant: bool | None = None
    weeks: int | None = None
    obligations: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return self.name


def item_of(schedule: Schedule, dose_id: str, status: str | None = None) -> Any:
    """The first answer line for ``dose_id`` (with ``status``, if given)."""
    disease = dose_id.split(".", 1)[0]
    for found in schedule.diseases:
        if found.disease == disease:
            for item in found.doses:
                if item.dose_id == dose_id and (status is None or item.status == status):
                    return item
    raise AssertionError(f"no {dose_id} ({status}) in the schedule")


# ---------------------------------------------------------------------------------------------
# Through the API


async def child_space(
    parent: Person, *, birthdate: date, sex: str | None = "female", given_name: str = "Lou"
) -> uuid.UUID:
    """A child's space (no holder account yet) that ``parent`` represents, as the carers issue will
    create it (none does yet)."""
    now = clock.now()
    space_id = uuid.uuid4()
    await db.fetch(
        "INSERT INTO spaces (id, given_name, family_name, birthdate, sex, timezone, status, created_at, updated_at) "
        "VALUES ({}, {}, {}, {}, {}, 'Europe/Paris', 'open', {}, {})",
        space_id,
        given_name,
        parent.family_name,
        birthdate,
        sex,
        now,
        now,
    )
    await db.fetch(
        "INSERT INTO representatives (id, space_id, account_id, kind, since, created_at) "
        "VALUES ({}, {}, {}, 'parent', {}, {})",
        uuid.uuid4(),
        space_id,
        parent.account_id,
        now - timedelta(days=1),
        now,
    )
    return space_id


async def set_birthdate(space_id: uuid.UUID, birthdate: date | None, sex: str | None = "female") -> None:
    await db.fetch("UPDATE spaces SET birthdate = {}, sex = {} WHERE id = {}", birthdate, sex, space_id)


async def vaccine_id(client: httpx.AsyncClient, query: str, brand: str) -> str:
    """The catalogue id of ``brand``, found by searching ``query``."""
    response = await client.get("/v1/vaccines", params={"q": query})
    assert response.status_code == 200, response.text
    found = [item["id"] for item in response.json()["items"] if item["brand"] == brand]
    assert found, f"{brand} not found for {query!r}"
    return str(found[0])


def paris_today() -> date:
    return clock.now().astimezone(ZoneInfo("Europe/Paris")).date()


async def entry_count(space_id: uuid.UUID) -> int:
    rows = await db.fetch("SELECT COUNT(*) AS n FROM vaccinations WHERE space_id = {}", space_id)
    return int(rows[0]["n"])
