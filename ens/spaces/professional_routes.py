"""HTTP routes for health professionals: the holder's authorisations, emergency switch and access
requests (behind the space door), and the professional's own routes under /v1/pro (behind the
professional door)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, patch, post, put
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from ens.core.api import CursorParam, Cursors, IfMatch, LimitParam, Page, get_and_head, page_of, with_etag
from ens.core.errors import Conflict, Forbidden, Invalid
from ens.core.idempotency import REPLAY_RECORDER_KEY, SPACE_STATE_KEY
from ens.core.mail import Mailer
from ens.core.openapi import problem
from ens.core.settings import Settings
from ens.spaces import pro_access, professionals
from ens.spaces.caller import Caller
from ens.spaces.door import Access, Need, request_id_of
from ens.spaces.rights import Action
from ens.spaces.schemas import (
    AccessRequestRead,
    AccessRequestReceived,
    EmergencyAccessCreate,
    EmergencyAccessRead,
    EmergencyAccessSetting,
    EmergencyAccessSettingRead,
    PatientAccessRequest,
    PatientRead,
    ProfessionalAuthorise,
    ProfessionalChange,
    ProfessionalRead,
)

MANAGE = Action.MANAGE_ACCESS


class ProfessionalsController(Controller):
    """The holder's authorisations of health professionals (DMP rules, DOMAIN.md §7)."""

    path = "/"
    tags = ["professionals"]

    @get_and_head(
        "/professionals",
        opt={"need": Need("professionals")},
        summary="The professionals the holder authorised, revoked or blocked, or who came in an emergency",
        description="Each with their name, profession, status (authorised, expired, revoked, blocked, emergency), "
        "since, until (exclusive: the authorisation ends at midnight starting that day, in the space's time "
        "zone), their last access and, while one runs, the end of their emergency access.",
        operation_id="listProfessionals",
    )
    async def list_professionals(
        self, access: Access, cursors: NamedDependency[Cursors], limit: LimitParam = None, cursor: CursorParam = None
    ) -> Page[ProfessionalRead]:
        # A holder decides about few professionals: read whole, paged.
        entries = await professionals.list_professionals(access.space_id, with_hidden=access.sees_confidential)
        purpose = f"professionals:{access.space_id}"
        return page_of(entries, cursors, purpose, limit=limit, cursor=cursor, descending=True)

    @post(
        "/professionals",
        status_code=201,
        opt={"need": Need("professionals", action=MANAGE)},
        summary="Authorise a professional, by national identifier, until the same date next year",
        description="The authorisation runs until the same calendar date next year, exclusive, in the space's "
        "time zone (given on 12 March, the last day of access is 11 March next year); a parent's, on a child's "
        "space, no later than the child's 18th birthday (the young adult decides from then on, and renews whom "
        "they want). The professional must "
        "have signed in to ENS once (422 otherwise). A revoked, blocked or expired professional is authorised "
        "again; one whose authorisation runs is 409 (renew it with PATCH).",
        operation_id="authoriseProfessional",
        media_type="application/json",
        responses={
            201: ResponseSpec(ProfessionalRead, description="The authorisation, with its ETag", generate_examples=False)
        },
    )
    async def authorise(self, access: Access, data: JSONBody[ProfessionalAuthorise]) -> Response[bytes]:
        return with_etag(await professionals.authorise(access, data.national_id), status=201)

    @get_and_head(
        "/professionals/{id:uuid}",
        opt={"need": Need("professionals")},
        summary="One professional of the space",
        description="As the list shows them (status, since, until, last access, a running emergency access), "
        "with an ETag for If-Match on renewal and revocation.",
        operation_id="getProfessional",
    )
    async def get_professional(self, access: Access, id: FromPath[UUID]) -> ProfessionalRead:
        return await professionals.get_professional(access.space_id, id, with_hidden=access.sees_confidential)

    @patch(
        "/professionals/{id:uuid}",
        opt={"need": Need("professionals", action=MANAGE)},
        summary="Renew a professional's authorisation for a year from today",
        description='`{"renew": true}`: an authorisation running or expired runs again until the same date '
        "next year (exclusive; a parent's, no later than the child's 18th birthday). A revoked or blocked "
        "professional is authorised again with POST (409 here). A representative does not renew an "
        "authorisation the adult holder gave while it runs (403).",
        operation_id="renewProfessional",
        media_type="application/json",
        responses={
            200: ResponseSpec(
                ProfessionalRead, description="The authorisation renewed, with its ETag", generate_examples=False
            ),
            409: problem("The professional is revoked or blocked: authorise them again with POST"),
        },
    )
    async def renew(
        self, access: Access, id: FromPath[UUID], data: JSONBody[ProfessionalChange], if_match: IfMatch = None
    ) -> Response[bytes]:
        return with_etag(await professionals.renew(access, id, if_match=if_match))

    @delete(
        "/professionals/{id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        opt={"need": Need("professionals", action=MANAGE)},
        summary="Revoke a professional's authorisation: their next request on this space is refused",
        description="The door reads the holder's decision on every request: the professional's very next "
        "request on this space is a 404 and the space leaves their list of patients; an emergency access of "
        "theirs that runs ends too. Revoking a blocked professional keeps them blocked. If-Match honoured.",
        operation_id="revokeProfessional",
    )
    async def revoke(self, access: Access, id: FromPath[UUID], if_match: IfMatch = None) -> None:
        await professionals.revoke(access, id, if_match=if_match)

    @post(
        "/professionals/{id:uuid}/block",
        status_code=200,
        opt={"need": Need("professionals", action=MANAGE)},
        summary="Block a professional: no access, not even in an emergency",
        description="Until the holder authorises them again (POST .../professionals; one the adult holder "
        "blocked themself, a representative may not); an emergency access of theirs that runs ends now, for good.",
        operation_id="blockProfessional",
    )
    async def block(self, access: Access, id: FromPath[UUID]) -> ProfessionalRead:
        return await professionals.block(access, id)

    @get_and_head(
        "/emergency-access",
        opt={"need": Need("professionals")},
        summary="Whether a professional may open this space in an emergency",
        description='`{"allowed": true}` unless the holder forbade emergency access ("bris de glace").',
        operation_id="getEmergencyAccessSetting",
    )
    async def emergency_setting(self, access: Access) -> EmergencyAccessSettingRead:
        return await professionals.emergency_setting(access.space_id)

    @put(
        "/emergency-access",
        opt={"need": Need("professionals", action=MANAGE)},
        summary="Allow or forbid emergency access to this space",
        description='`{"allowed": false}` forbids it, and ends any emergency access running now: allowing '
        "it again brings none of them back. What the adult holder forbade themself, only they allow again (403 "
        "to a representative).",
        operation_id="setEmergencyAccessSetting",
    )
    async def set_emergency_setting(
        self, access: Access, data: JSONBody[EmergencyAccessSetting], if_match: IfMatch = None
    ) -> EmergencyAccessSettingRead:
        return await professionals.set_emergency_access(access, allowed=data.allowed, if_match=if_match)


