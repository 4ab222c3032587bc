"""In: an Observation (and the Device it names) to the item the ingestion takes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ens.core.errors import FieldError
from ens.core.fhir import LOINC, UCUM
from ens.core.local_time import EARLIEST_YEAR, LATEST_YEAR, local_midnight
from ens.vitals.catalogue import BLOOD_GLUCOSE, BLOOD_PRESSURE, BY_CODE, STEPS_PER_DAY, VITAL_TYPES
from ens.vitals.fhir.codes import (
    BODY_POSITION_EXTENSION,
    BODY_POSITION_SYSTEM,
    IG_BASE,
    MOMENT_EXTENSION,
    MOMENT_SYSTEM,
    PROFILES,
    RECORDING_METHOD_EXTENSION,
    UNSUPPORTED_PROFILES,
)
from ens.vitals.schemas import CLIENT_RECORD_ID_LENGTH

_BY_PROFILE = {profile: code for code, profile in PROFILES.items()}
HEAD_CIRCUMFERENCE = "head_circumference"
# Blood glucose: the guide's value set is extensible; these LOINC codes name a blood glucose.
_GLUCOSE_CODES = {"2339-0", "2345-7", "41653-7", "15074-8", "14749-6"}
# Head circumference: FHIR R4's vital-signs profile (headcircum) codes it 9843-4, and so does the
# guide's terminology page (v3.1.1); ENS's code is 8287-5 (DOMAIN.md, the guide's profile), the one it
# writes. An Observation coded 9843-4 was refused as no measure ENS keeps (an outside audit).
_HEAD_CIRCUMFERENCE_CODES = {"9843-4"}
_BY_LOINC = (
    {vital.loinc: vital.code for vital in VITAL_TYPES}
    | {code: BLOOD_GLUCOSE for code in _GLUCOSE_CODES}
    | {code: HEAD_CIRCUMFERENCE for code in _HEAD_CIRCUMFERENCE_CODES}
)


# Observation.status ENS takes: a result, as first given or corrected since. ``preliminary`` is
# refused too: ENS keeps no status (its reads, feed and export give every measure as a final
# result), so a preliminary value would come back out as final; an app sends it once final (a
# higher meta.versionId replaces it). The others are no result (``registered``, ``cancelled``,
# ``unknown``) or a withdrawal (``entered-in-error``: the app deletes the measure it sent,
# DELETE /v1/spaces/{space}/vitals/{id}; not done here, where the Observation names no measure of
# ENS and a deletion found by identifier would reach past what the app wrote).
KEPT_STATUSES = ("final", "amended", "corrected")


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


def fhirpath_of(pointer: str, resource: Mapping[str, Any] | None = None) -> str:
    """``/measurements/0/components/systolic`` → ``Observation.component[0].valueQuantity.value``;
    with the ``resource`` the item came from, the element it was actually read from."""
    parts = [p for p in pointer.split("/") if p][2:]
    for part in reversed(parts):
        if part in FHIRPATH_OF_FIELD:
            return "Observation." + _element_of(part, resource or {})
    return "Observation"


def _element_of(field: str, resource: Mapping[str, Any]) -> str:
    if field == "effectiveAt":
        for name in ("effectiveDateTime", "effectiveInstant"):
            if name in resource:
                return name
        if "effectivePeriod" in resource:
            return "effectivePeriod.start"
    parts = {part.code: part.loinc for part in BY_CODE[BLOOD_PRESSURE].components}
    if field in parts:
        index = _component_index(resource, parts[field])
        if index is not None:
            return f"component[{index}].valueQuantity.value"
    if field == "unit" and "valueQuantity" not in resource:
        # A blood pressure's unit is its components' (the systolic's first).
        indexes = [_component_index(resource, loinc) for loinc in parts.values()]
        present = [index for index in indexes if index is not None]
        if present:
            return f"component[{present[0]}].valueQuantity.code"
    return FHIRPATH_OF_FIELD[field]


def _component_index(resource: Mapping[str, Any], loinc: str) -> int | None:
    """Where the component coded ``loinc`` is in the resource (one only: a second is refused)."""
    components = resource.get("component")
    for index, component in enumerate(components if isinstance(components, list) else []):
        code = component.get("code") if isinstance(component, dict) else None
        codings = code.get("coding") if isinstance(code, dict) else None
        for coding in codings if isinstance(codings, list) else []:
            if isinstance(coding, dict) and coding.get("code") == loinc and coding.get("system", LOINC) == LOINC:
                return index
    return None


def _profiles(resource: Mapping[str, Any]) -> list[str]:
    meta = resource.get("meta")
    profiles = meta.get("profile") if isinstance(meta, dict) else None
    return [p for p in profiles if isinstance(p, str)] if isinstance(profiles, list) else []


def _guide_profile_id(canonical: str) -> str | None:
    """The id of one of the guide's profiles (``mesures-fr-observation-body-weight``), from its
    canonical URL (a ``|version`` aside); ``None`` for another publisher's profile, whatever its
    last segment."""
    url = canonical.split("|", 1)[0].rstrip("/")
    if not url.startswith(IG_BASE):
        return None
    return url[len(IG_BASE) :]


def _loinc_types(resource: Mapping[str, Any]) -> dict[str, str]:
    """The measures ENS keeps that ``Observation.code``'s LOINC codings name: code → measure (other
    codings, and LOINC codes of no measure, are extra words about the same observation)."""
    code = resource.get("code")
    codings = code.get("coding") if isinstance(code, dict) else None
    found: dict[str, str] = {}
    for coding in codings if isinstance(codings, list) else []:
        if not isinstance(coding, dict) or coding.get("system", LOINC) != LOINC:
            continue
        loinc = coding.get("code")
        if isinstance(loinc, str) and loinc in _BY_LOINC:
            found[loinc] = _BY_LOINC[loinc]
    return found


_NOT_KEPT = (
    "not one of the measures ENS keeps (a LOINC code of GET /v1/vital-types, with one of the guide's profiles or none)"
)


def type_of(resource: Mapping[str, Any]) -> str:
    """The measure an Observation is: what its LOINC code names, which the guide's profile, when it
    names one, must agree with (a weight profile over a heart rate's code would store 72 kg, an
    outside audit). A profile of the guide ENS does not keep is refused by name; an Observation
    whose codings name two measures, or none, is refused at its code."""
    profiled: str | None = None
    for canonical in _profiles(resource):
        profile = _guide_profile_id(canonical)
        if profile in UNSUPPORTED_PROFILES:
            raise ObservationRefused(
                [FieldError("Observation.meta.profile", f"{canonical}: {UNSUPPORTED_PROFILES[profile]}")],
                unsupported=True,
            )
        if profile in _BY_PROFILE:
            if profiled is not None and _BY_PROFILE[profile] != profiled:
                raise ObservationRefused(
                    [FieldError("Observation.meta.profile", "names the profiles of two different measures")]
                )
            profiled = _BY_PROFILE[profile]
    named = _loinc_types(resource)
    measures = set(named.values())
    if len(measures) > 1:
        codes = ", ".join(sorted(named))
        raise ObservationRefused([FieldError("Observation.code", f"its LOINC codes ({codes}) name different measures")])
    if not measures:
        if profiled is not None:
            expected = BY_CODE[profiled].loinc
            raise ObservationRefused(
                [FieldError("Observation.code", f"the profile's measure has LOINC code {expected}: give it here")]
            )
        raise ObservationRefused([FieldError("Observation.code", _NOT_KEPT)], unsupported=True)
    measure = measures.pop()
    if profiled is not None and measure != profiled:
        raise ObservationRefused(
            [
                FieldError(
                    "Observation.code",
                    f"{', '.join(sorted(named))} is not the measure of the profile "
                    f"{PROFILES[profiled]} (LOINC {BY_CODE[profiled].loinc})",
                )
            ]
        )
    return measure


def _quantity_in(raw: Any, where: str, errors: list[FieldError]) -> tuple[Any, str | None]:
    if not isinstance(raw, dict):
        errors.append(FieldError(where, "required: a Quantity with value, system and code"))
        return None, None
    if "system" not in raw and raw.get("code") is not None:
        # FHIR R4's qty-3: a unit's code means nothing without its system ("kg" may be another
        # system's code). It was read as UCUM's, the system assumed.
        errors.append(FieldError(f"{where}.system", f"required with a code (FHIR's qty-3): {UCUM}"))
    elif raw.get("system", UCUM) != UCUM:
        errors.append(FieldError(f"{where}.system", f"must be {UCUM}"))
    if raw.get("comparator") is not None:
        # "<" 3.9 (a meter's LO or HI) is no value of 3.9: ENS keeps exact values only.
        errors.append(
            FieldError(f"{where}.comparator", "not taken: ENS keeps measured values only, not a bound (<, <=, >=, >)")
        )
    unit = raw.get("code", raw.get("unit"))
    return raw.get("value"), unit if isinstance(unit, str) else None


def _extension(resource: Mapping[str, Any], url: str, errors: list[FieldError]) -> dict[str, Any] | None:
    """The one extension of ``url``; a second is refused (422 at it): ENS keeps one value of each,
    and the first was kept while the second was dropped unread (two moments, fasting then bedtime:
    an outside audit)."""
    found: dict[str, Any] | None = None
    extensions = resource.get("extension")
    for index, extension in enumerate(extensions if isinstance(extensions, list) else []):
        if isinstance(extension, dict) and extension.get("url") == url:
            if found is not None:
                errors.append(FieldError(f"Observation.extension[{index}]", f"{url} given twice: give one"))
                return None
            found = extension
    return found


def _coded(extension: Mapping[str, Any] | None, system: str | None, errors: list[FieldError], where: str) -> str | None:
    """The code an extension gives: its ``valueCode``, or in its ``valueCodeableConcept`` the
    coding of ``system`` (ENS's codes; one without a system is taken as ENS's), else its text.

    A CodeableConcept may carry several codings of one meaning (a standard code, then its
    translation): the first was read whatever its system, so a SNOMED code before ENS's own was
    refused as no code of ENS's, and another system's code spelt like one of ENS's was taken for
    it (an outside audit). ``system`` None: any coding (an extension of ENS's with no code system)."""
    if extension is None:
        return None
    if isinstance(extension.get("valueCode"), str):
        return str(extension["valueCode"])
    concept = extension.get("valueCodeableConcept")
    if isinstance(concept, dict):
        listed = concept.get("coding")
        codings = [
            coding
            for coding in (listed if isinstance(listed, list) else [])
            if isinstance(coding, dict) and isinstance(coding.get("code"), str)
        ]
        ours = {str(c["code"]) for c in codings if system is None or c.get("system") in (None, system)}
        if len(ours) > 1:
            errors.append(FieldError(where, f"codes {', '.join(sorted(ours))}: give one"))
            return None
        if ours:
            return ours.pop()
        if codings:
            others = sorted({str(c.get("system")) for c in codings})
            errors.append(
                FieldError(where, f"a coding of {system} is required (ENS's codes); given only {', '.join(others)}")
            )
            return None
        if isinstance(concept.get("text"), str):
            return str(concept["text"])
    return None


_INSTANT = "a date and time with its UTC offset"


def _instant(raw: Any) -> datetime | date | None:
    """A FHIR dateTime: a datetime with its offset, a date (YYYY-MM-DD), or None (anything else)."""
    if not isinstance(raw, str):
        return None
    try:
        if len(raw) == 10:
            return date.fromisoformat(raw)
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00")) if "T" in raw else None
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def _day_start(day: date, zone: ZoneInfo, where: str, errors: list[FieldError]) -> datetime | None:
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        errors.append(FieldError(where, f"a day between the years {EARLIEST_YEAR} and {LATEST_YEAR}"))
        return None
    return local_midnight(day, zone)


# The types of Observation.effective[x] in FHIR R4.
_EFFECTIVE_TYPES = frozenset({"DateTime", "Period", "Timing", "Instant"})


def _effective_at(resource: Mapping[str, Any], type_: str, zone: ZoneInfo, errors: list[FieldError]) -> str | None:
    """The instant of the measure (``effectiveAt``) from ``effective[x]``.

    Every measure takes an ``effectiveDateTime`` (or ``effectiveInstant``) with its UTC offset. A
    day's step count (steps_per_day, one value per local day) also takes a date alone, read as that
    day in the space's time zone (its local midnight), or an ``effectivePeriod`` within one local
    day, read as its ``start``."""
    steps = type_ == STEPS_PER_DAY
    given = [key for key in resource if key.startswith("effective") and key[len("effective") :] in _EFFECTIVE_TYPES]
    if len(given) > 1:
        # A choice element takes one of its types (FHIR's [x]): which one would be the measure's time?
        errors.append(FieldError("Observation.effective[x]", f"one of {', '.join(given)}: a choice takes one"))
        return None
    for name in ("effectiveDateTime", "effectiveInstant"):
        if name not in resource:
            continue
        where = f"Observation.{name}"
        found = _instant(resource[name])
        if isinstance(found, datetime):
            return str(resource[name])
        if isinstance(found, date) and steps and name == "effectiveDateTime":
            start = _day_start(found, zone, where, errors)
            return start.isoformat() if start else None
        hint = " (a date alone is taken for steps_per_day only: that day in the space's time zone)"
        errors.append(FieldError(where, _INSTANT + (hint if isinstance(found, date) else "")))
        return None
    if "effectivePeriod" in resource:
        period = resource["effectivePeriod"]
        if not steps:
            errors.append(
                FieldError(
                    "Observation.effective[x]",
                    f"{type_} is measured at an instant: give effectiveDateTime, {_INSTANT}, not an "
                    "effectivePeriod (taken for steps_per_day only, within one day)",
                )
            )
            return None
        return _steps_period(period if isinstance(period, dict) else {}, zone, errors)
    if any(key.startswith("effective") for key in resource):
        detail = f"give effectiveDateTime, {_INSTANT}"
    else:
        detail = f"required: effectiveDateTime, {_INSTANT}"
    errors.append(FieldError("Observation.effective[x]", detail))
    return None


def _steps_period(period: Mapping[str, Any], zone: ZoneInfo, errors: list[FieldError]) -> str | None:
    """A day's step count over a period: its start's day; the period must end within that day."""
    start = _instant(period.get("start"))
    if start is None:
        errors.append(FieldError("Observation.effectivePeriod.start", f"required: a date, or {_INSTANT}"))
        return None
    if not isinstance(start, datetime):
        day = start
    elif EARLIEST_YEAR <= start.year <= LATEST_YEAR:  # (year 1 at +14:00 has no UTC instant)
        day = start.astimezone(zone).date()
    else:
        day = start.date()  # refused below, as a day
    midnight = _day_start(day, zone, "Observation.effectivePeriod.start", errors)
    if midnight is None:
        return None
    if "end" in period:
        end = _instant(period["end"])
        next_midnight = local_midnight(day + timedelta(days=1), zone)
        begins = start if isinstance(start, datetime) else midnight
        if isinstance(end, datetime):
            within = begins <= end <= next_midnight
        else:
            within = end == day
        if not within:
            errors.append(
                FieldError(
                    "Observation.effectivePeriod.end",
                    f"a day's steps: the period ends within the day it starts ({day}, in the space's time zone)",
                )
            )
            return None
    return start.isoformat() if isinstance(start, datetime) else midnight.isoformat()


# The types of Observation.value[x] in FHIR R4.
_VALUE_TYPES = frozenset(
    "Quantity CodeableConcept String Boolean Integer Range Ratio SampledData Time DateTime Period".split()
)


def _check_value_types(resource: Mapping[str, Any], errors: list[FieldError]) -> None:
    """value[x] other than a Quantity is refused, at ``value[x]``: ENS keeps numbers with their UCUM
    unit. A ``valueString`` beside the ``valueQuantity`` was dropped unread (an outside audit), where
    a choice takes one type (FHIR's [x]), as ``effective[x]`` given twice is refused."""
    given = [key for key in resource if key.startswith("value") and key[len("value") :] in _VALUE_TYPES]
    others = [key for key in given if key != "valueQuantity"]
    if not others:
        return
    if len(given) > 1:
        detail = f"one of {', '.join(given)}: a choice takes one"
    else:
        detail = f"{others[0]} is not taken: give valueQuantity"
    errors.append(FieldError("Observation.value[x]", detail))


def _place(site: Any, errors: list[FieldError]) -> str | None:
    """Where the measure was taken (``measurementLocation``), kept as text: ``bodySite.text``, else
    the ``display`` of its first coding that has one. The guide's blood pressure profile codes it
    (JDV-J149: TRE-R309-FMA 24890 "Bras", 24922 "Poignet") without a text, and the place was
    dropped without a word (an outside audit); codes with nothing to show are refused (422)."""
    if not isinstance(site, dict):
        return None
    if isinstance(site.get("text"), str):
        return str(site["text"])
    codings = site.get("coding")
    for coding in codings if isinstance(codings, list) else []:
        if isinstance(coding, dict) and isinstance(coding.get("display"), str):
            return str(coding["display"])
    if codings:
        errors.append(
            FieldError("Observation.bodySite", "ENS keeps the place as text: give bodySite.text, or a coding's display")
        )
    return None


def _check_status(status: Any, errors: list[FieldError]) -> None:
    if status in KEPT_STATUSES:
        return
    kept = ", ".join(KEPT_STATUSES)
    if status is None:
        detail = f"required: one of {kept}"
    elif status == "entered-in-error":
        detail = (
            f"entered-in-error is not taken: ENS keeps results ({kept}); to withdraw a measure the app sent, "
            "delete it (DELETE /v1/spaces/me/vitals/{id})"
        )
    elif status == "preliminary":
        detail = f"preliminary is not taken: ENS keeps final results only ({kept}); send it again once final"
    else:
        detail = f"{str(status)[:40]!r} is not taken: ENS keeps results only ({kept})"
    errors.append(FieldError("Observation.status", detail))


# The elements of FHIR R4's Observation and Device (the resources /fhir and the space import read):
# any other name is no FHIR, refused rather than dropped unread, as an unknown field is on /v1.
_DOMAIN_RESOURCE = frozenset(
    "resourceType id meta implicitRules language text contained extension modifierExtension".split()
)
OBSERVATION_ELEMENTS = _DOMAIN_RESOURCE | frozenset(
    """identifier basedOn partOf status category code subject focus encounter effectiveDateTime effectivePeriod
    effectiveTiming effectiveInstant issued performer valueQuantity valueCodeableConcept valueString valueBoolean
    valueInteger valueRange valueRatio valueSampledData valueTime valueDateTime valuePeriod dataAbsentReason
    interpretation note bodySite method specimen device referenceRange hasMember derivedFrom component""".split()
)
DEVICE_ELEMENTS = _DOMAIN_RESOURCE | frozenset(
    """identifier definition udiCarrier status statusReason distinctIdentifier manufacturer manufactureDate
    expirationDate lotNumber serialNumber deviceName modelNumber partNumber type specialization version property
    patient owner contact location url note safety parent""".split()
)


def check_elements(resource: Mapping[str, Any], known: frozenset[str], errors: list[FieldError]) -> None:
    """422 for an element FHIR R4 does not define on the resource (a primitive's ``_element``
    sibling is FHIR's), and for a ``modifierExtension`` or ``implicitRules``: each changes what the
    resource means, and FHIR has a system that does not understand it refuse the resource rather
    than misread it (``implicitRules`` had been taken and dropped: an outside audit)."""
    kind = str(resource.get("resourceType"))
    for name in resource:
        if name not in known and not (name.startswith("_") and name[1:] in known):
            errors.append(FieldError(_shown(f"{kind}.{name}"), f"{name[:40]!r} is no element of a FHIR R4 {kind}"))
    if resource.get("modifierExtension"):
        errors.append(
            FieldError(f"{kind}.modifierExtension", "a modifier extension ENS does not understand: not taken")
        )
    if resource.get("implicitRules") is not None:
        errors.append(
            FieldError(f"{kind}.implicitRules", "rules the reader must understand, which ENS does not: not taken")
        )
    # One within it too (a Device's deviceName[0], a component): a Device entry's was taken (a review).
    _refuse_nested_modifier_extensions(resource, kind, errors, top=True)


_ABSENT_VALUE = (
    "not taken: ENS keeps measured values only (a value missing, or one a dataAbsentReason says is not one, "
    "is no measure)"
)


def _refuse_nested_modifier_extensions(value: Any, path: str, errors: list[FieldError], *, top: bool = False) -> None:
    """A ``modifierExtension`` anywhere within the resource (a blood pressure's component, a
    referenceRange...) is refused, as the resource's own is (:func:`check_elements`, which reports
    that one): it changes the meaning of the element that carries it, and ENS understands none. A
    component's was taken and dropped (a review)."""
    if isinstance(value, dict):
        for name, inner in value.items():
            if name == "modifierExtension" and inner and not top:
                # Its path at a bounded length, as a warning's: a name the app made up was echoed whole.
                errors.append(
                    FieldError(_shown(f"{path}.modifierExtension"), "a modifier extension ENS does not understand")
                )
            elif isinstance(inner, dict | list) and name != "modifierExtension":
                _refuse_nested_modifier_extensions(inner, f"{path}.{name}", errors)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _refuse_nested_modifier_extensions(inner, f"{path}[{index}]", errors)


def measurement_of(
    resource: Mapping[str, Any],
    *,
    device: Mapping[str, Any] | None,
    zone: ZoneInfo,
    with_identity: bool = True,
    own_system: str | None = None,
) -> dict[str, Any]:
    """The ingestion's item (``POST .../vitals``) for an Observation; the checks of values, units
    and times are the ingestion's own. ``identifier[0]`` is the app's ``clientRecordId`` (see
    :func:`client_record_id`) and ``meta.versionId`` its version (``with_identity``; the import
    passes its own). ``own_system``: the app's own identifier system (the one ENS's export gives
    its measures). ``zone``, the space's time zone, places a day's step count given as a date."""
    vital = BY_CODE[type_of(resource)]
    errors: list[FieldError] = []
    check_elements(resource, OBSERVATION_ELEMENTS, errors)
    if resource.get("focus"):
        # The measure is of someone or something else than the subject (a fetus, a donor): stored,
        # it would be the holder's own (it was, the focus dropped: an outside audit).
        errors.append(FieldError("Observation.focus", "ENS keeps the subject's own measures: no focus"))
    _check_status(resource.get("status"), errors)
    if resource.get("dataAbsentReason") is not None:
        # Why the value is missing (FHIR's obs-6: never beside a value): a measure without its
        # value, or one whose value says it is not one. ENS keeps measured values only.
        errors.append(FieldError("Observation.dataAbsentReason", _ABSENT_VALUE))
    item: dict[str, Any] = {"type": vital.code}
    _check_value_types(resource, errors)
    # A value where the type takes none was dropped without a word (an outside audit); /v1 refuses it.
    if vital.code == BLOOD_PRESSURE and resource.get("valueQuantity") is not None:
        errors.append(
            FieldError("Observation.valueQuantity", "a blood pressure takes its values in components, not here")
        )
    if vital.code != BLOOD_PRESSURE and resource.get("component"):
        errors.append(FieldError("Observation.component", f"{vital.code} takes valueQuantity, not components"))
    if vital.code == BLOOD_PRESSURE:
        found: dict[str, tuple[Any, str | None]] = {}
        absent: set[str] = set()
        for index, component in enumerate(resource.get("component") or []):
            code = component.get("code") if isinstance(component, dict) else None
            codings = code.get("coding") if isinstance(code, dict) else None
            loincs = {
                c.get("code")
                for c in (codings if isinstance(codings, list) else [])
                if isinstance(c, dict) and c.get("system", LOINC) == LOINC
            }
            parts = [part for part in vital.components if part.loinc in loincs]
            where = f"Observation.component[{index}]"
            if len(parts) > 1:
                errors.append(FieldError(f"{where}.code", "coded as two parts of the blood pressure: which is it?"))
                continue
            if not parts:
                continue
            part = parts[0]
            if component.get("dataAbsentReason") is not None:
                errors.append(FieldError(f"{where}.dataAbsentReason", _ABSENT_VALUE))
                absent.add(part.code)  # refused here, not "required" again below
                continue
            if part.code in found:
                # Two systolic values: keeping either would drop the other without a word (an audit).
                errors.append(FieldError(where, f"a second component coded {part.loinc} ({part.label}): give one"))
                continue
            found[part.code] = _quantity_in(component.get("valueQuantity"), f"{where}.valueQuantity", errors)
        missing = [part for part in vital.components if part.code not in found]
        for part in missing:
            if part.code not in absent:
                errors.append(
                    FieldError("Observation.component", f"a component coded {part.loinc} ({part.label}) is required")
                )
        if not missing:
            item["components"] = {part.code: found[part.code][0] for part in vital.components}
            units = {found[part.code][1] for part in vital.components}
            item["unit"] = units.pop() if len(units) == 1 else None
            if item["unit"] is None:
                errors.append(FieldError("Observation.component", "both components in one UCUM unit"))
    elif resource.get("valueQuantity") is not None or resource.get("dataAbsentReason") is None:
        # (A value absent with its reason is refused at the reason, above.)
        item["value"], item["unit"] = _quantity_in(resource.get("valueQuantity"), "Observation.valueQuantity", errors)
        if item["unit"] is None and isinstance(resource.get("valueQuantity"), dict):
            errors.append(FieldError("Observation.valueQuantity.code", "required: the UCUM unit"))
    effective = _effective_at(resource, vital.code, zone, errors)
    if effective is not None:
        item["effectiveAt"] = effective
    for field, url, system in (
        ("glucoseMoment", MOMENT_EXTENSION, MOMENT_SYSTEM),
        ("bodyPosition", BODY_POSITION_EXTENSION, BODY_POSITION_SYSTEM),
        ("recordingMethod", RECORDING_METHOD_EXTENSION, None),
    ):
        code = _coded(_extension(resource, url, errors), system, errors, f"Observation.extension('{url}')")
        if code is not None:
            item[field] = code
    site = _place(resource.get("bodySite"), errors)
    if site is not None:
        item["measurementLocation"] = site
    if errors:
        raise ObservationRefused(errors)
    notes = [
        str(n["text"]) for n in resource.get("note") or [] if isinstance(n, dict) and isinstance(n.get("text"), str)
    ]
    if notes:
        item["note"] = "\n".join(notes)
    if device is not None:
        item["device"] = device_item(device)
    if with_identity:
        identifiers = resource.get("identifier") or []
        first = identifiers[0] if isinstance(identifiers, list) and identifiers else None
        if isinstance(first, dict) and first.get("value") is None:
            # An identifier without its value identifies nothing: a re-send would be stored again,
            # as if the app had sent none (an outside audit).
            raise ObservationRefused(
                [FieldError("Observation.identifier[0].value", "required: the identifier ENS finds the measure by")]
            )
        if isinstance(first, dict) and first.get("value") is not None:
            item["clientRecordId"] = client_record_id(first, own_system)
            meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
            version = meta.get("versionId") if isinstance(meta, dict) else None
            if version is not None:
                item["clientRecordVersion"] = (
                    int(version) if isinstance(version, str) and version.isdigit() else version
                )
    return item


# What ENS reads of an Observation, or writes again from what it keeps: its type (``code``, and the
# ``category`` every measure has), the value, the time, the device, the notes' texts, the place as
# text, ``identifier[0]``, the extensions of :func:`measurement_of`, the Device it contains. ``id``
# is the server's on a create, and ``meta`` is the server's to set (FHIR's http.html lets a server
# alter metadata; ``versionId``, ``profile`` and ``security`` are read). ``subject`` and ``status``
# are checked (the holder's, a result), and what changes the meaning (``modifierExtension``,
# ``implicitRules``, ``focus``, ``dataAbsentReason``) is refused. Any other element is accepted and
# named back to the app as not stored (:func:`unstored_elements`).
_READ_ELEMENTS = frozenset(
    """resourceType id meta implicitRules modifierExtension status category code subject focus effectiveDateTime
    effectiveInstant effectivePeriod valueQuantity dataAbsentReason component device note bodySite identifier
    extension contained""".split()
)
_READ_EXTENSIONS = frozenset({MOMENT_EXTENSION, BODY_POSITION_EXTENSION, RECORDING_METHOD_EXTENSION})
# What a blood pressure's systolic or diastolic component keeps: its code and its value.
_READ_IN_COMPONENTS = frozenset({"id", "code", "valueQuantity", "dataAbsentReason", "modifierExtension"})
# What a note keeps: its text (its author and time are not stored).
_READ_IN_NOTES = frozenset({"id", "text"})


# An element's path as a warning or a refusal names it, at most: a name the app made up inside a
# component, a note or a primitive's ``_x`` is echoed, and was at any length (a review; the
# refusals, an unknown element's or a modifierExtension's within one, were left out of its cap).
_PATH_SHOWN = 160


def _shown(path: str) -> str:
    """``path`` as a warning or a refusal names it: at most :data:`_PATH_SHOWN` characters."""
    return path if len(path) <= _PATH_SHOWN else path[: _PATH_SHOWN - 1] + "…"


def _not_stored(path: str, detail: str) -> FieldError:
    return FieldError(_shown(path), f"not stored: {detail}")


def _unread(resource: Mapping[str, Any], kind: str, read: frozenset[str], detail: str) -> list[FieldError]:
    """The resource's elements not among those ``read``, and the ids and extensions of its
    primitives (``_effectiveDateTime``: ENS keeps the value alone)."""
    unstored: list[FieldError] = []
    for name, value in resource.items():
        if name.startswith("_"):
            at = [f"{kind}.{name[1:]}.{part}" for part in value] if isinstance(value, dict) else [f"{kind}.{name[1:]}"]
            unstored += [_not_stored(where, "a primitive's id or extension") for where in at]
        elif name not in read:
            unstored.append(_not_stored(f"{kind}.{name}", detail))
    return unstored


def unstored_elements(resource: Mapping[str, Any]) -> list[FieldError]:
    """The elements of an Observation ENS took that it does not store (FHIRPaths from
    ``Observation``), for the warnings of the transaction-response: devices send elements ENS keeps
    no place for (an ``interpretation``, a ``referenceRange``, the guide's reason for the measure),
    which were dropped without a word (a review). Named whole: the parts ENS writes again from what
    it keeps (a coding's display, a quantity's ``unit`` text) are not. A ``contained`` resource
    other than the Device goes with the element that references it."""
    unstored = _unread(resource, "Observation", _READ_ELEMENTS, "ENS keeps no such element of a measure")
    identifiers = resource.get("identifier")
    for index in range(1, len(identifiers) if isinstance(identifiers, list) else 0):
        unstored.append(_not_stored(f"Observation.identifier[{index}]", "ENS keeps a measure's identifier[0]"))
    extensions = resource.get("extension")
    for index, extension in enumerate(extensions if isinstance(extensions, list) else []):
        url = extension.get("url") if isinstance(extension, dict) else None
        if url not in _READ_EXTENSIONS:
            unstored.append(_not_stored(f"Observation.extension[{index}]", f"ENS keeps no {str(url)[:120]!r}"))
    notes = resource.get("note")
    for index, note in enumerate(notes if isinstance(notes, list) else []):
        for name in note if isinstance(note, dict) else ():
            if name not in _READ_IN_NOTES:
                unstored.append(_not_stored(f"Observation.note[{index}].{name}", "ENS keeps a note's text"))
    device = resource.get("device")
    if isinstance(device, dict):
        # A Reference that names no Device (a display alone) brought no device, without a word (an
        # outside audit); ENS keeps the Device a reference names, not the Reference's other parts.
        if "reference" not in device:
            unstored.append(_not_stored("Observation.device", "names no Device (no reference): ENS keeps none"))
        else:
            unstored += [
                _not_stored(f"Observation.device.{name}", "ENS keeps the Device the reference names")
                for name in device
                if name != "reference"
            ]
    contained = resource.get("contained")
    for index, inner in enumerate(contained if isinstance(contained, list) else []):
        if not (isinstance(inner, dict) and inner.get("resourceType") == "Device"):
            unstored.append(_not_stored(f"Observation.contained[{index}]", "ENS keeps no resource but the Device"))
    parts = {part.loinc for part in BY_CODE[BLOOD_PRESSURE].components}
    components = resource.get("component")
    for index, component in enumerate(components if isinstance(components, list) else []):
        where = f"Observation.component[{index}]"
        if not isinstance(component, dict):
            continue
        if not any(_component_index({"component": [component]}, loinc) is not None for loinc in parts):
            unstored.append(_not_stored(where, "a blood pressure keeps its systolic and diastolic components"))
            continue
        for name in component:
            if name not in _READ_IN_COMPONENTS:
                unstored.append(_not_stored(f"{where}.{name}", "a component keeps its code and value"))
    return unstored


def client_record_id(identifier: Mapping[str, Any], own_system: str | None) -> Any:
    """The key an Observation's ``identifier[0]`` is stored under, the app's ``clientRecordId``.

    FHIR identifies by system *and* value: two systems may number their measures alike, and taking
    the value alone made two measures one (a re-send of the other's answered, the new one dropped:
    an outside audit). The key is the value where the identifier has no system or the app's own
    (``own_system``, the one ENS's export names it by, so an exported Observation sent back finds
    its measure), and FHIR's token ``system|value`` otherwise: the ``clientRecordId`` a /v1 item
    meets. Measures stored before 2026-12-05 keep their value alone."""
    value = identifier.get("value")
    system = identifier.get("system")
    if isinstance(value, str) and "|" in value and not (isinstance(system, str) and system):
        # Kept alone, it would be the key of the system before its bar: {"value": "urn:x|v1"} was
        # taken for the measure of system urn:x, value v1, and dropped (an outside audit). The
        # app's own system (the export's, whose values may hold a bar) says it is the app's key.
        raise ObservationRefused(
            [
                FieldError(
                    "Observation.identifier[0].system",
                    "required for a value holding '|', which alone reads as system|value: give its system "
                    f"(your own, {own_system}, for a key of yours)"
                    if own_system
                    else "required for a value holding '|', which alone reads as system|value",
                )
            ]
        )
    if isinstance(system, str) and "|" in system and system != own_system:
        # The key splits at the first bar: {"system": "urn:x|a", "value": "b"} was the key of
        # {"system": "urn:x", "value": "a|b"}, answered with that measure, the new one dropped (a
        # review of the key). A value may hold bars; a system, which FHIR's token escapes, may not.
        raise ObservationRefused(
            [FieldError("Observation.identifier[0].system", "a system holding '|' is not taken: ENS keys system|value")]
        )
    if not isinstance(value, str) or not isinstance(system, str) or not system or system == own_system:
        return value  # a value not a string is refused where it stands, by the ingestion
    key = f"{system}|{value}"
    if len(key) > CLIENT_RECORD_ID_LENGTH:
        raise ObservationRefused(
            [
                FieldError(
                    "Observation.identifier[0]",
                    f"system|value is {len(key)} characters: ENS keeps an identifier of at most "
                    f"{CLIENT_RECORD_ID_LENGTH}, its system and value together",
                )
            ]
        )
    return key


def device_reference(resource: Mapping[str, Any], errors: list[FieldError]) -> str | None:
    """What an Observation's ``device`` names (its ``reference``), ``None`` when it names nothing.
    A ``device`` that is no Reference (an object), or a ``reference`` that is no string, is an error
    at it: both doors read them as naming no device, and the measure came in without its device,
    nothing said (an outside audit)."""
    if "device" not in resource:
        return None
    device = resource["device"]
    if not isinstance(device, dict):
        errors.append(FieldError("Observation.device", "a Reference (an object), naming the Device"))
        return None
    if "reference" in device and not isinstance(device["reference"], str):
        errors.append(FieldError("Observation.device.reference", "a string: the Device's fullUrl"))
        return None
    reference = device.get("reference")
    return reference if isinstance(reference, str) else None


# Where :func:`device_item` read each field: the field to its FHIRPath.
DEVICE_FHIRPATHS = {"manufacturer": "manufacturer", "model": "modelNumber", "identifier": "identifier"}


def device_item(device: Mapping[str, Any]) -> dict[str, Any]:
    """What identifies a FHIR ``Device`` (manufacturer, model, identifier), as the ingestion's item
    names it (``device``); unchecked (the ingestion checks it with the measure)."""
    identifiers = device.get("identifier") or []
    identifier = next(
        (i["value"] for i in identifiers if isinstance(i, dict) and isinstance(i.get("value"), str)), None
    )
    # A model is the modelNumber, else a deviceName of type model-name (as ENS's export writes it;
    # one without its type, which R4 requires, is taken so too). Another name is no model: a
    # patient-reported-name ("Ma balance de Camille", as the guide's example names a scale) was
    # kept as the model and exported as its modelNumber (an outside audit).
    names = [
        n.get("name")
        for n in device.get("deviceName") or []
        if isinstance(n, dict) and n.get("type", "model-name") == "model-name"
    ]
    model = device.get("modelNumber") or next((n for n in names if isinstance(n, str)), None)
    found = {"manufacturer": device.get("manufacturer"), "model": model, "identifier": identifier}
    return {key: value for key, value in found.items() if value is not None}


# What ENS reads of a Device (:func:`device_item`); ``id`` and ``meta`` are the Bundle's and the
# server's (its id is derived from what identifies it).
_READ_IN_DEVICES = frozenset({"resourceType", "id", "meta", "manufacturer", "modelNumber", "deviceName", "identifier"})


def unstored_device_elements(device: Mapping[str, Any]) -> list[FieldError]:
    """The elements of a Device ENS does not keep (FHIRPaths from ``Device``): all but what
    :func:`device_item` reads, the identifier and the model name it takes included. A serial
    number, a version or a name the person gave were dropped without a word (a review)."""
    unstored = _unread(device, "Device", _READ_IN_DEVICES, "ENS keeps a device's manufacturer, model and identifier")
    identifiers = device.get("identifier")
    listed = identifiers if isinstance(identifiers, list) else []
    kept = next((i for i, x in enumerate(listed) if isinstance(x, dict) and isinstance(x.get("value"), str)), None)
    unstored += [
        _not_stored(f"Device.identifier[{index}]", "ENS keeps one identifier of a device, its value")
        for index in range(len(listed))
        if index != kept
    ]
    names = device.get("deviceName")
    named = names if isinstance(names, list) else []
    models = [
        index
        for index, n in enumerate(named)
        if isinstance(n, dict) and n.get("type", "model-name") == "model-name" and isinstance(n.get("name"), str)
    ]
    model = None if device.get("modelNumber") or not models else models[0]
    unstored += [
        _not_stored(f"Device.deviceName[{index}]", "ENS keeps a device's model (its modelNumber, else a model-name)")
        for index in range(len(named))
        if index != model
    ]
    return unstored


def tag_in(resource: Mapping[str, Any], system: str) -> tuple[str, str] | None:
    """The (code, display) of the resource's tag of ``system``, if any."""
    meta = resource.get("meta")
    for coding in (meta.get("tag") if isinstance(meta, dict) else None) or []:
        if isinstance(coding, dict) and coding.get("system") == system and isinstance(coding.get("code"), str):
            return coding["code"], str(coding.get("display") or coding["code"])
    return None
