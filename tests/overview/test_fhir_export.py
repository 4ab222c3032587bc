"""GET /v1/spaces/{space}/export: the whole space as one FHIR R4 collection Bundle, every resource
valid for fhir.resources' R4B models, every reference resolving inside the Bundle."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import stat
import subprocess
from collections import Counter
from typing import Any

import pytest
from pypdf import PdfReader

from ens.core.settings import Settings
from ens.vitals.fhir import IG_BASE, PROFILES
from tests.helpers.fhir import FHIR, check_bundle, fill_every_kind
from tests.helpers.server import run_ens

EXPORT = "/v1/spaces/me/export"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def _of(resources: dict[str, dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources.values() if r["resourceType"] == kind]


async def test_a_space_with_every_kind_of_data_exports_as_a_valid_bundle(client, person):
    await fill_every_kind(client, person)
    answer = await client.get(EXPORT, headers=person.headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith(FHIR)
    assert "content-length" not in answer.headers and "etag" not in answer.headers  # streamed
    resources = check_bundle(answer.json())
    kinds = Counter(r["resourceType"] for r in resources.values())
    assert kinds == {
        "Patient": 1,
        "Consent": 1,
        "RelatedPerson": 2,  # the trusted person (also an emergency contact) and Paul
        "Practitioner": 1,
        "Condition": 1,
        "AllergyIntolerance": 1,
        "MedicationStatement": 1,
        "FamilyMemberHistory": 1,
        "Immunization": 2,
        "Observation": 11,
        "Device": 2,  # the scale (two weights) and the blood-pressure monitor
        "DocumentReference": 1,
    }
    patient = resources[f"urn:uuid:{person.space_id}"]
    assert patient["resourceType"] == "Patient"
    assert patient["generalPractitioner"][0]["reference"] in resources


async def test_measures_are_observations_of_the_guides_profiles(client, person):
    await fill_every_kind(client, person)
    resources = check_bundle((await client.get(EXPORT, headers=person.headers)).json())
    observations = _of(resources, "Observation")
    for observation in observations:
        assert observation["status"] == "final"
        assert observation["category"][0]["coding"][0]["code"] == "vital-signs"
        assert observation["code"]["coding"][0]["system"] == LOINC
        assert observation["subject"] == {"reference": f"urn:uuid:{person.space_id}"}
        assert observation["meta"]["source"] == "urn:ens:client:ens-mobile"
        assert observation["meta"]["profile"][0].startswith(IG_BASE)
    by_code = {o["code"]["coding"][0]["code"]: o for o in observations}
    pressure = by_code["85354-9"]
    assert "valueQuantity" not in pressure
    assert [(c["code"]["coding"][0]["code"], c["valueQuantity"]) for c in pressure["component"]] == [
        ("8480-6", {"value": 121, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"}),
        ("8462-4", {"value": 79, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"}),
    ]
    assert pressure["meta"]["profile"] == [IG_BASE + PROFILES["blood_pressure"]]
    # Units are the canonical ones: °F, g/L, m and lb arrive converted.
    assert by_code["8310-5"]["valueQuantity"] == {"value": 37, "unit": "Cel", "system": UCUM, "code": "Cel"}
    assert by_code["2339-0"]["valueQuantity"]["value"] == 105 and by_code["2339-0"]["valueQuantity"]["code"] == "mg/dL"
    assert by_code["8302-2"]["valueQuantity"]["value"] == 172
    weights = sorted(o["valueQuantity"]["value"] for o in observations if o["code"]["coding"][0]["code"] == "29463-7")
    assert weights == [71.25, 71.668]
    # The guide's profiles fix the unit of these two (steps-by-day: 1/(24.h) "steps/day"; pain
    # severity: 1 "Level"); ENS's own API keeps DOMAIN.md's, "/d" as sent and "{score}".
    assert by_code["41950-7"]["valueQuantity"] == {
        "value": 8432,
        "unit": "steps/day",
        "system": UCUM,
        "code": "1/(24.h)",
    }
    assert by_code["72514-3"]["valueQuantity"] == {"value": 3, "unit": "Level", "system": UCUM, "code": "1"}
    # Sent in {score}: the original quantity beside it says so (an import gives it back as sent).
    originals = [e["valueQuantity"] for e in by_code["72514-3"]["extension"] if "valueQuantity" in e]
    assert originals == [{"value": 3, "unit": "{score}", "system": UCUM, "code": "{score}"}]
    # The device is a Device resource, referenced by each measure it took.
    devices = {f"urn:uuid:{d['id']}": d for d in _of(resources, "Device")}
    scale_refs = {o["device"]["reference"] for o in observations if o["code"]["coding"][0]["code"] == "29463-7"}
    assert len(scale_refs) == 1
    scale = devices[scale_refs.pop()]
    assert scale["manufacturer"] == "OMRONHEALTHCARE" and scale["modelNumber"] == "HBF-702T"
    assert scale["identifier"][0]["value"] == "FE-ED-AB-AA-DE-AD-77-C5"


async def test_the_same_device_keeps_its_id_from_one_export_to_the_next(client, person):
    await fill_every_kind(client, person)
    first = check_bundle((await client.get(EXPORT, headers=person.headers)).json())
    second = check_bundle((await client.get(EXPORT, headers=person.headers)).json())
    assert {u for u, r in first.items() if r["resourceType"] == "Device"} == {
        u for u, r in second.items() if r["resourceType"] == "Device"
    }


async def test_an_app_may_not_export_and_reading_it_is_in_the_history(client, person, make_app_token, history):
    app = await make_app_token(person, ["vitals.body_weight:read"])
    assert (await client.get(EXPORT, headers=app.headers)).status_code == 403
    assert (await client.get(EXPORT, headers=person.headers)).status_code == 200
    rows = await history(person.space_id)
    assert [(r["resource_type"], r["outcome"]) for r in rows[-2:]] == [("export", 403), ("export", 200)]


async def test_a_representatives_export_leaves_out_what_the_holder_hid(client, person, make_person):
    from tests.helpers.carers import court_measure
    from tests.helpers.vitals import VITALS

    await fill_every_kind(client, person)
    tutor = await make_person("Tuteur")
    await court_measure(person, tutor, "tutelle")
    measures = (await client.get(f"{VITALS}?type=heart_rate", headers=person.headers)).json()["items"]
    hide = {"hiddenFromRepresentatives": True}
    assert (await client.patch(f"{VITALS}/{measures[0]['id']}", json=hide, headers=person.headers)).status_code == 200
    contacts = (await client.get("/v1/spaces/me/emergency-contacts", headers=person.headers)).json()["items"]
    paul = next(c for c in contacts if c["givenName"] == "Paul")
    path = f"/v1/spaces/me/emergency-contacts/{paul['id']}"
    assert (await client.patch(path, json=hide, headers=person.headers)).status_code == 200

    theirs = check_bundle((await client.get(f"/v1/spaces/{person.space_id}/export", headers=tutor.headers)).json())
    assert f"urn:uuid:{measures[0]['id']}" not in theirs and f"urn:uuid:{paul['id']}" not in theirs
    assert len(_of(theirs, "Observation")) == 10
    mine = check_bundle((await client.get(EXPORT, headers=person.headers)).json())
    hidden = mine[f"urn:uuid:{measures[0]['id']}"]
    assert hidden["meta"]["security"][0]["code"] == "R"  # the holder's own export says it is restricted
    assert f"urn:uuid:{paul['id']}" in mine


def _ens_export(*args: str, settings: Settings) -> subprocess.CompletedProcess[str]:
    return run_ens(settings, "export", *args, timeout=120)


async def test_ens_export_writes_the_same_bundle_to_a_file(client, person, settings, tmp_path):
    """What an operator runs: the whole space (hidden items included) to a file, with progress."""
    await fill_every_kind(client, person)
    target = tmp_path / "space.fhir.json"
    operator = ("--operator", "Agnès Roux", "--reason", "Demande d'accès RGPD n° 2026-118")
    unsaid = _ens_export(str(person.space_id), str(target), settings=settings)
    assert unsaid.returncode == 2 and "--operator" in unsaid.stderr and not target.exists()
    done = _ens_export(str(person.space_id), str(target), *operator, settings=settings)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"export: 25 resources written to {target}"
    # It read everything: the holder's history says who (it said nothing: an outside audit); the
    # reason stays in the operators' security log.
    assert "space exported by an operator" in done.stderr and "2026-118" in done.stderr
    history = await client.get("/v1/spaces/me/access-history?actor=operators", headers=person.headers)
    [row] = history.json()["items"]
    assert (row["action"], row["resourceType"], row["actingAs"], row["outcome"]) == (
        "ens export",
        "export",
        "operator",
        200,
    )
    assert row["description"].startswith("Agnès Roux (opérateur du service) a lancé l'export de tout l'espace")
    assert "2026-118" not in history.text
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # health data: its owner's only
    assert not (tmp_path / "space.fhir.json.partial").exists()
    written = check_bundle(json.loads(target.read_bytes()))
    served = check_bundle((await client.get(EXPORT, headers=person.headers)).json())
    assert written.keys() == served.keys()
    missing = _ens_export("6c0f3f5e-2b7c-4d7e-9a8e-0d6c1b1e2f3a", str(target), *operator, settings=settings)
    assert missing.returncode == 2 and missing.stderr.startswith("ens: no space")
    (tmp_path / "space.fhir.json.partial").write_bytes(b"")  # another export's, or a killed one's
    busy = _ens_export(str(person.space_id), str(target), *operator, settings=settings)
    assert busy.returncode == 2 and busy.stderr.startswith(f"ens: {target}.partial exists"), busy.stderr
    # No export, no row: the history still holds the one.
    again = await client.get("/v1/spaces/me/access-history?actor=operators", headers=person.headers)
    assert len(again.json()["items"]) == 1
    assert (tmp_path / "space.fhir.json.partial").read_bytes() == b""  # not another's to remove


def _failing_after_its_first_bytes(scope: Any, *, progress: Any) -> Any:
    """An export whose disk fills once its first bytes are written (for ``export_bundle``)."""

    async def pieces() -> Any:
        yield b'{"resourceType": "Bundle", "entry": ['
        raise OSError("the disk is full")

    return pieces()


def _stopped_after_its_first_bytes(scope: Any, *, progress: Any) -> Any:
    """An export stopped (the operator's Ctrl-C cancels ``ens export``'s task) once its first bytes
    are written."""

    async def pieces() -> Any:
        yield b'{"resourceType": "Bundle", "entry": ['
        raise asyncio.CancelledError

    return pieces()


async def test_a_failed_export_leaves_no_file_and_a_whole_one_is_its_owners_only(
    person, settings, monkeypatch, tmp_path
):
    """A failed ``ens export`` left FILE.partial behind, and both files were created 0644: health
    data readable by any account of the machine (a review). Now the export's files are 0600 and a
    failure removes the partial one."""
    from ens.overview import export

    space = await export.space_for_export(person.space_id)
    assert space is not None
    target = tmp_path / "space.fhir.json"
    whole = await export.export_to_file(space, target, secret=settings.secret_key)
    assert whole > 0 and stat.S_IMODE(target.stat().st_mode) == 0o600
    target.unlink()

    monkeypatch.setattr(export, "export_bundle", _failing_after_its_first_bytes)
    with pytest.raises(OSError, match="the disk is full"):
        await export.export_to_file(space, target, secret=settings.secret_key)
    assert list(tmp_path.iterdir()) == []


async def test_the_export_holds_every_version_of_the_directives_and_every_trusted_person(client, person):
    """The export held only the current version (after a revocation, an empty Consent: what the
    holder wrote was gone) and the current trusted person (a review). Now every version is a Consent,
    the former ones inactive with what they said, and a former trusted person is an inactive
    RelatedPerson with the span of their designation; the Bundle stays valid R4."""
    from tests.helpers.records import DIRECTIVES, TRUSTED_PERSON, structured, trusted

    first = await client.put(DIRECTIVES, json=structured(), headers=person.headers)
    assert first.status_code in (200, 201), first.text
    second = await client.put(
        DIRECTIVES,
        json=structured(wishes="Mourir à la maison."),
        headers={**person.headers, "If-Match": first.headers["etag"]},
    )
    assert second.status_code in (200, 201), second.text
    revoked = await client.delete(DIRECTIVES, headers={**person.headers, "If-Match": second.headers["etag"]})
    assert revoked.status_code in (200, 204), revoked.text
    assert (await client.put(TRUSTED_PERSON, json=trusted(), headers=person.headers)).status_code in (200, 201)
    tag = (await client.get(TRUSTED_PERSON, headers=person.headers)).headers["etag"]
    replaced = await client.put(
        TRUSTED_PERSON, json=trusted("Marc", "Petit"), headers={**person.headers, "If-Match": tag}
    )
    assert replaced.status_code in (200, 201), replaced.text

    bundle = (await client.get("/v1/spaces/me/export", headers=person.headers)).json()
    resources = check_bundle(bundle).values()
    consents = [r for r in resources if r["resourceType"] == "Consent"]
    assert [c["status"] for c in consents] == ["inactive", "inactive", "inactive"]
    assert [bool(c.get("provision")) for c in consents] == [True, True, False]
    assert all(c["sourceAttachment"]["contentType"] == "application/pdf" for c in consents[:2])
    persons = [r for r in resources if r["resourceType"] == "RelatedPerson" and "Personne de confiance" in str(r)]
    # Every designation's span: the current one has begun and not ended.
    assert sorted((p["name"][0]["family"], p.get("active", True), "end" in p["period"]) for p in persons) == [
        ("Durand", False, True),
        ("Petit", True, False),
    ]


async def test_an_exported_version_no_longer_in_force_says_so_on_every_page_of_its_pdf(client, person):
    """The export printed a replaced version exactly as it printed it while it was in force. Its PDF
    is made at each export: the same version exported again once replaced says so on every page
    (and in the attachment's title), the version in force does not."""
    from datetime import UTC, datetime

    from tests.helpers.records import DIRECTIVES, date_directives_version, structured

    def pages(consent: dict[str, Any]) -> list[str]:
        pdf = base64.b64decode(consent["sourceAttachment"]["data"])
        return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]

    async def consents() -> list[dict[str, Any]]:
        bundle = (await client.get(EXPORT, headers=person.headers)).json()
        return [r for r in check_bundle(bundle).values() if r["resourceType"] == "Consent"]

    first = await client.put(DIRECTIVES, json=structured(), headers=person.headers)
    assert first.status_code == 201, first.text
    [in_force] = await consents()
    assert in_force["sourceAttachment"]["title"] == "Directives anticipées, version 1"
    assert not any("plus foi" in page for page in pages(in_force))

    second = await client.put(
        DIRECTIVES, json=structured(situation="ill"), headers={**person.headers, "If-Match": first.headers["etag"]}
    )
    assert second.status_code == 200, second.text
    await date_directives_version(person.space_id, 2, datetime(2026, 9, 30, 22, 30, tzinfo=UTC))  # 1 Oct in Paris
    replaced, current = await consents()
    assert replaced["id"] == in_force["id"] and replaced["status"] == "inactive"
    notice = "Version remplacée le 1er octobre 2026 par la version 2 — ne fait plus foi"
    assert all(page.count(notice) == 2 for page in pages(replaced))  # above the content and in the footer
    assert replaced["sourceAttachment"]["title"] == "Directives anticipées, version 1 (ne fait plus foi)"
    assert current["status"] == "active" and current["sourceAttachment"]["title"] == "Directives anticipées, version 2"
    assert not any("plus foi" in page for page in pages(current))


