"""Out: each record as its FHIR resource, and a space's records for the export."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from uuid import UUID
from zoneinfo import ZoneInfo

from anyio import to_thread

from ens.core import clock
from ens.core.fhir import (
    LOINC,
    Attachment,
    CodeableConcept,
    Coding,
    ContactPoint,
    Extension,
    HumanName,
    Identifier,
    Period,
    Reference,
    item_meta,
    patient_reference,
    reference_to,
)
from ens.core.fhir import Address as FhirAddress
from ens.records import profile
from ens.records.directives import every_directive_version
from ens.records.directives_pdf import render_directives
from ens.records.doctor import get_doctor_or_none
from ens.records.emergency_contacts import every_emergency_contact
from ens.records.fhir.codes import (
    _CHOICES,
    _PROVISION_TYPE,
    _RELATIVES,
    _TREATMENTS,
    ACCEPTED_EXTENSION,
    ALLERGY_CLINICAL,
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONSENT_CATEGORY,
    CONSENT_SCOPE,
    EMERGENCY_CONTACT,
    END_REASON_EXTENSION,
    FR_IDENTIFIER_TYPE,
    ICD10,
    IDNPS_SYSTEM,
    LAST_CONFIRMED_EXTENSION,
    POLICY_RULE,
    PRIORITY_EXTENSION,
    PROTECTION_AUTHORISATION_EXTENSION,
    REVOCATION_EXTENSION,
    ROLE_CODE,
    RPPS_SYSTEM,
    UNDESCRIBED_REACTION,
    WITNESS_EXTENSION,
)
from ens.records.fhir.resources import (
    AllergyIntolerance,
    AllergyReaction,
    AnyResource,
    Condition,
    Consent,
    ConsentProvision,
    Dosage,
    FamilyMemberCondition,
    FamilyMemberHistory,
    MedicationStatement,
    Practitioner,
    RelatedPerson,
)
from ens.records.schemas import (
    AddressRead,
    AllergyRead,
    ConditionRead,
    DirectivesRead,
    DoctorRead,
    EmergencyContactRead,
    FamilyHistoryRead,
    FormerTrustedPersonRead,
    ProtectionAuthorisationRead,
    TreatmentRead,
    TrustedPersonRead,
    Wish,
)
from ens.records.trusted_person import copy_of, current_trusted_person, former_trusted_persons


def _instant(value: datetime) -> str:
    return value.isoformat()


def _address(address: AddressRead | None) -> list[FhirAddress]:
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


def _priority(priority: int | None) -> list[Extension]:
    return [Extension(url=PRIORITY_EXTENSION, value_positive_int=priority)] if priority is not None else []


def _authorisation(authorisation: ProtectionAuthorisationRead | None) -> list[Extension]:
    if authorisation is None:
        return []
    parts = [
        Extension(url="authority", value_code=authorisation.authority),
        Extension(url="reference", value_string=authorisation.reference),
    ]
    if authorisation.granted_on is not None:
        parts.append(Extension(url="grantedOn", value_date=authorisation.granted_on.isoformat()))
    return [Extension(url=PROTECTION_AUTHORISATION_EXTENSION, extension=parts)]


# ---------------------------------------------------------------------------------------------
# Each record


def consent_of(directives: DirectivesRead, *, space_id: UUID, pdf: bytes | None) -> Consent:
    """A version of the directives as a ``Consent`` (scope ``adr``): active, or inactive once revoked
    or superseded by a later version (not ``current``; it keeps what it said), as the versions'
    list says which one is in force. ``pdf`` is the printed version, attached (a superseded one's
    says so on every page, and its title too); a pointer's attachment only says where the paper
    directives are."""
    superseded = not directives.current
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
                title=f"Directives anticipées, version {directives.version}"
                + (" (ne fait plus foi)" if superseded else ""),
                creation=_instant(directives.created_at),
            )
        provision = _provisions(directives)
    confirmed = directives.last_confirmed_at
    # What makes the version valid beside its text (an outside audit found it only in the PDF): the
    # judge's or family council's authorisation (L1111-11), the witnesses (R1111-17); and whether
    # it is the revocation.
    extension = [Extension(url=LAST_CONFIRMED_EXTENSION, value_date_time=_instant(confirmed))] if confirmed else []
    extension += _authorisation(directives.protection_authorisation)
    extension += [
        Extension(
            url=WITNESS_EXTENSION,
            extension=[
                Extension(url="givenName", value_string=witness.given_name),
                Extension(url="familyName", value_string=witness.family_name),
                Extension(url="quality", value_string=witness.quality),
            ],
        )
        for witness in directives.witnesses or []
    ]
    if directives.status == "revoked":
        extension.append(Extension(url=REVOCATION_EXTENSION, value_boolean=True))
    return Consent(
        id=str(directives.id),
        extension=extension,
        status="active" if directives.status == "active" and not superseded else "inactive",
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


def trusted_person_of(
    person: TrustedPersonRead | FormerTrustedPersonRead, *, space_id: UUID, priority: int | None = None
) -> RelatedPerson:
    """The trusted person; a former one is inactive. ``period`` is the span of the designation
    (``designatedAt``, and ``endedAt`` once ended), ``birthDate`` FHIR's own; what FHIR R4 has no
    element for is in ENS's extensions: the date they co-signed (``acceptedAt``), a protected
    adult's authorisation, why a former designation ended, and, when the trusted person is also
    an emergency contact, their ``priority`` among the contacts."""
    current = isinstance(person, TrustedPersonRead)
    relationship = [_text("Personne de confiance (CSP L1111-6)")]
    if isinstance(person, TrustedPersonRead) and person.also_emergency_contact:
        relationship.append(EMERGENCY_CONTACT)
    if person.relationship:
        relationship.append(_text(person.relationship))
    extension: list[Extension] = []
    if person.accepted_at is not None:
        extension.append(Extension(url=ACCEPTED_EXTENSION, value_date=person.accepted_at.isoformat()))
    extension += _authorisation(person.protection_authorisation)
    if isinstance(person, FormerTrustedPersonRead):
        extension.append(Extension(url=END_REASON_EXTENSION, value_code=person.end_reason))
    if current:
        extension += _priority(priority)
    return RelatedPerson(
        id=str(person.id),
        extension=extension,
        patient=patient_reference(space_id),
        relationship=relationship,
        name=[HumanName(family=person.family_name, given=[person.given_name])],
        telecom=_telecom([person.phone] if person.phone else [], person.email),
        birth_date=person.birthdate.isoformat() if person.birthdate is not None else None,
        address=_address(person.address),
        active=current,
        period=Period(
            start=_instant(person.designated_at),
            end=_instant(person.ended_at) if isinstance(person, FormerTrustedPersonRead) else None,
        ),
    )


def emergency_contact_of(contact: EmergencyContactRead, *, space_id: UUID) -> RelatedPerson:
    """An emergency contact, its ``priority`` (the order to call them) in an extension; the trusted
    person's entry is the trusted person's own resource."""
    relationship = [EMERGENCY_CONTACT]
    if contact.relationship:
        relationship.append(_text(contact.relationship))
    return RelatedPerson(
        id=str(contact.id),
        meta=item_meta(contact.hidden_from_representatives),
        extension=_priority(contact.priority),
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
        meta=item_meta(False, doctor.updated_at),
        identifier=identifiers,
        name=[HumanName(family=doctor.family_name, given=[doctor.given_name])],
        telecom=_telecom([doctor.phone] if doctor.phone else [], None),
        address=_address(doctor.address),
    )


def general_practitioner(doctor: DoctorRead) -> Reference:
    """What ``Patient.generalPractitioner`` lists: the médecin traitant's ``Practitioner``."""
    return reference_to(doctor.id, f"{doctor.given_name} {doctor.family_name}")


