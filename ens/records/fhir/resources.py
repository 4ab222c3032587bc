"""The records' own FHIR shapes (R4); the datatypes are the shared ones (:mod:`ens.core.fhir`)."""

from __future__ import annotations

from ens.core.fhir import Address as FhirAddress
from ens.core.fhir import (
    Attachment,
    CodeableConcept,
    ContactPoint,
    Element,
    Extension,
    HumanName,
    Identifier,
    Period,
    Reference,
    Resource,
)


class Dosage(Element, kw_only=True):
    text: str | None = None


class ConsentProvision(Element, kw_only=True):
    type: str | None = None
    code: list[CodeableConcept] = []
    provision: list[ConsentProvision] = []


class AllergyReaction(Element, kw_only=True):
    manifestation: list[CodeableConcept] = []
    severity: str | None = None


class FamilyMemberCondition(Element, kw_only=True):
    code: CodeableConcept


class Consent(Resource, tag=True, kw_only=True):
    extension: list[Extension] = []
    status: str
    scope: CodeableConcept
    category: list[CodeableConcept]
    patient: Reference
    date_time: str
    performer: list[Reference] = []
    source_attachment: Attachment | None = None
    policy_rule: CodeableConcept | None = None
    provision: ConsentProvision | None = None


class RelatedPerson(Resource, tag=True, kw_only=True):
    extension: list[Extension] = []
    active: bool = True
    patient: Reference
    relationship: list[CodeableConcept] = []
    name: list[HumanName] = []
    telecom: list[ContactPoint] = []
    birth_date: str | None = None
    address: list[FhirAddress] = []
    period: Period | None = None


class Practitioner(Resource, tag=True, kw_only=True):
    identifier: list[Identifier] = []
    name: list[HumanName] = []
    telecom: list[ContactPoint] = []
    address: list[FhirAddress] = []


class Condition(Resource, tag=True, kw_only=True):
    clinical_status: CodeableConcept
    category: list[CodeableConcept] = []
    code: CodeableConcept
    subject: Reference
    onset_date_time: str | None = None
    recorded_date: str | None = None
    asserter: Reference | None = None


class AllergyIntolerance(Resource, tag=True, kw_only=True):
    clinical_status: CodeableConcept
    code: CodeableConcept
    patient: Reference
    recorded_date: str | None = None
    asserter: Reference | None = None
    reaction: list[AllergyReaction] = []


class MedicationStatement(Resource, tag=True, kw_only=True):
    status: str
    medication_codeable_concept: CodeableConcept
    subject: Reference
    effective_period: Period | None = None
    date_asserted: str | None = None
    information_source: Reference | None = None
    dosage: list[Dosage] = []


class FamilyMemberHistory(Resource, tag=True, kw_only=True):
    status: str
    patient: Reference
    date: str | None = None
    relationship: CodeableConcept
    condition: list[FamilyMemberCondition] = []


AnyResource = (
    Consent | RelatedPerson | Practitioner | Condition | AllergyIntolerance | MedicationStatement | FamilyMemberHistory
)
