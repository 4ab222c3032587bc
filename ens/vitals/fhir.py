"""Measures as FHIR R4 ``Observation``s, following the ANS "Mesures de santé" implementation guide.

Sources (the guide's FSH, ansforge/IG-fhir-mesures-de-sante, ``input/fsh``): the feeding Bundle
``MesBundleFluxAlimentation`` (a ``transaction`` of one Observation of one of the guide's profiles,
``POST Observation``, and at most one PHD ``Device``, ``POST Device``), the profiles
``MesFrObservationBodyWeight`` & al. (``meta.source`` the sending system, ``valueQuantity`` in
UCUM with ``system`` and ``code``, ``device`` a PHD Device), the extension
``MesMomentOfMeasurement`` (glucose), and the examples ``Example-bundle.fsh`` and ``Examples1.fsh``.

Out (the export, ``GET /fhir/Observation``): category ``vital-signs``, the LOINC code of the
catalogue, the canonical value as a UCUM ``valueQuantity``; blood pressure is the 85354-9 panel
with its 8480-6 and 8462-4 components; a device the app named is a ``Device`` (one per distinct
device of the space, its id derived from what identifies it, so it is the same in every export);
the writing app is ``meta.source`` (``urn:ens:client:<client id>``) and, with its name, a
``meta.tag``. A measure the holder hid from the representatives carries the confidentiality
``R`` (restricted) in ``meta.security``.

In (the ``/fhir`` intake and the import): :func:`measurement_of` turns an Observation back into the
item ``POST .../vitals`` takes, so both doors run the one ingestion service
(:func:`ens.vitals.ingest.record_measurements`): same rules, units, idempotency and history.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from ens.core.db import fetch
from ens.core.errors import FieldError
from ens.core.fhir import (
    LOINC,
    UCUM,
    Annotation,
    CodeableConcept,
    Coding,
    Element,
    Extension,
    Identifier,
    Meta,
    Quantity,
    Reference,
    Resource,
    reference_to,
)
from ens.vitals.catalogue import BLOOD_GLUCOSE, BLOOD_PRESSURE, BY_CODE, VITAL_TYPES, VitalType
from ens.vitals.schemas import MeasurementRead, Source

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
_BY_PROFILE = {profile: code for code, profile in PROFILES.items()}
# The guide's profiles ENS does not take, and why.
UNSUPPORTED_PROFILES: dict[str, str] = {
    "mesures-fr-observation-oxygen-sat": "oxygen saturation is not one of the measures ENS keeps",
    "mesures-fr-observation-resp-rate": "respiratory rate is not one of the measures ENS keeps",
    "mesures-fr-observation-bmi": "BMI is computed from the latest weight and height, never accepted",
}
# Blood glucose: the guide's value set is extensible; these LOINC codes name a blood glucose.
_GLUCOSE_CODES = {"2339-0", "2345-7", "41653-7", "15074-8", "14749-6"}
_BY_LOINC = {vital.loinc: vital.code for vital in VITAL_TYPES} | {code: BLOOD_GLUCOSE for code in _GLUCOSE_CODES}

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
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
RESTRICTED = Coding(system=CONFIDENTIALITY, code="R", display="restricted")
DEVICE_ID_SYSTEM = "urn:ens:fhir:device-identifier"


class ObservationComponent(Element, kw_only=True):
    code: CodeableConcept
    value_quantity: Quantity | None = None


class Observation(Resource, tag=True, kw_only=True):
    extension: list[Extension] = []
    identifier: list[Identifier] = []
    status: str
    category: list[CodeableConcept]
    code: CodeableConcept
    subject: Reference
    effective_date_time: str
    value_quantity: Quantity | None = None
    body_site: CodeableConcept | None = None
    device: Reference | None = None
    note: list[Annotation] = []
    component: list[ObservationComponent] = []


class DeviceName(Element, kw_only=True):
    name: str
    type: str


class Device(Resource, tag=True, kw_only=True):
    identifier: list[Identifier] = []
    manufacturer: str | None = None
    device_name: list[DeviceName] = []
    model_number: str | None = None
    patient: Reference | None = None


def source_uri(client_id: str) -> str:
    """``meta.source``: the app that wrote the measure (the phone app for one typed by hand)."""
    return f"urn:ens:client:{client_id}"


def device_id(space_id: UUID, manufacturer: str | None, model: str | None, identifier: str | None) -> UUID:
    """The same device gets the same id in every export of the space (no table of devices)."""
    return uuid.uuid5(space_id, "\x1f".join(part or "" for part in (manufacturer, model, identifier)))


def device_of(space_id: UUID, read: MeasurementRead) -> Device | None:
    """The ``Device`` a measure names, or ``None`` when the app named none."""
    device = read.device
    if device is None:
        return None
    return Device(
        id=str(device_id(space_id, device.manufacturer, device.model, device.identifier)),
        identifier=[Identifier(system=DEVICE_ID_SYSTEM, value=device.identifier)] if device.identifier else [],
        manufacturer=device.manufacturer,
        model_number=device.model,
        device_name=[DeviceName(name=device.model, type="model-name")] if device.model else [],
        patient=reference_to(space_id),
    )


def _quantity(value: float, vital: VitalType) -> Quantity:
    number: float | int = int(value) if vital.integer or value.is_integer() else value
    return Quantity(value=number, unit=vital.unit, system=UCUM, code=vital.unit)


def _loinc(code: str, display: str) -> CodeableConcept:
    return CodeableConcept(coding=[Coding(system=LOINC, code=code, display=display)], text=display)


def observation_of(
    read: MeasurementRead, *, space_id: UUID, hidden: bool = False, original_source: tuple[str, str] | None = None
) -> Observation:
    """One stored measure as an Observation of the guide's profile for its type.

    ``original_source`` (client id, name) is where an imported measure first came from: kept as a
    tag beside the import, its source now."""
    vital = BY_CODE[read.type]
    device = device_of(space_id, read)
    tags = [Coding(system=SOURCE_TAG, code=read.source.client_id, display=read.source.name)]
    if original_source is not None:
        tags.append(Coding(system=ORIGINAL_SOURCE_TAG, code=original_source[0], display=original_source[1]))
    extension = [Extension(url=RECORDING_METHOD_EXTENSION, value_code=read.recording_method)]
    if read.glucose_moment:
        moment = Coding(system=MOMENT_SYSTEM, code=read.glucose_moment)
        extension.append(Extension(url=MOMENT_EXTENSION, value_codeable_concept=CodeableConcept(coding=[moment])))
    if read.body_position:
        position = CodeableConcept(coding=[Coding(system=BODY_POSITION_SYSTEM, code=read.body_position)])
        extension.append(Extension(url=BODY_POSITION_EXTENSION, value_codeable_concept=position))
    components: list[ObservationComponent] = []
    value: Quantity | None = None
    if read.type == BLOOD_PRESSURE and read.components is not None:
        systolic, diastolic = vital.components
        components = [
            ObservationComponent(
                code=_loinc(systolic.loinc, systolic.label), value_quantity=_quantity(read.components.systolic, vital)
            ),
            ObservationComponent(
                code=_loinc(diastolic.loinc, diastolic.label),
                value_quantity=_quantity(read.components.diastolic, vital),
            ),
        ]
    elif read.value is not None:
        value = _quantity(read.value, vital)
    return Observation(
        id=str(read.id),
        meta=Meta(
            source=source_uri(read.source.client_id),
            profile=[IG_BASE + PROFILES[read.type]],
            tag=tags,
            security=[RESTRICTED] if hidden else [],
        ),
        extension=extension,
        status="final",
        category=[VITAL_SIGNS],
        code=_loinc(vital.loinc, vital.label),
        subject=reference_to(space_id),
        effective_date_time=read.effective_at.isoformat(),
        value_quantity=value,
        body_site=CodeableConcept(text=read.measurement_location) if read.measurement_location else None,
        device=reference_to(device.id) if device is not None else None,
        note=[Annotation(text=read.note)] if read.note else [],
        component=components,
    )


_MEASUREMENT = msgspec.json.Decoder(MeasurementRead)


def read_of_body(body: str | bytes) -> MeasurementRead:
    """A stored measure's JSON (``ens.vitals.representation``) as its typed form."""
    return _MEASUREMENT.decode(body)


