"""A document whose sealed words do not verify (its row changed or damaged in the database) is the
documented 500 ``content-unreadable`` when asked for alone; the list and the export read the other
documents and name it, where one such row made the whole list a 500 and stopped the export
half-way (its JSON cut short), so that the person could see none of their documents and take none
of their data with them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ens.core import db
from tests.helpers.documents import metadata, pdf, uploaded

FHIR = "application/fhir+json"


async def _damaged(client, person) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Three documents of three care dates; the middle one's words damaged."""
    made = [
        await uploaded(
            client, person.headers, pdf(900 + n, seed=n), meta=metadata(title=f"Compte rendu {n}", date=f"2026-0{n}-10")
        )
        for n in (1, 2, 3)
    ]
    damaged = made[1]
    await db.fetch(
        "UPDATE documents SET sealed = {} WHERE space_id = {} AND id = {}",
        b"\x01" * 40,
        person.space_id,
        damaged["id"],
    )
    return damaged, [made[2], made[0]]


async def test_the_list_reads_the_other_documents_and_names_the_damaged_one(client, person):
    damaged, others = await _damaged(client, person)
    listed = await client.get("/v1/spaces/me/documents", headers=person.headers)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [d["id"] for d in body["items"]] == [d["id"] for d in others]
    [said] = body["unreadable"]
    assert said["id"] == damaged["id"] and said["typeCode"] == damaged["typeCode"] and said["date"] == "2026-02-10"
    assert "failed verification" in said["detail"] and "Compte rendu" not in json.dumps(said)
    # Alone, it says what it is.
    alone = await client.get(f"/v1/spaces/me/documents/{damaged['id']}", headers=person.headers)
    assert alone.status_code == 500 and alone.json()["type"] == "urn:ens:problem:content-unreadable"

    # A page at a time: the damaged one holds its place, and the cursor walks past it.
    seen: list[str] = []
    unreadable: list[str] = []
    url = "/v1/spaces/me/documents?limit=1"
    while url:
        page = (await client.get(url, headers=person.headers)).json()
        seen += [d["id"] for d in page["items"]]
        unreadable += [d["id"] for d in page["unreadable"]]
        url = f"/v1/spaces/me/documents?limit=1&cursor={page['nextCursor']}" if page["nextCursor"] else ""
    assert seen == [d["id"] for d in others] and unreadable == [damaged["id"]]


@pytest.mark.parametrize("documents", ["linked", "embedded"])
async def test_the_export_carries_the_others_and_says_which_it_left_out(client, person, make_person, documents):
    damaged, others = await _damaged(client, person)
    answer = await client.get(f"/v1/spaces/me/export?documents={documents}", headers=person.headers)
    assert answer.status_code == 200
    bundle = answer.json()  # whole: it was cut short at the damaged document
    resources = [e["resource"] for e in bundle["entry"]]
    references = [r for r in resources if r["resourceType"] == "DocumentReference"]
    assert [r["id"] for r in references] == [d["id"] for d in others]
    [outcome] = [r for r in resources if r["resourceType"] == "OperationOutcome"]
    [issue] = outcome["issue"]
    assert issue["severity"] == "error" and damaged["id"] in issue["diagnostics"]

    # The export imports, the note passed by.
    other = await make_person("Autre")
    imported = await client.post(
        f"/v1/spaces/{other.space_id}/import",
        content=json.dumps(bundle).encode(),
        headers={**other.headers, "Content-Type": FHIR},
    )
    assert imported.status_code == 201, imported.text
    [note] = [n for n in imported.json()["notImported"] if n["resourceType"] == "OperationOutcome"]
    assert note["count"] == 1 and "could not read" in note["reason"]
    if documents == "embedded":
        listed = (await client.get("/v1/spaces/me/documents", headers=other.headers)).json()
        assert sorted(d["title"] for d in listed["items"]) == ["Compte rendu 1", "Compte rendu 3"]
