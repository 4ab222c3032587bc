"""The import takes what the export makes — a FHIR ``Bundle`` of type ``collection`` — and refuses
anything else before writing: a list, another resource, an export wrapped in another object, a
Bundle of another type, an ``entry`` that is no list (an outside review, 2026-12-02: each answered
201, some having imported nothing, one having imported the entries of a Patient). An entry sent
twice under one ``fullUrl`` is refused rather than stored twice."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
import hypothesis
import pytest
from hypothesis import strategies as st

from ens.core.errors import Invalid
from tests.helpers.people import MakePerson

IMPORT = "/v1/spaces/me/import"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
EXPORT = "/v1/spaces/me/export"
CONDITION = {
    "fullUrl": "urn:uuid:7f0c3f7e-8d7c-4a55-9d36-1f7d6c0b8b11",
    "resource": {
        "resourceType": "Condition",
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J45", "display": "Asthme"}]},
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
        },
    },
}


async def _export_of_a_condition(client: httpx.AsyncClient, make_person: MakePerson) -> dict[str, Any]:
    source = await make_person("Source")
    added = await client.post(
        "/v1/spaces/me/profile/conditions", json={"code": "J45", "label": "Asthme"}, headers=source.headers
    )
    assert added.status_code == 201, added.text
    export: dict[str, Any] = (await client.get(EXPORT, headers=source.headers)).json()
    return export


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ([], "/resourceType"),
        ({"resourceType": "Patient"}, "/resourceType"),
        ({"resourceType": "Patient", "entry": [CONDITION]}, "/resourceType"),
        ({"entry": [CONDITION]}, "/resourceType"),
        ({"resourceType": "Bundle", "type": "transaction", "entry": [CONDITION]}, "/type"),
        ({"resourceType": "Bundle", "type": "searchset", "entry": [CONDITION]}, "/type"),
        ({"resourceType": "Bundle", "entry": [CONDITION]}, "/type"),
        ({"resourceType": "Bundle", "type": "collection", "entry": {}}, "/entry"),
        ({"resourceType": "Bundle", "type": "collection", "entry": "x"}, "/entry"),
    ],
)
async def test_what_is_no_export_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, make_person: MakePerson, body: Any, pointer: str
) -> None:
    newcomer = await make_person("Camille")
    answer = await client.post(IMPORT, json=body, headers=newcomer.headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert [error["pointer"] for error in answer.json()["errors"]] == [pointer]
    after = (await client.get(EXPORT, headers=newcomer.headers)).json()
    assert [entry["resource"]["resourceType"] for entry in after["entry"]] == ["Patient"]


async def test_an_export_wrapped_in_another_object_is_refused(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    export = await _export_of_a_condition(client, make_person)
    newcomer = await make_person("Camille")
    wrapped = await client.post(IMPORT, json={"bundle": export}, headers=newcomer.headers)
    assert wrapped.status_code == 422 and wrapped.json()["errors"][0]["pointer"] == "/resourceType"
    # The export itself imports; an empty collection imports nothing, and says so.
    assert (await client.post(IMPORT, json=export, headers=newcomer.headers)).status_code == 201
    other = await make_person("Dominique")
    empty = await client.post(IMPORT, json={"resourceType": "Bundle", "type": "collection"}, headers=other.headers)
    assert empty.status_code == 201 and empty.json() == {"imported": {}, "notImported": [], "keptWithout": []}


async def test_an_entry_twice_under_one_full_url_is_refused(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    export = await _export_of_a_condition(client, make_person)
    [condition] = [entry for entry in export["entry"] if entry["resource"]["resourceType"] == "Condition"]
    twice = {**export, "entry": [*export["entry"], condition]}
    newcomer = await make_person("Camille")
    answer = await client.post(IMPORT, json=twice, headers=newcomer.headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["pointer"] == f"/entry/{len(export['entry'])}/fullUrl"
    conditions = await client.get("/v1/spaces/me/profile/conditions", headers=newcomer.headers)
    assert conditions.json()["items"] == []


async def _export_of(client: httpx.AsyncClient, make_person: MakePerson) -> dict[str, Any]:
    source = await make_person("Source")
    for path, body in (
        ("profile/allergies", {"substance": "Pénicilline", "reaction": "urticaire", "severity": "mild"}),
        ("profile/treatments", {"medication": "Lévothyrox", "dose": "75 µg"}),
        ("profile/family-history", {"relative": "mother", "condition": "Diabète"}),
        ("profile/conditions", {"label": "Asthme", "since": "2001-02-03"}),
    ):
        assert (await client.post(f"/v1/spaces/me/{path}", json=body, headers=source.headers)).status_code == 201
    doctor = {"givenName": "Claire", "familyName": "Bernard", "rpps": "10003826475", "phone": "01 23 45 67 89"}
    assert (await client.put("/v1/spaces/me/doctor", json=doctor, headers=source.headers)).status_code in (200, 201)
    export: dict[str, Any] = (await client.get(EXPORT, headers=source.headers)).json()
    return export


def _of(export: dict[str, Any], kind: str) -> tuple[int, dict[str, Any]]:
    return next((i, e["resource"]) for i, e in enumerate(export["entry"]) if e["resource"]["resourceType"] == kind)


@pytest.mark.parametrize(
    ("kind", "change", "lost"),
    [
        # A second reaction, "severe", was dropped for the first (an outside audit).
        (
            "AllergyIntolerance",
            lambda r: r["reaction"].append({"manifestation": [{"text": "œdème"}], "severity": "severe"}),
            "AllergyIntolerance.reaction[1]",
        ),
        ("AllergyIntolerance", lambda r: r.update(criticality="high"), "AllergyIntolerance.criticality"),
        (
            "AllergyIntolerance",
            lambda r: r["reaction"][0]["manifestation"].append({"text": "toux"}),
            "AllergyIntolerance.reaction[0].manifestation[1]",
        ),
        ("MedicationStatement", lambda r: r["dosage"].append({"text": "150 µg"}), "MedicationStatement.dosage[1]"),
        (
            "FamilyMemberHistory",
            lambda r: r["condition"].append({"code": {"text": "Asthme"}}),
            "FamilyMemberHistory.condition[1]",
        ),
        ("Condition", lambda r: r.update(onsetString="enfance"), "Condition.onsetString"),
        # A status the records the space keeps do not have was imported as current (an outside audit).
        (
            "Condition",
            lambda r: r.update(clinicalStatus={"coding": [{"system": CLINICAL, "code": "resolved"}]}),
            "Condition.clinicalStatus",
        ),
        (
            "AllergyIntolerance",
            lambda r: r["clinicalStatus"]["coding"][0].update(code="inactive"),
            "AllergyIntolerance.clinicalStatus",
        ),
        ("MedicationStatement", lambda r: r.update(status="entered-in-error"), "MedicationStatement.status"),
        ("MedicationStatement", lambda r: r.update(status="not-taken"), "MedicationStatement.status"),
        ("FamilyMemberHistory", lambda r: r.update(status="entered-in-error"), "FamilyMemberHistory.status"),
        # What the doctor keeps of a person: one given name, one phone, one address of one line.
        ("Practitioner", lambda r: r["name"][0]["given"].append("Pierre"), "Practitioner.name[0].given[1]"),
        ("Practitioner", lambda r: r["name"].append({"family": "Martin"}), "Practitioner.name[1]"),
        (
            "Practitioner",
            lambda r: r["telecom"].append({"system": "fax", "value": "0123456780"}),
            "Practitioner.telecom[1]",
        ),
        (
            "Practitioner",
            lambda r: r.update(address=[{"line": ["1 rue A", "Bât. B"], "city": "Lyon"}]),
            "Practitioner.address[0].line[1]",
        ),
        # The doctor keeps the RPPS number (and writes its national identifier, "8" and the number):
        # another identifier, or a national one of another number, was dropped for the RPPS one, and
        # a second ICD-10 code of a condition for the first (an outside audit of data portability).
        (
            "Practitioner",
            lambda r: r["identifier"].append({"system": "urn:oid:1.2.250.1.71.4.2.2", "value": "751234567"}),
            "Practitioner.identifier[2]",
        ),
        ("Practitioner", lambda r: r["identifier"][1].update(value="810009999999"), "Practitioner.identifier[1]"),
        ("Practitioner", lambda r: r["identifier"].pop(0), "Practitioner.identifier[0]"),
        (
            "Condition",
            lambda r: r["code"].update(
                coding=[{"system": "http://hl7.org/fhir/sid/icd-10", "code": c} for c in ("J45", "J46")]
            ),
            "Condition.code.coding[1]",
        ),
    ],
)
async def test_what_a_record_would_lose_is_refused(
    client: httpx.AsyncClient, make_person: MakePerson, kind: str, change: Any, lost: str
) -> None:
    export = await _export_of(client, make_person)
    index, resource = _of(export, kind)
    change(resource)
    newcomer = await make_person("Camille")
    answer = await client.post(IMPORT, json=export, headers=newcomer.headers)
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error["pointer"] == f"/entry/{index}/resource" and lost in error["detail"]
    for path in ("allergies", "treatments", "family-history", "conditions"):
        listed = await client.get(f"/v1/spaces/me/profile/{path}", headers=newcomer.headers)
        assert listed.json()["items"] == [], path  # all or nothing


async def test_two_doctors_are_refused_not_the_last_kept(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    export = await _export_of(client, make_person)
    _, doctor = _of(export, "Practitioner")
    other = {
        "resourceType": "Practitioner",
        "id": "7c8d1a50-3e7f-4a4e-8d0e-5b7b0f1f2a11",
        "name": [{"family": "Autre", "given": ["Zed"]}],
    }
    export["entry"].append({"fullUrl": f"urn:uuid:{other['id']}", "resource": other})
    newcomer = await make_person("Camille")
    answer = await client.post(IMPORT, json=export, headers=newcomer.headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["pointer"] == f"/entry/{len(export['entry']) - 1}/resource"
    assert (await client.get("/v1/spaces/me/doctor", headers=newcomer.headers)).status_code == 404
    whole = await client.post(IMPORT, json={**export, "entry": export["entry"][:-1]}, headers=newcomer.headers)
    assert whole.status_code == 201, whole.text
    assert (await client.get("/v1/spaces/me/doctor", headers=newcomer.headers)).json()["rpps"] == doctor["identifier"][
        0
    ]["value"]


FHIR = "application/fhir+json"
BUNDLE = b'{"resourceType": "Bundle", "type": "collection", "entry": ['


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        # 100,000 nested arrays (200 kB) took the process past 23 GB: ijson builds each event's path.
        (
            b'{"resourceType": "Bundle", "type": "collection", "entry": [], "x": '
            + b"[" * 100_000
            + b"]" * 100_000
            + b"}",
            "/x" + "/0" * 63,
        ),
        (
            BUNDLE + b'{"resource": {"resourceType": "Basic", "x": ' + b"[" * 70 + b"]" * 70 + b"}}]}",
            "/entry/0/resource/x" + "/0" * 60,
        ),
        # A member named twice: other readers keep one of the two (Python's json kept 2 entries of 5).
        (BUNDLE + b"], " + b'"entry": []}', "/entry"),
        (BUNDLE + b'{"resource": {"resourceType": "Basic", "id": "a", "id": "b"}}]}', "/entry/0/resource/id"),
        # An entry larger than an export makes (one of 45 MB took 1.25 GB).
        (BUNDLE + b'{"resource": {"resourceType": "Basic", "x": [' + b"[1]," * 25_000 + b"[1]]}}]}", "/entry/0"),
        # What ijson would build whole outside the entries (15 MB as an object under entry took 474 MB).
        (b'{"resourceType": "Bundle", "type": "collection", "entry": {"item": [{}]}}', "/entry"),
        (b'{"resourceType": "Bundle", "type": "collection", "entry": "x"}', "/entry"),
        (b'{"resourceType": ["Bundle"], "type": "collection", "entry": []}', "/resourceType"),
        (b'{"resourceType": "Bundle", "type": {"x": [1]}, "entry": []}', "/type"),
        (b'{"resourceType": "Bundle", "type": "collection", "entry": [], "x": [' + b"[1]," * 25_000 + b"[1]]}", ""),
        (b'["Bundle", ' + b"{}," * 10 + b"{}]", "/resourceType"),
        # A member's name no FHIR element has.
        (BUNDLE + b'{"resource": {"resourceType": "Basic", "' + b"a" * 300 + b'": 1}}]}', "/entry/0/resource"),
    ],
)
async def test_a_body_no_export_could_be_is_refused_before_it_is_read_by_path(
    client: httpx.AsyncClient, make_person: MakePerson, body: bytes, pointer: str
) -> None:
    newcomer = await make_person("Camille")
    answer = await client.post(IMPORT, content=body, headers={**newcomer.headers, "Content-Type": FHIR})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert [e["pointer"] for e in answer.json()["errors"]] == [pointer]
    assert (await client.get("/v1/spaces/me/profile/conditions", headers=newcomer.headers)).json()["items"] == []


async def test_a_whole_surrogate_pair_and_an_escaped_backslash_are_text(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    newcomer = await make_person("Camille")
    text = b"Allergie \\ud83d\\ude00 et \\\\ud83d"
    body = (
        BUNDLE
        + b'{"fullUrl": "urn:uuid:7f0c3f7e-8d7c-4a55-9d36-1f7d6c0b8b12", "resource": '
        + (
            b'{"resourceType": "Condition", "code": {"text": "' + text + b'"}, "clinicalStatus": {"coding": '
            b'[{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}}}]}'
        )
    )
    answer = await client.post(IMPORT, content=body, headers={**newcomer.headers, "Content-Type": FHIR})
    assert answer.status_code == 201, answer.text
    [condition] = (await client.get("/v1/spaces/me/profile/conditions", headers=newcomer.headers)).json()["items"]
    assert condition["label"] == "Allergie \U0001f600 et \\ud83d"


def _condition(index: int, text: bytes) -> bytes:
    return (
        b'{"fullUrl": "urn:uuid:7f0c3f7e-8d7c-4a55-9d36-1f7d6c0b%04d", "resource": ' % index
        + b'{"resourceType": "Condition", "code": {"text": "'
        + text
        + b'"}, "clinicalStatus": {"coding": '
        b'[{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}}}'
    )


@pytest.mark.parametrize("text", [b"Allergie \\ud83d", b"Allergie \\ude00 x", b"\\\\\\ud83d\\ud83d\\ude00"])
async def test_half_of_a_surrogate_pair_is_refused_not_read_as_a_question_mark(
    client: httpx.AsyncClient, make_person: MakePerson, text: bytes
) -> None:
    newcomer = await make_person("Camille")
    body = BUNDLE + _condition(0, text) + b"]}"
    answer = await client.post(IMPORT, content=body, headers={**newcomer.headers, "Content-Type": FHIR})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == [{"pointer": "", "detail": "half of a UTF-16 surrogate pair"}]
    assert (await client.get("/v1/spaces/me/profile/conditions", headers=newcomer.headers)).json()["items"] == []


async def test_a_pair_straddling_two_reads_is_text(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    """The shape's reading reads 64 KiB at a time: a pair's 12 bytes begin before a read's end at each
    of 11 offsets (whitespace between the entries places them), with escaped backslashes before."""
    from ens.overview.space_import import READ_SIZE

    newcomer = await make_person("Camille")
    body = bytearray(BUNDLE)
    for offset in range(1, 12):
        entry = _condition(offset, b"\\\\ \\ud83d\\ude00")
        at = entry.index(b"\\ud83d")
        boundary = READ_SIZE * offset
        body += b" " * (boundary - offset - at - len(body)) + entry + (b"," if offset < 11 else b"]}")
        assert body[boundary - offset : boundary - offset + 6] == b"\\ud83d"
    answer = await client.post(IMPORT, content=bytes(body), headers={**newcomer.headers, "Content-Type": FHIR})
    assert answer.status_code == 201, answer.text
    conditions = (await client.get("/v1/spaces/me/profile/conditions", headers=newcomer.headers)).json()["items"]
    assert [c["label"] for c in conditions] == ["\\ \U0001f600"] * 11


@hypothesis.settings(max_examples=500, deadline=None)
@hypothesis.given(
    strings=st.lists(
        st.lists(st.sampled_from(["\\", "u", "d", "8", "a", '"', "\ud83d", "\ude00"]), max_size=30), max_size=6
    ),
    sizes=st.lists(st.integers(1, 20), min_size=1, max_size=20),
)
def test_the_surrogate_scan_agrees_with_python_s_json_however_the_body_is_cut(
    strings: list[list[str]], sizes: list[int]
) -> None:
    """Half a pair is refused, whatever backslashes come before and wherever the reads cut the body."""
    from ens.overview.space_import import _SurrogateScan

    body = json.dumps(["".join(s) for s in strings]).encode()
    half = any(0xD800 <= ord(c) <= 0xDFFF for s in json.loads(body) for c in s)
    scan, at = _SurrogateScan(), 0
    try:
        for size in itertools.cycle(sizes):
            if at >= len(body):
                break
            scan.feed(body[at : at + size])
            at += size
        scan.feed(b"")
    except Invalid:
        assert half, body
    else:
        assert not half, body


async def test_the_parser_s_refusal_does_not_quote_the_body(client: httpx.AsyncClient, make_person: MakePerson) -> None:
    newcomer = await make_person("Camille")
    answer = await client.post(IMPORT, content=BUNDLE + b"x", headers={**newcomer.headers, "Content-Type": FHIR})
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert "right here" not in error["detail"] and "\n" not in error["detail"]


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        ({"status": "not-done"}, "Immunization.status"),
        ({"status": "entered-in-error"}, "Immunization.status"),
        ({"isSubpotent": True}, "Immunization.isSubpotent"),
        ({"modifierExtension": [{"url": "urn:x", "valueBoolean": True}]}, "Immunization.modifierExtension"),
        ({"occurrenceString": "2001"}, "Immunization.occurrence[x]"),
        ({"site": {"text": "bras gauche"}}, "Immunization.site"),
        ({"protocolApplied": [{"doseNumberPositiveInt": 1}] * 2}, "Immunization.protocolApplied[1]"),
        ({"protocolApplied": [{"doseNumberPositiveInt": 1, "series": "x"}]}, "Immunization.protocolApplied[0].series"),
    ],
)
async def test_a_vaccination_not_given_or_not_kept_whole_is_refused(
    client: httpx.AsyncClient, make_person: MakePerson, change: dict[str, Any], refused: str
) -> None:
    """A dose not given, entered in error or subpotent was imported as given, and the schedule
    counted it done (an outside audit); an element the booklet does not keep is refused, as a
    record's is. Nothing is imported."""
    source = await make_person("Source")
    given = await client.post(
        "/v1/spaces/me/vaccinations", json={"vaccineName": "ROR", "date": "1992-05-10"}, headers=source.headers
    )
    assert given.status_code == 201, given.text
    export: dict[str, Any] = (await client.get(EXPORT, headers=source.headers)).json()
    index, resource = _of(export, "Immunization")
    resource.update(change)
    newcomer = await make_person("Camille")
    answer = await client.post(IMPORT, json=export, headers=newcomer.headers)
    assert answer.status_code == 422, answer.text
    assert [e["pointer"] for e in answer.json()["errors"]] == [f"/entry/{index}/resource"]
    assert refused in answer.json()["errors"][0]["detail"]
    assert (await client.get("/v1/spaces/me/vaccinations", headers=newcomer.headers)).json()["items"] == []


