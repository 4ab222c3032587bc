"""HTTP routes of the spaces capability: the access history and the carers (behind the space door),
children's spaces and codes (behind the account door)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, post, put
from litestar.di import NamedDependency
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from ens.core import clock
from ens.core.api import (
    END,
    CursorParam,
    Cursors,
    LimitParam,
    Page,
    SinceParam,
    UntilParam,
    UnversionedIfMatch,
    check_span,
    get_and_head,
    page_of,
    position_at,
)
from ens.core.local_time import parse_instant, zone_of
from ens.core.openapi import problem
from ens.core.settings import Settings
from ens.spaces import adulthood, notifications, representatives
from ens.spaces.caller import Caller
from ens.spaces.describe import RESOURCE_WORDS
from ens.spaces.door import Access, Need, request_id_of
from ens.spaces.history import AccountAction, HistoryAction, HistoryActor, HistoryFilter, list_access_history
from ens.spaces.rights import Action
from ens.spaces.schemas import (
    AccessEventRead,
    ChildSpaceCreate,
    ClaimCodeRead,
    CuratorConsent,
    InvitationRead,
    NotificationPreferences,
    RepresentativePage,
    SpaceListItem,
)

# Answers that carry a code shown once are never cached, nor stored for an Idempotency-Key replay.
NO_STORE = {"Cache-Control": "no-store"}
# Read by the services whose answers are never stored (their retry replaces what the first made);
# its form is checked before the handler runs (ens.core.idempotency: 400).
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        min_length=1,
        max_length=255,
        description="Optional, 1 to 255 visible ASCII characters (400 otherwise). The answer carries a code "
        "shown once, so it is never stored for a replay: a retry with the same key (within 24 hours) makes a "
        "new code that replaces the first, which is no longer accepted; while the first runs, 409.",
    ),
]


class AccessHistoryController(Controller):
    path = "/access-history"
    tags = ["spaces"]

    @get_and_head(
        "/",
        opt={"need": Need("access-history")},
        summary="Who did what on this space, newest first",
        description="Every request that named this space — reads, changes, refusals — with who acted, as what "
        "(holder, the kind of representative, app, professional), from which app, the outcome and a sentence in "
        "plain French; and every change an operator made to who may reach it from the service's command line, "
        "and every read of theirs (`actingAs: operator`, no `actor`, `action` the command: a court measure "
        "recorded or ended, a parent's right ended or restored, a claim code issued; the representatives listed, "
        "the whole space exported). "
        "Narrow it with `actor` (me: the caller's own actions; holder; representatives; apps; professionals; "
        "operators), `action` (read and change, each with an operator's reads or changes; delete; refused), `resource` "
        "(a word the rows use: vitals, documents, professionals...; another is 400, naming them), `since` and "
        "`until`. Reading the history is itself recorded.",
        operation_id="listAccessHistory",
    )
    async def access_history(
        self,
        access: Access,
        cursors: NamedDependency[Cursors],
        actor: Annotated[HistoryActor | None, QueryParameter(required=False)] = None,
        action: Annotated[HistoryAction | None, QueryParameter(required=False)] = None,
        resource: Annotated[
            str | None,
            QueryParameter(
                required=False,
                max_length=64,
                pattern=r"^[a-z-]+" + END,
                # Declared, a generated client offers the history's words (it was a free string);
                # HistoryFilter checks them (a 400 naming them), a capability's added word too.
                schema_extra={"one_of": None, "type": OpenAPIType.STRING, "enum": list(RESOURCE_WORDS)},
            ),
        ] = None,
        since: SinceParam = None,
        until: UntilParam = None,
        limit: LimitParam = None,
        cursor: CursorParam = None,
    ) -> Page[AccessEventRead]:
        zone = zone_of(access.space.timezone)
        filters = HistoryFilter(
            actor=actor,
            action=action,
            resource=resource,
            since=parse_instant(since, "since", zone=zone),
            until=parse_instant(until, "until", zone=zone),
        )
        check_span(filters.since, filters.until)
        return await list_access_history(
            cursors,
            access.space_id,
            me=access.caller.account_id,
            me_holds=access.space.holder_account_id == access.caller.account_id,
            today=clock.now().astimezone(zone).date(),
            sees_confidential=access.sees_confidential,
            filters=filters,
            limit=limit,
            cursor=cursor,
        )


async def _representatives_page(
    access: Access, cursors: Cursors, *, limit: int | None, cursor: str | None
) -> RepresentativePage:
    """Oldest first. A holder has few representatives: read whole, paged."""
    people = await representatives.list_representatives(access.space_id, at=clock.now())
    entries = [(position_at(person.since, person.id), person) for person in people]
    page = page_of(entries, cursors, f"representatives:{access.space_id}", limit=limit, cursor=cursor)
    return RepresentativePage(items=page.items, next_cursor=page.next_cursor)


class RepresentativesController(Controller):
    """Who represents the holder; a parent's invitation for the other parent; leaving; the holder's
    consent for a curator; the claim code a parent makes for a child about to come of age."""

    path = "/"
    tags = ["representatives"]

    @get_and_head(
        "/representatives",
        opt={"need": Need("representatives")},
        summary="Who represents the holder",
        operation_id="listRepresentatives",
    )
    async def list_representatives(
        self, access: Access, cursors: NamedDependency[Cursors], limit: LimitParam = None, cursor: CursorParam = None
    ) -> RepresentativePage:
        return await _representatives_page(access, cursors, limit=limit, cursor=cursor)

    @post(
        "/representatives/invitations",
        status_code=201,
        opt={"need": Need("representatives", action=Action.INVITE)},
        summary="A parent's one-time code for the other parent of a minor (shown once, 7 days)",
        operation_id="inviteParent",
    )
    async def invite(
        self, access: Access, settings: NamedDependency[Settings], idempotency_key: IdempotencyKey = None
    ) -> Response[InvitationRead]:
        invitation = await representatives.invite_parent(
            access, secret_key=settings.secret_key, idempotency_key=idempotency_key
        )
        return Response(invitation, status_code=201, headers=NO_STORE)

    @delete(
        "/representatives/{id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        opt={"need": Need("representatives", action=Action.LEAVE)},
        summary="A parent withdraws their own right (removing the other parent needs a court decision)",
        operation_id="leaveRepresentation",
        responses={409: problem("The last parent of a child's space may not leave it to nobody: close or erase it")},
    )
    async def leave(self, access: Access, id: FromPath[UUID], if_match: UnversionedIfMatch = None) -> None:
        await representatives.leave(access, id, if_match=if_match)

    @put(
        "/representatives/{id:uuid}/consent",
        opt={"need": Need("representatives", action=Action.RECORD_CONSENT)},
        summary="The holder's consent to a curator's reading, until a day (or withdrawn: null)",
        operation_id="recordCuratorConsent",
        responses={409: problem("The representative is no curator: only a curator's reading waits for a consent")},
    )
    async def consent(
        self,
        access: Access,
        id: FromPath[UUID],
        data: JSONBody[CuratorConsent],
        cursors: NamedDependency[Cursors],
        if_match: UnversionedIfMatch = None,
    ) -> RepresentativePage:
        """The representatives' first page after the change."""
        await representatives.record_curator_consent(access, id, until=data.until, if_match=if_match)
        return await _representatives_page(access, cursors, limit=None, cursor=None)

    @post(
        "/claim-codes",
        status_code=201,
        opt={"need": Need("representatives", action=Action.HAND_OVER)},
        summary="A parent's code for the child to take the space over at 18 (from the 17th birthday)",
        operation_id="createClaimCode",
    )
    async def claim_code(self, access: Access, settings: NamedDependency[Settings]) -> Response[ClaimCodeRead]:
        code = await adulthood.create_claim_code(access, secret_key=settings.secret_key)
        return Response(code, status_code=201, headers=NO_STORE)


