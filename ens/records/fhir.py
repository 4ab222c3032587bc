"""The records as FHIR R4 resources, for the space's export (a ``Bundle`` of type ``collection``).

- advance directives -> ``Consent`` (scope ``adr``), the printed PDF as its source attachment;
- the trusted person and the emergency contacts -> ``RelatedPerson``;
- the doctor -> ``Practitioner``, also referenced from ``Patient.generalPractitioner``;
- the profile -> ``Condition``, ``AllergyIntolerance``, ``MedicationStatement``, ``FamilyMemberHistory``.

References follow the one scheme of :mod:`ens.core.fhir` (``urn:uuid:<id>``, the Patient
``urn:uuid:<space id>``).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from ens.core import clock
from ens.core.errors import FieldError, Invalid
from ens.core.fhir import (
    LOINC,
    Attachment,
    CodeableConcept,
    Coding,
    ContactPoint,
    Element,
    HumanName,
    Identifier,
    Period,
    Reference,
    Resource,
    patient_reference,
    reference_to,
)
from ens.core.fhir import Address as FhirAddress
from ens.records import profile
from ens.records.directives import current_directives
from ens.records.directives_pdf import render_directives
from ens.records.doctor import get_doctor_or_none, set_doctor
from ens.records.emergency_contacts import add_emergency_contact, every_emergency_contact
from ens.records.schemas import (
    Address,
    AllergyCreate,
    AllergyRead,
    ConditionCreate,
    ConditionRead,
    DirectivesRead,
    DoctorRead,
    DoctorWrite,
    EmergencyContactCreate,
    EmergencyContactRead,
    FamilyHistoryCreate,
    FamilyHistoryRead,
    TreatmentCreate,
    TreatmentRead,
    TrustedPersonRead,
    Wish,
)
from ens.records.trusted_person import current_trusted_person
from ens.spaces.door import SpaceAccess

# ---------------------------------------------------------------------------------------------
# The records' own FHIR shapes (R4); the datatypes are the shared ones (ens.core.fhir).


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
    active: bool = True
    patient: Reference
    relationship: list[CodeableConcept] = []
    name: list[HumanName] = []
    telecom: list[ContactPoint] = []
    address: list[FhirAddress] = []


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


T = TypeVar("T")

# ---------------------------------------------------------------------------------------------
# Codes

CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_CATEGORY = "http://terminology.hl7.org/CodeSystem/consentcategorycodes"
CONTACT_ROLE = "http://terminology.hl7.org/CodeSystem/v2-0131"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
# FR Core's identifier types, the RPPS directory, and the national identifier of health
# professionals (idNatPs: "8" then the RPPS number).
FR_IDENTIFIER_TYPE = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
RPPS_SYSTEM = "https://rpps.esante.gouv.fr"
IDNPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"

_RELATIVES = {
    "mother": "MTH",
    "father": "FTH",
    "sister": "SIS",
    "brother": "BRO",
    "daughter": "DAU",
    "son": "SON",
    "grandmother": "GRMTH",
    "grandfather": "GRFTH",
    "aunt": "AUNT",
    "uncle": "UNCLE",
    "cousin": "COUSN",
    "other": "FAMMEMB",
}
_TREATMENTS = {
    "resuscitation": "Réanimation cardio-respiratoire",
    "ventilation": "Respiration artificielle",
    "dialysis": "Dialyse",
    "nutrition_hydration": "Nutrition et hydratation artificielles",
    "surgery": "Intervention chirurgicale",
    "transfusion": "Transfusion sanguine",
}
_CHOICES = {
    "accept": "accepté",
    "refuse": "refusé",
    "let_doctors_decide": "laissé à la décision des médecins",
    "not_stated": "non exprimé",
}
_PROVISION_TYPE = {"accept": "permit", "refuse": "deny"}
UNDESCRIBED_REACTION = "Réaction non précisée"
POLICY_RULE = "Code de la santé publique, articles L1111-11 et R1111-17 à R1111-20 (directives anticipées)"
EMERGENCY_CONTACT = CodeableConcept(coding=[Coding(system=CONTACT_ROLE, code="C", display="Emergency Contact")])


def _instant(value: datetime) -> str:
    return value.isoformat()


def _address(address: Address | None) -> list[FhirAddress]:
    if address is None:
        return []
    return [
        FhirAddress(line=[address.line], postal_code=address.postal_code, city=address.city, country=address.country)
    ]


def _telecom(phones: list[str], email: str | None) -> list[ContactPoint]:
    points = [ContactPoint(system="phone", value=phone, rank=rank) for rank, phone in enumerate(phones, start=1)]
    return points + ([ContactPoint(system="email", value=email)] if email else [])


def _text(text: str) -> CodeableConcept:
    return CodeableConcept(text=text)


# ---------------------------------------------------------------------------------------------
# Each record


def consent_of(directives: DirectivesRead, *, space_id: UUID, pdf: bytes | None) -> Consent:
    """The directives as a ``Consent`` (scope ``adr``): active, or inactive once revoked. ``pdf`` is the
    printed version, attached; a pointer's attachment only says where the paper directives are."""
    patient = patient_reference(space_id)
    attachment: Attachment | None = None
    provision: ConsentProvision | None = None
    if directives.status == "active" and directives.form == "pointer" and directives.pointer is not None:
        keeper = f" (conservées par {directives.pointer.keeper})" if directives.pointer.keeper else ""
        attachment = Attachment(title=f"Directives anticipées sur papier : {directives.pointer.location}{keeper}")
    elif directives.status == "active":
        if pdf is not None:
            attachment = Attachment(
                content_type="application/pdf",
                language="fr",
                data=base64.b64encode(pdf).decode(),
                title=f"Directives anticipées, version {directives.version}",
                creation=_instant(directives.created_at),
            )
        provision = _provisions(directives)
    return Consent(
        id=str(directives.id),
        status="active" if directives.status == "active" else "inactive",
        scope=CodeableConcept(coding=[Coding(system=CONSENT_SCOPE, code="adr", display="Advanced Care Directive")]),
        category=[
            CodeableConcept(coding=[Coding(system=LOINC, code="59284-0", display="Patient Consent")]),
            CodeableConcept(coding=[Coding(system=CONSENT_CATEGORY, code="acd", display="Advance Directive")]),
        ],
        patient=patient,
        date_time=_instant(directives.created_at),
        performer=[patient],
        source_attachment=attachment,
        # ppc-1: a policy or a policy rule. The rule is the law that gives directives their force.
        policy_rule=_text(POLICY_RULE),
        provision=provision,
    )


