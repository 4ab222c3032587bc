"""The holder as a FHIR R4 ``Patient``: the identity the space holds (the provider's claims, or
what a parent gave for a child). Its id is the space's, so every resource of the space names it
``urn:uuid:<space id>`` (:func:`ens.core.fhir.patient_reference`)."""

from __future__ import annotations

from ens.core.fhir import HumanName, Reference, Resource
from ens.spaces.door import SpaceRef


class Patient(Resource, tag=True, kw_only=True):
    active: bool = True
    name: list[HumanName] = []
    gender: str | None = None
    birth_date: str | None = None
    general_practitioner: list[Reference] = []


def patient_of(space: SpaceRef, *, general_practitioner: list[Reference]) -> Patient:
    return Patient(
        id=str(space.id),
        name=[HumanName(family=space.family_name, given=[space.given_name])],
        gender=space.sex if space.sex in ("male", "female", "other") else "unknown" if space.sex else None,
        birth_date=space.birthdate.isoformat() if space.birthdate else None,
        general_practitioner=general_practitioner,
    )