async def test_a_former_or_fuller_emergency_contact_is_refused(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """An emergency contact the Bundle says is no longer one (``active: false``), or with what a
    contact does not keep (an address, a birth date, a fax), was imported as current and whole."""
    source = await make_person("Source")
    contact = {"givenName": "Paul", "familyName": "Martin", "relationship": "frère", "phones": ["0612345678"]}
    assert (
        await client.post("/v1/spaces/me/emergency-contacts", json=contact, headers=source.headers)
    ).status_code == 201
    export: dict[str, Any] = (await client.get(EXPORT, headers=source.headers)).json()
    for change, refused in (
        ({"active": False}, "RelatedPerson.active"),
        ({"birthDate": "1970-01-01"}, "RelatedPerson.birthDate"),
        ({"address": [{"city": "Lyon"}]}, "RelatedPerson.address"),
    ):
        changed = json.loads(json.dumps(export))
        _, resource = _of(changed, "RelatedPerson")
        resource.update(change)
        newcomer = await make_person("Camille")
        answer = await client.post(IMPORT, json=changed, headers=newcomer.headers)
        assert answer.status_code == 422, (change, answer.text)
        assert refused in answer.json()["errors"][0]["detail"]
        assert (await client.get("/v1/spaces/me/emergency-contacts", headers=newcomer.headers)).json()["items"] == []


async def test_an_export_said_to_be_of_another_fhir_version_is_415(
    client: httpx.AsyncClient, make_person: MakePerson
) -> None:
    """The export is FHIR R4: a body whose ``Content-Type`` names another version
    (``application/fhir+json; fhirVersion=5.0``) was read as R4 and imported, as the /fhir door
    had read one until ebb45fe (a review of ebb45fe, which refused it there only). It is 415,
    nothing written; R4 named (4.0, 4.0.1) is taken."""
    export = await _export_of_a_condition(client, make_person)
    newcomer = await make_person("Camille")
    sent = json.dumps(export)
    r5 = {**newcomer.headers, "Content-Type": "application/fhir+json; fhirVersion=5.0"}
    answer = await client.post(IMPORT, content=sent, headers=r5)
    assert answer.status_code == 415, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "4.0" in answer.json()["detail"]
    after = (await client.get(EXPORT, headers=newcomer.headers)).json()
    assert [entry["resource"]["resourceType"] for entry in after["entry"]] == ["Patient"]
    r4 = {**newcomer.headers, "Content-Type": "application/fhir+json; fhirVersion=4.0"}
    assert (await client.post(IMPORT, content=sent, headers=r4)).status_code == 201


async def test_two_measures_of_one_id_are_refused_whichever_batches_they_fall_in(client, person, make_person):
    """The import sends measures to the ingestion 1,000 at a time, each keeping its former id as its
    record id. Two Observations of one id in one batch were refused (422), but in two batches the
    second, of another value, was dropped as "unchanged" while the answer counted it imported (an
    outside audit of the import): refused too now, nothing kept."""
    from tests.helpers.vitals import weight

    sent = await client.post("/v1/spaces/me/vitals", json={"measurements": [weight(70.0)]}, headers=person.headers)
    assert sent.status_code == 201, sent.text
    exported = (await client.get("/v1/spaces/me/export", headers=person.headers)).json()
    [observation] = [e["resource"] for e in exported["entry"] if e["resource"]["resourceType"] == "Observation"]
    entries = [{"resource": {**observation, "id": f"m{index}"}} for index in range(1001)]
    twin = {**observation, "id": "m0", "valueQuantity": {**observation["valueQuantity"], "value": 99.0}}
    entries.append({"resource": twin})
    newcomer = await make_person("Jade")
    answer = await client.post(
        "/v1/spaces/me/import",
        json={"resourceType": "Bundle", "type": "collection", "entry": entries},
        headers=newcomer.headers,
    )
    assert answer.status_code == 422, answer.text
    assert [error["pointer"] for error in answer.json()["errors"]] == ["/entry/1001/resource"]
    assert (await client.get("/v1/spaces/me/vitals", headers=newcomer.headers)).json()["items"] == []


async def test_two_measures_of_one_id_in_one_batch_are_told_in_the_bundles_terms(client, person, make_person):
    """The ingestion's refusal named the first one as /measurements/0 and the element as
    Observation.identifier[0].value, neither in the Bundle (the record id is the former id)."""
    from tests.helpers.vitals import weight

    sent = await client.post("/v1/spaces/me/vitals", json={"measurements": [weight(70.0)]}, headers=person.headers)
    assert sent.status_code == 201, sent.text
    exported = (await client.get("/v1/spaces/me/export", headers=person.headers)).json()
    [observation] = [e["resource"] for e in exported["entry"] if e["resource"]["resourceType"] == "Observation"]
    twin = {**observation, "valueQuantity": {**observation["valueQuantity"], "value": 99.0}}
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": observation}, {"resource": twin}]}
    newcomer = await make_person("Jade")
    answer = await client.post("/v1/spaces/me/import", json=bundle, headers=newcomer.headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == [
        {"pointer": "/entry/1/resource", "detail": "Observation.id: the same clientRecordId is /entry/0"}
    ]


async def test_a_measure_without_an_id_is_no_duplicate_of_one_whose_id_is_its_place(client, person, make_person):
    """An Observation without an id keeps its place in the Bundle as its record id; written as the
    bare number, the one at entry 1 met an Observation of id "1" as its duplicate (422) though
    neither repeats the other (a review). Both come in."""
    from tests.helpers.vitals import weight

    sent = await client.post("/v1/spaces/me/vitals", json={"measurements": [weight(70.0)]}, headers=person.headers)
    assert sent.status_code == 201, sent.text
    exported = (await client.get("/v1/spaces/me/export", headers=person.headers)).json()
    [observation] = [e["resource"] for e in exported["entry"] if e["resource"]["resourceType"] == "Observation"]
    without_id = {key: value for key, value in observation.items() if key != "id"}
    numbered = {**observation, "id": "1", "valueQuantity": {**observation["valueQuantity"], "value": 71.0}}
    newcomer = await make_person("Lina")
    answer = await client.post(
        "/v1/spaces/me/import",
        json={
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": numbered}, {"resource": without_id}],
        },
        headers=newcomer.headers,
    )
    assert answer.status_code == 201, answer.text
    values = sorted(
        m["value"] for m in (await client.get("/v1/spaces/me/vitals", headers=newcomer.headers)).json()["items"]
    )
    assert values == [70.0, 71.0]