def stated_by(space_id: UUID, recorder: str | None) -> Reference:
    """Who stated a profile entry (a Condition's or an AllergyIntolerance's ``asserter``, a
    MedicationStatement's ``informationSource``): the professional or the representative who
    recorded it, by name (no Practitioner or RelatedPerson resource of theirs is in the Bundle, so
    the reference is its display alone), else the patient, whose space it is."""
    return Reference(display=recorder) if recorder is not None else patient_reference(space_id)


def condition_of(condition: ConditionRead, *, space_id: UUID, recorder: str | None = None) -> Condition:
    coding = [Coding(system=ICD10, code=condition.code)] if condition.code else []
    return Condition(
        id=str(condition.id),
        meta=item_meta(condition.hidden_from_representatives, condition.updated_at),
        clinical_status=CodeableConcept(coding=[Coding(system=CONDITION_CLINICAL, code="active")]),
        category=[CodeableConcept(coding=[Coding(system=CONDITION_CATEGORY, code="problem-list-item")])],
        code=CodeableConcept(coding=coding, text=condition.label),
        subject=patient_reference(space_id),
        onset_date_time=condition.since.isoformat() if condition.since else None,
        recorded_date=_instant(condition.created_at),
        asserter=stated_by(space_id, recorder),
    )


def allergy_of(allergy: AllergyRead, *, space_id: UUID, recorder: str | None = None) -> AllergyIntolerance:
    reactions: list[AllergyReaction] = []
    if allergy.reaction or allergy.severity:
        # A reaction needs a manifestation; a severity alone says the reaction was not described.
        manifestation = _text(allergy.reaction or UNDESCRIBED_REACTION)
        reactions = [AllergyReaction(manifestation=[manifestation], severity=allergy.severity)]
    return AllergyIntolerance(
        id=str(allergy.id),
        meta=item_meta(allergy.hidden_from_representatives, allergy.updated_at),
        clinical_status=CodeableConcept(coding=[Coding(system=ALLERGY_CLINICAL, code="active")]),
        code=_text(allergy.substance),
        patient=patient_reference(space_id),
        recorded_date=_instant(allergy.created_at),
        asserter=stated_by(space_id, recorder),
        reaction=reactions,
    )


