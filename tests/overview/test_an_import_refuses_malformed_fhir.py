"""The import refuses a Bundle whose shared parts are not of the types FHIR gives them, where it had
taken them in silence (an outside audit of the export, "found but not fixed"): a ``meta`` that is no
object, a ``meta.security`` or ``meta.tag`` that is no list of Codings — a malformed "restricted"
label imported the item visible to the representatives —, an ``id`` or ``fullUrl`` that is no
string, an ``"entry": null``, a ``resourceType`` that names no type, an Observation's
``device.reference`` that is no string, a ``null`` in a list it reads (``Practitioner.address:
[null]`` was no address), an empty object or list (``[{}]`` was no address either), a document's
``data`` that is no text (refused as "at most 20971520 bytes"). Each is 422 at the entry, nothing
stored. The /fhir door reads its Bundle itself: the same parts are refused there."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.helpers.carers import court_measure
from tests.helpers.documents import metadata, pdf, uploaded
from tests.helpers.people import MakePerson, Person
from tests.helpers.records import doctor
from tests.helpers.vitals import weight
from tests.vitals.test_fhir_intake import DEVICE_URL, OBSERVATION_URL, body_weight, transaction

IMPORT = "/v1/spaces/me/import"
EXPORT = "/v1/spaces/me/export"
EMBEDDED = "/v1/spaces/me/export?documents=embedded"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
RESTRICTED = {"system": CONFIDENTIALITY, "code": "R", "display": "restricted"}
SCALE = {"manufacturer": "Withings", "model": "Body+", "identifier": "00:24:e4:aa:bb:cc"}
DOCTOR = doctor("Claire", "Bernard")


async def _export(client: httpx.AsyncClient, make_person: MakePerson) -> dict[str, Any]:
    """The holder's export (documents=embedded) of a space holding one item of each kind the cases
    malform: a measure taken by a device, a hidden allergy, a condition, the doctor, a document."""
    source = await make_person("Source")
    for path, body in (
        ("vitals", {"measurements": [weight(70.0, device=SCALE)]}),
        ("profile/allergies", {"substance": "Latex", "hiddenFromRepresentatives": True}),
        ("profile/conditions", {"label": "Asthme", "code": "J45"}),
    ):
        answer = await client.post(f"/v1/spaces/me/{path}", json=body, headers=source.headers)
        assert answer.status_code == 201, answer.text
    assert (await client.put("/v1/spaces/me/doctor", json=DOCTOR, headers=source.headers)).status_code in (200, 201)
    await uploaded(client, source.headers, pdf(800), meta=metadata())
    answer = await client.get(EMBEDDED, headers=source.headers)
    assert answer.status_code == 200, answer.text
    bundle: dict[str, Any] = answer.json()
    return bundle


def _at(bundle: dict[str, Any], kind: str) -> int:
    """The index of the Bundle's first entry holding a ``kind``."""
    return next(i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == kind)


def _resource(kind: str, change: Callable[[dict[str, Any]], object]) -> Callable[[dict[str, Any]], int]:
    """A case: ``change`` made to the first ``kind``'s resource; answers its entry's index."""

    def malform(bundle: dict[str, Any]) -> int:
        index = _at(bundle, kind)
        change(bundle["entry"][index]["resource"])
        return index

    return malform


def _entry(kind: str, change: Callable[[dict[str, Any]], object]) -> Callable[[dict[str, Any]], int]:
    """A case: ``change`` made to the first ``kind``'s entry (its fullUrl...)."""

    def malform(bundle: dict[str, Any]) -> int:
        index = _at(bundle, kind)
        change(bundle["entry"][index])
        return index

    return malform


def _security(resource: dict[str, Any], security: Any) -> None:
    resource.setdefault("meta", {})["security"] = security


def _attachment(resource: dict[str, Any]) -> dict[str, Any]:
    attachment: dict[str, Any] = resource["content"][0]["attachment"]
    return attachment