# ---------------------------------------------------------------------------------------------
# In: an Observation (and the Device it names) to the item the ingestion takes


class ObservationRefused(Exception):
    """An Observation ENS cannot take, located by FHIRPath from the Observation; ``unsupported``
    when its profile is one the guide has and ENS does not keep."""

    def __init__(self, errors: list[FieldError], *, unsupported: bool = False) -> None:
        super().__init__(errors[0].detail if errors else "refused")
        self.errors = errors
        self.unsupported = unsupported


# Where each field of the ingestion's item lives in the Observation (for its errors' locations).
FHIRPATH_OF_FIELD = {
    "value": "valueQuantity.value",
    "unit": "valueQuantity.code",
    "effectiveAt": "effectiveDateTime",
    "type": "code",
    "components": "component",
    "systolic": "component[0].valueQuantity.value",
    "diastolic": "component[1].valueQuantity.value",
    "glucoseMoment": "extension('" + MOMENT_EXTENSION + "')",
    "clientRecordId": "identifier[0].value",
    "clientRecordVersion": "meta.versionId",
    "device": "device",
    "note": "note[0].text",
    "bodyPosition": "extension('" + BODY_POSITION_EXTENSION + "')",
    "measurementLocation": "bodySite.text",
    "recordingMethod": "extension('" + RECORDING_METHOD_EXTENSION + "')",
}


