"""HTTP routes of the spaces capability (behind the space door): the access history."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from ens.core.api import CursorParam, Cursors, LimitParam, Page
from ens.spaces.door import Access, Need
from ens.spaces.history import list_access_history
from ens.spaces.schemas import AccessEventRead


class AccessHistoryController(Controller):
    path = "/access-history"
    tags = ["spaces"]

    @get(
        "/",
        opt={"need": Need("access-history")},
        summary="Who did what on this space, newest first",
        operation_id="listAccessHistory",
    )
    async def access_history(
        self, access: Access, cursors: NamedDependency[Cursors], limit: LimitParam = None, cursor: CursorParam = None
    ) -> Page[AccessEventRead]:
        return await list_access_history(cursors, access.space_id, limit=limit, cursor=cursor)
