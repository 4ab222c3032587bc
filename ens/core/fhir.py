"""The FHIR R4 datatypes every capability's mapping (its ``fhir.py``) builds its resources from.

Encoded as FHIR spells them (camelCase, ``resourceType`` first, empty lists and absent values left
out, as FHIR requires). Only what ENS fills is declared; ``fhir.resources``' R4B models check the
result in the tests.

**One reference scheme.** Every resource of a space is named ``urn:uuid:<its id>``: that is its
``fullUrl`` in the export's ``collection`` Bundle and what every other resource's ``Reference``
says, so each reference resolves inside the Bundle (a test follows every one). The holder's
``Patient`` is ``urn:uuid:<space id>`` (:func:`patient_reference`). A resource answered on its own
(``Accept: application/fhir+json`` on one vaccination) keeps the same references.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal
from uuid import UUID, uuid4

import msgspec
from litestar import Request

from ens.core.api import ReadStruct, accepts_any
from ens.core.errors import FieldError, NotAcceptable, UnsupportedMediaType

FHIR_JSON = "application/fhir+json"
# What a FHIR client may ask for and be answered: JSON, by media type (``Accept``; the DSTU2 name
# too) or by ``_format`` (FHIR's HTTP page: it overrides Accept, and ``json`` is its short form).
_JSON_MEDIA = (FHIR_JSON, "application/json", "application/json+fhir")
_JSON_FORMATS = frozenset({"json", *_JSON_MEDIA})


# The versions of FHIR's version parameter (``fhirVersion`` on its media types, its major.minor,
# the patch too) the door speaks: R4, published as 4.0.0 and corrected as 4.0.1 (4.0.0 had been
# refused as another version: a review of the merged check).
_FHIR_VERSIONS = frozenset({"4.0", "4.0.0", "4.0.1"})
_SPOKEN = "ENS's FHIR door speaks FHIR 4.0 (R4)"


def _fhir_version(media: str) -> str | None:
    """The ``fhirVersion`` parameter of a media type or range (unquoted), ``None`` without one."""
    for param in media.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "fhirversion":
            return value.strip().strip('"')
    return None


def refuse_what_is_not_json(request: Request[Any, Any, Any]) -> None:
    """406 when the client accepts no JSON (``Accept: application/fhir+xml``, ``_format=xml``):
    FHIR's HTTP page asks a server that cannot give the format asked for to say so; it was answered
    JSON it would not parse (an outside audit). Every /fhir route, the public metadata too. JSON of
    another FHIR version (``fhirVersion=3.0``) is no JSON the door gives: an STU3 client had been
    answered R4 as if it were what it asked (an outside audit)."""
    accept, formats = request.headers.get("accept"), request.query_params.getall("_format", [])
    if formats:
        if any(given.split(";")[0].strip().lower() not in _JSON_FORMATS for given in formats):
            raise NotAcceptable(f"ENS's FHIR door answers JSON only ({FHIR_JSON}): _format={formats[0]!r} is not JSON.")
        for given in formats:
            version = _fhir_version(given)
            if version is not None and version not in _FHIR_VERSIONS:
                raise NotAcceptable(f"{_SPOKEN}: _format={given!r} asks for FHIR {version}.")
        return
    ranges = (accept or "").split(",")
    others = [version for media in ranges if (version := _fhir_version(media)) not in (None, *_FHIR_VERSIONS)]
    if others:
        kept = ",".join(media for media in ranges if _fhir_version(media) in (None, *_FHIR_VERSIONS))
        if not kept.strip(", ") or not accepts_any(kept, _JSON_MEDIA):
            raise NotAcceptable(f"{_SPOKEN}; the Accept header asks for FHIR {others[0]}.")
        return
    if not accepts_any(accept, _JSON_MEDIA):
        raise NotAcceptable(f"ENS's FHIR door answers JSON only ({FHIR_JSON}); the Accept header admits no JSON.")


def refuse_another_fhir_version(content_type: str | None) -> None:
    """415 for a body whose ``Content-Type`` names another FHIR version (``fhirVersion=5.0``): read
    as R4 it would be misread (an R5 body had been taken as R4: an outside audit)."""
    version = _fhir_version(content_type or "")
    if version is not None and version not in _FHIR_VERSIONS:
        raise UnsupportedMediaType(f"{_SPOKEN}; the body's Content-Type says FHIR {version}.")


# The ``Prefer`` header (RFC 7240) the /fhir routes read: ``handling`` on the search, ``return`` on
# the transaction. Each route declares it at most this long (a longer one is 400 at ``Prefer``, as
# any header past its declared length): the door's preferences fit in a few dozen characters.
PREFER_MAX_LENGTH = 256


def preferences(header: str | None) -> Mapping[str, str]:
    """The preferences a ``Prefer`` header states, by name, in lower case, their values unquoted
    (RFC 7240 §2: ``handling="strict"`` is ``handling=strict``) and in lower case
    (``return=OperationOutcome`` is ``operationoutcome``); a preference given twice is its first
    (§2). The one reading of the header on every /fhir route. A part after ``;`` (a parameter, for
    RFC 7240) counts as a preference of its own: ``return=minimal; handling=strict``, as clients
    write it, asks both."""
    stated: dict[str, str] = {}
    for part in re.split(r"[,;]", header or ""):
        name, _, value = re.sub(r"\s+", "", part).lower().replace('"', "").partition("=")
        if name:
            stated.setdefault(name, value)
    return stated


UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"


class Element(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    pass


class Coding(Element, kw_only=True):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class CodeableConcept(Element, kw_only=True):
    coding: list[Coding] = []
    text: str | None = None


class Reference(Element, kw_only=True):
    reference: str | None = None
    display: str | None = None


class Identifier(Element, kw_only=True):
    use: str | None = None
    type: CodeableConcept | None = None
    system: str | None = None
    value: str | None = None


class HumanName(Element, kw_only=True):
    family: str | None = None
    given: list[str] = []


class ContactPoint(Element, kw_only=True):
    system: str | None = None
    value: str | None = None
    rank: int | None = None


class Address(Element, kw_only=True):
    line: list[str] = []
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None


class Period(Element, kw_only=True):
    start: str | None = None
    end: str | None = None


class Attachment(Element, kw_only=True):
    content_type: str | None = None
    language: str | None = None
    data: str | None = None
    url: str | None = None
    size: int | None = None
    hash: str | None = None
    title: str | None = None
    creation: str | None = None


class Annotation(Element, kw_only=True):
    text: str


class Quantity(Element, kw_only=True):
    value: float | int | None = None
    unit: str | None = None
    system: str | None = None
    code: str | None = None


class Extension(Element, kw_only=True):
    """An extension (ENS's own are ``urn:ens:fhir:<name>``); a complex one holds others."""

    url: str
    extension: list[Extension] = []
    value_string: str | None = None
    value_boolean: bool | None = None
    value_code: str | None = None
    value_date: str | None = None
    value_date_time: str | None = None
    value_positive_int: int | None = None
    value_codeable_concept: CodeableConcept | None = None
    value_quantity: Quantity | None = None


class Meta(Element, kw_only=True):
    version_id: str | None = None
    # When the item was last changed (the API's ``updatedAt``), in the export.
    last_updated: str | None = None
    source: str | None = None
    profile: list[str] = []
    security: list[Coding] = []
    tag: list[Coding] = []


class Resource(Element, tag_field="resourceType", kw_only=True):
    """A resource: subclasses say ``tag=True`` so the class name is the ``resourceType``."""

    id: str
    meta: Meta | None = None


# An item the holder hid from their representatives carries the "restricted" confidentiality label,
# so an import (or any FHIR reader) keeps it hidden.
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
# The same code system by its OID (HL7 v3's Confidentiality, 2.16.840.1.113883.5.25, as its
# CodeSystem resource lists it in ``identifier``): systems built on HL7 v3 or CDA label with it. A V
# written so had been read as no label, and the measure shown to the representatives (a review).
# ENS writes the URL alone; it reads both.
CONFIDENTIALITY_OID = "urn:oid:2.16.840.1.113883.5.25"
# A tuple, compared by equality: a system sent as a list or an object is no label, never a TypeError.
_CONFIDENTIALITY_SYSTEMS = (CONFIDENTIALITY, CONFIDENTIALITY_OID)
RESTRICTED = Coding(system=CONFIDENTIALITY, code="R", display="restricted")


def item_meta(hidden: bool, updated_at: datetime | None = None) -> Meta | None:
    """An item's ``meta`` in the export: the restricted label when the holder hid it from the
    representatives, and when it was last changed (its ``updatedAt``); ``None`` for neither."""
    if not hidden and updated_at is None:
        return None
    return Meta(
        security=[RESTRICTED] if hidden else [],
        last_updated=updated_at.isoformat() if updated_at is not None else None,
    )


# Who recorded an item, for which FHIR R4's resource has no element (an Immunization's recorder, a
# DocumentReference's adder): ENS's extension, of parts "role", "name" and "client" (the app).
RECORDED_BY_EXTENSION = "urn:ens:fhir:recorded-by"
# Who had declared a vaccination a professional then validated (the API's ``declaredBy``), same parts.
DECLARED_BY_EXTENSION = "urn:ens:fhir:declared-by"


def recorded_by(
    role: str, name: str | None, client_id: str | None = None, *, url: str = RECORDED_BY_EXTENSION
) -> Extension:
    """The ``urn:ens:fhir:recorded-by`` extension (or another of its shape, ``url``): the
    recorder's role, name and app, where known."""
    parts = [Extension(url="role", value_code=role)]
    if name:
        parts.append(Extension(url="name", value_string=name))
    if client_id:
        parts.append(Extension(url="client", value_string=client_id))
    return Extension(url=url, extension=parts)


# The confidentiality codes that keep an item from the representatives: R, and V ("very
# restricted"), which the code system orders above it and asks more (a V measure had been stored
# visible, the label dropped: an outside audit of the FHIR door). ENS writes R alone.
HIDING_CONFIDENTIALITY = frozenset({"R", "V"})


def is_restricted(resource: Mapping[str, Any]) -> bool:
    """Whether a resource (as read from JSON) carries the restricted label, or a stricter one."""
    meta = resource.get("meta")
    security = meta.get("security") if isinstance(meta, dict) else None
    return any(
        isinstance(c, dict)
        and c.get("system") in _CONFIDENTIALITY_SYSTEMS
        and isinstance(c.get("code"), str)  # a list or an object is no code (and unhashable: no 500)
        and c["code"] in HIDING_CONFIDENTIALITY
        for c in (security if isinstance(security, list) else [])
    )


_META_TEXTS = ("versionId", "lastUpdated", "source")
_CODING_TEXTS = ("system", "version", "code", "display")


def check_id_and_meta(resource: Mapping[str, Any], errors: list[FieldError]) -> None:
    """What every resource shares, of the types FHIR R4 gives it (a FieldError each, at its
    FHIRPath from the resource's type): ``id`` a string (not empty), ``meta`` a Meta — its
    ``versionId``, ``lastUpdated`` and ``source`` strings, its ``profile`` a list of strings, its
    ``security`` and ``tag`` lists of Codings (objects whose ``system``, ``version``, ``code`` and
    ``display`` are strings, ``userSelected`` a boolean). The one check of them for both doors that
    read FHIR (the space import, ``/fhir``).

    Each reader read these leniently, as absent when of another type: an ``id`` of 5 became a
    measure's record id, and a "restricted" label sent as one Coding rather than a list of them, or
    with its code in a list, was no label, and the item came in visible to the representatives (an
    outside audit). Refused instead: what hides an item must fail closed. A value present as
    ``null`` is no value of its type (FHIR's JSON has no null)."""
    kind = str(resource.get("resourceType"))
    if "id" in resource and not (isinstance(resource["id"], str) and resource["id"]):
        errors.append(FieldError(f"{kind}.id", "a string, not empty (FHIR's id)"))
    if "meta" not in resource:
        return
    meta = resource["meta"]
    if not isinstance(meta, dict):
        errors.append(FieldError(f"{kind}.meta", "an object (FHIR's Meta)"))
        return
    for name in _META_TEXTS:
        if name in meta and not isinstance(meta[name], str):
            errors.append(FieldError(f"{kind}.meta.{name}", "a string"))
    profiles = meta.get("profile", [])
    if not isinstance(profiles, list) or not all(isinstance(p, str) for p in profiles):
        errors.append(FieldError(f"{kind}.meta.profile", "a list of canonical URLs (strings)"))
    for name in ("security", "tag"):
        codings = meta.get(name, [])
        if not isinstance(codings, list):
            errors.append(FieldError(f"{kind}.meta.{name}", "a list of Codings (objects), not one alone"))
            continue
        for index, coding in enumerate(codings):
            where = f"{kind}.meta.{name}[{index}]"
            if not isinstance(coding, dict):
                errors.append(FieldError(where, "a Coding (an object of system and code)"))
                continue
            errors.extend(
                FieldError(f"{where}.{part}", "a string")
                for part in _CODING_TEXTS
                if part in coding and not isinstance(coding[part], str)
            )
            if "userSelected" in coding and not isinstance(coding["userSelected"], bool):
                errors.append(FieldError(f"{where}.userSelected", "a boolean"))


def names_of(*structs: type[msgspec.Struct]) -> frozenset[str]:
    """The elements these datatypes write, by their FHIR names."""
    return frozenset(field.encode_name for struct in structs for field in msgspec.structs.fields(struct))


def unwritten(
    kind: str, resource: Mapping[str, Any], written: frozenset[str], one_item: Mapping[str, frozenset[str]]
) -> list[str]:
    """What ENS's export does not write of an imported ``resource`` (read from JSON), as paths
    (``Immunization.site``, ``AllergyIntolerance.reaction[1]``): an element outside ``written``, a
    second item of a list of which ENS keeps one (``one_item``: its name, the parts of that item
    ENS writes), a part of that item outside them. An import keeping the rest would lose these
    without a word, so it refuses them."""
    lost = [f"{kind}.{name}" for name in resource if name not in written]
    for name, parts in one_item.items():
        items = resource.get(name)
        if not isinstance(items, list) or not items:
            continue
        if len(items) > 1:
            lost.append(f"{kind}.{name}[1]")
        if isinstance(items[0], dict):
            lost += [f"{kind}.{name}[0].{part}" for part in items[0] if part not in parts]
    return lost


def full_url(resource_id: UUID | str) -> str:
    """A resource's name in the space's Bundle (its ``fullUrl``), and what references it."""
    return f"urn:uuid:{resource_id}"


def reference_to(resource_id: UUID | str, display: str | None = None) -> Reference:
    return Reference(reference=full_url(resource_id), display=display)


def patient_reference(space_id: UUID) -> Reference:
    """The holder's ``Patient``: the space is the patient's record, so it bears the space's id."""
    return reference_to(space_id)


_ENCODER = msgspec.json.Encoder()


def encode(resource: Resource | Element) -> bytes:
    """A resource (or any datatype) as FHIR JSON."""
    return _ENCODER.encode(resource)


def to_builtins(resource: Resource | Element) -> Any:
    """A resource as plain JSON values (dicts, lists), as the JSON would decode to."""
    return msgspec.to_builtins(resource)


# ---------------------------------------------------------------------------------------------
# OperationOutcome: how the /fhir routes answer an error (the /v1 routes answer problem+json)


class OperationOutcomeIssue(Element, kw_only=True):
    severity: str
    code: str
    diagnostics: str | None = None
    expression: list[str] = []


class OperationOutcome(Resource, tag=True, kw_only=True):
    issue: list[OperationOutcomeIssue]


# FHIR's issue types (http://hl7.org/fhir/issue-type) for the statuses ENS answers.
_ISSUE_TYPE = {
    400: "structure",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
}


# The FHIR search's parameters FHIR names with an underscore, by the names the shared pieces give
# their errors (the cursors' "/cursor"; litestar's own errors already name "_count").
_FHIR_PARAMETERS = {"count": "_count", "cursor": "_cursor"}


def fhir_location(pointer: str) -> str:
    """Where an error of a FHIR route is: a FHIRPath expression as given, or a query parameter
    (``/count``, the pointer the /v1 routes give) by its FHIR name (``_count``)."""
    if not pointer.startswith("/"):
        return pointer
    name = pointer.removeprefix("/")
    return _FHIR_PARAMETERS.get(name, name)


def operation_outcome(
    status: int, detail: str, *, located: Sequence[tuple[str, str]] = (), not_supported: bool = False
) -> bytes:
    """An error as an ``OperationOutcome``: one issue per located error (its FHIRPath expression
    and what is wrong), or one issue saying ``detail``."""
    code = "not-supported" if not_supported else _ISSUE_TYPE.get(status, "exception" if status >= 500 else "processing")
    issues = [
        OperationOutcomeIssue(severity="error", code=code, diagnostics=what, expression=[where] if where else [])
        for where, what in located
    ] or [OperationOutcomeIssue(severity="error", code=code, diagnostics=detail)]
    return encode(OperationOutcome(id=str(uuid4()), issue=issues))


# ---------------------------------------------------------------------------------------------
# What the OpenAPI document says of a Bundle (the server writes it as FHIR spells it)


class FhirLink(ReadStruct):
    """A Bundle's link: ``self``, and ``next`` while a search has more pages."""

    relation: str
    url: str


class FhirEntrySearch(ReadStruct):
    """Why a search's entry is there: ``match`` (it answers the search) or ``include`` (a Device a
    match names)."""

    mode: Literal["match", "include", "outcome"]


class FhirEntryResponse(ReadStruct):
    """What a transaction did with an entry: its HTTP status line (``201 Created``), what it names,
    and an ``OperationOutcome`` of hints and warnings when there is something to say (elements
    taken and not stored, a measure deleted since it was first sent)."""

    status: str
    location: str | None = None
    outcome: dict[str, Any] | None = None


class FhirEntry(ReadStruct):
    """An entry; its resource is FHIR R4's own (Observation, Device, Patient...), open here."""

    full_url: str | None = None
    resource: dict[str, Any] | None = None
    search: FhirEntrySearch | None = None
    response: FhirEntryResponse | None = None


class FhirBundleDocument(ReadStruct):
    """A FHIR R4 Bundle: ``collection`` (the export), ``searchset``, ``transaction-response``
    (``entry`` absent when empty, as FHIR writes it)."""

    resource_type: str
    id: str
    type: str
    timestamp: str
    link: list[FhirLink] | None = None
    entry: list[FhirEntry] | None = None


class FhirObservationDocument(ReadStruct):
    """What the OpenAPI document says of a FHIR R4 Observation answered alone (``GET
    /fhir/Observation/{id}``): its type, id and status; the rest as FHIR defines it."""

    resource_type: str
    id: str
    status: str


class CapabilityStatementDocument(ReadStruct):
    """What the OpenAPI document says of ``GET /fhir/metadata`` (FHIR's CapabilityStatement)."""

    resource_type: str
    status: str
    date: str
    kind: str
    software: dict[str, Any]
    implementation: dict[str, Any]
    fhir_version: str
    format: list[str]
    implementation_guide: list[str]
    rest: list[dict[str, Any]]
