"""POST /v1/spaces/{space}/import: an export goes into an empty space, and exporting that space
again gives the same resources — ids and provenance aside (the import is the new source, the former
one a tag)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from tests.helpers.carers import court_measure
from tests.helpers.fhir import FHIR, check_bundle, fill_every_kind
from tests.helpers.vitals import weight

EXPORT = "/v1/spaces/me/export"
IMPORT = "/v1/spaces/me/import"
NOT_CARRIED = {"Consent", "DocumentReference"}  # directives: the holder's own signed act; documents: files by URL


def _comparable(resource: dict[str, Any], ids: dict[str, str]) -> Any:
    """The resource without what differs by design: its id, references renamed to the other
    bundle's ids, and its provenance (meta.source, the source tags)."""
    text = json.dumps(resource, sort_keys=True, ensure_ascii=False)
    for old, new in ids.items():
        text = text.replace(old, new)
    value = json.loads(text)
    value.pop("id", None)
    meta = value.get("meta", {})
    meta.pop("source", None)
    meta.pop("tag", None)
    # When the item was entered or last written, and by whom: the import enters it again, as its
    # own writer (a measure's identifier and version are the writer's own record id).
    meta.pop("lastUpdated", None)
    meta.pop("versionId", None)
    if not meta:
        value.pop("meta", None)
    if value.get("resourceType") == "Observation":
        value.pop("identifier", None)
    for key in ("recordedDate", "recorded", "dateAsserted", "date"):
        value.pop(key, None)
    # Who recorded a vaccination; a contact's place among the contacts, where the trusted person's
    # entry (not imported) no longer comes first.
    aside = ("urn:ens:fhir:recorded-by", "urn:ens:fhir:emergency-contact-priority")
    value["extension"] = [e for e in value.get("extension", []) if e["url"] not in aside]
    return value


def _key(resource: dict[str, Any]) -> str:
    return json.dumps(resource, sort_keys=True, ensure_ascii=False)


async def test_export_import_export_gives_the_same_resources(client, person, make_person):
    await fill_every_kind(client, person)
    first = (await client.get(EXPORT, headers=person.headers)).json()
    check_bundle(first)

    newcomer = await make_person("Camille")
    answer = await client.post(
        IMPORT, content=json.dumps(first).encode(), headers={**newcomer.headers, "Content-Type": FHIR}
    )
    assert answer.status_code == 201, answer.text
    result = answer.json()
    assert result["imported"] == {
        "AllergyIntolerance": 1,
        "Condition": 1,
        "FamilyMemberHistory": 1,
        "Immunization": 2,
        "MedicationStatement": 1,
        "Observation": 11,
        "Practitioner": 1,
        "RelatedPerson": 1,
    }
    assert {item["resourceType"] for item in result["notImported"]} == {
        "Consent",
        "TrustedPerson",
        "DocumentReference",
        "Patient",
    }

    second = (await client.get(EXPORT, headers=newcomer.headers)).json()
    check_bundle(second)

    def kept(bundle: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            e["resource"]
            for e in bundle["entry"]
            if e["resource"]["resourceType"] not in (NOT_CARRIED | {"Patient"})
            and not (
                e["resource"]["resourceType"] == "RelatedPerson"
                and "Personne de confiance" in json.dumps(e["resource"], ensure_ascii=False)
            )
        ]

    before, after = kept(first), kept(second)

    # Ids change: pair resources by what they say, with each bundle's own ids renamed to placeholders.
    def renamed(resources: list[dict[str, Any]], space: str) -> list[str]:
        ids = {r["id"]: f"ID-{r['resourceType']}" for r in resources}
        ids[space] = "PATIENT"
        return sorted(_key(_comparable(r, ids)) for r in resources)

    assert renamed(before, str(person.space_id)) == renamed(after, str(newcomer.space_id))

    # Provenance: the import is the source, the former source a tag.
    observation = next(e["resource"] for e in second["entry"] if e["resource"]["resourceType"] == "Observation")
    assert observation["meta"]["source"] == "urn:ens:client:ens-import"
    tags = {t["system"]: t for t in observation["meta"]["tag"]}
    assert tags["urn:ens:fhir:original-source"]["code"] == "ens-mobile"
    assert tags["urn:ens:fhir:source"]["display"] == "Import FHIR"


