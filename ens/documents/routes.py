"""The documents API: thin handlers over the documents' services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, head, patch, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Reference,
    RequestBody,
    Schema,
)
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from litestar.response import Stream

from ens.core.api import PUBLIC, CursorParam, Cursors, LimitParam, get_and_head, with_etag
from ens.core.mail import Mailer
from ens.core.problems import PROBLEM_JSON, Problem
from ens.core.settings import Settings
from ens.documents import service
from ens.documents.catalogue import DOCUMENT_TYPES, FORM_ALLOWANCE_BYTES, MAX_DOCUMENT_BYTES
from ens.documents.content import Content, document_content
from ens.documents.schemas import DocumentMetadata, DocumentPage, DocumentRead, DocumentTypeList, DocumentUpdate
from ens.documents.storage import BlobStore
from ens.documents.upload import Storage, Upload, upload_document
from ens.spaces.door import Access, Need
from ens.spaces.rights import Action

# Declared on a route whose answer must not be gzip-compressed (ens.app's compression config).
NO_COMPRESSION = "no_compression"

READ = {"need": Need("documents", app_scope="read")}
ADD = {"need": Need("documents", action=Action.WRITE_DATA, app_scope="write", own_body=True)}
# Hiding and removing are persons' acts (no app scope opens them).
CHANGE = {"need": Need("documents", action=Action.WRITE_DATA)}
CONTENT = {"need": Need("documents", app_scope="read"), NO_COMPRESSION: True}

IfMatch = Annotated[
    str | None,
    HeaderParameter(name="If-Match", required=False, description="The document's ETag (strong comparison: 412)"),
]
RangeHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Range",
        required=False,
        description="One byte range (bytes=0-499, bytes=500-, bytes=-500): 206 with Content-Range; several "
        "ranges, or a malformed one, give the whole file (RFC 9110 §14.2); a range past the end is 416",
    ),
]
IfRange = Annotated[
    str | None,
    HeaderParameter(
        name="If-Range", required=False, description="The ETag the range is for: another one gives the whole file"
    ),
]


def _problem(description: str) -> ResponseSpec:
    return ResponseSpec(Problem, media_type=PROBLEM_JSON, description=description, generate_examples=False)


def _from_json_schema(node: dict[str, Any]) -> Schema:
    """msgspec's JSON Schema of a Struct as litestar's OpenAPI objects (the few keywords it uses)."""
    if "anyOf" in node:
        options = [_from_json_schema(option) for option in node["anyOf"]]
        return Schema(one_of=options, description=node.get("description"))
    properties = node.get("properties")
    return Schema(
        type=OpenAPIType(node["type"]) if "type" in node else None,
        format=node.get("format"),
        min_length=node.get("minLength"),
        max_length=node.get("maxLength"),
        description=node.get("description"),
        required=node.get("required"),
        properties={name: _from_json_schema(value) for name, value in properties.items()} if properties else None,
        additional_properties=False if properties else None,
    )


def _metadata_schema() -> Schema:
    """The metadata part, inline, from the Struct the upload decodes it with."""
    document = msgspec.json.schema(DocumentMetadata)
    return _from_json_schema(document["$defs"]["DocumentMetadata"])


@dataclass
class MultipartUpload(Operation):
    """The upload's body as OpenAPI says it: ``multipart/form-data`` with the file and its metadata
    (the handler reads the stream itself, so litestar cannot derive it)."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description=f"The file (PDF, JPEG or PNG, recognised from its bytes; at most {MAX_DOCUMENT_BYTES} bytes) "
            "and its metadata as JSON.",
            content={
                "multipart/form-data": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        required=["file", "metadata"],
                        properties={
                            # format binary: generators (openapi-python-client, OpenAPI Generator) send a
                            # file's bytes for it; contentMediaType alone reads as text.
                            "file": Schema(
                                type=OpenAPIType.STRING,
                                format=OpenAPIFormat.BINARY,
                                content_media_type="application/octet-stream",
                            ),
                            "metadata": _metadata_schema(),
                        },
                    )
                )
            },
        )


@dataclass
class FileAnswer(Operation):
    """The content's 200 and 206 are the file's bytes, in its own type."""

    def __post_init__(self) -> None:
        # The Content-Type is the file's own (one of the three); generated clients that take only
        # known types read it as bytes (application/octet-stream, listed first for them).
        file = {
            media: OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY, description=described)
            )
            for media, described in (
                ("application/octet-stream", "The file's bytes; Content-Type says which of the three it is"),
                ("application/pdf", "A PDF"),
                ("image/jpeg", "A JPEG image"),
                ("image/png", "A PNG image"),
            )
        }
        self.responses = _file_responses(self.responses, content=file)


@dataclass
class FileHeadersAnswer(Operation):
    """HEAD on the content: the 200 and 206 of GET, their headers without a body."""

    def __post_init__(self) -> None:
        self.responses = _file_responses(self.responses, content=None)


