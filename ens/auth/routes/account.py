"""The signed-in person's account: who they are, their spaces, their devices, new recovery codes.

Behind the account door (``/v1/me``): a person's live session, never an app.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from ens.auth import account
from ens.auth.login import LoginContext
from ens.auth.oauth import session_lifetime
from ens.auth.routes.login_pages import NO_STORE
from ens.auth.schemas import RecoveryCodesRead, RecoveryCodesRenewal
from ens.core import clock
from ens.core.api import CursorParam, Cursors, LimitParam, Page, UnversionedIfMatch, get_and_head, page_of, position_at
from ens.core.openapi import problem
from ens.core.settings import Settings
from ens.spaces import service as spaces
from ens.spaces.caller import Caller
from ens.spaces.schemas import MeRead, SessionRead


class AccountController(Controller):
    path = "/v1/me"
    tags = ["account"]

    @get_and_head("/", summary="The account and the spaces it can open", operation_id="getMe")
    async def me(self, request: Request[Caller, Any, Any]) -> MeRead:
        return await spaces.get_me(request.user.account_id)

    @get_and_head("/sessions", summary="Signed-in devices", operation_id="listSessions")
    async def sessions(
        self,
        request: Request[Caller, Any, Any],
        cursors: NamedDependency[Cursors],
        settings: NamedDependency[Settings],
        limit: LimitParam = None,
        cursor: CursorParam = None,
    ) -> Page[SessionRead]:
        """Newest first. A person's devices are few: read whole, paged in the API's list shape."""
        account_id = request.user.account_id
        sessions = await spaces.list_sessions(
            account_id, request.user.grant_id, begun_after=clock.now() - session_lifetime(settings)
        )
        entries = [(position_at(session.created_at, session.id), session) for session in sessions]
        return page_of(entries, cursors, f"sessions:{account_id}", limit=limit, cursor=cursor, descending=True)

    @delete(
        "/sessions/{id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Sign a device out",
        operation_id="revokeSession",
    )
    async def revoke_session(
        self, request: Request[Caller, Any, Any], id: FromPath[UUID], if_match: UnversionedIfMatch = None
    ) -> None:
        await spaces.revoke_session(request.user.account_id, id, if_match=if_match)

    @post(
        "/otp/recovery-codes",
        status_code=201,
        summary="New recovery codes (the old ones die)",
        operation_id="renewRecoveryCodes",
        responses={
            403: problem(
                "The code is refused (wrong, or already used; the detail says how many tries are left), or "
                "this sign-in has spent its tries (sign in again); or the token is not the phone app's own"
            )
        },
    )
    async def renew_recovery_codes(
        self,
        request: Request[Caller, Any, Any],
        login_ctx: NamedDependency[LoginContext],
        data: JSONBody[RecoveryCodesRenewal],
    ) -> Response[RecoveryCodesRead]:
        codes = await account.renew_recovery_codes(
            login_ctx, request.user.account_id, session_id=request.user.grant_id, code=data.code
        )
        return Response(codes, status_code=201, headers=NO_STORE)
