"""Labelled apps: the public catalogue, and the apps connected to a space (behind the space door)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.status_codes import HTTP_204_NO_CONTENT

from ens.auth import grants
from ens.auth.clients import list_catalogue
from ens.auth.schemas import AppGrantRead, AppRead
from ens.core.api import (
    PUBLIC,
    CursorParam,
    Cursors,
    LimitParam,
    Page,
    UnversionedIfMatch,
    get_and_head,
    page_of,
    position_at,
)
from ens.spaces.door import Access, Need
from ens.spaces.rights import Action


class AppCatalogueController(Controller):
    path = "/v1/apps"
    tags = ["apps"]
    opt = PUBLIC

    @get_and_head("/", summary="The catalogue of labelled apps", operation_id="listApps")
    async def catalogue(
        self, cursors: NamedDependency[Cursors], limit: LimitParam = None, cursor: CursorParam = None
    ) -> Page[AppRead]:
        """By name (case folded). The labelled apps are some hundreds at most: read whole, paged."""
        entries = [((app.name.casefold(), app.client_id), app) for app in await list_catalogue()]
        return page_of(entries, cursors, "apps", limit=limit, cursor=cursor)


class SpaceGrantsController(Controller):
    """Apps connected to a space (under the space door)."""

    path = "/grants"
    tags = ["apps"]

    @get_and_head(
        "/",
        opt={"need": Need("grants")},
        summary="Apps connected to this space and their permissions",
        operation_id="listGrants",
    )
    async def list_grants(
        self, access: Access, cursors: NamedDependency[Cursors], limit: LimitParam = None, cursor: CursorParam = None
    ) -> Page[AppGrantRead]:
        """Newest first; one per app at most: read whole, paged."""
        entries = [
            (position_at(grant.created_at, grant.id), grant) for grant in await grants.list_app_grants(access.space)
        ]
        purpose = f"grants:{access.space_id}"
        return page_of(entries, cursors, purpose, limit=limit, cursor=cursor, descending=True)

    @delete(
        "/{id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        opt={"need": Need("grants", action=Action.MANAGE_ACCESS)},
        summary="Disconnect an app: its tokens stop working at once",
        operation_id="revokeGrant",
    )
    async def revoke_grant(self, access: Access, id: FromPath[UUID], if_match: UnversionedIfMatch = None) -> None:
        await grants.revoke_app_grant(access.space_id, id, if_match=if_match)
