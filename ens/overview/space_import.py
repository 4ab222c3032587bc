"""The space import (``POST /v1/spaces/{space}/import``): an export's Bundle into an empty space.

The Bundle is read entry by entry as it arrives (ijson's C parser over the request's stream), with
its own size limit (``ENS_IMPORT_MAX_BYTES``, far above the normal body limit), and every item goes
through its capability's own service, as if typed or sent again: the same checks and rules. The
whole import is one transaction (with the request's access-history row): a refused entry leaves
the space empty, as it was.

Imported measures name the import as their source (``Import FHIR``) and keep the source they had
as a tag (``urn:ens:fhir:original-source``) and their hidden flag; each keeps its former id as its
``clientRecordId``. The holder's identity is the space's own (the ``Patient`` is not imported);
advance directives and the trusted person are the holder's own signed acts and are left to do
again (the answer says so).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import ijson
import msgspec

from ens.core.api import ReadStruct
from ens.core.db import serialise, write_transaction
from ens.core.errors import Conflict, FieldError, Invalid, PayloadTooLarge
from ens.core.fhir import is_restricted
from ens.documents.fhir import NOT_IMPORTED as DOCUMENTS_NOT_IMPORTED
from ens.records.fhir import NOT_IMPORTED, import_record, is_trusted_person
from ens.spaces.door import SpaceAccess
from ens.spaces.rights import Action
from ens.spaces.service import holds_data
from ens.vaccination.fhir import vaccination_of
from ens.vaccination.schemas import VaccinationCreate
from ens.vaccination.service import record_vaccination
from ens.vitals.fhir import (
    ORIGINAL_SOURCE_TAG,
    SOURCE_TAG,
    ObservationRefused,
    fhirpath_of,
    measurement_of,
    tag_in,
)
from ens.vitals.ingest import MAX_BATCH, Imported, record_measurements


class NotImported(ReadStruct):
    resource_type: str
    count: int
    reason: str


class ImportResult(ReadStruct):
    # Per resource type, how many items the space now holds from the Bundle.
    imported: dict[str, int]
    not_imported: list[NotImported]


class _Limited:
    """The request's stream as the file ijson reads, refusing past ``limit`` bytes."""

    def __init__(self, chunks: AsyncIterator[bytes], limit: int) -> None:
        self._chunks = chunks
        self._limit = limit
        self._read = 0
        self._buffer = b""

    async def read(self, size: int = -1) -> bytes:
        while not self._buffer:
            try:
                chunk = await anext(self._chunks)
            except StopAsyncIteration:
                return b""
            self._read += len(chunk)
            if self._read > self._limit:
                raise PayloadTooLarge(f"An import holds at most {self._limit} bytes (ENS_IMPORT_MAX_BYTES).")
            self._buffer = chunk
        size = len(self._buffer) if size < 0 else size
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


def _located(exc: Invalid, index: int) -> Invalid:
    where = f"/entry/{index}/resource"
    errors = [FieldError(where + (e.pointer if e.pointer.startswith("/") else ""), e.detail) for e in exc.errors]
    return Invalid(f"entry {index}: {exc.detail}", errors or [FieldError(where, exc.detail)])