def fhirpath_of(pointer: str) -> str:
    """``/measurements/0/components/systolic`` → ``Observation.component[0].valueQuantity.value``."""
    parts = [p for p in pointer.split("/") if p][2:]
    for part in reversed(parts):
        if part in FHIRPATH_OF_FIELD:
            return "Observation." + FHIRPATH_OF_FIELD[part]
    return "Observation"


def _profiles(resource: Mapping[str, Any]) -> list[str]:
    meta = resource.get("meta")
    profiles = meta.get("profile") if isinstance(meta, dict) else None
    return [p for p in profiles if isinstance(p, str)] if isinstance(profiles, list) else []


def _profile_id(canonical: str) -> str:
    return canonical.split("|", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def type_of(resource: Mapping[str, Any]) -> str:
    """The measure an Observation is: by the guide's profile when it names one, else by its LOINC
    code. A profile of the guide ENS does not keep is refused by name."""
    for canonical in _profiles(resource):
        profile = _profile_id(canonical)
        if profile in UNSUPPORTED_PROFILES:
            raise ObservationRefused(
                [FieldError("Observation.meta.profile", f"{canonical}: {UNSUPPORTED_PROFILES[profile]}")],
                unsupported=True,
            )
        if profile in _BY_PROFILE:
            return _BY_PROFILE[profile]
    code = resource.get("code")
    codings = code.get("coding") if isinstance(code, dict) else None
    for coding in codings if isinstance(codings, list) else []:
        if isinstance(coding, dict) and isinstance(coding.get("code"), str) and coding["code"] in _BY_LOINC:
            return _BY_LOINC[coding["code"]]
    raise ObservationRefused(
        [
            FieldError(
                "Observation.code",
                "not one of the measures ENS keeps (give one of the guide's profiles or a LOINC code of "
                "GET /v1/vital-types)",
            )
        ],
        unsupported=True,
    )


def _quantity_in(raw: Any, where: str, errors: list[FieldError]) -> tuple[Any, str | None]:
    if not isinstance(raw, dict):
        errors.append(FieldError(where, "required: a Quantity with value, system and code"))
        return None, None
    if raw.get("system", UCUM) != UCUM:
        errors.append(FieldError(f"{where}.system", f"must be {UCUM}"))
    unit = raw.get("code", raw.get("unit"))
    return raw.get("value"), unit if isinstance(unit, str) else None


def _extension(resource: Mapping[str, Any], url: str) -> dict[str, Any] | None:
    for extension in resource.get("extension") or []:
        if isinstance(extension, dict) and extension.get("url") == url:
            return extension
    return None


def _coded(extension: Mapping[str, Any] | None) -> str | None:
    if extension is None:
        return None
    if isinstance(extension.get("valueCode"), str):
        return str(extension["valueCode"])
    concept = extension.get("valueCodeableConcept")
    if isinstance(concept, dict):
        for coding in concept.get("coding") or []:
            if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                return str(coding["code"])
        if isinstance(concept.get("text"), str):
            return str(concept["text"])
    return None


def measurement_of(
    resource: Mapping[str, Any], *, device: Mapping[str, Any] | None, with_identity: bool = True
) -> dict[str, Any]:
    """The ingestion's item (``POST .../vitals``) for an Observation; the checks of values, units
    and times are the ingestion's own. ``identifier[0].value`` is the app's ``clientRecordId``
    and ``meta.versionId`` its version (``with_identity``; the import passes its own)."""
    vital = BY_CODE[type_of(resource)]
    errors: list[FieldError] = []
    item: dict[str, Any] = {"type": vital.code}
    if vital.code == BLOOD_PRESSURE:
        found: dict[str, tuple[Any, str | None]] = {}
        for index, component in enumerate(resource.get("component") or []):
            code = component.get("code") if isinstance(component, dict) else None
            codings = code.get("coding") if isinstance(code, dict) else None
            for coding in codings if isinstance(codings, list) else []:
                for part in vital.components:
                    if isinstance(coding, dict) and coding.get("code") == part.loinc:
                        found[part.code] = _quantity_in(
                            component.get("valueQuantity"), f"Observation.component[{index}].valueQuantity", errors
                        )
        missing = [part for part in vital.components if part.code not in found]
        for part in missing:
            errors.append(
                FieldError("Observation.component", f"a component coded {part.loinc} ({part.label}) is required")
            )
        if not missing:
            item["components"] = {part.code: found[part.code][0] for part in vital.components}
            units = {found[part.code][1] for part in vital.components}
            item["unit"] = units.pop() if len(units) == 1 else None
            if item["unit"] is None:
                errors.append(FieldError("Observation.component", "both components in one UCUM unit"))
    else:
        item["value"], item["unit"] = _quantity_in(resource.get("valueQuantity"), "Observation.valueQuantity", errors)
        if item["unit"] is None and isinstance(resource.get("valueQuantity"), dict):
            errors.append(FieldError("Observation.valueQuantity.code", "required: the UCUM unit"))
    effective = resource.get("effectiveDateTime")
    if not isinstance(effective, str):
        errors.append(FieldError("Observation.effectiveDateTime", "required"))
    else:
        item["effectiveAt"] = effective
        try:
            if "T" not in effective or datetime.fromisoformat(effective.replace("Z", "+00:00")).tzinfo is None:
                errors.append(FieldError("Observation.effectiveDateTime", "a date and time with its UTC offset"))
        except ValueError:
            errors.append(FieldError("Observation.effectiveDateTime", "not a FHIR dateTime"))
    if errors:
        raise ObservationRefused(errors)
    moment = _coded(_extension(resource, MOMENT_EXTENSION))
    if moment is not None:
        item["glucoseMoment"] = moment
    position = _coded(_extension(resource, BODY_POSITION_EXTENSION))
    if position is not None:
        item["bodyPosition"] = position
    method = _coded(_extension(resource, RECORDING_METHOD_EXTENSION))
    if method is not None:
        item["recordingMethod"] = method
    site = resource.get("bodySite")
    if isinstance(site, dict) and isinstance(site.get("text"), str):
        item["measurementLocation"] = site["text"]
    notes = [
        str(n["text"]) for n in resource.get("note") or [] if isinstance(n, dict) and isinstance(n.get("text"), str)
    ]
    if notes:
        item["note"] = "\n".join(notes)
    if device is not None:
        item["device"] = _device_item(device)
    if with_identity:
        identifiers = resource.get("identifier") or []
        first = identifiers[0] if isinstance(identifiers, list) and identifiers else None
        if isinstance(first, dict) and first.get("value") is not None:
            item["clientRecordId"] = first["value"]
            meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
            version = meta.get("versionId") if isinstance(meta, dict) else None
            if version is not None:
                item["clientRecordVersion"] = (
                    int(version) if isinstance(version, str) and version.isdigit() else version
                )
    return item


def _device_item(device: Mapping[str, Any]) -> dict[str, Any]:
    identifiers = device.get("identifier") or []
    identifier = next(
        (i["value"] for i in identifiers if isinstance(i, dict) and isinstance(i.get("value"), str)), None
    )
    names = [n.get("name") for n in device.get("deviceName") or [] if isinstance(n, dict)]
    model = device.get("modelNumber") or next((n for n in names if isinstance(n, str)), None)
    found = {"manufacturer": device.get("manufacturer"), "model": model, "identifier": identifier}
    return {key: value for key, value in found.items() if value is not None}


def hidden_in(resource: Mapping[str, Any]) -> bool:
    """Whether the resource says it is restricted (hidden from the representatives)."""
    meta = resource.get("meta")
    security = meta.get("security") if isinstance(meta, dict) else None
    return any(
        isinstance(c, dict) and c.get("system") == CONFIDENTIALITY and c.get("code") == "R" for c in security or []
    )


def tag_in(resource: Mapping[str, Any], system: str) -> tuple[str, str] | None:
    """The (code, display) of the resource's tag of ``system``, if any."""
    meta = resource.get("meta")
    for coding in (meta.get("tag") if isinstance(meta, dict) else None) or []:
        if isinstance(coding, dict) and coding.get("system") == system and isinstance(coding.get("code"), str):
            return coding["code"], str(coding.get("display") or coding["code"])
    return None


# ---------------------------------------------------------------------------------------------
# The space's measures for the export, read in keyset batches


EXPORT_BATCH = 1000


async def observations(
    space_id: UUID, *, with_hidden: bool, batch: int = EXPORT_BATCH
) -> AsyncIterator[list[Resource]]:
    """Every measure of the space as Observations, oldest first, ``batch`` rows per query (keyset
    on ``(effective_at, id)``, the index that serves every read of a space's measures): memory stays
    that of one batch whatever the number of measures. Each ``Device`` comes once, before the first
    Observation that names it. ``with_hidden`` is false for a representative's export."""
    seen_devices: set[str] = set()
    where = "space_id = {}" + ("" if with_hidden else " AND NOT hidden_from_representatives")
    after: tuple[Any, Any] | None = None
    while True:
        args: list[Any] = [space_id]
        condition = where
        if after is not None:
            condition += " AND (effective_at, id) > ({}, {})"
            args += list(after)
        rows = await fetch(
            "SELECT id, effective_at, body, hidden_from_representatives, original_source FROM vital_measurements "
            f"WHERE {condition} ORDER BY effective_at, id LIMIT {{}}",
            *args,
            batch,
        )
        if not rows:
            return
        resources: list[Resource] = []
        for row in rows:
            read = read_of_body(row["body"])
            device = device_of(space_id, read)
            if device is not None and device.id not in seen_devices:
                seen_devices.add(device.id)
                resources.append(device)
            original = _ORIGINAL_SOURCE.decode(row["original_source"]) if row["original_source"] else None
            resources.append(
                observation_of(
                    read,
                    space_id=space_id,
                    hidden=bool(row["hidden_from_representatives"]),
                    original_source=(original.client_id, original.name) if original is not None else None,
                )
            )
        yield resources
        if len(rows) < batch:
            return
        last = rows[-1]
        after = (last["effective_at"], last["id"])


_ORIGINAL_SOURCE = msgspec.json.Decoder(Source)


async def count_measurements(space_id: UUID) -> int:
    """How many measures the space holds (``ens export``'s progress)."""
    rows = await fetch("SELECT COUNT(*) AS n FROM vital_measurements WHERE space_id = {}", space_id)
    return int(rows[0]["n"])