class CarersController(Controller):
    """Behind the account door: a parent creates a child's space; codes are entered."""

    path = "/v1"
    tags = ["representatives"]

    @post("/spaces", status_code=201, summary="A parent creates a child's space", operation_id="createChildSpace")
    async def create_child_space(
        self, request: Request[Caller, Any, Any], data: JSONBody[ChildSpaceCreate]
    ) -> SpaceListItem:
        return await representatives.create_child_space(request.user.account_id, data, noted=_noted(request))

    @post(
        "/invitations/{code:str}/accept",
        status_code=200,
        summary="Accept a parent's invitation: become the child's other parent",
        operation_id="acceptInvitation",
        responses={
            403: problem(
                "The account is not an adult's (or its birthdate is unknown), is the child's own, or is a parent "
                "an operator removed from this space for a court decision"
            ),
            410: problem("The child's space is closed: the code waits until a parent reopens it"),
        },
    )
    async def accept_invitation(
        self, request: Request[Caller, Any, Any], settings: NamedDependency[Settings], code: FromPath[str]
    ) -> SpaceListItem:
        return await representatives.accept_invitation(
            request.user.account_id, code, secret_key=settings.secret_key, noted=_noted(request)
        )

    @post(
        "/claims/{code:str}/accept",
        status_code=200,
        summary="Take one's own space over at 18 with the code a parent (or an operator) made",
        operation_id="claimSpace",
    )
    async def claim(
        self, request: Request[Caller, Any, Any], settings: NamedDependency[Settings], code: FromPath[str]
    ) -> SpaceListItem:
        return await adulthood.claim_space(request.user, code, secret_key=settings.secret_key, noted=_noted(request))


def _noted(request: Request[Caller, Any, Any]) -> AccountAction:
    """How an account route that acts on a space names itself in that space's history."""
    return AccountAction(
        caller=request.user,
        action=f"{request.method} {request.scope.get('path_template', request.url.path)}",
        request_id=request_id_of(request.scope),
        state=request.scope.setdefault("state", {}),
    )


IfMatch = Annotated[
    str | None,
    HeaderParameter(name="If-Match", required=False, description="The ETag of what was read (412 when stale)"),
]


class NotificationsController(Controller):
    """Behind the account door: which e-mails the person wants."""

    path = "/v1/me/notifications"
    tags = ["account"]

    @get_and_head(
        "/",
        summary="Which e-mails the person wants about their space",
        description="documentAdded (a professional added a document) and emergencyAccess (a professional used "
        "emergency access) are on until turned off; representativesDigest and appsDigest (once a day, what "
        "representatives or apps changed, counted: who and what kind of thing) are off until turned on. No "
        "e-mail carries health data.",
        operation_id="getNotificationPreferences",
    )
    async def read(self, request: Request[Caller, Any, Any]) -> NotificationPreferences:
        return await notifications.get_preferences(request.user.account_id)

    @put(
        "/",
        summary="Choose which e-mails to receive (every field)",
        operation_id="setNotificationPreferences",
    )
    async def write(
        self, request: Request[Caller, Any, Any], data: JSONBody[NotificationPreferences], if_match: IfMatch = None
    ) -> NotificationPreferences:
        return await notifications.set_preferences(request.user.account_id, data, if_match=if_match)
