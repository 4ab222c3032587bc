"""Out: a stored measure as an ``Observation`` of the guide's profile, and the ``Device`` it names."""

from __future__ import annotations

import uuid
from uuid import UUID

import msgspec

from ens.core.fhir import (
    LOINC,
    RESTRICTED,
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
from ens.vitals.catalogue import BLOOD_PRESSURE, BY_CODE, VitalType
from ens.vitals.fhir.codes import (
    BODY_POSITION_EXTENSION,
    BODY_POSITION_SYSTEM,
    DEVICE_ID_SYSTEM,
    GUIDE_QUANTITIES,
    IG_BASE,
    MOMENT_EXTENSION,
    MOMENT_SYSTEM,
    ORIGINAL_SOURCE_TAG,
    PROFILES,
    RECORDING_METHOD_EXTENSION,
    SOURCE_TAG,
    VITAL_SIGNS,
)
from ens.vitals.schemas import ComponentsRead, MeasurementRead

# The measure as it was sent (the API's ``originalValue`` and ``originalUnit``) when it differs
# from the canonical ``valueQuantity``: a UCUM valueQuantity (on each component for a blood
# pressure). ENS's own extension (FHIR R4 has no element for it), named as ENS's others are.
ORIGINAL_QUANTITY_EXTENSION = "urn:ens:fhir:original-quantity"


class ObservationComponent(Element, kw_only=True):
    extension: list[Extension] = []
    code: CodeableConcept
    value_quantity: Quantity | None = None


class Observation(Resource, tag=True, kw_only=True):
    contained: list[Device] = []  # only when read alone: :func:`observation_alone`
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
    code, unit = GUIDE_QUANTITIES.get(vital.code, (vital.unit, vital.unit))
    return Quantity(value=number, unit=unit, system=UCUM, code=code)


def _original(value: float, unit: str, canonical: Quantity, *, always: bool = False) -> list[Extension]:
    """The extension holding what was sent, when it is not the canonical quantity itself (or
    ``always``)."""
    if not always and unit == canonical.code and value == canonical.value:
        return []
    number: float | int = int(value) if float(value).is_integer() else value
    return [
        Extension(
            url=ORIGINAL_QUANTITY_EXTENSION, value_quantity=Quantity(value=number, unit=unit, system=UCUM, code=unit)
        )
    ]


def _loinc(code: str, display: str) -> CodeableConcept:
    return CodeableConcept(coding=[Coding(system=LOINC, code=code, display=display)], text=display)


def observation_of(
    read: MeasurementRead,
    *,
    space_id: UUID,
    hidden: bool = False,
    original_source: tuple[str, str] | None = None,
    client_record: tuple[str, int] | None = None,
) -> Observation:
    """One stored measure as an Observation of the guide's profile for its type.

    ``original_source`` (client id, name) is where an imported measure first came from: kept as a
    tag beside the import, its source now. ``client_record`` (the export's) is the writer's own
    ``clientRecordId`` and ``clientRecordVersion``: ``identifier`` (in the writing app's namespace,
    ``meta.source``) and ``meta.versionId``, as the FHIR door reads them. What was sent, when it
    is not the canonical value, is the extension :data:`ORIGINAL_QUANTITY_EXTENSION`; when the
    measure was last written, ``meta.lastUpdated``."""
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
        original = read.original_value
        pairs = [
            (part, _quantity(canonical, vital), getattr(original, part.code, None))
            for part, canonical in zip(
                vital.components, (read.components.systolic, read.components.diastolic), strict=True
            )
        ]
        # Both components' originals, or neither: they were sent together, in one unit.
        differs = any(sent is not None and _original(sent, read.original_unit, quantity) for _, quantity, sent in pairs)
        components = [
            ObservationComponent(
                extension=_original(sent, read.original_unit, quantity, always=True)
                if differs and sent is not None
                else [],
                code=_loinc(part.loinc, part.label),
                value_quantity=quantity,
            )
            for part, quantity, sent in pairs
        ]
    elif read.value is not None:
        value = _quantity(read.value, vital)
        if not isinstance(read.original_value, ComponentsRead):
            extension += _original(read.original_value, read.original_unit, value)
    identifier: list[Identifier] = []
    version: str | None = None
    if client_record is not None:
        identifier = [Identifier(system=source_uri(read.source.client_id), value=client_record[0])]
        version = str(client_record[1])
    return Observation(
        id=str(read.id),
        meta=Meta(
            version_id=version,
            last_updated=read.updated_at.isoformat(),
            source=source_uri(read.source.client_id),
            profile=[IG_BASE + PROFILES[read.type]],
            tag=tags,
            security=[RESTRICTED] if hidden else [],
        ),
        extension=extension,
        identifier=identifier,
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


def observation_alone(read: MeasurementRead, *, space_id: UUID, hidden: bool) -> Observation:
    """The Observation read on its own (``GET /fhir/Observation/{id}``), its Device contained
    (``device.reference`` ``#<its id>``, the id the search and the export give it): outside a Bundle
    a ``urn:uuid:`` reference resolves to nothing, and there is no Device to read on its own. The
    subject still names the holder's Patient as every Bundle does, which apps are not given."""
    observation = observation_of(read, space_id=space_id, hidden=hidden)
    device = device_of(space_id, read)
    if device is None:
        return observation
    inside = msgspec.structs.replace(device, patient=None)  # the Observation's subject says whose
    return msgspec.structs.replace(observation, contained=[inside], device=Reference(reference=f"#{device.id}"))


_MEASUREMENT = msgspec.json.Decoder(MeasurementRead)


def read_of_body(body: str | bytes) -> MeasurementRead:
    """A stored measure's JSON (``ens.vitals.representation``) as its typed form."""
    return _MEASUREMENT.decode(body)