# (what is malformed, the pointer of the refusal ({i}: the entry malformed), what its detail names)
CASES: list[tuple[Callable[[dict[str, Any]], int], str, str]] = [
    # 1. meta, meta.security, meta.tag, their Codings
    (_resource("Condition", lambda r: r.update(meta=[RESTRICTED])), "/entry/{i}/resource", "Condition.meta"),
    (_resource("Condition", lambda r: r.update(meta="R")), "/entry/{i}/resource", "Condition.meta"),
    (
        _resource("AllergyIntolerance", lambda r: _security(r, RESTRICTED)),
        "/entry/{i}/resource",
        "AllergyIntolerance.meta.security",
    ),
    (
        _resource("AllergyIntolerance", lambda r: _security(r, "R")),
        "/entry/{i}/resource",
        "AllergyIntolerance.meta.security",
    ),
    (
        _resource("AllergyIntolerance", lambda r: _security(r, ["R"])),
        "/entry/{i}/resource",
        "AllergyIntolerance.meta.security[0]",
    ),
    (
        _resource("AllergyIntolerance", lambda r: _security(r, [{"system": CONFIDENTIALITY, "code": ["R"]}])),
        "/entry/{i}/resource",
        "AllergyIntolerance.meta.security[0].code",
    ),
    (
        _resource("AllergyIntolerance", lambda r: _security(r, [{"system": [CONFIDENTIALITY], "code": "R"}])),
        "/entry/{i}/resource",
        "AllergyIntolerance.meta.security[0].system",
    ),
    (
        _resource("Observation", lambda r: _security(r, [RESTRICTED, {"system": CONFIDENTIALITY, "code": 7}])),
        "/entry/{i}/resource",
        "Observation.meta.security[1].code",
    ),
    (_resource("Observation", lambda r: r["meta"].update(tag={"a": 1})), "/entry/{i}/resource", "Observation.meta.tag"),
    (_resource("Observation", lambda r: r["meta"].update(tag=[5])), "/entry/{i}/resource", "Observation.meta.tag[0]"),
    (
        _resource("Observation", lambda r: r["meta"]["tag"][0].update(code=5)),
        "/entry/{i}/resource",
        "Observation.meta.tag[0].code",
    ),
    (
        _resource("DocumentReference", lambda r: _security(r, {"system": CONFIDENTIALITY, "code": "R"})),
        "/entry/{i}/resource",
        "DocumentReference.meta.security",
    ),
    # 2. an id that is no string
    (_resource("Observation", lambda r: r.update(id=5)), "/entry/{i}/resource", "Observation.id"),
    (_resource("Observation", lambda r: r.update(id={"a": 1})), "/entry/{i}/resource", "Observation.id"),
    (_resource("Observation", lambda r: r.update(id="")), "/entry/{i}/resource", "Observation.id"),
    (_resource("Condition", lambda r: r.update(id=["x"])), "/entry/{i}/resource", "Condition.id"),
    (_resource("Patient", lambda r: r.update(id=12)), "/entry/{i}/resource", "Patient.id"),
    # 3. a fullUrl that is no string
    (_entry("Condition", lambda e: e.update(fullUrl=5)), "/entry/{i}/fullUrl", "a string"),
    (_entry("Observation", lambda e: e.update(fullUrl={"a": 1})), "/entry/{i}/fullUrl", "a string"),
    (_entry("Device", lambda e: e.update(fullUrl=["urn:uuid:x"])), "/entry/{i}/fullUrl", "a string"),
    # 5. a resourceType naming no type
    (_resource("Condition", lambda r: r.update(resourceType="")), "/entry/{i}/resource/resourceType", "type"),
    (_resource("Condition", lambda r: r.update(resourceType=5)), "/entry/{i}/resource/resourceType", "type"),
    (_resource("Condition", lambda r: r.update(resourceType="x y")), "/entry/{i}/resource/resourceType", "type"),
    # 6. a device.reference that is no string
    (
        _resource("Observation", lambda r: r["device"].update(reference=5)),
        "/entry/{i}/resource",
        "Observation.device.reference",
    ),
    (_resource("Observation", lambda r: r.update(device="x")), "/entry/{i}/resource", "Observation.device"),
    # 7. a null in a list the import reads (or anywhere: FHIR's JSON has none)
    (_resource("Practitioner", lambda r: r.update(address=[None])), "/entry/{i}/resource/address/0", "null"),
    (_resource("Practitioner", lambda r: r["telecom"].append(None)), "/entry/{i}/resource/telecom/1", "null"),
    (
        _resource("Practitioner", lambda r: r["name"][0].update(given=[None])),
        "/entry/{i}/resource/name/0/given/0",
        "null",
    ),
    (
        _resource("Condition", lambda r: r["code"]["coding"].insert(0, None)),
        "/entry/{i}/resource/code/coding/0",
        "null",
    ),
    (_resource("Observation", lambda r: r.update(note=[None])), "/entry/{i}/resource/note/0", "null"),
    (_resource("AllergyIntolerance", lambda r: _security(r, [None])), "/entry/{i}/resource/meta/security/0", "null"),
    (_resource("AllergyIntolerance", lambda r: r.update(meta=None)), "/entry/{i}/resource/meta", "null"),
    (_entry("Condition", lambda e: e.update(fullUrl=None)), "/entry/{i}/fullUrl", "null"),
    # 8. a document's data that is no text
    (
        _resource("DocumentReference", lambda r: _attachment(r).update(data=5)),
        "/entry/{i}/resource",
        "DocumentReference.content.attachment: its data is base64 text",
    ),
    (
        _resource("DocumentReference", lambda r: _attachment(r).update(data={"a": 1})),
        "/entry/{i}/resource",
        "DocumentReference.content.attachment: its data is base64 text",
    ),
    # 9. an empty object or list (FHIR's JSON has none): Practitioner.address [{}] was no address
    (_resource("Practitioner", lambda r: r.update(address=[{}])), "/entry/{i}/resource/address/0", "empty object"),
    (_resource("Practitioner", lambda r: r.update(address=[])), "/entry/{i}/resource/address", "empty list"),
    (
        _resource("Practitioner", lambda r: r["name"][0].update(given=[])),
        "/entry/{i}/resource/name/0/given",
        "empty list",
    ),
    (_resource("Observation", lambda r: r.update(note=[{}])), "/entry/{i}/resource/note/0", "empty object"),
    (_resource("AllergyIntolerance", lambda r: r.update(meta={})), "/entry/{i}/resource/meta", "empty object"),
]


