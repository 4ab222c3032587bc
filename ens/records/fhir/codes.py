"""The code systems and codes of the records' FHIR resources, both ways (export and import)."""

from __future__ import annotations

from ens.core.fhir import CodeableConcept, Coding

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
# ENS's own extensions (``urn:ens:fhir:<name>``, as the measures' ``urn:ens:fhir:recording-method``),
# where FHIR R4 has no element for what the API gives.
# The date the trusted person co-signed their designation (``acceptedAt``): valueDate.
ACCEPTED_EXTENSION = "urn:ens:fhir:trusted-person-accepted"
# Why a former trusted person's designation ended (``endReason``: replaced, updated, removed): valueCode.
END_REASON_EXTENSION = "urn:ens:fhir:trusted-person-end-reason"
# A protected adult's authorisation to designate (``protectionAuthorisation``): sub-extensions
# ``authority`` (valueCode judge | family_council), ``reference`` (valueString), ``grantedOn`` (valueDate).
PROTECTION_AUTHORISATION_EXTENSION = "urn:ens:fhir:protection-authorisation"
# When the author last confirmed a version of the directives as it stands (``lastConfirmedAt``):
# valueDateTime. FHIR's ``Consent.dateTime`` is when the version was written.
LAST_CONFIRMED_EXTENSION = "urn:ens:fhir:directives-last-confirmed"
# A witness of directives an author who cannot write had written before two (``witnesses``, R1111-17):
# sub-extensions ``givenName``, ``familyName``, ``quality`` (valueString).
WITNESS_EXTENSION = "urn:ens:fhir:directives-witness"
# The version that revokes the directives (``status: revoked``): valueBoolean true. A revocation's
# Consent is inactive as a replaced version's is; this tells them apart.
REVOCATION_EXTENSION = "urn:ens:fhir:directives-revocation"
# An emergency contact's place in the order to call them (``priority``, 1 first): valuePositiveInt.
PRIORITY_EXTENSION = "urn:ens:fhir:emergency-contact-priority"
EMERGENCY_CONTACT = CodeableConcept(coding=[Coding(system=CONTACT_ROLE, code="C", display="Emergency Contact")])