def _file_responses(
    responses: dict[str, OpenAPIResponse | Reference] | None, *, content: dict[str, OpenAPIMediaType] | None
) -> dict[str, OpenAPIResponse | Reference]:
    """The content's 200 and 206 (``content``: the file, or none for HEAD) beside ``responses``."""

    def header(description: str) -> OpenAPIHeader:
        return OpenAPIHeader(schema=Schema(type=OpenAPIType.STRING), description=description)

    headers: dict[str, OpenAPIHeader | Reference] = {
        "ETag": header("The content's validator"),
        "Content-Disposition": header("attachment, with the file's name"),
        "Accept-Ranges": header("bytes"),
        "Content-Length": header("The bytes the answer holds (for HEAD, those GET would send)"),
    }
    return {
        **(responses or {}),
        "200": OpenAPIResponse(description="The whole file", content=content, headers=headers),
        "206": OpenAPIResponse(
            description="The range asked for",
            content=content,
            headers={**headers, "Content-Range": header("bytes a-b/size")},
        ),
    }


@get_and_head(
    "/v1/document-types",
    tags=["documents"],
    summary="Document types (LOINC) and the files accepted",
    opt=PUBLIC,
    operation_id="listDocumentTypes",
)
async def list_document_types() -> DocumentTypeList:
    return service.document_types()


TypeParam = Annotated[
    str | None,
    QueryParameter(
        name="type", required=False, max_length=16, description="One of: " + ", ".join(k.code for k in DOCUMENT_TYPES)
    ),
]
DayParam = Annotated[str | None, QueryParameter(required=False, max_length=10, description="YYYY-MM-DD")]


