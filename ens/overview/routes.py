from __future__ import annotations

from litestar import Controller, get

from ens.overview.schemas import SpaceSummary
from ens.overview.service import space_summary
from ens.spaces.door import Access, Need


class SummaryController(Controller):
    path = "/"
    tags = ["spaces"]

    @get("/", opt={"need": Need("space")}, summary="Home-screen summary of the space")
    async def summary(self, access: Access) -> SpaceSummary:
        return await space_summary(access)
