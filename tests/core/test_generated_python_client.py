"""Phone teams generate their clients from ``/schema/openapi.json``. A client generated from the
app's own document (openapi-python-client, as the Python team does) comes out without a warning,
reads the API's answers into its typed models, and can send what the API takes: typed measures, a
file's bytes, an Idempotency-Key, an If-None-Match (and read the 304). Skipped when the generator
is not installed (it is in the dev extras)."""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID

import httpx
import pytest
from litestar import Litestar

pytest.importorskip("openapi_python_client", reason="openapi-python-client (dev extras) generates the client")

from ens.core.settings import Settings
from ens.spaces.representatives import CourtMeasure, add_court_measure
from tests.helpers.asgi import asgi_transport
from tests.helpers.documents import metadata, pdf
from tests.helpers.vitals import pressure, weight

PACKAGE = "ens_generated_client"


@pytest.fixture(scope="module")
def generated(openapi_json: bytes, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated package, imported. Its code is not reformatted (no post hooks): it only has to run."""
    folder = tmp_path_factory.mktemp("generated-client")
    document, config = folder / "openapi.json", folder / "config.json"
    document.write_bytes(openapi_json)
    config.write_text(json.dumps({"post_hooks": [], "package_name_override": PACKAGE}))
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(document)]
    command += ["--config", str(config), "--meta", "none", "--output-path", str(folder / PACKAGE), "--fail-on-warning"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "warning" not in output.lower(), output
    assert (folder / PACKAGE / "models").is_dir()
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def operation(generated: ModuleType, tag: str, name: str) -> ModuleType:
    return importlib.import_module(f"{generated.__name__}.api.{tag}.{name}")


def test_the_generator_names_each_operation_after_its_operation_id(generated):
    api = Path(generated.__file__).parent / "api"
    modules = {path.stem for path in api.glob("*/*.py") if path.stem != "__init__"}
    assert {"list_vitals", "record_vitals", "get_me", "get_space_summary", "token", "revoke_token", "health"} <= modules
    assert not [name for name in modules if name.startswith(("v1_", "oauth_token", "health_health"))], modules


async def test_a_generated_client_reads_typed_answers(generated, app: Litestar, settings: Settings, person):
    models = importlib.import_module(f"{PACKAGE}.models")
    base_url = settings.public_url
    async with httpx.AsyncClient(transport=asgi_transport(app), base_url=base_url, headers=person.headers) as http:
        api = generated.Client(base_url=base_url)
        api.set_async_httpx_client(http)

        me = await operation(generated, "account", "get_me").asyncio_detailed(client=api)
        assert me.status_code == 200 and isinstance(me.parsed, models.MeRead), me.content
        assert me.parsed.account.given_name == person.given_name
        assert [space.id for space in me.parsed.spaces] == [person.space_id]
        assert me.parsed.spaces[0].role == models.SpaceListItemRole.HOLDER

        recorded = await operation(generated, "vitals", "record_vitals").asyncio_detailed(
            space="me",
            client=api,
            body=models.MeasurementBatch(
                measurements=[models.MeasurementCreate.from_dict(item) for item in (weight(80.25), pressure(131, 84))]
            ),
        )
        assert recorded.status_code == 201 and isinstance(recorded.parsed, models.BatchResult), recorded.content
        assert [item.result for item in recorded.parsed.items] == [models.ItemResultResult.CREATED] * 2
        assert all(isinstance(item.id, UUID) for item in recorded.parsed.items)

        page = await operation(generated, "vitals", "list_vitals").asyncio_detailed(space="me", client=api, limit=10)
        assert page.status_code == 200 and isinstance(page.parsed, models.MeasurementPage), page.content
        by_type = {item.type_: item for item in page.parsed.items}
        assert all(isinstance(item, models.MeasurementRead) for item in page.parsed.items)
        assert by_type["body_weight"].value == 80.25 and by_type["body_weight"].unit == "kg"
        assert isinstance(by_type["body_weight"].effective_at, datetime)
        bp = by_type["blood_pressure"].components
        assert isinstance(bp, models.ComponentsRead) and (bp.systolic, bp.diastolic) == (131, 84)
        assert page.parsed.next_cursor is None
        assert {item.id for item in recorded.parsed.items} == {item.id for item in page.parsed.items}

        summary = await operation(generated, "spaces", "get_space_summary").asyncio_detailed(space="me", client=api)
        assert summary.status_code == 200 and isinstance(summary.parsed, models.SpaceSummary), summary.content
        assert summary.parsed.id == person.space_id
        assert summary.parsed.holder.given_name == person.given_name
        latest = {vital.type_: vital for vital in summary.parsed.vitals}
        assert isinstance(latest["body_weight"], models.LatestVital) and latest["body_weight"].value == 80.25


async def test_a_generated_client_reads_problems_as_typed_models(generated, app: Litestar, settings: Settings):
    models = importlib.import_module(f"{PACKAGE}.models")
    base_url = settings.public_url
    async with httpx.AsyncClient(transport=asgi_transport(app), base_url=base_url) as http:
        api = generated.Client(base_url=base_url)
        api.set_async_httpx_client(http)
        anonymous = await operation(generated, "account", "get_me").asyncio_detailed(client=api)
        assert anonymous.status_code == 401 and isinstance(anonymous.parsed, models.Problem)
        assert anonymous.parsed.type_ == "urn:ens:problem:unauthorized"
        refused = await operation(generated, "oauth", "token").asyncio_detailed(
            client=api, body=models.TokenRequest(grant_type="password", client_id="ens-mobile")
        )
        assert refused.status_code == 400 and isinstance(refused.parsed, models.OAuthErrorRead), refused.content
        assert refused.parsed.error == "unsupported_grant_type"


async def test_a_generated_client_reads_an_operators_row_in_the_history(
    generated, app: Litestar, settings: Settings, make_person
):
    """An operator's row (``ens representatives add``): ``actingAs`` operator, in the document's enum,
    and no ``actor`` (no account acted)."""
    models = importlib.import_module(f"{PACKAGE}.models")
    holder, tutor = await make_person(), await make_person(given_name="Paul", family_name="Langevin")
    await add_court_measure(
        CourtMeasure(
            space_id=holder.space_id,
            account_id=tutor.account_id,
            kind="tutelle",
            court_reference="TJ Lyon, RG 26/01234",
            since=date(2026, 3, 12),
            until=None,
            relates_to="person",
        ),
        operator="Agnès Roux",
    )
    base_url = settings.public_url
    async with httpx.AsyncClient(transport=asgi_transport(app), base_url=base_url, headers=holder.headers) as http:
        api = generated.Client(base_url=base_url)
        api.set_async_httpx_client(http)
        page = await operation(generated, "spaces", "list_access_history").asyncio_detailed(space="me", client=api)
    assert page.status_code == 200 and isinstance(page.parsed, models.PageAccessEventRead), page.content
    [row] = [item for item in page.parsed.items if item.acting_as != models.AccessEventReadActingAs.HOLDER]
    assert row.acting_as == models.AccessEventReadActingAs.OPERATOR and row.actor is None
    assert row.action == "ens representatives add" and row.client.client_id == "ens-cli"
    assert row.description.startswith("Agnès Roux (opérateur du service) a enregistré une mesure de protection")


def typed_client(generated: ModuleType, app: Litestar, settings: Settings, headers: dict[str, str]) -> Any:
    """The generated client over the app, raising on any status its document does not list."""
    http = httpx.AsyncClient(transport=asgi_transport(app), base_url=settings.public_url, headers=headers)
    api = generated.Client(base_url=settings.public_url, raise_on_unexpected_status=True)
    api.set_async_httpx_client(http)
    return api


async def test_a_generated_client_sends_typed_measures_with_an_idempotency_key(
    generated, app: Litestar, settings: Settings, person
):
    """The batch's items are MeasurementCreate (the document said ``items: {}``, typed Any), and
    every POST takes the Idempotency-Key the API honours (the document did not name it)."""
    models = importlib.import_module(f"{PACKAGE}.models")
    api = typed_client(generated, app, settings, person.headers)
    item = models.MeasurementCreate(
        type_="body_weight",
        value=70.5,
        unit="kg",
        effective_at=datetime.fromisoformat(weight()["effectiveAt"]),
        recording_method=models.MeasurementCreateRecordingMethodType0.MANUAL,
    )
    record = operation(generated, "vitals", "record_vitals")
    batch = models.MeasurementBatch(measurements=[item])
    first = await record.asyncio_detailed(space="me", client=api, body=batch, idempotency_key="walk-1")
    again = await record.asyncio_detailed(space="me", client=api, body=batch, idempotency_key="walk-1")
    assert first.status_code == again.status_code == 201, again.content
    assert first.parsed.items[0].id == again.parsed.items[0].id
    listed = await operation(generated, "vitals", "list_vitals").asyncio_detailed(space="me", client=api)
    assert [row.id for row in listed.parsed.items] == [first.parsed.items[0].id]


async def test_a_generated_client_revalidates_with_if_none_match(generated, app: Litestar, settings: Settings, person):
    """Every GET's 200 carries an ETag and If-None-Match gives 304: both are in the document (a
    generated client raised on the undocumented 304, and had no way to send the header)."""
    api = typed_client(generated, app, settings, person.headers)
    get_me = operation(generated, "account", "get_me")
    me = await get_me.asyncio_detailed(client=api)
    unchanged = await get_me.asyncio_detailed(client=api, if_none_match=me.headers["etag"])
    assert unchanged.status_code == 304 and unchanged.parsed is None
    summary = operation(generated, "spaces", "get_space_summary")
    home = await summary.asyncio_detailed(space="me", client=api)
    again = await summary.asyncio_detailed(space="me", client=api, if_none_match=home.headers["etag"])
    assert again.status_code == 304


async def test_a_nullable_enum_is_one_enum_class(generated, app: Litestar, settings: Settings, person):
    """``Literal[...] | None`` is documented as oneOf an enum and null: the generator made three
    identical enum classes of ``{"type": ["null", "string"], "enum": [..., null]}``."""
    models = importlib.import_module(f"{PACKAGE}.models")
    duplicates = sorted(path.stem for path in Path(str(models.__file__)).parent.glob("*_type_[0-9]_type_[0-9].py"))
    assert duplicates == [], duplicates
    api = typed_client(generated, app, settings, person.headers)
    allergy = await operation(generated, "records", "add_allergy").asyncio_detailed(
        space="me",
        client=api,
        body=models.AllergyCreate(substance="Pénicilline", severity=models.AllergyCreateSeverityType0.SEVERE),
    )
    assert allergy.status_code == 201 and allergy.parsed.severity == models.AllergyReadSeverityType0.SEVERE


async def test_a_generated_client_uploads_a_files_bytes(generated, app: Litestar, settings: Settings, person):
    """The upload's file part is ``format: binary``: the client sends the bytes as they are (with
    ``contentMediaType`` alone it typed the file ``str`` and sent it as UTF-8 text)."""
    models = importlib.import_module(f"{PACKAGE}.models")
    types = importlib.import_module(f"{PACKAGE}.types")
    api = typed_client(generated, app, settings, person.headers)
    content = pdf(3000) + bytes(range(256))
    added = await operation(generated, "documents", "add_document").asyncio_detailed(
        space="me",
        client=api,
        body=models.AddDocumentBody(
            file=types.File(payload=io.BytesIO(content), file_name="cr.pdf", mime_type="application/pdf"),
            metadata=models.AddDocumentBodyMetadata.from_dict(metadata()),
        ),
    )
    assert added.status_code == 201, added.content
    read = await operation(generated, "documents", "get_document_content").asyncio_detailed(
        space="me", id=added.parsed.id, client=api
    )
    assert read.status_code == 200 and read.parsed.payload.read() == content


async def test_a_generated_client_reads_a_fhir_searchs_links_and_modes(
    generated, app: Litestar, settings: Settings, person, make_app_token, client
):
    """A searchset's links and each entry's search mode are typed (the document had them as open
    objects: a generated client kept them only as untyped extra properties)."""
    models = importlib.import_module(f"{PACKAGE}.models")
    device = {"manufacturer": "Withings", "model": "Body+", "identifier": "WB-1"}
    posted = await client.post(
        "/v1/spaces/me/vitals",
        json={"measurements": [weight(71.2, device=device), weight(71.4, minutes_ago=60, device=device)]},
        headers=person.headers,
    )
    assert posted.status_code == 201, posted.text
    reader = await make_app_token(person, ["vitals.body_weight:read"])
    api = typed_client(generated, app, settings, reader.headers)
    search = operation(generated, "fhir", "fhir_search_observations")
    found = await search.asyncio_detailed(client=api, field_count=1)
    bundle = found.parsed
    assert found.status_code == 200 and isinstance(bundle, models.FhirBundleDocument), found.content
    links = {link.relation: link for link in bundle.link}
    assert isinstance(links["self"], models.FhirLink) and links["next"].url.startswith(settings.public_url)
    modes = sorted(entry.search.mode for entry in bundle.entry)
    assert modes == [models.FhirEntrySearchMode.INCLUDE, models.FhirEntrySearchMode.MATCH]
    assert all(not entry.search.additional_properties for entry in bundle.entry)


async def test_a_generated_client_reads_directive_versions_and_an_adults_schedule(
    generated, app: Litestar, settings: Settings, make_person
):
    """What this session's changes answer: a version's ``current`` and ``supersededAt``; a schedule
    whose doses may now have no ``dueFrom`` or ``dueUntil``."""
    from tests.helpers.records import DIRECTIVES, structured

    models = importlib.import_module(f"{PACKAGE}.models")
    adult = await make_person(birthdate=date(1986, 4, 12))
    base_url = settings.public_url
    async with httpx.AsyncClient(transport=asgi_transport(app), base_url=base_url, headers=adult.headers) as http:
        first = await http.put(DIRECTIVES, json=structured())
        assert first.status_code == 201, first.text
        assert (
            await http.put(DIRECTIVES, json=structured(), headers={"If-Match": first.headers["etag"]})
        ).status_code == 200
        api = generated.Client(base_url=base_url)
        api.set_async_httpx_client(http)
        versions = await operation(generated, "records", "list_directive_versions").asyncio_detailed(
            space="me", client=api
        )
        assert versions.status_code == 200, versions.content
        newest, older = versions.parsed.items
        assert (newest.version, newest.current, newest.superseded_at) == (2, True, None)
        assert (older.version, older.current) == (1, False) and isinstance(older.superseded_at, datetime)
        schedule = await operation(generated, "vaccination", "get_vaccination_schedule").asyncio_detailed(
            space="me", client=api
        )
        assert schedule.status_code == 200 and isinstance(schedule.parsed, models.ScheduleRead), schedule.content
        doses = [dose for disease in schedule.parsed.diseases for dose in disease.doses]
        statuses = {dose.dose_id: dose.status.value for dose in doses}  # each an enum of the document's
        # No infant pneumococcal dose for someone born 20 years before it was recommended.
        assert statuses and not [dose for dose in statuses if dose.startswith("pneumococcus.pcv")], statuses
        windows = [(dose.due_from, dose.due_until) for dose in doses]
        assert all(start <= end for start, end in windows if isinstance(start, date) and isinstance(end, date))