def _provisions(directives: DirectivesRead) -> ConsentProvision | None:
    wishes: list[tuple[str, Wish]] = []
    if directives.treatments is not None:
        wishes += [(label, getattr(directives.treatments, name)) for name, label in _TREATMENTS.items()]
    if directives.relief_of_suffering is not None:
        wishes.append(("Soulagement des souffrances", directives.relief_of_suffering))
    if directives.deep_sedation is not None:
        wishes.append(("Sédation profonde et continue jusqu'au décès", directives.deep_sedation))
    stated = [
        ConsentProvision(type=_PROVISION_TYPE.get(wish.choice), code=[_text(f"{label} : {_CHOICES[wish.choice]}")])
        for label, wish in wishes
        if wish.choice != "not_stated"
    ]
    return ConsentProvision(provision=stated) if stated else None


def trusted_person_of(person: TrustedPersonRead, *, space_id: UUID) -> RelatedPerson:
    relationship = [_text("Personne de confiance (CSP L1111-6)")]
    if person.also_emergency_contact:
        relationship.append(EMERGENCY_CONTACT)
    if person.relationship:
        relationship.append(_text(person.relationship))
    return RelatedPerson(
        id=str(person.id),
        patient=patient_reference(space_id),
        relationship=relationship,
        name=[HumanName(family=person.family_name, given=[person.given_name])],
        telecom=_telecom([person.phone] if person.phone else [], person.email),
        address=_address(person.address),
    )


