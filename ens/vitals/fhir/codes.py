"""The guide's profiles, and the codes, extensions and tags of the Observations ENS writes and reads."""

from __future__ import annotations

from ens.core.fhir import CodeableConcept, Coding

IG_BASE = "https://interop.esante.gouv.fr/ig/fhir/mesures/StructureDefinition/"
# The guide's profile of each measure (the ids of MesBundleFluxAlimentation's list).
PROFILES: dict[str, str] = {
    "body_weight": "mesures-fr-observation-body-weight",
    "body_height": "mesures-fr-observation-bodyheight",
    "heart_rate": "mesures-fr-observation-heartrate",
    "blood_pressure": "mesures-fr-observation-bp",
    "body_temperature": "mesures-fr-observation-body-temperature",
    "waist_circumference": "mesures-observation-waist-circumference",
    "blood_glucose": "mesures-observation-glucose",
    "steps_per_day": "mesures-observation-steps-by-day",
    "pain_severity": "mesures-observation-pain-severity",
    "head_circumference": "mesures-observation-head-circumference",
}

# Where the guide's profile fixes the valueQuantity's UCUM code and its unit text, ENS writes them
# (MesObservationStepsByDay: ``$UCUM#1/(24.h)`` "steps/day"; MesObservationPainSeverity: ``#1``
# "Level"). DOMAIN.md's units are the same numbers (``/d`` is ``1/(24.h)``, ``{score}`` is ``1``),
# and ENS's own API keeps them; an export claiming the profile with another unit broke it.
GUIDE_QUANTITIES: dict[str, tuple[str, str]] = {
    "steps_per_day": ("1/(24.h)", "steps/day"),
    "pain_severity": ("1", "Level"),
}


# The guide's profiles ENS does not take, and why.
UNSUPPORTED_PROFILES: dict[str, str] = {
    "mesures-fr-observation-oxygen-sat": "oxygen saturation is not one of the measures ENS keeps",
    "mesures-fr-observation-resp-rate": "respiratory rate is not one of the measures ENS keeps",
    "mesures-fr-observation-bmi": "BMI is computed from the latest weight and height, never accepted",
}


VITAL_SIGNS = CodeableConcept(
    coding=[
        Coding(
            system="http://terminology.hl7.org/CodeSystem/observation-category",
            code="vital-signs",
            display="Vital Signs",
        )
    ],
    text="Vital Signs",
)
MOMENT_EXTENSION = IG_BASE + "mesures-moment-of-measurement"
REASON_EXTENSION = IG_BASE + "mesures-reason-for-measurement"
# ENS's own codes where the guide gives no code system of its own (stated in the README).
MOMENT_SYSTEM = "urn:ens:fhir:glucose-moment"
RECORDING_METHOD_EXTENSION = "urn:ens:fhir:recording-method"
BODY_POSITION_EXTENSION = "http://hl7.org/fhir/StructureDefinition/observation-bodyPosition"
BODY_POSITION_SYSTEM = "urn:ens:fhir:body-position"
SOURCE_TAG = "urn:ens:fhir:source"
ORIGINAL_SOURCE_TAG = "urn:ens:fhir:original-source"
DEVICE_ID_SYSTEM = "urn:ens:fhir:device-identifier"