class AccessRequestsController(Controller):
    """Professionals' requests for access, which the holder approves or refuses from the phone."""

    path = "/access-requests"
    tags = ["professionals"]

    @get_and_head(
        "/",
        opt={"need": Need("access-requests")},
        summary="Professionals' requests for access to this space, newest first",
        description="Each names the professional (national identifier, names, profession) and its status: "
        "pending, approved or refused.",
        operation_id="listAccessRequests",
    )
    async def list_requests(
        self,
        access: Access,
        cursors: NamedDependency[Cursors],
        limit: LimitParam = None,
        cursor: CursorParam = None,
    ) -> Page[AccessRequestRead]:
        return await pro_access.list_access_requests(
            cursors, access.space_id, with_hidden=access.sees_confidential, limit=limit, cursor=cursor
        )

    @post(
        "/{id:uuid}/approve",
        status_code=200,
        opt={"need": Need("access-requests", action=MANAGE)},
        summary="Approve a request: the professional is authorised for a year",
        description="Answers the professional as `GET .../professionals/{id}` shows them. A request already "
        "decided is 409.",
        operation_id="approveAccessRequest",
    )
    async def approve(self, access: Access, id: FromPath[UUID]) -> ProfessionalRead:
        return await pro_access.approve_request(access, id)

    @post(
        "/{id:uuid}/refuse",
        status_code=200,
        opt={"need": Need("access-requests", action=MANAGE)},
        summary="Refuse a request",
        description="Nothing changes for the professional, who may ask again. A request already decided is 409.",
        operation_id="refuseAccessRequest",
    )
    async def refuse(self, access: Access, id: FromPath[UUID]) -> AccessRequestRead:
        return await pro_access.refuse_request(access, id)


