"""The space itself (``/v1/spaces/{space}``): its home-screen summary, closing, erasing, reopening.

One controller per path: the summary gathers every capability and an erase will reach every
capability's storage, so the space's own routes live here, in the one package that may import
them all.
"""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import QueryParameter
from litestar.response import Stream
from litestar.status_codes import HTTP_204_NO_CONTENT

from ens.core.api import IfMatch, get_and_head
from ens.core.fhir import FHIR_JSON, FhirBundleDocument, refuse_another_fhir_version
from ens.core.mail import Mailer
from ens.core.openapi import FhirBundleBody
from ens.core.settings import Settings
from ens.core.strict_json import StrictJSONRequest
from ens.documents.storage import BlobStore
from ens.documents.upload import Storage
from ens.overview.export import ExportScope, export_bundle
from ens.overview.schemas import SpaceStatusRead, SpaceSummary
from ens.overview.service import close_or_erase, reopen_space, space_summary
from ens.overview.space_import import ImportResult, import_bundle
from ens.spaces.door import Access, Need
from ens.spaces.rights import Action


class SpaceController(Controller):
    path = "/"
    tags = ["spaces"]

    @get_and_head(
        "/", opt={"need": Need("space")}, summary="Home-screen summary of the space", operation_id="getSpaceSummary"
    )
    async def summary(self, access: Access) -> SpaceSummary:
        return await space_summary(access)

    @delete(
        "/",
        status_code=HTTP_204_NO_CONTENT,
        opt={"need": Need("space", action=Action.CLOSE_REOPEN, allow_closed=True)},
        summary="Close the space (archived), or erase it now with ?erase=true (the holder only)",
        description="Closing archives the space: every route but reopen answers 410 until it is reopened. "
        "With erase=true everything the space holds is deleted at once, irreversibly; an operators' record "
        "of the erasure (who, when, which space, no health data) is kept outside the space. Until the rights "
        "of each kind of representative (the table of rights in ens.spaces.rights): the holder, a parent and a "
        "guardian (tutelle) may close and reopen; erasing is the holder's, or a minor's parent's (the other "
        "representatives are told by e-mail). If-Match is compared with the ETag of the space's summary (its "
        "GET), as the caller reads it. To keep a copy, export first (GET .../export?documents=embedded holds "
        "every item and every document's file): a closed space's export is 410, an erased one's 404.",
        operation_id="closeSpace",
    )
    async def close(
        self,
        access: Access,
        settings: NamedDependency[Settings],
        blobs: NamedDependency[BlobStore],
        erase: Annotated[bool, QueryParameter(name="erase")] = False,
        if_match: IfMatch = None,
    ) -> None:
        await close_or_erase(access, erase=erase, mailer=Mailer(settings), blobs=blobs, if_match=if_match)

    @post(
        "/reopen",
        status_code=200,
        opt={"need": Need("space", action=Action.CLOSE_REOPEN, allow_closed=True)},
        summary="Reopen a closed space with everything it held (the holder only)",
        description="A closed space has no current version (its GET is 410): any If-Match, * too, is 412.",
        operation_id="reopenSpace",
    )
    async def reopen(self, access: Access, if_match: IfMatch = None) -> SpaceStatusRead:
        return await reopen_space(access, if_match=if_match)

    @get(
        "/export",
        opt={"need": Need("export")},
        media_type=FHIR_JSON,
        summary="The whole space as one FHIR R4 Bundle of type collection (streamed)",
        description="The holder's Patient, the records (Consent with the printed directives, RelatedPerson, "
        "Practitioner, Condition, AllergyIntolerance, MedicationStatement, FamilyMemberHistory), every "
        "Immunization, every document as a DocumentReference (the file attached by its content URL; with "
        "documents=embedded, carried in the Bundle too, as the attachment's data in base64, so that the "
        "export holds every file once the space is closed or erased; POST .../import takes them back), and "
        "every measure as an Observation of the ANS 'Mesures de santé' guide's profile with its Device. "
        "Written as it is read: the answer has no Content-Length and no ETag. Every reference is "
        "urn:uuid:<id> and resolves inside the Bundle. A representative's export leaves out what the holder "
        "hid from them.",
        operation_id="exportSpace",
        responses={
            200: ResponseSpec(
                FhirBundleDocument, media_type=FHIR_JSON, description="A FHIR R4 Bundle", generate_examples=False
            )
        },
    )
    async def export(
        self,
        access: Access,
        settings: NamedDependency[Settings],
        blobs: NamedDependency[BlobStore],
        documents: Annotated[
            Literal["linked", "embedded"],
            QueryParameter(
                required=False,
                description="linked (the default): each document's file by its URL; embedded: the file in the "
                "Bundle too (attachment.data, base64: a third larger than the files)",
            ),
        ] = "linked",
    ) -> Stream:
        scope = ExportScope(
            space=access.space,
            with_hidden=access.sees_confidential,
            secret=settings.secret_key,
            public_url=settings.public_url,
            blobs=blobs if documents == "embedded" else None,
            still_admitted=access.still_reaches,
        )
        return Stream(
            export_bundle(scope),
            media_type=FHIR_JSON,
            headers={"Content-Disposition": f'attachment; filename="ens-{access.space_id}.fhir.json"'},
        )

    @post(
        "/import",
        status_code=201,
        opt={"need": Need("import", action=Action.WRITE_DATA, own_body=True)},
        # Its own limit (ENS_IMPORT_MAX_BYTES), checked as the body streams in.
        request_max_body_size=None,
        summary="Import an export's FHIR Bundle into this empty space (all or nothing)",
        description="The Bundle GET .../export writes (application/fhir+json or application/json), at most "
        "ENS_IMPORT_MAX_BYTES (413 past it), received whole before anything is written, then written in one "
        "transaction of at most ENS_IMPORT_MAX_SECONDS (413 past it). The space must hold nothing the caller "
        "sees (409); what is hidden from them stays beside what they import. Each item goes through its "
        "capability's own rules (a refused one is 422 at /entry/<n>/resource... and nothing is kept). Measures "
        "name the import as their source and keep their former one as a tag, and what identifies their Device; "
        "the holder's identity stays the space's own; advance directives and the trusted person, the holder's "
        "own signed acts, are not imported, nor Devices no measure names, and the answer says so. Documents come "
        "with their files from an export of documents=embedded (each checked as an upload is, within the "
        "importer's quota: 413 past it); a linked export's DocumentReferences are not imported, and the answer "
        "says so.",
        operation_id="importSpace",
        operation_class=FhirBundleBody,
    )
    async def import_(
        self,
        access: Access,
        settings: NamedDependency[Settings],
        blobs: NamedDependency[BlobStore],
        request: StrictJSONRequest,
    ) -> ImportResult:
        request.require_json()
        # The export is R4: a body said to be of another version would be misread as R4 (it was
        # imported: a review of ebb45fe, which refused it on /fhir alone).
        refuse_another_fhir_version(request.headers.get("content-type"))
        storage = Storage(
            blobs=blobs, secret=settings.secret_key, quota_bytes=settings.document_quota_bytes, mailer=Mailer(settings)
        )
        return await import_bundle(
            access,
            request.stream(),
            max_bytes=settings.import_max_bytes,
            max_seconds=settings.import_max_seconds,
            storage=storage,
        )