def emergency_contact_of(contact: EmergencyContactRead, *, space_id: UUID) -> RelatedPerson:
    """An emergency contact; the trusted person's entry is the trusted person's own resource."""
    relationship = [EMERGENCY_CONTACT]
    if contact.relationship:
        relationship.append(_text(contact.relationship))
    return RelatedPerson(
        id=str(contact.id),
        patient=patient_reference(space_id),
        relationship=relationship,
        name=[HumanName(family=contact.family_name, given=[contact.given_name])],
        telecom=_telecom(contact.phones, contact.email),
    )


def practitioner_of(doctor: DoctorRead) -> Practitioner:
    identifiers: list[Identifier] = []
    if doctor.rpps:
        identifiers = [
            Identifier(
                use="official",
                type=CodeableConcept(coding=[Coding(system=FR_IDENTIFIER_TYPE, code="RPPS", display="N° RPPS")]),
                system=RPPS_SYSTEM,
                value=doctor.rpps,
            ),
            Identifier(
                use="official",
                type=CodeableConcept(coding=[Coding(system=FR_IDENTIFIER_TYPE, code="IDNPS")]),
                system=IDNPS_SYSTEM,
                value="8" + doctor.rpps,
            ),
        ]
    return Practitioner(
        id=str(doctor.id),
        identifier=identifiers,
        name=[HumanName(family=doctor.family_name, given=[doctor.given_name])],
        telecom=_telecom([doctor.phone] if doctor.phone else [], None),
        address=_address(doctor.address),
    )


def general_practitioner(doctor: DoctorRead) -> Reference:
    """What ``Patient.generalPractitioner`` lists: the médecin traitant's ``Practitioner``."""
    return reference_to(doctor.id, f"{doctor.given_name} {doctor.family_name}")


def condition_of(condition: ConditionRead, *, space_id: UUID) -> Condition:
    coding = [Coding(system=ICD10, code=condition.code)] if condition.code else []
    return Condition(
        id=str(condition.id),
        clinical_status=CodeableConcept(coding=[Coding(system=CONDITION_CLINICAL, code="active")]),
        category=[CodeableConcept(coding=[Coding(system=CONDITION_CATEGORY, code="problem-list-item")])],
        code=CodeableConcept(coding=coding, text=condition.label),
        subject=patient_reference(space_id),
        onset_date_time=condition.since.isoformat() if condition.since else None,
        recorded_date=_instant(condition.created_at),
        asserter=patient_reference(space_id),
    )


def allergy_of(allergy: AllergyRead, *, space_id: UUID) -> AllergyIntolerance:
    reactions: list[AllergyReaction] = []
    if allergy.reaction or allergy.severity:
        # A reaction needs a manifestation; a severity alone says the reaction was not described.
        manifestation = _text(allergy.reaction or UNDESCRIBED_REACTION)
        reactions = [AllergyReaction(manifestation=[manifestation], severity=allergy.severity)]
    return AllergyIntolerance(
        id=str(allergy.id),
        clinical_status=CodeableConcept(coding=[Coding(system=ALLERGY_CLINICAL, code="active")]),
        code=_text(allergy.substance),
        patient=patient_reference(space_id),
        recorded_date=_instant(allergy.created_at),
        asserter=patient_reference(space_id),
        reaction=reactions,
    )


def medication_statement_of(treatment: TreatmentRead, *, space_id: UUID, today: date) -> MedicationStatement:
    period = None
    if treatment.since or treatment.until:
        period = Period(
            start=treatment.since.isoformat() if treatment.since else None,
            end=treatment.until.isoformat() if treatment.until else None,
        )
    return MedicationStatement(
        id=str(treatment.id),
        status="completed" if treatment.until and treatment.until < today else "active",
        medication_codeable_concept=_text(treatment.medication),
        subject=patient_reference(space_id),
        effective_period=period,
        date_asserted=_instant(treatment.created_at),
        information_source=patient_reference(space_id),
        dosage=[Dosage(text=treatment.dose)] if treatment.dose else [],
    )


