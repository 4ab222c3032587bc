"""``/v1/spaces/{space}/directives``: advance directives, their versions, their review, their print."""

from __future__ import annotations

from litestar import Controller, Request, Response, delete, post, put
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody

from ens.core.api import (
    PDF,
    VARY_ACCEPT,
    CursorParam,
    Cursors,
    IfMatch,
    LimitParam,
    get_and_head,
    preferred,
    printed,
    with_etag,
)
from ens.core.openapi import also_served_as, problem
from ens.records import directives as service
from ens.records.directives_pdf import directives_to_print
from ens.records.routes.answers import (
    JSON,
    PRECONDITION_REQUIRED,
    documented,
    reads,
    writes,
)
from ens.records.schemas import DirectivesRead, DirectivesWrite, DirectiveVersionPage
from ens.spaces.door import Access
from ens.spaces.rights import Action

_PUT_DESCRIPTION = (
    "Either the structured form of the official model or only a pointer to directives kept on paper. Each "
    "PUT stores a new version (201 for the first, 200 after); once a version exists If-Match is required "
    "(428 without it, 412 when stale). Only the holder, an adult, writes them: never a representative, never "
    "a minor (403). The author's identity comes from the identity provider and the trusted person designated "
    "now is copied in. Organ donation wishes are informative: a refusal has legal effect only in the national "
    "refusal register (CSP L1232-1)."
)


class DirectivesController(Controller):
    path = "/directives"
    tags = ["records"]

    @get_and_head(
        "/",
        opt=reads("directives"),
        summary="The current advance directives (Accept: application/pdf to print them)",
        description="reviewDue is a reminder to reread them 3 years after they were last written or "
        "confirmed, never an expiry: advance directives have had no validity limit since 2016. Revoked "
        "directives are not printed (409).",
        media_type=JSON,
        operation_id="getDirectives",
        response_headers=VARY_ACCEPT,
        responses={
            200: ResponseSpec(DirectivesRead, description="The current version", generate_examples=False),
            409: problem("PDF asked of revoked directives: nothing in force to print"),
        },
        operation_class=also_served_as(
            PDF, "The current version, dated, with its version number and a signature block", binary=True
        ),
    )
    async def read(self, access: Access, request: Request) -> Response[DirectivesRead] | Response[bytes]:  # type: ignore[type-arg]
        if preferred(request.headers.get("accept"), (JSON, PDF)) == PDF:
            drawn_from, draw = await directives_to_print(access)
            return await printed(
                request,
                purpose="directives.pdf",
                drawn_from=drawn_from,
                draw=draw,
                filename="directives-anticipees.pdf",
            )
        return Response(await service.get_directives(access))

    @put(
        "/",
        opt=writes("directives", Action.WRITE_DIRECTIVES),
        summary="Write a new version of the advance directives",
        description=_PUT_DESCRIPTION,
        media_type=JSON,
        operation_id="writeDirectives",
        responses={
            **documented(DirectivesRead, ok="A new version", created="The first version"),
            428: PRECONDITION_REQUIRED,
        },
    )
    async def write(self, access: Access, data: JSONBody[DirectivesWrite], if_match: IfMatch = None) -> Response[bytes]:
        written, first = await service.write_directives(access, data, if_match=if_match)
        return with_etag(written, status=201 if first else 200)

    @delete(
        "/",
        opt=writes("directives", Action.WRITE_DIRECTIVES),
        status_code=200,
        summary="Revoke the advance directives (a new version saying revoked)",
        description="If-Match is required (428 without it, 412 when stale); the former versions stay listed.",
        media_type=JSON,
        operation_id="revokeDirectives",
        responses={
            **documented(DirectivesRead, ok="The revocation, now the current version"),
            409: problem("The directives are revoked already"),
            428: PRECONDITION_REQUIRED,
        },
    )
    async def revoke(self, access: Access, if_match: IfMatch = None) -> Response[bytes]:
        return with_etag(await service.revoke_directives(access, if_match=if_match))

    @post(
        "/confirm",
        opt=writes("directives", Action.WRITE_DIRECTIVES),
        status_code=200,
        summary="Record that the author reread the directives and keeps them (no new version)",
        description="Starts the 3-year review reminder again. If-Match, when sent, must name the current version.",
        media_type=JSON,
        operation_id="confirmDirectives",
        responses={
            200: ResponseSpec(DirectivesRead, description="The current version", generate_examples=False),
            412: problem("If-Match does not match the current version"),
        },
    )
    async def confirm(self, access: Access, if_match: IfMatch = None) -> Response[bytes]:
        return with_etag(await service.confirm_directives(access, if_match=if_match))

    @get_and_head(
        "/versions",
        opt=reads("directives"),
        summary="Every version of the advance directives, newest first",
        description="status is what each version said when written (a revocation says revoked) and a replaced "
        "version keeps it: the version in force is the one with current true (none when its status is revoked); "
        "every other has supersededAt, when the next version replaced it.",
        operation_id="listDirectiveVersions",
    )
    async def versions(
        self, access: Access, cursors: NamedDependency[Cursors], limit: LimitParam = None, cursor: CursorParam = None
    ) -> DirectiveVersionPage:
        return await service.list_directive_versions(access, cursors, limit=limit, cursor=cursor)
