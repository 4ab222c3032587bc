"""HTTP routes of the spaces capability. Everything under /v1/spaces/{space} is behind the door."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from ens.core.api import Cursors, Page
from ens.spaces import service
from ens.spaces.caller import Caller
from ens.spaces.door import PERSON, Access, Need
from ens.spaces.history import list_access_history
from ens.spaces.schemas import AccessEventRead, MeRead, SessionRead

LimitParam = Annotated[int | None, QueryParameter(name="limit", ge=1, le=500, required=False)]
CursorParam = Annotated[str | None, QueryParameter(name="cursor", required=False, max_length=2048)]


class SpaceController(Controller):
    """Routes on one space (mounted under the door router)."""

    path = "/"
    tags = ["spaces"]

    @delete(
        "/",
        status_code=HTTP_204_NO_CONTENT,
        opt={"need": Need("space", allow_closed=True)},
        summary="Close the space (archived), or erase it now with ?erase=true",
    )
    async def close_space(self, access: Access, erase: Annotated[bool, QueryParameter(name="erase")] = False) -> None:
        await service.close_or_erase_space(access.space, erase)

    @post(
        "/reopen",
        status_code=200,
        opt={"need": Need("space", allow_closed=True)},
        summary="Reopen a closed space with everything it held",
    )
    async def reopen_space(self, access: Access) -> dict[str, str]:
        await service.reopen_space(access.space_id)
        return {"id": str(access.space_id), "status": "open"}

    @get(
        "/access-history",
        opt={"need": Need("access-history")},
        summary="Who did what on this space, newest first",
    )
    async def access_history(
        self, access: Access, cursors: NamedDependency[Cursors], limit: LimitParam = None, cursor: CursorParam = None
    ) -> Page[AccessEventRead]:
        return await list_access_history(cursors, access.space_id, limit, cursor)


class MeController(Controller):
    """The signed-in person's account, spaces and devices (behind the account door)."""

    path = "/v1/me"
    tags = ["account"]

    @get("/", summary="The account and the spaces it can open")
    async def me(self, request: Request[Caller, Any, Any]) -> MeRead:
        return await service.get_me(request.user.account_id)

    @get("/sessions", summary="Signed-in devices")
    async def sessions(self, request: Request[Caller, Any, Any]) -> Page[SessionRead]:
        # A person's devices are few: one page, in the API's list shape.
        return Page(items=await service.list_sessions(request.user.account_id, request.user.grant_id), next_cursor=None)

    @delete("/sessions/{session_id:uuid}", status_code=HTTP_204_NO_CONTENT, summary="Sign a device out")
    async def revoke_session(self, request: Request[Caller, Any, Any], session_id: FromPath[UUID]) -> None:
        await service.revoke_session(request.user.account_id, session_id)


__all__ = ["PERSON", "MeController", "SpaceController"]
