"""A booklet entry as a FHIR R4 ``Immunization`` (the export, and ``Accept: application/fhir+json``).

Following the ANS profile (FRImmunization, DOMAIN.md §5): ``vaccineCode`` carries the CIS code
first (``urn:oid:1.2.250.1.213.2.3.1``, mandatory in professional documents) and the ATC code as a
translation (``urn:oid:2.16.840.1.113883.6.73``); a vaccine typed by name only has its name as
text. A partial booklet date (a year, a month) is ``occurrenceString``; a full one
``occurrenceDateTime``. Every entry is ``completed`` (it records an injection given). A
``declared`` entry is a secondary report (``primarySource`` false, ``reportOrigin`` the patient's or
parent's recall); a ``validated`` one comes from the professional (``primarySource`` true), who is
named as a ``performer`` of function ``VRF`` (verifier, HL7 v3 ParticipationType: who medically
validated it, DOMAIN.md §5), beside the one who gave it (``AP``, ``administeredBy``). Who recorded
each entry (the API's ``recordedBy``: role and name), for which FHIR R4's Immunization has no
element, is ENS's extension ``urn:ens:fhir:recorded-by``, and who had declared an entry a professional
validated (``declaredBy``) ``urn:ens:fhir:declared-by``; ``meta.lastUpdated`` is its ``updatedAt``.

The import (:func:`vaccination_of`) reads the entry back as ``POST .../vaccinations`` takes it: the
importer's own status (a holder's import is declared), never the Bundle's, which anyone can write.
A professional's validation is kept as words in the note, not as a validation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, get_args

from ens.core.api import VISIBLE
from ens.core.errors import FieldError, Invalid
from ens.core.fhir import (
    DECLARED_BY_EXTENSION,
    FHIR_JSON,
    Annotation,
    CodeableConcept,
    Coding,
    Element,
    Extension,
    Reference,
    Resource,
    encode,
    is_restricted,
    item_meta,
    names_of,
    recorded_by,
    unwritten,
)
from ens.vaccination.calendar import disease_labels
from ens.vaccination.catalogue import vaccine_id
from ens.vaccination.schemas import Note, VaccinationRead

CIS_SYSTEM = "urn:oid:1.2.250.1.213.2.3.1"
ATC_SYSTEM = "urn:oid:2.16.840.1.113883.6.73"
ORIGIN_SYSTEM = "http://terminology.hl7.org/CodeSystem/immunization-origin"
PERFORMER_FUNCTION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0443"
# Who medically validated the entry: HL7 v3's "verifier" (Immunization.performer.function's value
# set is an example binding: its two codes, ordering and administering, do not say it).
PARTICIPATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ADMINISTERING = "AP"
VERIFIER = "VRF"
# What an import writes in the note of an entry a professional had validated: the validation is not
# the importer's to give, so the entry is declared and says who had validated it.
VALIDATED_BEFORE = "Validée par un professionnel de santé avant l'import"
NOTE_MAX: int = get_args(Note)[1].max_length
# The diseases a dose protects against, by ENS's codes (the calendar's and the vaccine list's).
DISEASE_SYSTEM = "urn:ens:fhir:disease"
UNKNOWN_RANK = "rang non précisé"
__all__ = ["FHIR_JSON", "Immunization", "immunization", "immunization_json", "vaccination_of"]


class Performer(Element, kw_only=True):
    actor: Reference
    function: CodeableConcept | None = None


class ProtocolApplied(Element, kw_only=True):
    # FHIR requires one of the two: the rank, or words when the booklet gives none.
    dose_number_positive_int: int | None = None
    dose_number_string: str | None = None
    target_disease: list[CodeableConcept] = []


class Immunization(Resource, tag=True, kw_only=True):
    """The part of FHIR R4's Immunization ENS fills."""

    extension: list[Extension] = []
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
    performer: list[Performer] = []
    note: list[Annotation] = []
    protocol_applied: list[ProtocolApplied] = []


def immunization(entry: VaccinationRead, *, patient: Reference) -> Immunization:
    """The FHIR resource of one entry; ``patient`` is the reference of the holder's Patient."""
    codings: list[Coding] = []
    if entry.cis:
        codings.append(Coding(system=CIS_SYSTEM, code=entry.cis, display=entry.vaccine_name))
    if entry.atc:
        codings.append(Coding(system=ATC_SYSTEM, code=entry.atc))
    labels = disease_labels()
    validated = entry.status == "validated"
    performers: list[Performer] = []
    if entry.administered_by:
        performers.append(
            Performer(
                actor=Reference(display=entry.administered_by),
                function=CodeableConcept(
                    coding=[
                        Coding(system=PERFORMER_FUNCTION_SYSTEM, code=ADMINISTERING, display="Administering Provider")
                    ]
                ),
            )
        )
    if validated and entry.recorded_by.name:
        performers.append(
            Performer(
                actor=Reference(display=entry.recorded_by.name),
                function=CodeableConcept(
                    coding=[Coding(system=PARTICIPATION_SYSTEM, code=VERIFIER, display="verifier")],
                    text="A validé médicalement la vaccination",
                ),
            )
        )
    return Immunization(
        id=str(entry.id),
        meta=item_meta(entry.hidden_from_representatives, entry.updated_at),
        extension=[recorded_by(entry.recorded_by.role, entry.recorded_by.name)]
        + (
            [recorded_by(entry.declared_by.role, entry.declared_by.name, url=DECLARED_BY_EXTENSION)]
            if entry.declared_by is not None
            else []
        ),
        status="completed",
        vaccine_code=CodeableConcept(coding=codings, text=entry.vaccine_name),
        patient=patient,
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
        performer=performers,
        note=[Annotation(text=entry.note)] if entry.note else [],
        protocol_applied=[
            ProtocolApplied(
                dose_number_positive_int=entry.dose_number,
                dose_number_string=None if entry.dose_number is not None else UNKNOWN_RANK,
                target_disease=[
                    CodeableConcept(coding=[Coding(system=DISEASE_SYSTEM, code=code)], text=labels.get(code, code))
                    for code in entry.diseases
                ],
            )
        ]
        if entry.dose_number is not None or entry.diseases
        else [],
    )