def family_member_history_of(entry: FamilyHistoryRead, *, space_id: UUID) -> FamilyMemberHistory:
    code = _RELATIVES[entry.relative]
    return FamilyMemberHistory(
        id=str(entry.id),
        status="completed",
        patient=patient_reference(space_id),
        date=_instant(entry.created_at),
        relationship=CodeableConcept(coding=[Coding(system=ROLE_CODE, code=code)], text=entry.relative),
        condition=[FamilyMemberCondition(code=_text(entry.condition))],
    )


# ---------------------------------------------------------------------------------------------
# A space's records, for the export


@dataclass(frozen=True)
class RecordsFhir:
    """The records' resources, and what the Patient resource lists as its general practitioner."""

    resources: list[AnyResource]
    general_practitioner: list[Reference]


async def records_as_fhir(space_id: UUID, *, timezone: str, with_hidden: bool) -> RecordsFhir:
    """Every record of the space as FHIR resources (the current directives with their PDF).

    ``with_hidden`` is false for an export a representative asks for: the emergency contacts and
    profile entries the holder hid from representatives are left out, as from every other read of
    theirs (CSP R1111-50). Nothing in the resources says something was left out."""
    resources: list[AnyResource] = []
    today = clock.now().astimezone(ZoneInfo(timezone)).date()
    directives = await current_directives(space_id)
    if directives is not None:
        printable = directives.status == "active" and directives.form == "structured"
        pdf = render_directives(directives, zone=timezone, printed_on=today) if printable else None
        resources.append(consent_of(directives, space_id=space_id, pdf=pdf))
    trusted = await current_trusted_person(space_id)
    if trusted is not None:
        resources.append(trusted_person_of(trusted, space_id=space_id))
    contacts = await every_emergency_contact(space_id, with_hidden=with_hidden)
    resources += [emergency_contact_of(c, space_id=space_id) for c in contacts if not c.trusted_person]
    doctor = await get_doctor_or_none(space_id)
    if doctor is not None:
        resources.append(practitioner_of(doctor))
    resources += [
        condition_of(c, space_id=space_id)
        for c in await profile.every_entry(profile.CONDITIONS, space_id, with_hidden=with_hidden)
    ]
    resources += [
        allergy_of(a, space_id=space_id)
        for a in await profile.every_entry(profile.ALLERGIES, space_id, with_hidden=with_hidden)
    ]
    resources += [
        medication_statement_of(t, space_id=space_id, today=today)
        for t in await profile.every_entry(profile.TREATMENTS, space_id, with_hidden=with_hidden)
    ]
    resources += [
        family_member_history_of(f, space_id=space_id)
        for f in await profile.every_entry(profile.FAMILY_HISTORY, space_id, with_hidden=with_hidden)
    ]
    return RecordsFhir(
        resources=resources, general_practitioner=[general_practitioner(doctor)] if doctor is not None else []
    )


# ---------------------------------------------------------------------------------------------
# In: an exported record back to what the record's own route takes (the space import)

TRUSTED_PERSON_TEXT = "Personne de confiance (CSP L1111-6)"
# What the import leaves to the holder, and why (answered with the import's result).
NOT_IMPORTED = {
    "Consent": "advance directives are the holder's own signed act: write them again in the new space",
    "TrustedPerson": "the trusted person is designated by the holder and co-signs: designate them again",
}
_RELATIVE_OF_CODE = {code: name for name, code in _RELATIVES.items()}


def _name(resource: Mapping[str, Any]) -> dict[str, Any]:
    name: dict[str, Any] = next(iter(resource.get("name") or []), {})
    return {"givenName": next(iter(name.get("given") or []), None), "familyName": name.get("family")}


def _phones(resource: Mapping[str, Any]) -> list[str]:
    return [t["value"] for t in resource.get("telecom") or [] if t.get("system") == "phone" and t.get("value")]


def _email(resource: Mapping[str, Any]) -> str | None:
    return next((t["value"] for t in resource.get("telecom") or [] if t.get("system") == "email"), None)


