"""The records as FHIR R4 resources, for the space's export (a ``Bundle`` of type ``collection``).

- advance directives -> ``Consent`` (scope ``adr``), the printed PDF as its source attachment;
- the trusted person and the emergency contacts -> ``RelatedPerson``;
- the doctor -> ``Practitioner``, also referenced from ``Patient.generalPractitioner``;
- the profile -> ``Condition``, ``AllergyIntolerance``, ``MedicationStatement``, ``FamilyMemberHistory``.

References follow the one scheme of :mod:`ens.core.fhir` (``urn:uuid:<id>``, the Patient
``urn:uuid:<space id>``).
"""

from __future__ import annotations

from ens.records.fhir.from_fhir import FHIRPATHS, NOT_IMPORTED, import_record, is_trusted_person
from ens.records.fhir.to_fhir import RecordsFhir, directives_as_fhir, records_as_fhir

__all__ = [
    "FHIRPATHS",
    "NOT_IMPORTED",
    "RecordsFhir",
    "directives_as_fhir",
    "import_record",
    "is_trusted_person",
    "records_as_fhir",
]
