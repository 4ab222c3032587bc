"""The vaccination service: what the routes and the other capabilities call.

The rules live in one module per job, re-exported here so that callers import one place:

- :mod:`ens.vaccination.catalogue`: the vaccine catalogue, its loading and its search;
- :mod:`ens.vaccination.booklet`: the booklet's entries (declared), their checks and duplicates;
- :mod:`ens.vaccination.schedule`: the holder's schedule through the engine (:mod:`ens.vaccination.engine`);
- :mod:`ens.vaccination.certificate`: the printable certificate;
- :mod:`ens.vaccination.fhir`: entries as FHIR ``Immunization`` resources.
"""

from __future__ import annotations

from uuid import UUID

from ens.core.fhir import patient_reference
from ens.spaces.door import SpaceAccess
from ens.vaccination.booklet import (
    all_vaccinations,
    any_vaccination_seen,
    body_of,
    delete_vaccination,
    get_vaccination,
    list_vaccinations,
    record_vaccination,
    update_vaccination,
)
from ens.vaccination.catalogue import load_vaccines, search_vaccines
from ens.vaccination.certificate import certificate_to_print
from ens.vaccination.fhir import Immunization, immunization, immunization_json
from ens.vaccination.schedule import due_counts, vaccination_schedule

__all__ = [
    "all_vaccinations",
    "any_vaccination_seen",
    "body_of",
    "certificate_to_print",
    "delete_vaccination",
    "due_counts",
    "entry_as_fhir",
    "get_vaccination",
    "immunizations",
    "list_vaccinations",
    "load_vaccines",
    "record_vaccination",
    "search_vaccines",
    "update_vaccination",
    "vaccination_schedule",
]


async def immunizations(space_id: UUID, *, with_hidden: bool) -> list[Immunization]:
    """The whole booklet as FHIR ``Immunization`` resources (for the space's FHIR export); a
    representative's export passes ``with_hidden=False``."""
    entries = await all_vaccinations(space_id, with_hidden=with_hidden)
    return [immunization(entry, patient=patient_reference(space_id)) for entry in entries]


async def entry_as_fhir(access: SpaceAccess, entry_id: UUID) -> bytes:
    """One entry as a FHIR ``Immunization`` (JSON)."""
    entry = await get_vaccination(access, entry_id)
    return immunization_json(entry, patient=patient_reference(access.space_id))
