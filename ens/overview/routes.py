"""The space itself (``/v1/spaces/{space}``): its home-screen summary, closing, erasing, reopening.

One controller per path: the summary gathers every capability and an erase will reach every
capability's storage, so the space's own routes live here, in the one package that may import
them all.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from ens.core.mail import Mailer
from ens.core.settings import Settings
from ens.documents.storage import BlobStore
from ens.overview.schemas import SpaceStatusRead, SpaceSummary
from ens.overview.service import close_or_erase, reopen, space_summary
from ens.spaces.door import Access, Need
from ens.spaces.rights import Action


class SpaceController(Controller):
    path = "/"
    tags = ["spaces"]

    @get("/", opt={"need": Need("space")}, summary="Home-screen summary of the space", operation_id="getSpaceSummary")
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
        "representatives are told by e-mail).",
        operation_id="closeSpace",
    )
    async def close(
        self,
        access: Access,
        settings: NamedDependency[Settings],
        blobs: NamedDependency[BlobStore],
        erase: Annotated[bool, QueryParameter(name="erase")] = False,
    ) -> None:
        await close_or_erase(access, erase=erase, mailer=Mailer(settings), blobs=blobs)

    @post(
        "/reopen",
        status_code=200,
        opt={"need": Need("space", action=Action.CLOSE_REOPEN, allow_closed=True)},
        summary="Reopen a closed space with everything it held (the holder only)",
        operation_id="reopenSpace",
    )
    async def reopen(self, access: Access) -> SpaceStatusRead:
        return await reopen(access)
