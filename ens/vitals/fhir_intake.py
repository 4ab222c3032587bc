"""The FHIR door for labelled apps (``/fhir``), after the ANS "Mesures de santé" guide.

``POST /fhir`` takes the guide's feeding Bundle (``MesBundleFluxAlimentation``: a ``transaction`` of
one Observation of one of its profiles and at most one ``Device``, each ``POST``) and answers a
``transaction-response`` Bundle. The Observation becomes the item ``POST .../vitals`` takes and goes
through the one ingestion service, :func:`ens.vitals.ingest.record_measurements`: same scopes,
rules, units, idempotency (``identifier[0]`` is the app's ``clientRecordId``, ``system|value`` or
its value alone: :func:`ens.vitals.fhir.client_record_id`; ``meta.versionId`` its version) and
access history. Devices are not kept apart: ENS keeps what identifies the device with each measure,
so ``ifNoneExist`` always finds it (``200 OK``) and its id is derived from what identifies it
(:func:`ens.vitals.fhir.device_id`), the same one the export gives. The Device must be the one the
Observation names (a Device no measure names would be kept nowhere: 422). An Observation labelled
restricted (``meta.security`` R) is stored hidden from the representatives, as the import reads the
label: an app the holder connected may, one a representative connected may not (403).

A retry stores nothing twice when the request says what it is: the Observation's identifier (a
re-send is ``200 OK``), a conditional create (the Observation entry's ``request.ifNoneExist``, or
the ``If-None-Exist`` header, ``identifier=system|value``: the measure stored under it is answered
and left as it is), or an ``Idempotency-Key`` (the middleware replays the first answer). An
Observation with neither identifier nor key is a new measure at each POST.

``GET /fhir/Observation?code=&date=`` searches the measures an app may read (``searchset``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import msgspec

from ens.core import clock
from ens.core.api import Cursors
from ens.core.errors import BadRequest, FieldError, Forbidden, Gone, Invalid, NotFound, NotSupported
from ens.core.fhir import (
    FHIR_JSON,
    Element,
    OperationOutcome,
    OperationOutcomeIssue,
    Resource,
    check_id_and_meta,
    encode,
    full_url,
    is_restricted,
    preferences,
)
from ens.core.local_time import EARLIEST_YEAR, LATEST_YEAR, local_midnight, zone_of
from ens.core.strict_json import JSON, refuse_duplicate_members
from ens.core.text_direction import refuse_direction_controls
from ens.spaces.door import SpaceAccess
from ens.vitals.fhir import (
    DEVICE_ELEMENTS,
    PROFILES,
    Device,
    Observation,
    ObservationRefused,
    check_elements,
    device_id,
    device_of,
    device_reference,
    fhirpath_of,
    measurement_of,
    observation_alone,
    observation_of,
    source_uri,
    type_of,
    unstored_device_elements,
    unstored_elements,
)
from ens.vitals.ingest import MayNotHide, record_measurements, was_deleted
from ens.vitals.measurement import get_measurement, was_deleted_in_view
from ens.vitals.reads import count_measurements, list_measurements, readable_types
from ens.vitals.schemas import MeasurementRead

__all__ = ["FHIR_JSON", "capability_statement", "search_observations", "take_transaction"]


class EntryResponse(Element, kw_only=True):
    status: str
    location: str | None = None
    outcome: OperationOutcome | None = None


class ResponseEntry(Element, kw_only=True):
    full_url: str | None = None
    resource: Resource | None = None  # return=representation only
    response: EntryResponse


class TransactionResponse(Resource, tag="Bundle", kw_only=True):
    type: str
    timestamp: str
    entry: list[ResponseEntry]


# What an entry answering a record deleted since it was first sent says (FHIR issue type "deleted").
_DELETED_ISSUE = OperationOutcomeIssue(
    severity="information",
    code="deleted",
    diagnostics="This measure was deleted from the space since it was first sent; sent again, it stays "
    "deleted and nothing is stored. Send it with a higher meta.versionId and without a conditional "
    "create to record it anew.",
)


def _warnings(unstored: Sequence[FieldError], at: str, kind: str) -> list[OperationOutcomeIssue]:
    """The elements ENS took and does not store, each a ``warning`` issue at its FHIRPath in the
    Bundle (``at``, the resource's, in place of ``kind``): FHIR lets a server keep less than it is
    sent (its "Managing updates" page), and its transaction-response carries, per entry, an
    OperationOutcome of hints and warnings (``Bundle.entry.response.outcome``). Issue type
    ``not-supported``: content the server does not support."""
    return [
        OperationOutcomeIssue(
            severity="warning",
            code="not-supported",
            diagnostics=e.detail,
            expression=[at + e.pointer.removeprefix(kind)],
        )
        for e in unstored
    ]


def _outcome(issues: list[OperationOutcomeIssue]) -> OperationOutcome | None:
    return OperationOutcome(id=str(uuid4()), issue=issues) if issues else None


def _informed(diagnostics: str) -> OperationOutcomeIssue:
    """What a ``return=OperationOutcome`` entry says of what was done (FHIR issue type
    ``informational``: the entry succeeded), beside any warning of what was not stored."""
    return OperationOutcomeIssue(severity="information", code="informational", diagnostics=diagnostics)


# What the Observation entry's outcome says (return=OperationOutcome), by the ingestion's result.
_DONE = {
    "created": "Stored as a new measure.",
    "replaced": "Replaced the measure stored under the Observation's identifier (a higher meta.versionId).",
    "unchanged": "Already stored under the Observation's identifier (the same or a lower meta.versionId, or a "
    "conditional create's): left as it is, nothing stored.",
}
_DEVICE_KEPT = (
    "Kept with the measure that names it: ENS keeps what identifies a device with each measure, as no resource of "
    "its own."
)
# What the entries say when return=representation cannot be given: the read's rules (a type the app
# may not read, a measure hidden from the representative who connected the app) apply to it.
_NOT_READABLE = (
    "The measure is stored; it is not given back, as GET /fhir/Observation/{id} would not give it to this app "
    "(it may not read this type)."
)


def _entries(bundle: Any) -> list[Any]:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise Invalid("Send a FHIR Bundle.", [FieldError("Bundle", "resourceType must be Bundle")])
    if bundle.get("type") != "transaction":
        raise Invalid("The Bundle must be a transaction.", [FieldError("Bundle.type", "must be transaction")])
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        raise Invalid("The Bundle holds no entry.", [FieldError("Bundle.entry", "one Observation is required")])
    return entries


def _contained_device(observation: Mapping[str, Any], named: str, prefix: str) -> tuple[dict[str, Any], str]:
    """The Device ``observation`` contains under the id ``named`` (``#<id>``) gives, and its FHIRPath;
    422 at the Observation's ``device`` when it contains none of that id."""
    contained = observation.get("contained")
    for at, resource in enumerate(contained if isinstance(contained, list) else []):
        if (
            isinstance(resource, dict)
            and resource.get("resourceType") == "Device"
            and isinstance(resource.get("id"), str)  # one without an id was met by "#None"
            and f"#{resource['id']}" == named
        ):
            return resource, f"{prefix}.contained[{at}]"
    raise Invalid(
        "The Observation's device is not in the Bundle, nor contained.",
        [FieldError(f"{prefix}.device", f"{named[:64]!r} names no Device the Observation contains")],
    )


def _hash_references(value: Any) -> set[str]:
    """Every local reference (``#<id>``, or ``#``: the container) in ``value``: a Reference's
    ``reference``, and a canonical or uri that names one, as FHIR's dom-3 reads them."""
    if isinstance(value, str):
        return {value} if value.startswith("#") else set()
    inner = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return set().union(*(_hash_references(part) for part in inner)) if inner else set()


def _referenced(observation: Mapping[str, Any], at: int) -> bool:
    """Whether the Observation's ``contained[at]`` is referenced from elsewhere in it, or itself
    refers to the Observation (``#``), as FHIR R4's dom-3 asks."""
    contained = observation["contained"]
    resource = contained[at]
    if "#" in _hash_references(resource):
        return True
    elsewhere = {name: value for name, value in observation.items() if name != "contained"}
    others = [other for index, other in enumerate(contained) if index != at]
    found = _hash_references(elsewhere) | _hash_references(others)
    return isinstance(resource.get("id"), str) and f"#{resource['id']}" in found


def _creates(url: Any, kind: str) -> bool:
    """Whether an entry's ``request.url`` creates a resource of type ``kind``: the type, relative
    to the door's base (``/Observation`` too), or an absolute URL of a base and the type. A
    relative ``Patient/<id>/Observation`` had been taken for ``Observation`` (a review of 9d3c613):
    relative to the base it names a compartment, no create FHIR R4 defines."""
    if not isinstance(url, str):
        return False
    if url in (kind, f"/{kind}"):
        return True
    parts = urlsplit(url)
    absolute = bool(parts.scheme and parts.netloc) and not (parts.query or parts.fragment)
    return absolute and parts.path.endswith(f"/{kind}")


def _refuse_malformed(resource: Mapping[str, Any], at: str) -> None:
    """422 (at ``at``, the resource's FHIRPath in the Bundle) for what every resource shares, not
    of the type FHIR gives it — its ``id`` and ``meta`` (:func:`ens.core.fhir.check_id_and_meta`) —
    and an Observation's ``device`` (:func:`ens.vitals.fhir.device_reference`), as the space import
    refuses them. The door read them as absent: a "restricted" label sent as one Coding stored the
    measure visible to the representatives, a device reference of 5 stored it without its device
    (an outside audit)."""
    kind = str(resource.get("resourceType"))
    errors: list[FieldError] = []
    check_id_and_meta(resource, errors)
    if kind == "Observation":
        device_reference(resource, errors)
    if errors:
        located = [FieldError(at + error.pointer.removeprefix(kind), error.detail) for error in errors]
        raise Invalid(f"{located[0].pointer} is not of the type FHIR gives it.", located)


def _subject_is_the_space(subject: Any, access: SpaceAccess) -> bool:
    if subject is None:
        return True
    reference = subject.get("reference") if isinstance(subject, dict) else None
    own = str(access.space_id)
    return isinstance(reference, str) and reference in (f"Patient/{own}", full_url(own))


def _located(exc: Invalid | ObservationRefused, prefix: str, observation: Mapping[str, Any]) -> list[FieldError]:
    """The ingestion's pointers (``/measurements/0/value``) or the mapping's FHIRPaths, under the
    entry they belong to (``Bundle.entry[1].resource.valueQuantity.value``)."""
    located = []
    for error in exc.errors:
        path = error.pointer if error.pointer.startswith("Observation") else fhirpath_of(error.pointer, observation)
        located.append(FieldError(prefix + path.removeprefix("Observation"), error.detail))
    return located


# Where a Device's part the ingestion keeps (``device_item``) was read from in the Device.
_DEVICE_ELEMENT_OF = {"manufacturer": "manufacturer", "identifier": "identifier[0].value"}


def _refuse_direction_controls(
    item: Mapping[str, Any],
    *,
    observation: Mapping[str, Any],
    prefix: str,
    device: Mapping[str, Any] | None,
    where: str,
) -> None:
    """422 for a text the measure would keep (its note, its place, its identifier, what identifies
    its Device) holding a direction control, at the element it was read from, as every route's JSON
    body refuses one (``ens.core.strict_json``) and the import does: the door reads its Bundle itself,
    through no route's Struct, and had taken them (a review)."""
    errors: list[FieldError] = []
    refuse_direction_controls(item, errors=errors)
    if not errors:
        return
    located: list[FieldError] = []
    for error in errors:
        field, _, part = error.pointer.strip("/").partition("/")
        if field == "device" and device is not None:
            model = "modelNumber" if device.get("modelNumber") else "deviceName"
            element = _DEVICE_ELEMENT_OF.get(part, model)
            located.append(FieldError(f"{where}.{element}", error.detail))
        else:
            path = fhirpath_of(f"/measurements/0/{field}", observation)
            located.append(FieldError(prefix + path.removeprefix("Observation"), error.detail))
    raise Invalid("A text of the measure holds a direction control.", located)


def _first_valueless(value: Any) -> tuple[str, str] | None:
    """The JSON Pointer of the body's first ``null``, empty object or empty list, and which it is.
    FHIR's JSON has none (an element has a value or children, ele-1), and the door read each as
    absent: ``identifier: [null]`` stored the measure with no record id, so that each retry stored
    it again, nothing said (an outside audit); ``note: [{}]`` was no note. The import refuses them
    too. (The body itself, and its ``entry``, empty are :func:`_entries`' refusals.)"""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        at, held = stack.pop()
        if held is None:
            return at, "null"
        if isinstance(held, dict | list) and not held and at not in ("", "/entry"):
            return at, "an empty object" if isinstance(held, dict) else "an empty list"
        if isinstance(held, dict):
            stack.extend(
                (f"{at}/{name.replace('~', '~0').replace('/', '~1')}", v) for name, v in reversed(held.items())
            )
        elif isinstance(held, list):
            stack.extend((f"{at}/{index}", v) for index, v in reversed(list(enumerate(held))))
    return None


def _fhirpath(pointer: str) -> str:
    """A JSON Pointer into the Bundle as FHIR locates it: ``/entry/1/resource`` → ``Bundle.entry[1].resource``."""
    steps = [step.replace("~1", "/").replace("~0", "~") for step in pointer.split("/")[1:]]
    return "Bundle" + "".join(f"[{step}]" if step.isdigit() else f".{step}" for step in steps)


# What a conditional create may ask (FHIR's If-None-Exist, a Bundle entry's request.ifNoneExist).
_CONDITION_TAKEN = "identifier=system|value (or identifier=value): the one search ENS runs for a conditional create"


def _condition(request: Mapping[str, Any], header: str | None, where: str) -> tuple[str | None, str] | None:
    """The identifier a conditional create names (its ``system``, ``None`` for any, and its value):
    the entry's ``ifNoneExist`` or the ``If-None-Exist`` header (both given, they say the same).

    ``identifier=[system|]value``, a query string (percent-encoded or not; FHIR's escapes ``\\|``,
    ``\\,`` and ``\\\\`` within the token); any other search is 400: a condition ignored would let
    every retry store the measure again."""
    given = request.get("ifNoneExist")
    if given is not None and not isinstance(given, str):
        raise BadRequest("ifNoneExist is a string.", [FieldError(where, f"a string: {_CONDITION_TAKEN}")])
    if header is not None and given is not None and header != given:
        raise BadRequest(
            "The If-None-Exist header and the Observation entry's request.ifNoneExist say two different things: "
            "send one of them."
        )
    criteria = given if given is not None else header
    if criteria is None:
        return None
    located = [FieldError(where, _CONDITION_TAKEN)] if given is not None else []
    refused = BadRequest(f"{'ifNoneExist' if given is not None else 'If-None-Exist'}: {_CONDITION_TAKEN}.", located)
    name, equals, token = criteria.partition("=")
    if name.strip() != "identifier" or not equals or "&" in token:
        raise refused
    token = unquote(token)
    values = _split_unescaped(token, ",")
    parts = _split_unescaped(token, "|")
    if len(values) != 1 or len(parts) > 2 or not _unescaped(parts[-1]):
        raise refused
    system = _unescaped(parts[0]) if len(parts) == 2 else None
    return system, _unescaped(parts[-1])


def _check_condition(condition: tuple[str | None, str], observation: Mapping[str, Any], where: str) -> None:
    """The identifier the condition names must be the Observation's own ``identifier[0]`` (what ENS
    finds a measure by, its ``clientRecordId``): otherwise the measure stored would never match the
    condition, and a retry would store it again (422)."""
    system, value = condition
    identifiers = observation.get("identifier")
    first = identifiers[0] if isinstance(identifiers, list) and identifiers else None
    own = first if isinstance(first, dict) else {}
    own_system = own.get("system") or ""
    if own.get("value") != value or (system is not None and system != own_system):
        detail = (
            "names an identifier that is not the Observation's identifier[0] (system|value): ENS finds a measure "
            "by it, so the measure stored would never match and a retry would store it again"
        )
        raise Invalid(
            "The conditional create names an identifier the Observation does not carry.", [FieldError(where, detail)]
        )


async def take_transaction(
    access: SpaceAccess, body: bytes, *, if_none_exist: str | None = None, prefer: str | None = None
) -> bytes:
    """Store the Bundle's Observation (and what its Device says) as one measure; the answer is the
    ``transaction-response`` Bundle, its entries in the request's order.

    A conditional create (the Observation entry's ``request.ifNoneExist``, or ``if_none_exist``,
    the ``If-None-Exist`` header, read as that entry's: the Bundle holds one Observation) finds the
    measure the app stored under the identifier it names and leaves it as it is (:func:`_condition`).

    ``prefer``, the ``Prefer`` header, says what each entry answers (FHIR's http.html, "Managing
    Return Content"; for a transaction, each entry's): ``return=minimal`` (the default) its status
    and location, ``return=representation`` also the resource as the read gives it
    (:func:`_represented`), ``return=OperationOutcome`` an outcome saying what was done. It had been
    ignored (a review). An entry whose measure stays deleted says so whatever was asked."""
    try:
        bundle = JSON.decode(body)  # 1e400 read as inf: refused where it stands, out of range
    except msgspec.DecodeError:
        raise BadRequest("The body is not JSON.", [FieldError("Bundle", "not JSON")]) from None
    try:
        refuse_duplicate_members(body, bundle)
    except Invalid as exc:
        raise Invalid(exc.detail, [FieldError(_fhirpath(e.pointer), e.detail) for e in exc.errors]) from None
    valueless = _first_valueless(bundle) if isinstance(bundle, dict) else None
    if valueless is not None:
        place, what = valueless
        if what == "null":
            raise Invalid(
                "The body holds a null: FHIR's JSON gives an element a value or leaves it out.",
                [FieldError(_fhirpath(place), "null: give a value, or leave the element out")],
            )
        raise Invalid(
            f"The body holds {what}: FHIR's JSON leaves an element with nothing in it out.",
            [FieldError(_fhirpath(place), f"{what}: give what it holds, or leave the element out")],
        )
    entries = _entries(bundle)
    observations: list[tuple[int, dict[str, Any]]] = []
    devices: list[tuple[int, dict[str, Any]]] = []
    device_names: set[str] = set()
    requested: Mapping[str, Any] = {}
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        request = entry.get("request") if isinstance(entry, dict) else None
        method = request.get("method") if isinstance(request, dict) else None
        if not isinstance(resource, dict) or kind not in ("Observation", "Device") or method != "POST":
            raise Invalid(
                "Each entry POSTs an Observation or a Device.",
                [FieldError(f"Bundle.entry[{index}]", "an Observation or a Device, with request.method POST")],
            )
        if not _creates(request.get("url") if isinstance(request, dict) else None, kind):
            # The transaction creates what the url names: an Observation POSTed to Device, Patient
            # or an id had been stored as if it said Observation (an outside audit).
            raise Invalid(
                f"The entry POSTs a {kind}: its request.url names that type.",
                [FieldError(f"Bundle.entry[{index}].request.url", f"{kind} (the type of the entry's resource)")],
            )
        if not isinstance(entry.get("fullUrl", ""), str):
            # Taken as no fullUrl: an Observation naming the Device by it found no Device.
            raise Invalid(
                "An entry's fullUrl is a string.",
                [FieldError(f"Bundle.entry[{index}].fullUrl", "a string: the entry's URI (urn:uuid:<id>)")],
            )
        _refuse_malformed(resource, f"Bundle.entry[{index}].resource")
        if kind == "Observation":
            observations.append((index, resource))
            requested = request if isinstance(request, dict) else {}
        else:
            devices.append((index, resource))
            names = (entry.get("fullUrl"), f"Device/{resource['id']}" if isinstance(resource.get("id"), str) else None)
            device_names.update(name for name in names if isinstance(name, str))
    # Entries are counted, not their names: two copies of one Device are two Devices.
    if len(observations) != 1 or len(devices) > 1:
        raise Invalid(
            "The guide's Bundle holds one Observation and at most one Device.",
            [FieldError("Bundle.entry", "one Observation and at most one Device")],
        )
    index, observation = observations[0]
    prefix = f"Bundle.entry[{index}].resource"
    condition = _condition(requested, if_none_exist, f"Bundle.entry[{index}].request.ifNoneExist")
    if not _subject_is_the_space(observation.get("subject"), access):
        raise Invalid(
            "The Observation's subject must be absent or the token's own space.",
            [FieldError(f"{prefix}.subject", f"absent, or Patient/{access.space_id}")],
        )
    named = device_reference(observation, [])  # (of its type: _refuse_malformed)
    device, where = None, ""
    contained = isinstance(named, str) and named.startswith("#")
    if devices and (not isinstance(named, str) or contained):
        # ENS keeps a device only with the measure that names it: a Device the Observation does not
        # name would be kept nowhere, and a 200 with its location would name what no read or export
        # gives.
        raise Invalid(
            "The Bundle's Device is not the Observation's: ENS keeps a device only with the measure that names it.",
            [
                FieldError(
                    f"Bundle.entry[{devices[0][0]}]",
                    "a Device the Observation names (Observation.device.reference = the Device's fullUrl), or none",
                )
            ],
        )
    if isinstance(named, str) and contained:
        # A Device the Observation contains (the shape GET /fhir/Observation/<id> answers): it had
        # been refused as naming no Bundle entry (an outside audit).
        device, where = _contained_device(observation, named, prefix)
        _refuse_malformed(device, where)
    elif isinstance(named, str):
        if named not in device_names:
            raise Invalid(
                "The Observation's device is not in the Bundle.",
                [FieldError(f"{prefix}.device", "must name the Bundle's Device (its fullUrl) or a contained one")],
            )
        device, where = devices[0][1], f"Bundle.entry[{devices[0][0]}].resource"
    inside = observation.get("contained")
    for at, resource in enumerate(inside if isinstance(inside, list) else []):
        if isinstance(resource, dict) and resource.get("resourceType") != "Device" and not _referenced(observation, at):
            # FHIR R4's dom-3: a contained resource is referenced from elsewhere in the resource. One
            # nothing references was taken and dropped without a word (a review); one referenced is
            # dropped with what references it, and named in the entry's outcome.
            raise Invalid(
                "The Observation contains a resource nothing in it references (FHIR's dom-3).",
                [
                    FieldError(
                        f"{prefix}.contained[{at}]", "a contained resource is referenced from the Observation (#<id>)"
                    )
                ],
            )
        if isinstance(resource, dict) and resource.get("resourceType") == "Device" and resource is not device:
            # Kept nowhere, as a Device entry the Observation does not name: a second Device of the
            # named id, or one beside a Device entry, had been taken and dropped (a review of 447787d).
            raise Invalid(
                "The Observation contains a Device it does not name: ENS keeps a device only with the measure "
                "that names it.",
                [FieldError(f"{prefix}.contained[{at}]", "the Device the Observation's device names (#<id>), or none")],
            )
    if device is not None:
        device_errors: list[FieldError] = []
        check_elements(device, DEVICE_ELEMENTS, device_errors)
        if device_errors:
            raise Invalid(
                "The Device is not one FHIR R4 shapes.",
                [FieldError(where + e.pointer.removeprefix("Device"), e.detail) for e in device_errors],
            )
    try:
        item = measurement_of(
            observation,
            device=device,
            zone=zone_of(access.space.timezone),
            own_system=source_uri(access.caller.client_id),
        )
    except ObservationRefused as exc:
        error_type = NotSupported if exc.unsupported else Invalid
        raise error_type(str(exc), _located(exc, prefix, observation)) from None
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        # Parts not of the types FHIR gives them (a string where an object goes...).
        detail = f"not an Observation as FHIR R4 shapes it ({type(exc).__name__})"
        raise Invalid(detail, [FieldError(prefix, detail)]) from None
    if device is not None and not item.get("device"):
        raise Invalid(
            "The Device says nothing ENS keeps of a device: its manufacturer, model or identifier.",
            [FieldError(where, "a manufacturer, a modelNumber (or deviceName) or an identifier.value")],
        )
    _refuse_direction_controls(item, observation=observation, prefix=prefix, device=device, where=where)
    if condition is not None:
        _check_condition(condition, observation, f"Bundle.entry[{index}].request.ifNoneExist")
    if is_restricted(observation):
        # The restricted label (meta.security R, as the export writes a hidden measure and the
        # import reads it): the measure is stored hidden from the representatives, never visible.
        item["hiddenFromRepresentatives"] = True
    try:
        result = await record_measurements(access, [item], keep_stored=condition is not None)
    except Invalid as exc:
        raise Invalid(exc.detail, _located(exc, prefix, observation)) from None
    except MayNotHide as exc:
        raise Forbidden(exc.detail, [FieldError(f"{prefix}.meta.security", exc.detail)]) from None
    except Forbidden as exc:
        raise Forbidden(f"Consent not given: {exc.detail}") from None
    stored = result.items[0]
    # A record someone deleted, sent again, stays deleted: the entry says so, since the location
    # it names reads nothing.
    deleted = stored.result == "unchanged" and await was_deleted(access.space_id, stored.id)
    # What was taken and not stored is said in the entry that sent it (a contained Device's in the
    # Observation's): accepted, since devices send more than a measure, never dropped without a word.
    said = ([_DELETED_ISSUE] if deleted else []) + _warnings(unstored_elements(observation), prefix, "Observation")
    device_said: list[OperationOutcomeIssue] = []
    if device is not None:
        (said if contained else device_said).extend(_warnings(unstored_device_elements(device), where, "Device"))
    wanted = preferences(prefer).get("return")
    represented = await _represented(access, stored.id) if wanted == "representation" and not deleted else None
    if wanted == "operationoutcome":  # said by a Device entry of the Bundle, if it has one
        device_said.insert(0, _informed(_DEVICE_KEPT))
    answered: list[ResponseEntry] = []
    for position, _ in enumerate(entries):
        if position == index:
            status = "201 Created" if stored.result == "created" else "200 OK"
            if not deleted and wanted == "operationoutcome":
                said.insert(0, _informed(_DONE[stored.result]))
            elif not deleted and wanted == "representation" and represented is None:
                said.insert(0, _informed(_NOT_READABLE))
            answered.append(
                ResponseEntry(
                    full_url=full_url(stored.id),
                    resource=represented[0] if represented is not None else None,
                    response=EntryResponse(status=status, location=f"Observation/{stored.id}", outcome=_outcome(said)),
                )
            )
        else:
            # The Bundle's one Device, which the Observation names: kept with the measure, it has
            # the id every read and export gives it (its fullUrl). It is no resource of its own, so
            # no location: "Device/<id>" named what no read gives (an outside audit).
            parts = item["device"]
            found = device_id(access.space_id, parts.get("manufacturer"), parts.get("model"), parts.get("identifier"))
            answered.append(
                ResponseEntry(
                    full_url=full_url(found),
                    resource=represented[1] if represented is not None else None,
                    response=EntryResponse(status="200 OK", outcome=_outcome(device_said)),
                )
            )
    return encode(
        TransactionResponse(
            id=str(uuid4()), type="transaction-response", timestamp=clock.now().isoformat(), entry=answered
        )
    )


async def _represented(access: SpaceAccess, measurement_id: UUID) -> tuple[Observation, Device | None] | None:
    """``return=representation``: the measure stored as ``GET /fhir/Observation/{id}`` reads it (its
    Device contained), and that Device as the search includes it (the Device entry's resource, its
    ``fullUrl`` the id both give it); ``None`` where the read would not give it to this app (a type
    it may not read, a measure the holder hid from the representative who connected it): what it
    sent is given back only by the rules of the read."""
    try:
        read = _READ.decode(bytes(await get_measurement(access, measurement_id)))
    except NotFound:
        return None
    alone = observation_alone(read, space_id=access.space_id, hidden=read.hidden_from_representatives)
    return alone, device_of(access.space_id, read)


# ---------------------------------------------------------------------------------------------
# Search


class SearchEntry(Element, kw_only=True):
    full_url: str
    resource: Resource
    search: dict[str, str]


class Link(Element, kw_only=True):
    relation: str
    url: str


class SearchSet(Resource, tag="Bundle", kw_only=True):
    type: str
    timestamp: str
    total: int | None = None  # _summary=count only
    link: list[Link] = []
    entry: list[SearchEntry] = []


_READS = msgspec.json.Decoder(list[MeasurementRead])


def _split_unescaped(value: str, separator: str) -> list[str]:
    """``value`` cut at each ``separator`` a backslash does not escape (FHIR's ``\\,`` and
    ``\\|``); the parts keep their escapes."""
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in value:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _unescaped(part: str) -> str:
    return re.sub(r"\\(.)", r"\1", part, flags=re.DOTALL)


def _type_of_code(token: str) -> str:
    """The measure one token of ``code`` stands for: ``http://loinc.org|<code>``, ``|<code>`` or
    ``<code>``; 400 naming the token otherwise."""
    parts = _split_unescaped(token, "|")
    value = _unescaped(parts[-1])
    system = _unescaped("|".join(parts[:-1])) if len(parts) > 1 else None
    if system not in (None, "", "http://loinc.org"):
        raise BadRequest(
            "code: LOINC codes only.", [FieldError("code", f"{token or '(empty)'}: http://loinc.org|<code> or <code>")]
        )
    try:
        return type_of({"code": {"coding": [{"code": value}]}})
    except ObservationRefused:
        raise BadRequest(
            "code: not a measure ENS keeps.", [FieldError("code", f"{token or '(empty)'}: unknown LOINC code")]
        ) from None


def _types_of_codes(codes: Sequence[str]) -> tuple[frozenset[str], frozenset[str]] | None:
    """The measures ``code`` asks for (``None`` without it), and every one it names.

    As FHIR R4 search reads a token parameter: codes separated by commas are ORed (``\\,`` is a
    comma within a code), a repeated ``code`` ANDs. A measure has one type, so the measures asked
    are the intersection of each parameter's types; every type named is checked all the same."""
    if not codes:
        return None
    each = [frozenset(_type_of_code(token) for token in _split_unescaped(code, ",")) for code in codes]
    return frozenset.intersection(*each), frozenset.union(*each)


# A FHIR date search value: a year, a month, a day, or a date and time (to the minute, second or
# fraction of a second) with its offset.
_DAY_VALUE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_TIME_VALUE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::(\d{2})(?:\.(\d{1,6}))?)?(?:Z|[+-]\d{2}:\d{2})")


def _range_of(value: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The range [start, end) a ``date`` value stands for, at its written precision: a year, month
    or day from its local midnight to the next one in the space's time zone (a DST day lasts 23
    or 25 hours), a date and time for the minute, second or fraction of a second it names."""
    value = value.replace(" ", "+")  # an unescaped "+" in a query string arrives as a space
    day_value, time_value = _DAY_VALUE.fullmatch(value), _TIME_VALUE.fullmatch(value)
    try:
        if day_value:
            year, month, day = (int(part) if part else 0 for part in day_value.groups())
            _check_year(year)
            first = date(year, month or 1, day or 1)
            if day:
                following = first + timedelta(days=1)
            elif month:
                following = date(year + month // 12, month % 12 + 1, 1)
            else:
                following = date(year + 1, 1, 1)
            return local_midnight(first, zone), local_midnight(following, zone)
        if time_value:
            seconds, fraction = time_value.groups()
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            _check_year(moment.year)
            if fraction:
                step = timedelta(microseconds=10 ** (6 - len(fraction)))
            else:
                step = timedelta(seconds=1) if seconds else timedelta(minutes=1)
            return moment.astimezone(UTC), moment.astimezone(UTC) + step
    except ValueError:
        pass
    raise BadRequest(
        "date must be a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD) or a date and time with its offset.",
        [FieldError("date", "expected YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.ffffff]] with Z or ±hh:mm")],
    )


def _check_year(year: int) -> None:
    """As written: a bound of 1900 may fall in 1899 in UTC (Paris's midnight, in its mean time)."""
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise BadRequest(
            f"date must fall between the years {EARLIEST_YEAR} and {LATEST_YEAR}.",
            [FieldError("date", f"outside the years {EARLIEST_YEAR}-{LATEST_YEAR}")],
        )


def _bounds(dates: Sequence[str], access: SpaceAccess) -> tuple[datetime | None, datetime | None]:
    """FHIR's ``date`` prefixes (``ge``, ``gt``, ``le``, ``lt``, ``eq`` or none) as [since, until):
    ``ge`` from the start of the value's range, ``gt`` from its end, ``le`` to its end, ``lt`` to
    its start, ``eq`` within it."""
    zone = zone_of(access.space.timezone)
    since: datetime | None = None
    until: datetime | None = None
    for raw in dates:
        if raw[:2] in ("ne", "sa", "eb", "ap"):
            # FHIR's other prefixes: told as a malformed date, the client looked for its mistake in
            # the date (an outside audit).
            raise BadRequest(
                f"The date prefix {raw[:2]!r} is not taken: ge, gt, le, lt or eq.",
                [FieldError("date", f"the prefix {raw[:2]!r} is not taken: ge, gt, le, lt or eq (or none)")],
            )
        prefix, value = (raw[:2], raw[2:]) if raw[:2] in ("ge", "gt", "le", "lt", "eq") else ("eq", raw)
        start, end = _range_of(value, zone)
        if prefix in ("ge", "eq"):
            since = max(since, start) if since else start
        if prefix == "gt":
            since = max(since, end) if since else end
        if prefix in ("le", "eq"):
            until = min(until, end) if until else end
        if prefix == "lt":
            until = min(until, start) if until else start
    return since, until


_READ = msgspec.json.Decoder(MeasurementRead)


async def read_observation(access: SpaceAccess, measurement_id: UUID) -> bytes:
    """FHIR's read of one measure (``GET /fhir/Observation/{id}``): the Observation the search gives
    of it, found as ``GET .../vitals/{id}`` finds it (a type the app may not read is not found). The
    transaction-response names each measure by this location; it answered 404 (an outside audit).

    A measure deleted since is 410 Gone, as FHIR's read answers a resource the server knows was
    deleted, where the caller could have read it (:func:`was_deleted_in_view`); anywhere else 404,
    as a measure that never was, so that the answer leaks nothing. It had been 404 (a review)."""
    try:
        found = await get_measurement(access, measurement_id)
    except NotFound:
        if await was_deleted_in_view(access, measurement_id):
            raise Gone("This measure was deleted from the space.") from None
        raise
    read = _READ.decode(bytes(found))
    return encode(observation_alone(read, space_id=access.space_id, hidden=read.hidden_from_representatives))


# What the search reads (FHIR's _format and _pretty say how to answer, which is always JSON here).
SEARCH_PARAMETERS = ("code", "date", "_count", "_cursor", "_summary")

# FHIR's _summary values the search answers. ENS writes no narrative (``text``), so ``data`` (all
# but the text) is the whole resource, as ``false`` is: nothing is left out, nothing is marked
# SUBSETTED. ``count`` is the total alone. ``true`` (the elements FHIR marks as summary) and ``text``
# would subset what ENS gives out: refused (400), never answered whole as if honoured.
_SUMMARIES = ("count", "data", "false")
_SEARCH_PRESENTATION = ("_format", "_pretty")


def refuse_unread_parameters(names: Iterable[str], *, prefer: str | None) -> None:
    """400 for a parameter the search does not read when the client asked FHIR's strict handling
    (``Prefer: handling=strict``); leniently (FHIR's default) it is ignored, and the ``self`` link
    names only what was read. An app asking ``identifier=`` strictly was answered every measure, as
    if it had been found (an outside audit). The header is read by :func:`ens.core.fhir.preferences`
    (a quoted value is the same preference)."""
    if preferences(prefer).get("handling") != "strict":
        return
    unread = sorted({name for name in names if name not in SEARCH_PARAMETERS + _SEARCH_PRESENTATION})
    if unread:
        reads = ", ".join(SEARCH_PARAMETERS)
        raise BadRequest(
            f"A search parameter ENS does not read was given, and Prefer: handling=strict asks it refused "
            f"(the search reads {reads}).",
            [FieldError(name[:64], f"not a parameter of this search; it reads {reads}") for name in unread],
        )


async def search_observations(
    access: SpaceAccess,
    cursors: Cursors,
    *,
    base_url: str,
    codes: Sequence[str],
    dates: Sequence[str],
    count: int | None,
    cursor: str | None,
    summary: str | None = None,
) -> bytes:
    """The measures of ``code`` (all the app may read without it) within ``date``, newest first, as a
    ``searchset`` Bundle with the Devices they name; ``next`` links to the following page, with the
    same parameters (its cursor serves the types asked, no other).

    ``summary`` is FHIR's ``_summary``: ``count`` answers the Bundle's ``total`` alone, no entry
    (every page's matches, so no ``_cursor``: 400); ``data`` and ``false`` the whole resources
    (:data:`_SUMMARIES`); another value is 400. It had been ignored, as a parameter the search does not
    read (a review)."""
    if summary is not None and summary not in _SUMMARIES:
        taken = "count, data or false"
        detail = f"{summary[:16]!r} is not answered: {taken} (ENS gives no summary subset of its resources)"
        raise BadRequest(f"_summary: {taken}.", [FieldError("_summary", detail)])
    if summary == "count" and cursor is not None:
        raise BadRequest(
            "_summary=count counts every page of the search: it takes no _cursor.",
            [FieldError("_cursor", "not taken with _summary=count, which counts every page")],
        )
    asked = _types_of_codes(codes)
    if asked is not None:
        # Each type named is one the app must be allowed to read (403 otherwise), even one another
        # ``code`` rules out.
        readable_types(access, asked[1])
    since, until = _bounds(dates, access)
    query: list[tuple[str, str]] = [("code", code) for code in codes]
    query += [("date", d) for d in dates] + ([("_count", str(count))] if count else [])
    query += [("_summary", summary)] if summary else []
    here = f"{base_url}/fhir/Observation?"
    if summary == "count":
        total = await count_measurements(
            access, type_=asked[0] if asked is not None else None, since=since, until=until
        )
        return encode(
            SearchSet(
                id=str(uuid4()),
                type="searchset",
                timestamp=clock.now().isoformat(),
                total=total,
                link=[Link(relation="self", url=here + urlencode(query))],
            )
        )
    listed = await list_measurements(
        access,
        cursors,
        type_=asked[0] if asked is not None else None,
        since=since,
        until=until,
        limit=count,
        cursor=cursor,
    )
    entries: list[SearchEntry] = []
    seen: set[str] = set()
    for read in _READS.decode(bytes(listed.page.items)):
        device = device_of(access.space_id, read)
        if device is not None and device.id not in seen:
            seen.add(device.id)
            entries.append(SearchEntry(full_url=full_url(device.id), resource=device, search={"mode": "include"}))
        observation = observation_of(read, space_id=access.space_id, hidden=read.hidden_from_representatives)
        entries.append(SearchEntry(full_url=full_url(read.id), resource=observation, search={"mode": "match"}))
    links = [Link(relation="self", url=here + urlencode(query + ([("_cursor", cursor)] if cursor else [])))]
    if listed.page.next_cursor:
        links.append(Link(relation="next", url=here + urlencode([*query, ("_cursor", listed.page.next_cursor)])))
    return encode(
        SearchSet(id=str(uuid4()), type="searchset", timestamp=clock.now().isoformat(), link=links, entry=entries)
    )


# ---------------------------------------------------------------------------------------------
# CapabilityStatement


def capability_statement(*, base_url: str) -> bytes:
    """What ``GET /fhir/metadata`` answers: the server, its security, and what it does."""
    statement: Mapping[str, Any] = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-02",
        "kind": "instance",
        "software": {"name": "ENS"},
        "implementation": {"description": "ENS: the measures of a patient health space", "url": f"{base_url}/fhir"},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "implementationGuide": [
            "https://interop.esante.gouv.fr/ig/fhir/mesures/ImplementationGuide/ans.fhir.fr.mesures"
        ],
        "rest": [
            {
                "mode": "server",
                "documentation": "An app's token (OAuth 2.0, its grant bound to one space) names the space.",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "OAuth",
                                }
                            ]
                        }
                    ],
                    "description": "Bearer tokens of ENS's OAuth server; the scopes vitals.<type>:write and "
                    "vitals.<type>:read say which measures an app may send and read.",
                },
                "resource": [
                    {
                        "type": "Observation",
                        "supportedProfile": [
                            f"https://interop.esante.gouv.fr/ig/fhir/mesures/StructureDefinition/{p}"
                            for p in PROFILES.values()
                        ],
                        "documentation": "Created only inside the transaction (POST /fhir), where its entry's "
                        "request.ifNoneExist (or the If-None-Exist header) identifier=system|value finds the measure "
                        "already stored under its identifier[0] (200 OK, left as it is); read and searched here.",
                        "interaction": [
                            {
                                "code": "read",
                                "documentation": "The location a transaction answers (Observation/<id>): the "
                                "Observation the search gives, if the app may read its type (404 otherwise); 410 (an "
                                "OperationOutcome, issue deleted) for one deleted since that it could read.",
                            },
                            {"code": "search-type"},
                        ],
                        "searchParam": [
                            {
                                "name": "code",
                                "type": "token",
                                "documentation": "A LOINC code of a measure ENS keeps: http://loinc.org|<code> "
                                "or <code>. Codes separated by commas are ORed (\\, is a comma within a code); a "
                                "repeated code parameter ANDs: a measure has one type, so only the types every "
                                "code parameter names are found. Each code names a type the app may read (403 "
                                "otherwise).",
                            },
                            {"name": "date", "type": "date"},
                            {"name": "_count", "type": "number"},
                            {
                                "name": "_summary",
                                "type": "token",
                                "documentation": "count: the total alone, no entry (no _cursor); data or false: "
                                "the whole resources (ENS writes no narrative). true and text are 400.",
                            },
                        ],
                    },
                    {
                        "type": "Device",
                        "documentation": "Taken only inside the transaction (POST /fhir, ifNoneExist): ENS keeps "
                        "what identifies it with each measure; the search includes the Devices its measures name.",
                    },
                ],
                "interaction": [
                    {
                        "code": "transaction",
                        "documentation": "The guide's feeding Bundle: one Observation and at most one Device. "
                        "Retried safely with the Observation's identifier, a conditional create (ifNoneExist: "
                        "identifier=system|value) or an Idempotency-Key header; without any of them each POST is a "
                        "new measure.",
                    }
                ],
            }
        ],
    }
    return msgspec.json.encode(statement)
