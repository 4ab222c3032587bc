"""``POST /fhir``: what an Observation or its Device carries that ENS does not store is named back
in the transaction-response, never dropped without a word (a review: an ``interpretation``, a
``referenceRange``, a ``performer`` were taken and dropped). FHIR lets a server keep less than it
is sent (its "Managing updates" page) and gives each entry of a transaction-response an
``OperationOutcome`` of hints and warnings (``Bundle.entry.response.outcome``): each element taken
and not stored is a ``warning`` issue at its FHIRPath. What would change the measure's meaning if
dropped is refused (422): a ``dataAbsentReason``, a ``modifierExtension`` anywhere, a contained
resource nothing references (FHIR's dom-3)."""

from __future__ import annotations

import copy
from typing import Any

import httpx
from fhir.resources.R4B.bundle import Bundle

from tests.helpers.people import MakeAppToken, Person
from tests.helpers.vitals import VITALS, at
from tests.vitals.test_fhir_intake import UCUM, alone, body_weight, device, outcome, transaction, warned

SYSTOLIC = {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}
DIASTOLIC = {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}


def pressure(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "effectiveDateTime": at(10),
        "component": [
            {"code": copy.deepcopy(SYSTOLIC), "valueQuantity": {"value": 121, "system": UCUM, "code": "mm[Hg]"}},
            {"code": copy.deepcopy(DIASTOLIC), "valueQuantity": {"value": 79, "system": UCUM, "code": "mm[Hg]"}},
        ],
        **extra,
    }


def plain_weight(**extra: Any) -> dict[str, Any]:
    """The guide's weight without what ENS keeps no place for (its reason for the measure)."""
    observation = body_weight()
    del observation["extension"]
    return {**observation, **extra}


def plain_device(**extra: Any) -> dict[str, Any]:
    """The guide's Device without the name the person gave it."""
    return {**{k: v for k, v in device().items() if k != "deviceName"}, **extra}


async def _taken(client: httpx.AsyncClient, app_headers: dict[str, str], bundle: dict[str, Any]) -> list[Any]:
    answer = await client.post("/fhir", json=bundle, headers=app_headers)
    assert answer.status_code == 200, answer.text
    Bundle.model_validate(answer.json())
    entries: list[Any] = answer.json()["entry"]
    return entries


async def test_elements_not_stored_are_named_in_the_entrys_outcome(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:write"])
    observation = plain_weight(
        identifier=[{"system": "urn:oid:1.2.3.4.5", "value": "weigh-in-9"}, {"value": "another"}],
        text={"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">71 kg</div>'},
        language="fr",
        issued=at(29),
        _effectiveDateTime={"extension": [{"url": "https://example.org/clock", "valueString": "device"}]},
        interpretation=[
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "N"}]}
        ],
        method={"text": "pesée du matin"},
        referenceRange=[{"low": {"value": 50, "system": UCUM, "code": "kg"}, "text": "50 à 90 kg"}],
        performer=[{"reference": "#nurse"}],
        contained=[{"resourceType": "Practitioner", "id": "nurse", "name": [{"family": "Martin"}]}],
        note=[{"text": "après le sport", "authorString": "Camille", "time": at(29)}],
        hasMember=[{"reference": "Observation/other"}],
        derivedFrom=[{"reference": "Observation/source"}],
        extension=[{"url": "https://example.org/mood", "valueString": "content"}],
    )
    bundle = transaction(observation)
    bundle["entry"][0]["resource"] = plain_device()
    device_entry, observation_entry = await _taken(client, app.headers, bundle)
    at_ = "Bundle.entry[1].resource."
    assert sorted(warned(observation_entry)) == sorted(
        at_ + path
        for path in (
            "text",
            "language",
            "issued",
            "effectiveDateTime.extension",
            "interpretation",
            "method",
            "referenceRange",
            "performer",
            "hasMember",
            "derivedFrom",
            "identifier[1]",
            "extension[0]",
            "note[0].authorString",
            "note[0].time",
            "contained[0]",
        )
    )
    assert warned(device_entry) == []
    assert "outcome" not in device_entry["response"]
    # What is kept is kept: the value, the note's text.
    [measure] = (await client.get(VITALS, headers=person.headers)).json()["items"]
    assert (measure["value"], measure["note"]) == (71, "après le sport")
    # A re-send (200 OK) says it again; a Bundle with nothing ENS does not keep has no outcome.
    _, again = await _taken(client, app.headers, bundle)
    assert again["response"]["status"] == "200 OK" and len(warned(again)) == 15
    bundle = transaction(plain_weight(identifier=[{"value": "plain"}]))
    bundle["entry"][0]["resource"] = plain_device()
    plain = await _taken(client, app.headers, bundle)
    assert [entry["response"].get("outcome") for entry in plain] == [None, None]