async def test_an_operators_export_that_fails_says_so_in_the_history(
    client, person, settings, monkeypatch, tmp_path, caplog
):
    """``ens export``'s row, written before it reads, said the space was exported when the export
    then failed (a review): a second row, of the same request, says it failed and that no file was
    handed over; the security log says so too. An export refused before it reads writes none."""
    from ens.overview import export

    space = await export.space_for_export(person.space_id)
    assert space is not None

    monkeypatch.setattr(export, "export_bundle", _failing_after_its_first_bytes)
    with caplog.at_level("WARNING", logger="ens.security"), pytest.raises(OSError, match="the disk is full"):
        await export.operator_export(
            space, tmp_path / "space.json", operator="Agnès Roux", reason="RGPD 2026-7", secret=settings.secret_key
        )
    assert list(tmp_path.iterdir()) == []
    history = await client.get("/v1/spaces/me/access-history?actor=operators", headers=person.headers)
    rows = history.json()["items"]
    assert [(r["action"], r["outcome"]) for r in rows] == [("ens export", 500), ("ens export", 200)]
    assert rows[0]["requestId"] == rows[1]["requestId"]
    assert rows[0]["description"] == (
        "Agnès Roux (opérateur du service) n'a pas terminé l'export de tout l'espace (FHIR) : une erreur "
        "l'a interrompu, aucun fichier n'a été remis."
    )
    failed = [r for r in caplog.records if getattr(r, "event", None) == "operator_export_failed"]
    assert len(failed) == 1 and failed[0].error == "OSError" and failed[0].reason == "RGPD 2026-7"
    # Refused before it read (another export's file): no row at all.
    (tmp_path / "space.json.partial").write_bytes(b"")
    with pytest.raises(FileExistsError):
        await export.operator_export(
            space, tmp_path / "space.json", operator="Agnès Roux", reason="RGPD 2026-7", secret=settings.secret_key
        )
    again = await client.get("/v1/spaces/me/access-history?actor=operators", headers=person.headers)
    assert len(again.json()["items"]) == 2