class DocumentsController(Controller):
    path = "/documents"
    tags = ["documents"]

    @get_and_head(
        "/",
        opt=READ,
        summary="Documents, the latest care first",
        description="Filters: type, and the care's date (since included, until excluded). A document hidden from "
        "the caller does not appear: one a professional holds back from the holder (to explain it in person first) "
        "until released, and to representatives one the holder hid from them. Listing the documents (GET, a "
        "first page, unfiltered) marks them as seen: the home screen's count of new documents starts again "
        "from zero.",
        operation_id="listDocuments",
    )
    async def list(
        self,
        access: Access,
        request: Request[Any, Any, Any],
        cursors: NamedDependency[Cursors],
        settings: NamedDependency[Settings],
        type_: TypeParam = None,
        since: DayParam = None,
        until: DayParam = None,
        limit: LimitParam = None,
        cursor: CursorParam = None,
    ) -> DocumentPage:
        return await service.list_documents(
            access,
            cursors,
            type_=type_,
            since=since,
            until=until,
            limit=limit,
            cursor=cursor,
            secret=settings.secret_key,
            # A HEAD shows the person nothing (its body is dropped): not their looking.
            looked=request.method == "GET",
        )

    @post(
        "/",
        opt=ADD,
        status_code=201,
        summary="Add a document (multipart: a file part and a metadata part)",
        description=f"The file is streamed to storage, encrypted, never held whole in memory: at most "
        f"{MAX_DOCUMENT_BYTES} bytes (20 MiB; larger is 413), PDF, JPEG or PNG recognised from its first bytes "
        "(anything else is 415; a name whose extension says another of the three is 422). The space's documents "
        "together may take ENS_DOCUMENT_QUOTA_BYTES (1 GiB by default; past it, 413 quota-exceeded). metadata: "
        "typeCode (GET /v1/document-types), title, date (the care's day, not in the future), optionally author "
        "(who wrote it, when not the person adding it), hiddenFromProfessionals (the holder or a representative "
        "who may change the space's data), hiddenFromRepresentatives (the holder only), hiddenFromHolder and "
        "hiddenFromHolderUntil (the professional adding it; the hold ends at the latest when their authorisation "
        "does); anyone else sending one is 403. Parts other than file and metadata are 422.",
        operation_id="addDocument",
        operation_class=MultipartUpload,
        request_max_body_size=MAX_DOCUMENT_BYTES + FORM_ALLOWANCE_BYTES,
        responses={
            201: ResponseSpec(DocumentRead, description="The document", generate_examples=False),
            413: _problem("The file is larger than 20 MiB, or the space's quota is reached (quota-exceeded)"),
            415: _problem("The file is not a PDF, JPEG or PNG, or the body is not multipart/form-data"),
        },
    )
    async def add(
        self,
        access: Access,
        request: Request[Any, Any, Any],
        settings: NamedDependency[Settings],
        blobs: NamedDependency[BlobStore],
    ) -> DocumentRead:
        length = request.headers.get("content-length")
        return await upload_document(
            access,
            Upload(
                body=request.stream(),
                content_type=request.headers.get("content-type"),
                content_length=int(length) if length and length.isdigit() else None,
            ),
            storage=Storage(
                blobs=blobs,
                secret=settings.secret_key,
                quota_bytes=settings.document_quota_bytes,
                mailer=Mailer(settings),
            ),
        )

    @get_and_head("/{id:uuid}", opt=READ, summary="One document's metadata", operation_id="getDocument")
    async def read(self, access: Access, id: FromPath[UUID], settings: NamedDependency[Settings]) -> DocumentRead:
        return await service.get_document(access, id, secret=settings.secret_key)

    @patch(
        "/{id:uuid}",
        opt=CHANGE,
        summary="Hide the document from professionals or representatives, or show it again",
        description="hiddenFromProfessionals: the holder, or a representative who may change the space's data "
        "(professionals then do not see it, but the one who wrote it does; what the adult holder hid themself, only "
        "they show again); hiddenFromRepresentatives: the holder "
        "only; hiddenFromHolder (with hiddenFromHolderUntil, a day after today and no later than the day the "
        "professional's authorisation ends, which it is when not given; or released with false): the professional who "
        "wrote it, never again once the holder may see it (409). The holder themself revoking or blocking that "
        "professional releases it. Anyone else sending a flag is 403, even to send its current value.",
        operation_id="changeDocumentMasking",
        media_type="application/json",
        responses={
            200: ResponseSpec(DocumentRead, description="The document as it is now", generate_examples=False),
            409: _problem("A hold from the holder on a document the holder may see already"),
        },
    )
    async def change(
        self,
        access: Access,
        id: FromPath[UUID],
        data: JSONBody[DocumentUpdate],
        settings: NamedDependency[Settings],
        if_match: IfMatch = None,
    ) -> Response[bytes]:
        changed = await service.change_masking(
            access, id, data, if_match=if_match, mailer=Mailer(settings), secret=settings.secret_key
        )
        return with_etag(changed)

    @delete(
        "/{id:uuid}",
        opt=CHANGE,
        status_code=204,
        summary="Remove a document (its content too, unless another document holds the same)",
        operation_id="deleteDocument",
    )
    async def remove(
        self,
        access: Access,
        id: FromPath[UUID],
        blobs: NamedDependency[BlobStore],
        settings: NamedDependency[Settings],
        if_match: IfMatch = None,
    ) -> None:
        await service.delete_document(access, id, if_match=if_match, blobs=blobs, secret=settings.secret_key)

    @get(
        "/{id:uuid}/content",
        opt=CONTENT,
        summary="The document's file (Range requests answered with 206)",
        description="The bytes as stored, decrypted and verified block by block as they are sent; a range reads "
        "and decrypts only the blocks it covers. If the stored content fails verification, nothing unverified is "
        "sent: an error before the first byte, or the connection closed short of the announced length.",
        operation_id="getDocumentContent",
        operation_class=FileAnswer,
        responses={
            416: _problem("The range starts past the end of the file (Content-Range: bytes */size)"),
            500: _problem("The stored content failed verification (content-unreadable)"),
        },
    )
    async def content(
        self,
        access: Access,
        id: FromPath[UUID],
        settings: NamedDependency[Settings],
        blobs: NamedDependency[BlobStore],
        range_: RangeHeader = None,
        if_range: IfRange = None,
    ) -> Stream:
        found = await document_content(
            access, id, range_header=range_, if_range=if_range, blobs=blobs, secret=settings.secret_key
        )
        return Stream(
            found.chunks, media_type=found.media_type, headers=_content_headers(found), status_code=found.status
        )

    @head(
        "/{id:uuid}/content",
        opt=CONTENT,
        summary="The document file's headers without its bytes (size, type, name, ETag)",
        description="What GET .../content answers, its body left out (RFC 9110 §9.3.2): a download manager or a "
        "viewer asks it first. The first block is read and verified, as for GET.",
        operation_id="headDocumentContent",
        operation_class=FileHeadersAnswer,
        responses={
            416: _problem("The range starts past the end of the file (Content-Range: bytes */size)"),
            500: _problem("The stored content failed verification (content-unreadable)"),
        },
    )
    async def content_headers(
        self,
        access: Access,
        id: FromPath[UUID],
        settings: NamedDependency[Settings],
        blobs: NamedDependency[BlobStore],
        range_: RangeHeader = None,
        if_range: IfRange = None,
    ) -> Response[None]:
        found = await document_content(
            access, id, range_header=range_, if_range=if_range, blobs=blobs, secret=settings.secret_key
        )
        await found.chunks.aclose()
        # No body (litestar takes a HEAD handler's only without one); b"": None in the file's own
        # type is not something litestar can render.
        answer: Response[Any] = Response(
            b"", media_type=found.media_type, headers=_content_headers(found), status_code=found.status
        )
        return answer


def _content_headers(found: Content) -> dict[str, str]:
    """The headers of a document's file, or of the range asked for."""
    headers = {
        "ETag": found.etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": _disposition(found.filename),
        "Content-Length": str(found.end - found.start),
    }
    if found.partial:
        headers["Content-Range"] = f"bytes {found.start}-{found.end - 1}/{found.size}"
    return headers


def _disposition(filename: str) -> str:
    """``attachment`` with the name in ASCII and, exactly, in UTF-8 (RFC 6266, RFC 8187)."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