def medication_statement_of(
    treatment: TreatmentRead, *, space_id: UUID, today: date, recorder: str | None = None
) -> MedicationStatement:
    period = None
    if treatment.since or treatment.until:
        period = Period(
            start=treatment.since.isoformat() if treatment.since else None,
            end=treatment.until.isoformat() if treatment.until else None,
        )
    return MedicationStatement(
        id=str(treatment.id),
        meta=item_meta(treatment.hidden_from_representatives, treatment.updated_at),
        status="completed" if treatment.until and treatment.until < today else "active",
        medication_codeable_concept=_text(treatment.medication),
        subject=patient_reference(space_id),
        effective_period=period,
        date_asserted=_instant(treatment.created_at),
        information_source=stated_by(space_id, recorder),
        dosage=[Dosage(text=treatment.dose)] if treatment.dose else [],
    )


def family_member_history_of(entry: FamilyHistoryRead, *, space_id: UUID) -> FamilyMemberHistory:
    code = _RELATIVES[entry.relative]
    return FamilyMemberHistory(
        id=str(entry.id),
        meta=item_meta(entry.hidden_from_representatives, entry.updated_at),
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


async def directives_as_fhir(space_id: UUID, *, timezone: str) -> AsyncIterator[Consent]:
    """Every version of the directives as a ``Consent``, oldest first, each printed as it is asked
    for (its PDF when printable, the former ones inactive, their PDF saying on every page which
    version replaced them or that they were revoked). A print takes up to seconds (long notes in
    scripts of their own): an export that printed every version before its first byte sent nothing
    for 86 s on a space of 23 long versions (an outside audit), where a proxy gives up after 60."""
    today = clock.now().astimezone(ZoneInfo(timezone)).date()
    versions = await every_directive_version(space_id, timezone=timezone)
    trusted = await current_trusted_person(space_id)
    trusted_now = None if trusted is None else copy_of(trusted)
    for index, directives in enumerate(versions):
        next_version = versions[index + 1] if index + 1 < len(versions) else None
        printable = directives.status == "active" and directives.form == "structured"
        pdf = (
            # In a thread, as GET .../directives draws it (seconds, at the longest).
            await to_thread.run_sync(
                partial(
                    render_directives,
                    directives,
                    zone=timezone,
                    printed_on=today,
                    next_version=next_version,
                    # The version in force names the trusted person designated today; a former one, its own.
                    trusted_now=directives.trusted_person if next_version is not None else trusted_now,
                )
            )
            if printable
            else None
        )
        yield consent_of(directives, space_id=space_id, pdf=pdf)


async def records_as_fhir(space_id: UUID, *, timezone: str, with_hidden: bool) -> RecordsFhir:
    """Every record of the space as FHIR resources but the directives (:func:`directives_as_fhir`
    prints them one at a time): the trusted person and the former ones, the emergency contacts, the
    doctor, the medical profile.

    ``with_hidden`` is false for an export a representative asks for: the emergency contacts and
    profile entries the holder hid from representatives are left out, as from every other read of
    theirs (CSP R1111-50). Nothing in the resources says something was left out."""
    resources: list[AnyResource] = []
    today = clock.now().astimezone(ZoneInfo(timezone)).date()
    trusted = await current_trusted_person(space_id)
    resources += [trusted_person_of(former, space_id=space_id) for former in await former_trusted_persons(space_id)]
    contacts = await every_emergency_contact(space_id, with_hidden=with_hidden)
    if trusted is not None:
        listed = next((c.priority for c in contacts if c.trusted_person), None)
        resources.append(trusted_person_of(trusted, space_id=space_id, priority=listed))
    resources += [emergency_contact_of(c, space_id=space_id) for c in contacts if not c.trusted_person]
    doctor = await get_doctor_or_none(space_id)
    if doctor is not None:
        resources.append(practitioner_of(doctor))
    resources += [
        condition_of(c, space_id=space_id, recorder=by)
        for c, by in await profile.every_entry(profile.CONDITIONS, space_id, with_hidden=with_hidden)
    ]
    resources += [
        allergy_of(a, space_id=space_id, recorder=by)
        for a, by in await profile.every_entry(profile.ALLERGIES, space_id, with_hidden=with_hidden)
    ]
    resources += [
        medication_statement_of(t, space_id=space_id, today=today, recorder=by)
        for t, by in await profile.every_entry(profile.TREATMENTS, space_id, with_hidden=with_hidden)
    ]
    resources += [
        family_member_history_of(f, space_id=space_id)
        for f, _ in await profile.every_entry(profile.FAMILY_HISTORY, space_id, with_hidden=with_hidden)
    ]
    return RecordsFhir(
        resources=resources, general_practitioner=[general_practitioner(doctor)] if doctor is not None else []
    )