async def test_an_import_goes_only_into_an_empty_space_and_is_all_or_nothing(client, person, make_person):
    await fill_every_kind(client, person)
    exported = (await client.get(EXPORT, headers=person.headers)).json()
    full = await client.post(IMPORT, json=exported, headers=person.headers)
    assert full.status_code == 409, full.text

    newcomer = await make_person("Noé")
    broken = json.loads(json.dumps(exported))
    last = next(i for i, e in enumerate(broken["entry"]) if e["resource"]["resourceType"] == "Observation")
    broken["entry"][last]["resource"]["valueQuantity"]["value"] = -1
    answer = await client.post(IMPORT, json=broken, headers=newcomer.headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["pointer"].startswith(f"/entry/{last}/resource")
    after = (await client.get(EXPORT, headers=newcomer.headers)).json()
    assert [e["resource"]["resourceType"] for e in after["entry"]] == ["Patient"]  # nothing was kept
    json_body = {**newcomer.headers, "Content-Type": "application/json"}
    assert (await client.post(IMPORT, content=b'{"entry": [', headers=json_body)).status_code == 422


async def test_an_import_past_its_own_limit_is_413_and_keeps_nothing(settings, migrated, make_person):
    """ENS_IMPORT_MAX_BYTES, counted as the body streams in (here 4 kB, on an app of its own)."""
    from msgspec import structs

    from ens.app import create_app
    from tests.helpers.asgi import asgi_client

    small = create_app(structs.replace(settings, import_max_bytes=4096))
    newcomer = await make_person("Léon")
    entry = b'{"fullUrl": "urn:uuid:x", "resource": {"resourceType": "Patient", "id": "x"}}'

    async def body() -> AsyncIterator[bytes]:
        yield b'{"resourceType": "Bundle", "type": "collection", "entry": ['
        for _ in range(200):
            yield entry + b","
        yield entry + b"]}"

    async with asgi_client(small, "http://testserver.local") as client:
        json_body = {**newcomer.headers, "Content-Type": FHIR}
        answer = await client.post(IMPORT, content=body(), headers=json_body)
        assert answer.status_code == 413, answer.text
        assert answer.json()["type"] == "urn:ens:problem:payload-too-large"
        fine = await client.post(
            IMPORT, content=b'{"resourceType": "Bundle", "type": "collection", "entry": []}', headers=json_body
        )
        assert fine.status_code == 201, fine.text


async def test_an_entry_of_the_wrong_json_types_is_422_never_500(client, make_person):
    newcomer = await make_person("Inès")
    for resource in (
        {"resourceType": "Observation", "device": "x", "code": "y"},
        {"resourceType": "Immunization", "vaccineCode": "x"},
        {"resourceType": "Condition", "code": ["x"]},
        {"resourceType": "RelatedPerson", "name": "x", "telecom": 3},
    ):
        answer = await client.post(
            IMPORT,
            json={"resourceType": "Bundle", "type": "collection", "entry": [{"resource": resource}]},
            headers=newcomer.headers,
        )
        assert answer.status_code == 422, (resource, answer.text)


async def test_what_the_holder_hid_from_representatives_stays_hidden_after_a_move(client, person, make_person):
    """Each kind of item the holder can hide from their representatives carries FHIR's "restricted"
    label in the export, and the import hides it again (a move must not show a carer what the
    holder kept from them)."""
    hidden = {"hiddenFromRepresentatives": True}
    kinds: dict[str, dict[str, Any]] = {
        "/v1/spaces/me/emergency-contacts": {"givenName": "Sam", "familyName": "Roux", "phones": ["0612345678"]},
        "/v1/spaces/me/profile/conditions": {"label": "Dépression"},
        "/v1/spaces/me/profile/allergies": {"substance": "Latex"},
        "/v1/spaces/me/profile/treatments": {"medication": "Sertraline"},
        "/v1/spaces/me/profile/family-history": {"relative": "father", "condition": "Alcoolisme"},
        "/v1/spaces/me/vaccinations": {"vaccineName": "Gardasil 9", "diseases": ["hpv"], "date": "2012"},
    }
    for path, body in kinds.items():
        answer = await client.post(path, json={**body, **hidden}, headers=person.headers)
        assert answer.status_code == 201, answer.text
    visible = await client.post("/v1/spaces/me/profile/allergies", json={"substance": "Pollen"}, headers=person.headers)
    assert visible.status_code == 201, visible.text

    exported = (await client.get(EXPORT, headers=person.headers)).json()
    restricted = [
        e["resource"]["resourceType"]
        for e in exported["entry"]
        if {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R", "display": "restricted"}
        in e["resource"].get("meta", {}).get("security", [])
    ]
    assert sorted(restricted) == sorted(
        [
            "RelatedPerson",
            "Condition",
            "AllergyIntolerance",
            "MedicationStatement",
            "FamilyMemberHistory",
            "Immunization",
        ]
    )

    newcomer = await make_person("Maëlle")
    answer = await client.post(IMPORT, json=exported, headers=newcomer.headers)
    assert answer.status_code == 201, answer.text
    for path in kinds:
        items = (await client.get(path, headers=newcomer.headers)).json()["items"]
        kept = [item["hiddenFromRepresentatives"] for item in items if item.get("substance") != "Pollen"]
        assert kept == [True], (path, items)
    allergies = (await client.get("/v1/spaces/me/profile/allergies", headers=newcomer.headers)).json()["items"]
    assert sorted((a["substance"], a["hiddenFromRepresentatives"]) for a in allergies) == [
        ("Latex", True),
        ("Pollen", False),
    ]


async def test_a_parents_import_may_not_hide_measures_from_the_other_parent(client, person, make_person):
    """Hiding is the holder's alone: an import by a parent into a child's empty space that carries a
    measure labelled restricted is refused whole (it hid it from the other parent for good before,
    found by a review); records and vaccinations were refused already."""
    from tests.helpers.carers import create_child_space

    sent = await client.post("/v1/spaces/me/vitals", json={"measurements": [weight()]}, headers=person.headers)
    assert sent.status_code == 201, sent.text
    [measure] = (await client.get("/v1/spaces/me/vitals", headers=person.headers)).json()["items"]
    hid = await client.patch(
        f"/v1/spaces/me/vitals/{measure['id']}", json={"hiddenFromRepresentatives": True}, headers=person.headers
    )
    assert hid.status_code == 200, hid.text
    exported = (await client.get(EXPORT, headers=person.headers)).json()
    parent = await make_person()
    child = await create_child_space(client, parent)
    refused = await client.post(f"/v1/spaces/{child}/import", json=exported, headers=parent.headers)
    assert refused.status_code == 403, refused.text
    assert (await client.get(f"/v1/spaces/{child}/vitals", headers=parent.headers)).json()["items"] == []


async def test_an_imports_history_row_names_no_item(client, person, make_person):
    """A route that creates an item names it on its row; an import creates items of every kind
    through the same services, and its row took the first one's id (a review)."""
    await fill_every_kind(client, person)
    exported = (await client.get(EXPORT, headers=person.headers)).json()
    newcomer = await make_person("Iris")
    assert (await client.post(IMPORT, json=exported, headers=newcomer.headers)).status_code == 201
    items = (await client.get("/v1/spaces/me/access-history?limit=5", headers=newcomer.headers)).json()["items"]
    [row] = [item for item in items if item["action"] == "POST /v1/spaces/{space}/import"]
    assert row["resourceId"] is None


async def test_a_measure_hidden_from_representatives_stays_hidden_from_them_after_a_move(client, person, make_person):
    """The import stored the hidden flag in the measure's JSON but not in its column, which every
    representative's read filters on: a tutor of the new space read the measure (a review)."""
    answer = await client.post(
        "/v1/spaces/me/vitals",
        json={"measurements": [weight(64.0, hiddenFromRepresentatives=True)]},
        headers=person.headers,
    )
    assert answer.status_code == 201, answer.text
    exported = (await client.get(EXPORT, headers=person.headers)).json()
    newcomer, tutor = await make_person("Maëlle"), await make_person("Tom")
    assert (await client.post(IMPORT, json=exported, headers=newcomer.headers)).status_code == 201
    await court_measure(newcomer, tutor, "tutelle")
    mine = (await client.get("/v1/spaces/me/vitals", headers=newcomer.headers)).json()["items"]
    assert [(m["value"], m["hiddenFromRepresentatives"]) for m in mine] == [(64.0, True)]
    space = f"/v1/spaces/{newcomer.space_id}"
    assert (await client.get(f"{space}/vitals", headers=tutor.headers)).json()["items"] == []
    assert (await client.get(f"{space}/vitals/{mine[0]['id']}", headers=tutor.headers)).status_code == 404


async def test_a_refused_measure_of_a_full_batch_is_located_once(client, person, make_person):
    """Measures go to the ingestion 1,000 at a time; a refusal in a batch sent as the 1,000th measure
    was read was located twice (``/entry/999/resource/entry/600/resource``: a review)."""
    sent = await client.post("/v1/spaces/me/vitals", json={"measurements": [weight()]}, headers=person.headers)
    assert sent.status_code == 201, sent.text
    exported = (await client.get(EXPORT, headers=person.headers)).json()
    [observation] = [e["resource"] for e in exported["entry"] if e["resource"]["resourceType"] == "Observation"]
    entries = [{"resource": {**observation, "id": f"m{index}"}} for index in range(1000)]
    entries[600]["resource"]["valueQuantity"] = {**observation["valueQuantity"], "value": -1}
    newcomer = await make_person("Jade")
    answer = await client.post(
        IMPORT, json={"resourceType": "Bundle", "type": "collection", "entry": entries}, headers=newcomer.headers
    )
    assert answer.status_code == 422, answer.text
    assert [error["pointer"] for error in answer.json()["errors"]] == ["/entry/600/resource"]


def _break(resource: dict[str, Any], kind: str) -> str:
    """Break ``resource`` of ``kind`` where an export never would; the FHIRPath the refusal names."""
    if kind == "Condition":
        resource["onsetDateTime"] = "1850-01-01"
        return "Condition.onsetDateTime"
    if kind == "MedicationStatement":
        resource["effectivePeriod"]["start"] = "3000-01-01"
        return "MedicationStatement.effectivePeriod.start"
    if kind == "AllergyIntolerance":
        resource["reaction"][0]["severity"] = "lethal"
        return "AllergyIntolerance.reaction[0].severity"
    if kind == "Practitioner":
        # What the doctor is (an optional part refused, their address, is left out and said:
        # tests/overview/test_an_older_export_comes_in_whole.py).
        resource["name"][0]["family"] = "L" * 500
        return "Practitioner.name[0].family"
    assert kind == "Immunization"
    # What the entry is (a refused detail, its lot number, is left out and said:
    # tests/overview/test_an_older_export_comes_in_whole.py).
    resource["vaccineCode"]["text"] = "L" * 500
    return "Immunization.vaccineCode.text"


async def test_a_refused_entry_is_told_in_the_bundles_terms(client, person, make_person):
    """The records and the booklet check what the import makes of an entry with their own rules,
    which name their own fields (/since): the refusal points at the entry's resource and names the
    element in FHIR's terms (an outside review: /entry/3/resource/since, which is in no Bundle)."""
    await fill_every_kind(client, person)
    exported = (await client.get(EXPORT, headers=person.headers)).json()
    newcomer = await make_person("Noé")
    for kind in ("Condition", "MedicationStatement", "AllergyIntolerance", "Practitioner", "Immunization"):
        broken = json.loads(json.dumps(exported))
        index = next(i for i, e in enumerate(broken["entry"]) if e["resource"]["resourceType"] == kind)
        path = _break(broken["entry"][index]["resource"], kind)
        answer = await client.post(IMPORT, json=broken, headers=newcomer.headers)
        assert answer.status_code == 422, (kind, answer.text)
        errors = answer.json()["errors"]
        assert [e["pointer"] for e in errors] == [f"/entry/{index}/resource"], kind
        assert errors[0]["detail"].startswith(f"{path}: "), errors


async def test_a_booklet_entry_stored_with_blank_texts_before_they_were_refused_moves_with_its_space(
    client, person, make_person
):
    """The booklet once took a lot number or a place of only spaces; such an entry is exported as it
    is, and the import reads a text with nothing visible as none, as the booklet now takes it."""
    from ens.core import db

    created = await client.post(
        "/v1/spaces/me/vaccinations",
        json={"vaccineName": "Revaxis", "date": "2021-06-15", "lotNumber": "X1"},
        headers=person.headers,
    )
    assert created.status_code == 201, created.text
    await db.fetch(
        "UPDATE vaccinations SET lot_number = {}, location = {}, administered_by = {} WHERE space_id = {}",
        "  ",
        "\u200b",
        " \t",
        person.space_id,
    )
    exported = (await client.get(EXPORT, headers=person.headers)).json()
    newcomer = await make_person("Camille")
    answer = await client.post(
        IMPORT, content=json.dumps(exported).encode(), headers={**newcomer.headers, "Content-Type": FHIR}
    )
    assert answer.status_code == 201, answer.text
    [entry] = (await client.get("/v1/spaces/me/vaccinations", headers=newcomer.headers)).json()["items"]
    assert (entry["vaccineName"], entry["lotNumber"], entry["location"], entry["administeredBy"]) == (
        "Revaxis",
        None,
        None,
        None,
    )


async def test_a_record_the_import_keeps_without_a_part_is_told_in_words_not_in_a_pattern(client, person, make_person):
    """A doctor's address stored on two lines before addresses were one line is exported as it is;
    the import keeps the doctor without it (it refused the whole import until an outside audit of
    the import: a stale value of an optional part) and says why as the API does: its detail quoted
    msgspec's message, the field's whole regular expression (a review)."""
    from ens.core import db
    from tests.helpers.records import DOCTOR, VALID_RPPS

    address = {"line": "8 place Bellecour", "postalCode": "69002", "city": "Lyon"}
    doctor = {"givenName": "Anne", "familyName": "Martin", "rpps": VALID_RPPS, "address": address}
    assert (await client.put(DOCTOR, json=doctor, headers=person.headers)).status_code in (200, 201)
    two_lines = {**address, "line": "8 place Bellecour\nBâtiment B", "country": None}
    await db.fetch("UPDATE doctors SET address = {} WHERE space_id = {}", json.dumps(two_lines), person.space_id)
    exported = (await client.get(EXPORT, headers=person.headers)).json()
    newcomer = await make_person("Camille")
    answer = await client.post(
        IMPORT, content=json.dumps(exported).encode(), headers={**newcomer.headers, "Content-Type": FHIR}
    )
    assert answer.status_code == 201, answer.text
    assert "regex" not in answer.text and "Bâtiment" not in answer.text
    [said] = answer.json()["keptWithout"]
    assert said["pointer"].startswith("/entry/") and said["detail"].startswith("Practitioner.address[0]"), said
    assert "one line" in said["detail"], said
    kept = (await client.get(DOCTOR, headers=newcomer.headers)).json()
    assert (kept["familyName"], kept["rpps"], kept.get("address")) == ("Martin", VALID_RPPS, None)
