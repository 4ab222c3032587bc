"""In: an exported record back to what the record's own route takes (the space import)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import msgspec

from ens.core.api import validation_error
from ens.core.errors import FieldError, Invalid
from ens.core.fhir import names_of, unwritten
from ens.core.text_direction import refuse_direction_controls
from ens.records import profile
from ens.records.doctor import set_doctor
from ens.records.emergency_contacts import add_emergency_contact
from ens.records.fhir.codes import _RELATIVES, ICD10, IDNPS_SYSTEM, RPPS_SYSTEM, UNDESCRIBED_REACTION
from ens.records.fhir.resources import (
    AllergyIntolerance,
    AllergyReaction,
    Condition,
    Dosage,
    FamilyMemberCondition,
    FamilyMemberHistory,
    MedicationStatement,
    Practitioner,
    RelatedPerson,
)
from ens.records.schemas import (
    AllergyCreate,
    ConditionCreate,
    DoctorWrite,
    EmergencyContactCreate,
    FamilyHistoryCreate,
    TreatmentCreate,
)
from ens.spaces.door import SpaceAccess

T = TypeVar("T", bound=msgspec.Struct)


TRUSTED_PERSON_TEXT = "Personne de confiance (CSP L1111-6)"
# What the import leaves to the holder, and why (answered with the import's result).
NOT_IMPORTED = {
    "Consent": "advance directives are the holder's own signed act: write them again in the new space",
    "TrustedPerson": "the trusted person is designated by the holder and co-signs: designate them again",
}
_RELATIVE_OF_CODE = {code: name for name, code in _RELATIVES.items()}

_NAME = {"givenName": "name[0].given[0]", "familyName": "name[0].family"}
_HIDDEN = {"hiddenFromRepresentatives": "meta.security"}
_ADDRESS = {
    "address": "address[0]",
    "address/line": "address[0].line[0]",
    "address/postalCode": "address[0].postalCode",
    "address/city": "address[0].city",
    "address/country": "address[0].country",
}
# Where :func:`import_record` read each field of the record it makes (its refusals name the
# record's fields): by resource type, a field (or field/part) to the element's FHIRPath.
FHIRPATHS: dict[str, dict[str, str]] = {
    "RelatedPerson": {**_NAME, "relationship": "relationship.text", "phones": "telecom", "email": "telecom", **_HIDDEN},
    "Practitioner": {**_NAME, "rpps": "identifier", "phone": "telecom", **_ADDRESS},
    "Condition": {"label": "code.text", "since": "onsetDateTime", "code": "code.coding", **_HIDDEN},
    "AllergyIntolerance": {
        "substance": "code.text",
        "reaction": "reaction[0].manifestation[0].text",
        "severity": "reaction[0].severity",
        **_HIDDEN,
    },
    "MedicationStatement": {
        "medication": "medicationCodeableConcept.text",
        "dose": "dosage[0].text",
        "since": "effectivePeriod.start",
        "until": "effectivePeriod.end",
        **_HIDDEN,
    },
    "FamilyMemberHistory": {"relative": "relationship.coding", "condition": "condition[0].code.text", **_HIDDEN},
}


def _name(resource: Mapping[str, Any]) -> dict[str, Any]:
    name: dict[str, Any] = next(iter(resource.get("name") or []), {})
    return {"givenName": next(iter(name.get("given") or []), None), "familyName": name.get("family")}


def _phones(resource: Mapping[str, Any]) -> list[str]:
    return [t["value"] for t in resource.get("telecom") or [] if t.get("system") == "phone" and t.get("value")]


def _email(resource: Mapping[str, Any]) -> str | None:
    return next((t["value"] for t in resource.get("telecom") or [] if t.get("system") == "email"), None)


def _address_in(resource: Mapping[str, Any]) -> dict[str, Any] | None:
    address = next(iter(resource.get("address") or []), None)
    if not address:
        return None
    found = {
        "line": next(iter(address.get("line") or []), None),
        "postalCode": address.get("postalCode"),
        "city": address.get("city"),
        "country": address.get("country"),
    }
    return {key: value for key, value in found.items() if value is not None}


def _text_of(concept: Any) -> str | None:
    return concept.get("text") if isinstance(concept, dict) else None


def is_trusted_person(resource: Mapping[str, Any]) -> bool:
    return any(_text_of(r) == TRUSTED_PERSON_TEXT for r in resource.get("relationship") or [])


# What ENS's export writes of each record (its elements, by their FHIR names), and the lists of
# which a record keeps one item: anything else in an imported record would be lost without a word
# (an outside audit: a second reaction, "severe", dropped for the first, "mild"; a criticality, an
# onsetString, a second dosage or condition), so it is refused.
_WRITTEN: dict[str, frozenset[str]] = {
    cls.__name__: names_of(cls) | {"resourceType"}
    for cls in (RelatedPerson, Practitioner, Condition, AllergyIntolerance, MedicationStatement, FamilyMemberHistory)
}
_ONE_ITEM: dict[str, dict[str, frozenset[str]]] = {
    "AllergyIntolerance": {"reaction": names_of(AllergyReaction)},
    "MedicationStatement": {"dosage": names_of(Dosage)},
    "FamilyMemberHistory": {"condition": names_of(FamilyMemberCondition)},
}


# The status ENS's export gives each record, and the only values a record the space keeps can
# have: any other says the record is not one (a resolved or refuted condition, a treatment entered
# in error or not taken, a former contact), and was imported as current without a word (an
# outside audit), so it is refused. A CodeableConcept's codes are read, a code or boolean as it is.
_STATUSES: dict[str, tuple[str, frozenset[Any]]] = {
    "Condition": ("clinicalStatus", frozenset({"active"})),
    "AllergyIntolerance": ("clinicalStatus", frozenset({"active"})),
    "MedicationStatement": ("status", frozenset({"active", "completed"})),
    "FamilyMemberHistory": ("status", frozenset({"completed"})),
    "RelatedPerson": ("active", frozenset({True})),
}


def _lost_of_a_person(kind: str, resource: Mapping[str, Any]) -> list[str]:
    """What an emergency contact (``RelatedPerson``) or the doctor (``Practitioner``) keeps of a
    person is one name (one given name), phones (the doctor one), an e-mail (the contact) and the
    doctor's one address of one line: a second given name, a fax, a second address line or a
    contact's address were dropped without a word (an outside audit)."""
    lost: list[str] = []
    names = resource.get("name")
    if isinstance(names, list):
        lost += [f"{kind}.name[{i}]" for i in range(1, len(names))]
        first = names[0] if names else None
        if isinstance(first, dict):
            lost += [f"{kind}.name[0].{part}" for part in first if part not in ("family", "given")]
            given = first.get("given")
            if isinstance(given, list) and len(given) > 1:
                lost.append(f"{kind}.name[0].given[1]")
    telecom = resource.get("telecom")
    kept = {"phone": 1, "email": 0} if kind == "Practitioner" else {"phone": 3, "email": 1}
    seen = dict.fromkeys(kept, 0)
    for index, point in enumerate(telecom if isinstance(telecom, list) else []):
        system = point.get("system") if isinstance(point, dict) else None
        if system in seen:
            seen[system] += 1
        if system not in kept or seen[system] > kept[system]:
            lost.append(f"{kind}.telecom[{index}]")
    if kind == "RelatedPerson":
        lost += [f"{kind}.{name}" for name in ("address", "birthDate", "period") if resource.get(name)]
        return lost
    addresses = resource.get("address")
    if isinstance(addresses, list):
        lost += [f"{kind}.address[{i}]" for i in range(1, len(addresses))]
        first = addresses[0] if addresses else None
        if isinstance(first, dict):
            lost += [f"{kind}.address[0].{part}" for part in first if part not in _ADDRESS_PARTS]
            lines = first.get("line")
            if isinstance(lines, list) and len(lines) > 1:
                lost.append(f"{kind}.address[0].line[1]")
    return lost