async def test_an_operators_export_stopped_says_so_in_the_history(
    client, person, settings, monkeypatch, tmp_path, caplog
):
    """Stopped by its operator after its first row (Ctrl-C), the export wrote no second row: the
    history said the space was exported (a review). It says it was not finished, as for a failure."""
    from ens.overview import export

    space = await export.space_for_export(person.space_id)
    assert space is not None
    monkeypatch.setattr(export, "export_bundle", _stopped_after_its_first_bytes)
    with caplog.at_level("WARNING", logger="ens.security"), pytest.raises(asyncio.CancelledError):
        await export.operator_export(
            space, tmp_path / "space.json", operator="Agnès Roux", reason="RGPD 2026-8", secret=settings.secret_key
        )
    assert list(tmp_path.iterdir()) == []
    history = await client.get("/v1/spaces/me/access-history?actor=operators", headers=person.headers)
    assert [(r["action"], r["outcome"]) for r in history.json()["items"]] == [("ens export", 500), ("ens export", 200)]
    failed = [r for r in caplog.records if getattr(r, "event", None) == "operator_export_failed"]
    assert len(failed) == 1 and failed[0].error == "CancelledError"


async def test_an_export_cut_short_says_so_in_the_history(client, person, monkeypatch):
    """The export streams: its row (200) is written as its first bytes leave. Should reading fail
    after them, the caller gets a cut Bundle, and a second row of the request says 500 (it said
    200 alone: an outside audit), as the operator's ``ens export`` already did."""
    import ens.overview.export as export

    await fill_every_kind(client, person)

    async def lost_midway(scope: Any) -> Any:
        raise RuntimeError("the database lost while the export reads")
        yield []  # pragma: no cover (a section is an async generator)

    monkeypatch.setattr(export, "SECTIONS", (*export.SECTIONS[:1], lost_midway))
    body = b""
    with pytest.raises(Exception, match="after response started"):  # how httpx's ASGI transport says it
        async with client.stream("GET", EXPORT, headers=person.headers) as answer:
            assert answer.status_code == 200
            async for chunk in answer.aiter_bytes():
                body += chunk
    monkeypatch.undo()
    with pytest.raises(ValueError):
        json.loads(body)
    history = (await client.get("/v1/spaces/me/access-history", headers=person.headers)).json()["items"]
    exports = [row for row in history if row["resourceType"] == "export"]
    assert sorted(row["outcome"] for row in exports) == [200, 500]
    assert len({row["requestId"] for row in exports}) == 1
    # A whole export still writes its one row.
    assert (await client.get(EXPORT, headers=person.headers)).status_code == 200
    again = (await client.get("/v1/spaces/me/access-history", headers=person.headers)).json()["items"]
    assert sorted(row["outcome"] for row in again if row["resourceType"] == "export") == [200, 200, 500]