async def test_a_devices_elements_not_stored_are_named_where_the_device_is(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:write"])
    extra = {
        "serialNumber": "SN-42",
        "version": [{"value": "1.2"}],
        "identifier": [*device()["identifier"], {"system": "urn:example", "value": "second"}],
    }
    bundle = transaction(plain_weight())
    bundle["entry"][0]["resource"] = plain_device(**extra)
    device_entry, observation_entry = await _taken(client, app.headers, bundle)
    assert sorted(warned(device_entry)) == [
        "Bundle.entry[0].resource.identifier[1]",
        "Bundle.entry[0].resource.serialNumber",
        "Bundle.entry[0].resource.version",
    ]
    assert warned(observation_entry) == []
    # A Device the Observation contains: its elements not stored are named in the Observation's entry.
    inside = plain_device(**extra, id="scale")
    contained = plain_weight(identifier=[{"value": "contained"}], device={"reference": "#scale"}, contained=[inside])
    [entry] = await _taken(client, app.headers, alone(contained))
    assert sorted(warned(entry)) == [
        "Bundle.entry[0].resource.contained[0].identifier[1]",
        "Bundle.entry[0].resource.contained[0].serialNumber",
        "Bundle.entry[0].resource.contained[0].version",
    ]


async def test_a_blood_pressures_other_components_and_their_parts_not_stored_are_named(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    app = await make_app_token(person, ["vitals.blood_pressure:write"])
    observation = pressure()
    observation["component"][0]["interpretation"] = [{"text": "élevée"}]
    observation["component"].append(
        {
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "valueQuantity": {"value": 64, "system": UCUM, "code": "/min"},
        }
    )
    [entry] = await _taken(client, app.headers, transaction(observation, with_device=False))
    assert sorted(warned(entry)) == [
        "Bundle.entry[0].resource.component[0].interpretation",
        "Bundle.entry[0].resource.component[2]",
    ]
    [measure] = (await client.get(VITALS, headers=person.headers)).json()["items"]
    assert measure["components"] == {"systolic": 121, "diastolic": 79}


async def test_what_would_change_the_measures_meaning_is_refused_never_dropped(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.blood_pressure:write"])
    absent = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "error"}]}
    modifier = [{"url": "https://example.org/not-really", "valueBoolean": True}]
    no_value = plain_weight(dataAbsentReason=absent)
    del no_value["valueQuantity"]
    cuff_error = pressure()
    cuff_error["component"][1] = {"code": copy.deepcopy(DIASTOLIC), "dataAbsentReason": absent}
    modified_part = pressure()
    modified_part["component"][0]["modifierExtension"] = modifier
    unreferenced = plain_weight(contained=[{"resourceType": "Practitioner", "id": "nurse"}])
    cases = [
        # FHIR's obs-6: a value and the reason it is absent; it was stored, the reason dropped.
        (plain_weight(dataAbsentReason=absent), "Bundle.entry[0].resource.dataAbsentReason"),
        (no_value, "Bundle.entry[0].resource.dataAbsentReason"),
        (cuff_error, "Bundle.entry[0].resource.component[1].dataAbsentReason"),
        (modified_part, "Bundle.entry[0].resource.component[0].modifierExtension"),
        # FHIR's dom-3: a contained resource is referenced from the resource.
        (unreferenced, "Bundle.entry[0].resource.contained[0]"),
    ]
    for observation, where in cases:
        answer = await client.post("/fhir", json=transaction(observation, with_device=False), headers=app.headers)
        body = outcome(answer, 422)
        assert [issue["expression"] for issue in body["issue"]] == [[where]], body
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []
    # A status entered-in-error stays refused (ENS keeps results; the app deletes its measure).
    withdrawn = plain_weight(status="entered-in-error")
    body = outcome(await client.post("/fhir", json=transaction(withdrawn, with_device=False), headers=app.headers), 422)
    assert [issue["expression"] for issue in body["issue"]] == [["Bundle.entry[0].resource.status"]]


