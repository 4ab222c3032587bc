"""Apps connected to a space (``/v1/spaces/{space}/grants``), each permission said in plain French."""

from __future__ import annotations

from uuid import UUID

from ens.auth.schemas import AppGrantRead
from ens.core.scopes import SCOPES
from ens.spaces import service as spaces
from ens.spaces.door import SpaceRef


async def list_app_grants(space: SpaceRef) -> list[AppGrantRead]:
    """The app grants of a space that let their app in, newest first."""
    return [
        AppGrantRead(
            id=grant.id,
            client_id=grant.client_id,
            client_name=grant.client_name,
            scopes=grant.scopes,
            permissions=[SCOPES.describe(scope) for scope in grant.scopes],
            granted_by=grant.account_id,
            created_at=grant.created_at,
            last_used_at=grant.last_used_at,
        )
        for grant in await spaces.list_app_grants(space)
    ]


async def revoke_app_grant(space_id: UUID, grant_id: UUID, *, if_match: str | None = None) -> None:
    """Disconnect an app from the space: its tokens stop working on their next request."""
    await spaces.revoke_app_grant(space_id, grant_id, if_match=if_match)
