"""A booklet entry as a FHIR R4 ``Immunization`` (the export, and ``Accept: application/fhir+json``).

Following the ANS profile (FRImmunization, DOMAIN.md §5): ``vaccineCode`` carries the CIS code
first (``urn:oid:1.2.250.1.213.2.3.1``, mandatory in professional documents) and the ATC code as a
translation (``urn:oid:2.16.840.1.113883.6.73``); a vaccine typed by name only has its name as
text. A partial booklet date (a year, a month) is ``occurrenceString``; a full one
``occurrenceDateTime``. Every entry is ``completed`` (it records an injection given). A
``declared`` entry is a secondary report (``primarySource`` false, ``reportOrigin`` the patient's or
parent's recall); a ``validated`` one comes from the professional (``primarySource`` true).
"""

from __future__ import annotations

import msgspec

from ens.vaccination.calendar import disease_labels
from ens.vaccination.schemas import VaccinationRead

CIS_SYSTEM = "urn:oid:1.2.250.1.213.2.3.1"
ATC_SYSTEM = "urn:oid:2.16.840.1.113883.6.73"
ORIGIN_SYSTEM = "http://terminology.hl7.org/CodeSystem/immunization-origin"
PERFORMER_FUNCTION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0443"
FHIR_JSON = "application/fhir+json"


class Coding(msgspec.Struct, omit_defaults=True, rename="camel"):
    system: str
    code: str
    display: str | None = None


class CodeableConcept(msgspec.Struct, omit_defaults=True, rename="camel"):
    coding: list[Coding] | None = None
    text: str | None = None


class Reference(msgspec.Struct, omit_defaults=True, rename="camel"):
    reference: str | None = None
    display: str | None = None


class Annotation(msgspec.Struct, omit_defaults=True, rename="camel"):
    text: str


class Performer(msgspec.Struct, omit_defaults=True, rename="camel"):
    actor: Reference
    function: CodeableConcept | None = None


class ProtocolApplied(msgspec.Struct, omit_defaults=True, rename="camel"):
    dose_number_positive_int: int
    target_disease: list[CodeableConcept] | None = None


class Immunization(msgspec.Struct, omit_defaults=True, rename="camel", tag_field="resourceType", tag="Immunization"):
    """The part of FHIR R4's Immunization ENS fills (camelCase as FHIR spells it; ``resourceType`` first)."""

    id: str
    status: str
    vaccine_code: CodeableConcept
    patient: Reference
    occurrence_date_time: str | None = None
    occurrence_string: str | None = None
    recorded: str | None = None
    primary_source: bool | None = None
    report_origin: CodeableConcept | None = None
    location: Reference | None = None
    lot_number: str | None = None
    performer: list[Performer] | None = None
    note: list[Annotation] | None = None
    protocol_applied: list[ProtocolApplied] | None = None


def immunization(entry: VaccinationRead, *, patient: str) -> Immunization:
    """The FHIR resource of one entry; ``patient`` is the reference of the holder's Patient."""
    codings: list[Coding] = []
    if entry.cis:
        codings.append(Coding(system=CIS_SYSTEM, code=entry.cis, display=entry.vaccine_name))
    if entry.atc:
        codings.append(Coding(system=ATC_SYSTEM, code=entry.atc))
    labels = disease_labels()
    validated = entry.status == "validated"
    return Immunization(
        id=str(entry.id),
        status="completed",
        vaccine_code=CodeableConcept(coding=codings or None, text=entry.vaccine_name),
        patient=Reference(reference=patient),
        occurrence_date_time=entry.date if entry.date_precision == "day" else None,
        occurrence_string=entry.date if entry.date_precision != "day" else None,
        recorded=entry.created_at.isoformat(),
        primary_source=validated,
        report_origin=None
        if validated
        else CodeableConcept(
            coding=[Coding(system=ORIGIN_SYSTEM, code="recall", display="Parent/Guardian/Patient Recall")],
            text="Déclarée par la personne ou son représentant",
        ),
        location=Reference(display=entry.location) if entry.location else None,
        lot_number=entry.lot_number,
        performer=[
            Performer(
                actor=Reference(display=entry.administered_by),
                function=CodeableConcept(
                    coding=[Coding(system=PERFORMER_FUNCTION_SYSTEM, code="AP", display="Administering Provider")]
                ),
            )
        ]
        if entry.administered_by
        else None,
        note=[Annotation(text=entry.note)] if entry.note else None,
        protocol_applied=[
            ProtocolApplied(
                dose_number_positive_int=entry.dose_number,
                target_disease=[CodeableConcept(text=labels.get(code, code)) for code in entry.diseases],
            )
        ]
        if entry.dose_number is not None
        else None,
    )


def immunization_json(entry: VaccinationRead, *, patient: str) -> bytes:
    return msgspec.json.encode(immunization(entry, patient=patient))