async def test_a_modifier_extension_within_a_device_entry_is_refused_never_dropped(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    """A Device entry's own ``modifierExtension`` was refused, one within it (its ``deviceName[0]``)
    taken and dropped (the morning's review): it changes what that name means, and ENS keeps it."""
    app = await make_app_token(person, ["vitals.body_weight:write"])
    bundle = transaction(body_weight(70))
    bundle["entry"][0]["resource"]["deviceName"][0]["modifierExtension"] = [
        {"url": "https://example.org/not-really", "valueBoolean": True}
    ]
    body = outcome(await client.post("/fhir", json=bundle, headers=app.headers), 422)
    assert [issue["expression"] for issue in body["issue"]] == [
        ["Bundle.entry[0].resource.deviceName[0].modifierExtension"]
    ]
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []


async def test_a_made_up_name_is_named_back_at_a_bounded_length(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    """A name the app made up in a note is warned of, its path cut at 160 characters: it was echoed
    back whole, at any length (the morning's review)."""
    app = await make_app_token(person, ["vitals.body_weight:write"])
    long_name = "x" * 5000
    answer = await client.post(
        "/fhir", json=transaction(body_weight(70, note=[{"text": "à jeun", long_name: 1}])), headers=app.headers
    )
    assert answer.status_code == 200, answer.text
    warnings = warned(answer.json()["entry"][-1])
    [where] = [w for w in warnings if w.startswith("Bundle.entry[1].resource.note[0].")]
    assert len(where) <= len("Bundle.entry[1].resource.") + 160 and where.endswith("…")


async def test_a_made_up_name_is_named_back_at_a_bounded_length_in_a_refusal_too(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    """A refusal names where it is at the same bounded length as a warning: a made-up name at the
    Observation's top, or one holding a ``modifierExtension`` within a note, was echoed whole in the
    422's expression, at any length (the cap of the warnings had left the refusals out)."""
    app = await make_app_token(person, ["vitals.body_weight:write"])
    long_name = "x" * 5000
    modifier = {"modifierExtension": [{"url": "https://example.org/not-really", "valueBoolean": True}]}
    for observation in (
        {**body_weight(70), long_name: 1},
        body_weight(70, note=[{"text": "à jeun", long_name: modifier}]),
    ):
        body = outcome(await client.post("/fhir", json=transaction(observation), headers=app.headers), 422)
        [[where]] = [issue["expression"] for issue in body["issue"]]
        assert where.startswith("Bundle.entry[1].resource.") and where.endswith("…"), where
        assert len(where) <= len("Bundle.entry[1].resource.") + 160, len(where)
    assert (await client.get(VITALS, headers=person.headers)).json()["items"] == []


async def test_a_device_reference_naming_no_device_and_its_other_parts_are_named(
    client: httpx.AsyncClient, person: Person, make_app_token: MakeAppToken
) -> None:
    """A ``device`` that names no Device (a display alone) brought the measure in without one, and
    a Reference's display beside its reference was dropped, without a word (an outside audit)."""
    app = await make_app_token(person, ["vitals.body_weight:write"])
    named_by_display = plain_weight(identifier=[{"value": "display-only"}], device={"display": "Ma balance"})
    [entry] = await _taken(client, app.headers, alone(named_by_display))
    assert warned(entry) == ["Bundle.entry[0].resource.device"]
    beside = plain_weight(identifier=[{"value": "display-beside"}])
    beside["device"] = {**beside["device"], "display": "Ma balance"}
    [_, observation_entry] = await _taken(client, app.headers, transaction(beside))
    assert warned(observation_entry) == ["Bundle.entry[1].resource.device.display"]
