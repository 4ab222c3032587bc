"""The FHIR door of the measures (``/fhir``): thin handlers over :mod:`ens.vitals.fhir_intake`.

Its routes sit behind the same space door as ``/v1/spaces/{space}`` (``ens.app``'s ``/fhir``
router; the app's token names its space, ``{space}`` = ``me``), declare their need the same way,
and are covered by the same start-up check; ``/fhir/metadata`` alone is public. Errors are
``OperationOutcome`` resources (``ens.app``).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, HeaderParameter, QueryParameter
from msgspec import Meta

from ens.core.api import PUBLIC, Cursors, get_and_head
from ens.core.fhir import (
    FHIR_JSON,
    PREFER_MAX_LENGTH,
    CapabilityStatementDocument,
    FhirBundleDocument,
    FhirObservationDocument,
    refuse_another_fhir_version,
    refuse_what_is_not_json,
)
from ens.core.openapi import FhirBundleBody
from ens.core.settings import Settings
from ens.core.strict_json import StrictJSONRequest
from ens.spaces.door import Access, Need
from ens.spaces.rights import Action
from ens.vitals import fhir_intake

BUNDLE = {
    200: ResponseSpec(FhirBundleDocument, media_type=FHIR_JSON, description="A FHIR Bundle", generate_examples=False)
}
WRITE = {"need": Need("vitals", action=Action.WRITE_DATA, app_scope="write", own_body=True)}
READ = {"need": Need("vitals", app_scope="read")}


def _prefer(description: str) -> Any:
    """The ``Prefer`` header (RFC 7240) as a route of the door reads it: what it does there."""
    return HeaderParameter(name="Prefer", required=False, max_length=PREFER_MAX_LENGTH, description=description)


class FhirController(Controller):
    path = "/"
    tags = ["fhir"]

    @post(
        "/",
        opt=WRITE,
        status_code=200,
        media_type=FHIR_JSON,
        summary="The ANS 'Mesures de santé' feeding Bundle: one Observation and its Device (transaction)",
        description="A transaction Bundle as the guide's MesBundleFluxAlimentation: one Observation of one of its "
        "profiles (POST Observation) and at most one PHD Device (POST Device, ifNoneExist). Answered with a "
        "transaction-response Bundle. The same rules, units, idempotency (identifier[0] is the "
        "clientRecordId: system|value, or the value alone where it has no system or the app's own "
        "urn:ens:client:<client id>; meta.versionId its version) and access history as POST /v1/spaces/{space}/vitals. "
        "The Observation's subject is absent or the token's own space. A profile ENS does not keep (oxygen "
        "saturation...) is 422 naming it; an app without the type's write scope is 403 (consent not given). "
        "Errors are OperationOutcome resources.\n\n"
        "Retrying safely (an answer lost on the network): a measure is stored once when the request carries "
        "any of these. (1) The Observation's identifier: a re-send is 200 OK with the same measure (a higher "
        "meta.versionId replaces it). (2) A conditional create, identifier=system|value (or identifier=value) "
        "naming the Observation's identifier[0], as the Observation entry's request.ifNoneExist or the "
        "If-None-Exist header: the measure already stored under it is answered 200 OK and left as it is; "
        "another search is 400, an identifier the Observation does not carry 422. (3) An Idempotency-Key "
        "header, as on every creating POST: a retry with the same key and Bundle replays the first answer "
        "(Idempotent-Replayed: true) and stores nothing; the same key with another Bundle is 422, while the "
        "first still runs 409; keys are the app's own, kept 24 hours. An Observation sent with no identifier "
        "and no key is a new measure at each POST: retried, it is stored twice.",
        operation_id="fhirTransaction",
        operation_class=FhirBundleBody,
        responses=BUNDLE,
    )
    async def transaction(
        self,
        access: Access,
        request: StrictJSONRequest,
        if_none_exist: Annotated[
            str | None,
            HeaderParameter(
                name="If-None-Exist",
                required=False,
                max_length=2048,
                description="FHIR's conditional create, read as the Bundle's Observation entry's "
                "request.ifNoneExist (the Bundle holds one Observation; both given, they must be equal, else "
                "400): identifier=system|value or identifier=value, the Observation's identifier[0]. The "
                "measure stored under it is answered 200 OK and left as it is.",
            ),
        ] = None,
        prefer: Annotated[
            str | None,
            _prefer(
                "FHIR's return preference, for each entry of the transaction-response: "
                "return=minimal (the default: its status and location), return=representation (the resource "
                "as GET /fhir/Observation/{id} reads it, and the Device the search includes, when the app may "
                "read the type), return=OperationOutcome (an outcome saying what was done). Another value is "
                "ignored (RFC 7240).",
            ),
        ] = None,
    ) -> Response[bytes]:
        request.require_json()
        refuse_another_fhir_version(request.headers.get("content-type"))
        answer = await fhir_intake.take_transaction(
            access, await request.body(), if_none_exist=if_none_exist, prefer=prefer
        )
        return Response(answer, media_type=FHIR_JSON)

    @get_and_head(
        "/Observation/{id:uuid}",
        opt=READ,
        media_type=FHIR_JSON,
        summary="One measure as an Observation (the location a transaction answers)",
        operation_id="fhirReadObservation",
        responses={
            200: ResponseSpec(
                FhirObservationDocument, media_type=FHIR_JSON, description="A FHIR Observation", generate_examples=False
            )
        },
    )
    async def read(self, access: Access, id: FromPath[UUID]) -> Response[bytes]:
        return Response(await fhir_intake.read_observation(access, id), media_type=FHIR_JSON)

    @get_and_head(
        "/Observation",
        opt=READ,
        media_type=FHIR_JSON,
        summary="Search the measures the app may read (code, date), newest first, as a searchset Bundle",
        operation_id="fhirSearchObservations",
        responses=BUNDLE,
    )
    async def search(
        self,
        request: Request,  # type: ignore[type-arg]
        access: Access,
        cursors: NamedDependency[Cursors],
        settings: NamedDependency[Settings],
        code: Annotated[
            list[Annotated[str, Meta(max_length=512)]] | None,
            QueryParameter(
                name="code",
                required=False,
                max_items=16,
                description="LOINC codes (http://loinc.org|<code> or <code>): separated by commas, any of "
                "them; repeated, each (a measure has one type: only the types every code names); at most 16 "
                "parameters of at most 512 characters each",
            ),
        ] = None,
        date: Annotated[list[str] | None, QueryParameter(name="date", required=False, max_items=64)] = None,
        count: Annotated[int | None, QueryParameter(name="_count", required=False, ge=1, le=500)] = None,
        cursor: Annotated[str | None, QueryParameter(name="_cursor", required=False, max_length=512)] = None,
        summary: Annotated[
            str | None,
            QueryParameter(
                name="_summary",
                required=False,
                max_length=16,
                description="count: the Bundle's total alone, no entry (no _cursor); data or false: the whole "
                "resources (ENS writes no narrative); true and text are 400",
            ),
        ] = None,
        prefer: Annotated[
            str | None,
            _prefer(
                "handling=strict: a parameter the search does not read is 400, not ignored",
            ),
        ] = None,
    ) -> Response[bytes]:
        fhir_intake.refuse_unread_parameters(request.query_params.keys(), prefer=prefer)
        found = await fhir_intake.search_observations(
            access,
            cursors,
            base_url=settings.public_url,
            codes=code or [],
            dates=date or [],
            count=count,
            cursor=cursor,
            summary=summary,
        )
        return Response(found, media_type=FHIR_JSON)


@get_and_head(
    "/fhir/metadata",
    opt=PUBLIC,
    media_type=FHIR_JSON,
    tags=["fhir"],
    summary="The FHIR CapabilityStatement",
    operation_id="fhirCapabilityStatement",
    responses={
        200: ResponseSpec(
            CapabilityStatementDocument,
            media_type=FHIR_JSON,
            description="The FHIR CapabilityStatement",
            generate_examples=False,
        )
    },
)
async def fhir_metadata(request: Request, settings: NamedDependency[Settings]) -> Response[bytes]:  # type: ignore[type-arg]
    refuse_what_is_not_json(request)
    return Response(fhir_intake.capability_statement(base_url=settings.public_url), media_type=FHIR_JSON)