_ADDRESS_PARTS = frozenset({"line", "postalCode", "city", "country"})


def _lost_codes(kind: str, resource: Mapping[str, Any]) -> list[str]:
    """What the doctor's identifiers and a condition's codes say beyond what the record keeps: the
    doctor's RPPS number, which the export writes with its national identifier (``8`` and the
    number); a condition's one ICD-10 code. Another identifier (an ADELI number), a national one of
    another number or without its RPPS one, a second ICD-10 code were dropped for the one read (an
    outside audit of data portability). (Codings of other systems beside a condition's code are
    translations of it, as FHIR has them: not refused.)"""
    if kind == "Practitioner":
        identifiers = resource.get("identifier")
        items = [i if isinstance(i, dict) else {} for i in identifiers] if isinstance(identifiers, list) else []
        rpps = [i.get("value") for i in items if i.get("system") == RPPS_SYSTEM]
        lost, seen = [], dict.fromkeys((RPPS_SYSTEM, IDNPS_SYSTEM), 0)
        for index, identifier in enumerate(items):
            system = identifier.get("system")
            if system not in seen or seen[system]:
                lost.append(f"{kind}.identifier[{index}]")
                continue
            seen[system] += 1
            if system == IDNPS_SYSTEM and (len(rpps) != 1 or identifier.get("value") != f"8{rpps[0]}"):
                lost.append(f"{kind}.identifier[{index}] (not 8 and the RPPS number)")
        return lost
    if kind == "Condition":
        code = resource.get("code")
        codings = code.get("coding") if isinstance(code, dict) else None
        items = [c if isinstance(c, dict) else {} for c in codings] if isinstance(codings, list) else []
        icd = [index for index, coding in enumerate(items) if coding.get("system") == ICD10]
        return [f"{kind}.code.coding[{index}]" for index in icd[1:]]
    return []