def _address_in(resource: Mapping[str, Any]) -> dict[str, Any] | None:
    address = next(iter(resource.get("address") or []), None)
    if not address:
        return None
    found = {
        "line": next(iter(address.get("line") or []), None),
        "postalCode": address.get("postalCode"),
        "city": address.get("city"),
        "country": address.get("country"),
    }
    return {key: value for key, value in found.items() if value is not None}


def _text_of(concept: Any) -> str | None:
    return concept.get("text") if isinstance(concept, dict) else None


def is_trusted_person(resource: Mapping[str, Any]) -> bool:
    return any(_text_of(r) == TRUSTED_PERSON_TEXT for r in resource.get("relationship") or [])


async def import_record(access: SpaceAccess, resource: Mapping[str, Any], *, hidden: bool) -> bool:
    """Add one exported record to the space through the record's own service (its checks and
    rules); false when ``resource`` is not a kind the records keep. Raises ``Invalid`` (pointers
    into the resource) like the route would."""
    kind = resource.get("resourceType")
    hide: dict[str, Any] = {"hiddenFromRepresentatives": True} if hidden else {}
    if kind == "RelatedPerson":
        uncoded = [_text_of(r) for r in resource.get("relationship") or [] if not (r or {}).get("coding")]
        body = {
            **_name(resource),
            "relationship": next((t for t in uncoded if t), None),
            "phones": _phones(resource),
            "email": _email(resource),
            **hide,
        }
        await add_emergency_contact(access, _convert(body, EmergencyContactCreate))
    elif kind == "Practitioner":
        rpps = next((i["value"] for i in resource.get("identifier") or [] if i.get("system") == RPPS_SYSTEM), None)
        body = {**_name(resource), "rpps": rpps, "phone": next(iter(_phones(resource)), None)}
        body["address"] = _address_in(resource)
        await set_doctor(access, _convert(body, DoctorWrite), if_match=None)
    elif kind == "Condition":
        code = resource.get("code") or {}
        icd = next((c["code"] for c in code.get("coding") or [] if c.get("system") == ICD10), None)
        since = resource.get("onsetDateTime")
        body = {"label": code.get("text"), "since": since, "code": icd, **hide}
        await profile.add_condition(access, _convert(body, ConditionCreate))
    elif kind == "AllergyIntolerance":
        reaction: dict[str, Any] = next(iter(resource.get("reaction") or []), {})
        manifestation = _text_of(next(iter(reaction.get("manifestation") or []), None))
        body = {
            "substance": _text_of(resource.get("code")),
            "reaction": None if manifestation == UNDESCRIBED_REACTION else manifestation,
            "severity": reaction.get("severity"),
            **hide,
        }
        await profile.add_allergy(access, _convert(body, AllergyCreate))
    elif kind == "MedicationStatement":
        period = resource.get("effectivePeriod") or {}
        body = {
            "medication": _text_of(resource.get("medicationCodeableConcept")),
            "dose": next((d.get("text") for d in resource.get("dosage") or []), None),
            "since": period.get("start"),
            "until": period.get("end"),
            **hide,
        }
        await profile.add_treatment(access, _convert(body, TreatmentCreate))
    elif kind == "FamilyMemberHistory":
        relationship = resource.get("relationship") or {}
        code = next((c.get("code") for c in relationship.get("coding") or []), None)
        condition: dict[str, Any] = next(iter(resource.get("condition") or []), {})
        body = {
            "relative": _RELATIVE_OF_CODE.get(code or "", code),
            "condition": _text_of(condition.get("code")),
            **hide,
        }
        await profile.add_family_history(access, _convert(body, FamilyHistoryCreate))
    else:
        return False
    return True


def _convert(body: dict[str, Any], kind: type[T]) -> T:
    try:
        return msgspec.convert({k: v for k, v in body.items() if v is not None}, kind)
    except msgspec.ValidationError as exc:
        raise Invalid(f"Not a record ENS can keep: {exc}", [FieldError("", str(exc))]) from None