FILE_UNREADABLE = (
    "a document's file cannot be read: missing from the store or not decrypting (the log names the document)"
)


async def test_ens_export_of_a_document_whose_file_is_gone_is_one_line_and_no_file(client, person, settings, tmp_path):
    """An object missing from the store (a restore that forgot the store, a disk's fault) ended
    ``ens export --documents embedded`` in a traceback naming nothing (an outside audit as the
    operator). It is one line, status 2, and no file is left behind."""
    from ens.documents.storage import BlobStore
    from tests.helpers.documents import pdf, stored_paths, uploaded

    await uploaded(client, person.headers, pdf(2_000, seed=71))
    [stored] = await stored_paths(settings, person.space_id)
    await BlobStore.from_settings(settings).delete(stored)
    target = tmp_path / "space.fhir.json"
    operator = ("--operator", "Agnès Roux", "--reason", "Demande d'accès RGPD n° 2026-119")
    failed = _ens_export(str(person.space_id), str(target), *operator, "--documents", "embedded", settings=settings)
    assert failed.returncode == 2, failed.stderr
    said = [line for line in failed.stderr.splitlines() if line.startswith("ens: ")]
    assert said == [f"ens: {FILE_UNREADABLE}; nothing was written to {target}"], failed.stderr
    assert "Traceback" not in failed.stderr
    assert not target.exists() and not (tmp_path / "space.fhir.json.partial").exists()