def _status_values(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [c.get("code") for c in value.get("coding") or [] if isinstance(c, dict)] or [value.get("text")]
    return [value]


def _refuse_what_would_be_lost(kind: str, resource: Mapping[str, Any]) -> None:
    """422 for an element of the record that ENS's export does not write, a second item of a list
    whose first one only the record keeps, or a status the records it keeps do not have."""
    if kind in _STATUSES:
        element, kept = _STATUSES[kind]
        if element in resource:
            # (Never an empty list: a CodeableConcept without codes gives its text, or None.)
            if not all(isinstance(v, bool | str) and v in kept for v in _status_values(resource[element])):
                allowed = " or ".join(str(v).lower() for v in sorted(kept, key=str))
                raise Invalid(
                    f"Not a record ENS keeps: its {element} says it is not current.",
                    [FieldError("", f"{kind}.{element}: ENS keeps {allowed} ones only")],
                )
    lost = unwritten(kind, resource, _WRITTEN[kind], _ONE_ITEM.get(kind, {}))
    if kind in ("RelatedPerson", "Practitioner"):
        lost += _lost_of_a_person(kind, resource)
    lost += _lost_codes(kind, resource)
    reactions = resource.get("reaction") if kind == "AllergyIntolerance" else None
    first = reactions[0] if isinstance(reactions, list) and reactions else None
    if isinstance(first, dict) and len(first.get("manifestation") or []) > 1:
        lost.append(f"{kind}.reaction[0].manifestation[1]")
    if lost:
        raise Invalid(
            "Not a record ENS can keep whole: the space would lose part of it.",
            [FieldError("", f"{', '.join(lost)}: not kept by ENS (its export does not write it)")],
        )


# What an imported record may come in without, by resource type: the optional parts of what it
# records (how to reach a person, a code, a precision), when today's checks refuse the value an
# export holds. ENS's checks tighten (a contact's e-mail 'autre,elise@example.test', which a
# message's header reads as two recipients, was stored until e1d2b75; control characters, direction
# controls, a pattern's trailing newline before theirs), so an older export may hold a value no
# route takes now: the whole import was refused for it, and the person could not move their space
# (a known gap, an outside audit of the import). The item is kept without that part, and the answer
# says so per entry (``keptWithout``): nothing lost in silence. What a record is (a name, a label, a
# substance, a relative) and its dates are no such part: a refusal of them still refuses the entry.
_LEFT_OUT_WHEN_REFUSED: dict[str, frozenset[str]] = {
    "RelatedPerson": frozenset({"email", "relationship", "phones"}),
    "Practitioner": frozenset({"rpps", "phone", "address"}),
    "Condition": frozenset({"code"}),
    "AllergyIntolerance": frozenset({"reaction"}),
    "MedicationStatement": frozenset({"dose"}),
}


async def import_record(access: SpaceAccess, resource: Mapping[str, Any], *, hidden: bool) -> list[FieldError] | None:
    """Add one exported record to the space through the record's own service (its checks and
    rules); ``None`` when ``resource`` is not a kind the records keep, else what the record was
    kept without (:data:`_LEFT_OUT_WHEN_REFUSED`: each refusal, its pointer into the record, as the
    route would say it). Raises ``Invalid`` (pointers into the record) like the route would."""
    kind = resource.get("resourceType")
    if isinstance(kind, str) and kind in _WRITTEN:
        _refuse_what_would_be_lost(kind, resource)
    hide: dict[str, Any] = {"hiddenFromRepresentatives": True} if hidden else {}
    add: Callable[[dict[str, Any]], Awaitable[object]]
    if kind == "RelatedPerson":
        uncoded = [_text_of(r) for r in resource.get("relationship") or [] if not (r or {}).get("coding")]
        body = {
            **_name(resource),
            "relationship": next((t for t in uncoded if t), None),
            "phones": _phones(resource),
            "email": _email(resource),
            **hide,
        }

        def add(body: dict[str, Any]) -> Awaitable[object]:
            return add_emergency_contact(access, _convert(body, EmergencyContactCreate), restoring=True)

    elif kind == "Practitioner":
        rpps = next((i["value"] for i in resource.get("identifier") or [] if i.get("system") == RPPS_SYSTEM), None)
        body = {**_name(resource), "rpps": rpps, "phone": next(iter(_phones(resource)), None)}
        body["address"] = _address_in(resource)

        def add(body: dict[str, Any]) -> Awaitable[object]:
            return set_doctor(access, _convert(body, DoctorWrite), if_match=None)

    elif kind == "Condition":
        code = resource.get("code") or {}
        icd = next((c["code"] for c in code.get("coding") or [] if c.get("system") == ICD10), None)
        since = resource.get("onsetDateTime")
        body = {"label": code.get("text"), "since": since, "code": icd, **hide}

        def add(body: dict[str, Any]) -> Awaitable[object]:
            return profile.add_condition(access, _convert(body, ConditionCreate))

    elif kind == "AllergyIntolerance":
        reaction: dict[str, Any] = next(iter(resource.get("reaction") or []), {})
        manifestation = _text_of(next(iter(reaction.get("manifestation") or []), None))
        body = {
            "substance": _text_of(resource.get("code")),
            "reaction": None if manifestation == UNDESCRIBED_REACTION else manifestation,
            "severity": reaction.get("severity"),
            **hide,
        }

        def add(body: dict[str, Any]) -> Awaitable[object]:
            return profile.add_allergy(access, _convert(body, AllergyCreate))

    elif kind == "MedicationStatement":
        period = resource.get("effectivePeriod") or {}
        body = {
            "medication": _text_of(resource.get("medicationCodeableConcept")),
            "dose": next((d.get("text") for d in resource.get("dosage") or []), None),
            "since": period.get("start"),
            "until": period.get("end"),
            **hide,
        }

        def add(body: dict[str, Any]) -> Awaitable[object]:
            return profile.add_treatment(access, _convert(body, TreatmentCreate))

    elif kind == "FamilyMemberHistory":
        relationship = resource.get("relationship") or {}
        code = next((c.get("code") for c in relationship.get("coding") or []), None)
        condition: dict[str, Any] = next(iter(resource.get("condition") or []), {})
        body = {
            "relative": _RELATIVE_OF_CODE.get(code or "", code),
            "condition": _text_of(condition.get("code")),
            **hide,
        }

        def add(body: dict[str, Any]) -> Awaitable[object]:
            return profile.add_family_history(access, _convert(body, FamilyHistoryCreate))

    else:
        return None
    return await _added(body, add, optional=_LEFT_OUT_WHEN_REFUSED.get(kind, frozenset()))


async def _added(
    body: dict[str, Any], add: Callable[[dict[str, Any]], Awaitable[object]], *, optional: frozenset[str]
) -> list[FieldError]:
    """``add(body)``, again without each optional part it refuses, until it takes the record or
    refuses something else (raised). Every service refuses before it writes (its checks first),
    so a refused call left nothing to undo; each retry has one part fewer, so this ends. Only a
    text is left out (an address: its texts), as an older export holds one: a value of another type
    is no export's, and is refused."""
    left_out: list[FieldError] = []
    while True:
        try:
            await add(body)
            return left_out
        except Invalid as exc:
            found = [_refused_part(body, error.pointer, optional) for error in exc.errors]
            parts = [part for part in found if part is not None]
            if not parts or len(parts) < len(found):
                raise
            for (field, index), error in zip(parts, exc.errors, strict=True):
                if index is None:
                    body[field] = None
                else:
                    body[field][index] = None
                left_out.append(error)
            if isinstance(body.get("phones"), list):
                body["phones"] = [phone for phone in body["phones"] if phone is not None]
            if body.get("phones") == []:
                # A contact is for calling: one whose every phone is refused is refused.
                raise


def _refused_part(body: dict[str, Any], pointer: str, optional: frozenset[str]) -> tuple[str, int | None] | None:
    """The optional part of ``body`` a refusal at ``pointer`` names, as ``(field, index in its
    list)``, when it may be left out: a text (an address of texts; one of a contact's phones)."""
    field, _, rest = pointer.strip("/").partition("/")
    value = body.get(field)
    if field not in optional or value is None:
        return None
    if isinstance(value, list):
        index = int(rest) if rest.isdigit() else -1
        return (field, index) if 0 <= index < len(value) and isinstance(value[index], str) else None
    texts = value.values() if isinstance(value, dict) else [value]
    return (field, None) if all(isinstance(text, str) for text in texts) else None


def _convert(body: dict[str, Any], kind: type[T]) -> T:
    try:
        converted = msgspec.convert({k: v for k, v in body.items() if v is not None}, kind)
    except msgspec.ValidationError as exc:
        # Said in words, as the API says it: msgspec's message quotes a field's whole pattern (a review).
        error = validation_error(exc)
        raise Invalid(f"Not a record ENS can keep: {error.pointer or '/'} {error.detail}", [error]) from None
    # What a route's strict reading refuses (ens.core.strict_json), this one refuses too: an import
    # took "Zo\u202eé" as a contact's name, shown reversed to whoever reads it (an outside audit).
    errors: list[FieldError] = []
    refuse_direction_controls(converted, errors=errors)
    if errors:
        raise Invalid("Not a record ENS can keep: a text holds a direction control.", errors)
    return converted