async def import_bundle(access: SpaceAccess, chunks: AsyncIterator[bytes], *, max_bytes: int) -> ImportResult:
    """Import an exported Bundle into the caller's empty space, all of it or nothing."""
    imported: Counter[str] = Counter()
    left: Counter[str] = Counter()
    devices: dict[str, dict[str, Any]] = {}
    measures: list[dict[str, Any]] = []
    origins: list[Imported] = []
    positions: list[int] = []  # each pending measure's entry in the Bundle

    async def flush() -> None:
        if not measures:
            return
        try:
            await record_measurements(access, measures, imported=origins)
        except Invalid as exc:
            # The ingestion names /measurements/<k>/<field>: the k-th pending measure's entry.
            located = []
            for error in exc.errors:
                parts = error.pointer.split("/")
                entry = positions[int(parts[2])] if len(parts) > 2 and parts[2].isdigit() else positions[0]
                located.append(FieldError(f"/entry/{entry}/resource", f"{fhirpath_of(error.pointer)}: {error.detail}"))
            raise Invalid(f"entry {located[0].pointer.split('/')[2]}: {exc.detail}", located) from None
        imported["Observation"] += len(measures)
        measures.clear()
        origins.clear()
        positions.clear()

    reader = _Limited(chunks, max_bytes)
    index = -1
    async with write_transaction():
        # Two imports at once (a client retrying a slow one) would both find the space empty.
        await serialise(f"import:{access.space_id}")
        if await holds_data(access.space_id):
            raise Conflict("A space receives an import only while it is empty.")
        try:
            async for entry in ijson.items_async(reader, "entry.item", use_float=True):
                index += 1
                resource = entry.get("resource") if isinstance(entry, dict) else None
                kind = resource.get("resourceType") if isinstance(resource, dict) else None
                if not isinstance(resource, dict) or not isinstance(kind, str):
                    raise Invalid("Each entry holds a resource.", [FieldError(f"/entry/{index}", "no resource")])
                try:
                    if kind == "Patient":
                        continue  # the holder's identity is the space's own
                    if kind == "Device":
                        devices[str(entry.get("fullUrl"))] = resource
                    elif kind == "Observation":
                        named = (resource.get("device") or {}).get("reference")
                        item = measurement_of(resource, device=devices.get(named or ""), with_identity=False)
                        item["clientRecordId"] = str(resource.get("id") or index)
                        measures.append(item)
                        positions.append(index)
                        source = tag_in(resource, ORIGINAL_SOURCE_TAG) or tag_in(resource, SOURCE_TAG)
                        hidden = is_restricted(resource)
                        if hidden:
                            # Hiding is the holder's alone, here as for every other hideable item: a
                            # parent's import must not hide measures from the other parent for good.
                            access.require(Action.HIDE_FROM_REPRESENTATIVES)
                        origins.append(Imported(original_source=source, hidden=hidden))
                        if len(measures) == MAX_BATCH:
                            await flush()
                    elif kind == "Immunization":
                        body = msgspec.convert(vaccination_of(resource), VaccinationCreate)
                        await record_vaccination(access, body)
                        imported[kind] += 1
                    elif kind == "Consent":
                        left["Consent"] += 1
                    elif kind == "RelatedPerson" and is_trusted_person(resource):
                        left["TrustedPerson"] += 1
                    elif await import_record(access, resource, hidden=is_restricted(resource)):
                        imported[kind] += 1
                    else:
                        left[kind] += 1
                except ObservationRefused as exc:
                    raise Invalid(f"entry {index}: {exc}", [FieldError(f"/entry/{index}/resource", str(exc))]) from None
                except msgspec.ValidationError as exc:
                    raise Invalid(f"entry {index}: {exc}", [FieldError(f"/entry/{index}/resource", str(exc))]) from None
                except Invalid as exc:
                    raise _located(exc, index) from None
                except (AttributeError, TypeError, KeyError, ValueError) as exc:
                    # A resource whose parts are not of the types FHIR gives them (a string where an
                    # object goes...): the mappings read FHIR JSON, not any JSON.
                    detail = f"not a {kind} as FHIR R4 shapes it ({type(exc).__name__})"
                    raise Invalid(
                        f"entry {index}: {detail}", [FieldError(f"/entry/{index}/resource", detail)]
                    ) from None
            await flush()
        except ijson.JSONError as exc:
            raise Invalid("The body is not a FHIR Bundle in JSON.", [FieldError("", str(exc)[:200])]) from None
    known = {**NOT_IMPORTED, **DOCUMENTS_NOT_IMPORTED}
    reasons = {kind: known.get(kind, "not a kind of item ENS keeps") for kind in left}
    return ImportResult(
        imported=dict(sorted(imported.items())),
        not_imported=[NotImported(resource_type=k, count=n, reason=reasons[k]) for k, n in sorted(left.items())],
    )