async def _holds_nothing(client: httpx.AsyncClient, who: Person) -> None:
    """The space holds nothing the import could have written: its export is its Patient alone."""
    after = (await client.get(EXPORT, headers=who.headers)).json()
    assert [entry["resource"]["resourceType"] for entry in after["entry"]] == ["Patient"]


async def test_the_unmalformed_export_is_imported(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    """What the cases change, unchanged, imports (so each refusal below is the change's)."""
    bundle = await _export(client, make_person)
    newcomer = await make_person("Camille")
    answer = await client.post(IMPORT, json=bundle, headers=newcomer.headers)
    assert answer.status_code == 201, answer.text
    imported = answer.json()["imported"]
    assert imported == {
        "AllergyIntolerance": 1,
        "Condition": 1,
        "DocumentReference": 1,
        "Observation": 1,
        "Practitioner": 1,
    }


@pytest.mark.parametrize(("malform", "pointer", "named"), CASES)
async def test_a_malformed_part_is_refused_at_its_entry_and_nothing_is_stored(
    client: httpx.AsyncClient,
    make_person: MakePerson,
    malform: Callable[[dict[str, Any]], int],
    pointer: str,
    named: str,
) -> None:
    bundle = await _export(client, make_person)
    index = malform(bundle)
    newcomer = await make_person("Camille")
    answer = await client.post(IMPORT, json=bundle, headers=newcomer.headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    [error] = answer.json()["errors"]
    assert error["pointer"] == pointer.format(i=index), error
    assert named in error["detail"], error
    assert "20971520" not in answer.text
    await _holds_nothing(client, newcomer)


@pytest.mark.parametrize("entry", [None, 0, "", {}])
async def test_an_entry_that_is_no_list_is_refused(
    client: httpx.AsyncClient, make_person: MakePerson, entry: Any
) -> None:
    """``"entry": null`` was an empty Bundle (201, nothing imported); an absent ``entry``, or an
    empty one, is one still."""
    newcomer = await make_person("Camille")
    body = {"resourceType": "Bundle", "type": "collection", "entry": entry}
    answer = await client.post(
        IMPORT, content=json.dumps(body), headers={**newcomer.headers, "Content-Type": "application/fhir+json"}
    )
    assert answer.status_code == 422, answer.text
    assert [error["pointer"] for error in answer.json()["errors"]] == ["/entry"]
    await _holds_nothing(client, newcomer)
    for empty in ({"resourceType": "Bundle", "type": "collection"}, {**body, "entry": []}):
        other = await make_person("Dominique")
        answer = await client.post(IMPORT, json=empty, headers=other.headers)
        assert answer.status_code == 201, answer.text
        assert answer.json() == {"imported": {}, "notImported": [], "keptWithout": []}


@pytest.mark.parametrize(
    "security",
    [
        RESTRICTED,  # one Coding, not a list of them
        [{"system": CONFIDENTIALITY, "code": ["R"]}],
        [{"system": [CONFIDENTIALITY], "code": "R"}],
        "R",
    ],
)
@pytest.mark.parametrize("kind", ["AllergyIntolerance", "Observation"])
async def test_a_malformed_restricted_label_never_shows_the_item_to_a_representative(
    client: httpx.AsyncClient, make_person: MakePerson, security: Any, kind: str
) -> None:
    """Fail closed: the label that keeps an item from the representatives, malformed, was read as
    no label, and the item imported visible to them. It is refused; the item is nowhere."""
    bundle = await _export(client, make_person)
    index = _at(bundle, kind)
    _security(bundle["entry"][index]["resource"], copy.deepcopy(security))
    newcomer, tutor = await make_person("Maëlle"), await make_person("Tom")
    await court_measure(newcomer, tutor, "tutelle")
    answer = await client.post(IMPORT, json=bundle, headers=newcomer.headers)
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error["pointer"] == f"/entry/{index}/resource" and f"{kind}.meta.security" in error["detail"]
    space = f"/v1/spaces/{newcomer.space_id}"
    for path in ("profile/allergies", "vitals"):
        for who in (tutor, newcomer):
            listed = await client.get(f"{space}/{path}", headers=who.headers)
            assert listed.status_code == 200, listed.text
            assert listed.json()["items"] == [], (path, who)
    # A representative's own import of it is refused alike.
    assert (await client.post(f"{space}/import", json=bundle, headers=tutor.headers)).status_code == 422
    assert (await client.get(f"{space}/profile/allergies", headers=tutor.headers)).json()["items"] == []


# The /fhir door reads its transaction itself: the same shared parts, malformed, are refused there.
def _observation(change: Callable[[dict[str, Any]], object]) -> Callable[[dict[str, Any]], None]:
    def malform(bundle: dict[str, Any]) -> None:
        change(bundle["entry"][1]["resource"])

    return malform


FHIR_CASES: list[tuple[Callable[[dict[str, Any]], object], str]] = [
    (_observation(lambda r: r.update(meta=[RESTRICTED])), "Bundle.entry[1].resource.meta"),
    (_observation(lambda r: _security(r, RESTRICTED)), "Bundle.entry[1].resource.meta.security"),
    (_observation(lambda r: _security(r, ["R"])), "Bundle.entry[1].resource.meta.security[0]"),
    (
        _observation(lambda r: _security(r, [{"system": CONFIDENTIALITY, "code": ["R"]}])),
        "Bundle.entry[1].resource.meta.security[0].code",
    ),
    (_observation(lambda r: r["meta"].update(tag="x")), "Bundle.entry[1].resource.meta.tag"),
    (
        lambda b: b["entry"][0]["resource"].update(meta={"security": RESTRICTED}),
        "Bundle.entry[0].resource.meta.security",
    ),
    (_observation(lambda r: r.update(id=5)), "Bundle.entry[1].resource.id"),
    (_observation(lambda r: r.update(id={"a": 1})), "Bundle.entry[1].resource.id"),
    (lambda b: b["entry"][0]["resource"].update(id=7), "Bundle.entry[0].resource.id"),
    (lambda b: b["entry"][1].update(fullUrl=5), "Bundle.entry[1].fullUrl"),
    (lambda b: b["entry"][0].update(fullUrl={"url": DEVICE_URL}), "Bundle.entry[0].fullUrl"),
    (_observation(lambda r: r.update(device={"reference": 5})), "Bundle.entry[1].resource.device.reference"),
    (_observation(lambda r: r.update(device="x")), "Bundle.entry[1].resource.device"),
    # An empty object or list, as the import (note: [{}] was no note).
    (_observation(lambda r: r.update(note=[{}])), "Bundle.entry[1].resource.note[0]"),
    (_observation(lambda r: r.update(meta={})), "Bundle.entry[1].resource.meta"),
    (lambda b: b["entry"][0]["resource"].update(identifier=[]), "Bundle.entry[0].resource.identifier"),
]


@pytest.mark.parametrize(("malform", "where"), FHIR_CASES)
async def test_the_fhir_door_refuses_the_same_malformed_parts(
    client: httpx.AsyncClient,
    person: Person,
    make_app_token: Any,
    malform: Callable[[dict[str, Any]], object],
    where: str,
) -> None:
    app = await make_app_token(person, ["vitals.body_weight:write", "vitals.body_weight:read"])
    bundle = transaction(body_weight())
    assert bundle["entry"][1]["fullUrl"] == OBSERVATION_URL
    malform(bundle)
    answer = await client.post("/fhir", json=bundle, headers=app.headers)
    assert answer.status_code == 422, answer.text
    issues = answer.json()["issue"]
    assert [issue["expression"] for issue in issues] == [[where]], issues
    assert (await client.get("/v1/spaces/me/vitals", headers=person.headers)).json()["items"] == []


@pytest.mark.parametrize("device", [{"reference": 5}, "x", {"reference": ["urn:uuid:x"]}])
async def test_the_fhir_door_refuses_a_malformed_device_reference_without_a_device_entry(
    client: httpx.AsyncClient, person: Person, make_app_token: Any, device: Any
) -> None:
    """Without a Device entry the measure came in without a device, and nothing said so."""
    app = await make_app_token(person, ["vitals.body_weight:write"])
    bundle = transaction(body_weight(), with_device=False)
    bundle["entry"][0]["resource"]["device"] = device
    answer = await client.post("/fhir", json=bundle, headers=app.headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["issue"][0]["expression"][0].startswith("Bundle.entry[0].resource.device")
    assert (await client.get("/v1/spaces/me/vitals", headers=person.headers)).json()["items"] == []
