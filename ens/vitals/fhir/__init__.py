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

from ens.vitals.fhir.codes import IG_BASE, ORIGINAL_SOURCE_TAG, PROFILES, SOURCE_TAG, UNSUPPORTED_PROFILES
from ens.vitals.fhir.export import EXPORT_BATCH, count_measurements, observations
from ens.vitals.fhir.from_fhir import (
    DEVICE_ELEMENTS,
    DEVICE_FHIRPATHS,
    FHIRPATH_OF_FIELD,
    ObservationRefused,
    check_elements,
    client_record_id,
    device_item,
    device_reference,
    fhirpath_of,
    measurement_of,
    tag_in,
    type_of,
    unstored_device_elements,
    unstored_elements,
)
from ens.vitals.fhir.to_fhir import (
    Device,
    Observation,
    device_id,
    device_of,
    observation_alone,
    observation_of,
    read_of_body,
    source_uri,
)

__all__ = [
    "DEVICE_ELEMENTS",
    "DEVICE_FHIRPATHS",
    "EXPORT_BATCH",
    "FHIRPATH_OF_FIELD",
    "IG_BASE",
    "ORIGINAL_SOURCE_TAG",
    "PROFILES",
    "SOURCE_TAG",
    "UNSUPPORTED_PROFILES",
    "Device",
    "Observation",
    "ObservationRefused",
    "check_elements",
    "client_record_id",
    "count_measurements",
    "device_id",
    "device_item",
    "device_of",
    "device_reference",
    "fhirpath_of",
    "measurement_of",
    "observation_alone",
    "observation_of",
    "observations",
    "read_of_body",
    "source_uri",
    "tag_in",
    "type_of",
    "unstored_device_elements",
    "unstored_elements",
]