class ProController(Controller):
    """A professional's own routes (their software's token): their patients, asking for access,
    emergency access. Everything else goes through the same /v1/spaces/{space} routes as anyone,
    within the access matrix."""

    path = "/v1/pro"
    tags = ["professionals"]

    @get_and_head(
        "/patients",
        summary="The spaces this professional is authorised for today",
        description="Ordered by space id; a space whose authorisation expired, was revoked or blocked, or a "
        "closed space, is not listed.",
        operation_id="listPatients",
    )
    async def patients(
        self,
        request: Request[Caller, Any, Any],
        cursors: NamedDependency[Cursors],
        limit: LimitParam = None,
        cursor: CursorParam = None,
    ) -> Page[PatientRead]:
        return await pro_access.list_patients(cursors, request.user.account_id, limit=limit, cursor=cursor)

    @post(
        "/access-requests",
        status_code=202,
        summary="Ask a person for access, naming them by their identity traits",
        description="Family name, given name, birthdate and (born in France) the INSEE code of the birthplace, "
        "compared whatever the case and accents. Always 202 with the same body, whether or not a space "
        "matches: the answer reveals nothing. The holder approves or refuses from the phone.",
        operation_id="requestPatientAccess",
    )
    async def request_access(
        self, request: Request[Caller, Any, Any], data: JSONBody[PatientAccessRequest]
    ) -> AccessRequestReceived:
        return await pro_access.request_access(request.user.account_id, data)

    @post(
        "/emergency-access",
        status_code=201,
        summary="Open a space in an emergency (bris de glace): read-only, 24 hours",
        description='`{"space", "reason", "hiddenFromRepresentatives"}`. The access is marked in the space\'s '
        "history with the reason; the holder (for a child's space no one holds, the parents) is e-mailed at once, "
        "without the reason or any health data. `hiddenFromRepresentatives` (default false), on a minor's space "
        "only: the minor opposes their parents being told of the care (CSP L1111-5); the access and every "
        "request under it are kept from the representatives (their access history, their list of professionals, "
        "no e-mail to the parents), the holder sees them. "
        "403 when the holder has forbidden emergency access or blocked this professional; 409 when the "
        "professional is authorised on the space, or has an emergency access to it that still runs; 422 for "
        "hiddenFromRepresentatives on the space of a holder 18 or over; 404 for a "
        "space that does not exist or is closed. A retry with the same Idempotency-Key replays the first "
        "answer and is recorded in the space's history too.",
        operation_id="openEmergencyAccess",
        opt={REPLAY_RECORDER_KEY: pro_access.record_emergency_replay},
        responses={404: problem("No such space, or a closed one")},
    )
    async def emergency_access(
        self,
        request: Request[Caller, Any, Any],
        settings: NamedDependency[Settings],
        data: JSONBody[EmergencyAccessCreate],
    ) -> EmergencyAccessRead:
        # The answer names the space, a refusal too (403, 409, 422: the space exists and the refusal is in
        # its history; a 404 names none): one kept for an Idempotency-Key goes when the space is
        # erased, and its replay is recorded there (pro_access.record_emergency_replay).
        try:
            opened = await pro_access.open_emergency_access(
                request.user.account_id,
                data,
                mailer=Mailer(settings),
                client_id=request.user.client_id,
                grant_id=request.user.grant_id,
                request_id=request_id_of(request.scope),
            )
        except (Forbidden, Conflict, Invalid):
            request.scope.setdefault("state", {})[SPACE_STATE_KEY] = data.space
            raise
        request.scope.setdefault("state", {})[SPACE_STATE_KEY] = opened.space
        return opened