def immunization_json(entry: VaccinationRead, *, patient: Reference) -> bytes:
    return encode(immunization(entry, patient=patient))


# Where :func:`vaccination_of` read each field of the booklet entry: the field to its FHIRPath.
IMMUNIZATION_FHIRPATHS = {
    "date": "occurrenceDateTime",
    "doseNumber": "protocolApplied[0].doseNumberPositiveInt",
    "lotNumber": "lotNumber",
    "administeredBy": "performer.actor.display",
    "location": "location.display",
    "note": "note",
    "hiddenFromRepresentatives": "meta.security",
    "vaccineId": "vaccineCode.coding",
    "vaccineName": "vaccineCode.text",
    "diseases": "protocolApplied[0].targetDisease",
}


# What ENS's export writes of an Immunization (its elements, by their FHIR names): the import
# refuses anything else rather than lose it, as it does for the records, and a status other than
# the export's: a vaccine not given (``not-done``), entered in error, a subpotent dose (a modifier of
# the resource's meaning, as a ``modifierExtension`` is) or two dates were each taken as a dose
# given, and the schedule counted it done (an outside audit).
_WRITTEN = names_of(Immunization) | {"resourceType"}
_ONE_ITEM = {"protocolApplied": names_of(ProtocolApplied)}


def _refusals(resource: Mapping[str, Any]) -> list[FieldError]:
    refused = [
        FieldError("", f"{path}: not kept by ENS (its export does not write it)")
        for path in unwritten("Immunization", resource, _WRITTEN, _ONE_ITEM)
    ]
    if resource.get("status") != "completed":
        refused.append(
            FieldError(
                "",
                f"Immunization.status: {str(resource.get('status'))[:40]!r}: the booklet keeps doses given (completed)",
            )
        )
    if "occurrenceDateTime" in resource and "occurrenceString" in resource:
        refused.append(FieldError("", "Immunization.occurrence[x]: one date, occurrenceDateTime or occurrenceString"))
    return refused


def vaccination_of(resource: Mapping[str, Any]) -> dict[str, Any]:
    """An exported ``Immunization`` back to the booklet entry ``POST .../vaccinations`` takes
    (camelCase): the catalogue's vaccine by its CIS code, else the name and the diseases. Raises
    ``Invalid`` for what the entry could not keep (:func:`_refusals`)."""
    refused = _refusals(resource)
    if refused:
        raise Invalid("Not a vaccination ENS can keep whole: the booklet would lose part of it.", refused)
    concept = resource.get("vaccineCode") or {}
    codings = [c for c in concept.get("coding") or [] if isinstance(c, dict)]
    cis = next((c.get("code") for c in codings if c.get("system") == CIS_SYSTEM), None)
    applied: dict[str, Any] = next(iter(resource.get("protocolApplied") or []), {})
    diseases = [
        c.get("code")
        for target in applied.get("targetDisease") or []
        for c in target.get("coding") or []
        if isinstance(c, dict) and c.get("system") == DISEASE_SYSTEM
    ]
    performers = [p for p in resource.get("performer") or [] if isinstance(p, dict)]
    note = "\n".join(n.get("text", "") for n in resource.get("note") or [] if isinstance(n, dict)) or None
    entry: dict[str, Any] = {
        "date": resource.get("occurrenceDateTime") or resource.get("occurrenceString"),
        "doseNumber": applied.get("doseNumberPositiveInt"),
        "lotNumber": resource.get("lotNumber"),
        "administeredBy": next(
            (_actor(p) for p in performers if _function(p) in (None, ADMINISTERING) and _actor(p)), None
        ),
        "location": (resource.get("location") or {}).get("display"),
        "note": _with_validation(note, [_actor(p) for p in performers if _function(p) == VERIFIER]),
        "hiddenFromRepresentatives": True if is_restricted(resource) else None,
    }
    if cis:
        entry["vaccineId"] = str(vaccine_id(cis))
    else:
        entry["vaccineName"] = concept.get("text")
        entry["diseases"] = diseases
    # A text with nothing visible is none (an entry stored before the booklet refused blank texts
    # comes back from its export as the booklet now takes it).
    return {
        key: value
        for key, value in entry.items()
        if value is not None and not (isinstance(value, str) and re.search(VISIBLE, value) is None)
    }


def _function(performer: Mapping[str, Any]) -> str | None:
    """The code of a performer's function (``AP``, ``VRF``...), ``None`` when it names none."""
    concept = performer.get("function") or {}
    return next((c.get("code") for c in concept.get("coding") or [] if isinstance(c, dict)), None)


def _actor(performer: Mapping[str, Any]) -> str | None:
    return (performer.get("actor") or {}).get("display")


def _with_validation(note: str | None, validators: list[str | None]) -> str | None:
    """The note of an entry a professional had validated (a ``VRF`` performer), saying so: the
    import records it as the importer's (declared), since a Bundle is anyone's to write and a
    validation restored from it could be forged. Said only when the note stays within the booklet's
    2,000 characters (else the note is kept as it was)."""
    names = [name for name in validators if isinstance(name, str) and re.search(VISIBLE, name)]
    if not names:
        return note
    words = f"{VALIDATED_BEFORE} : {', '.join(names)}."
    together = f"{note}\n{words}" if note else words
    return together if len(together) <= NOTE_MAX else note
