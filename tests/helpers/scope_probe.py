"""A route the login tests mount behind the real space door to check scopes end to end.

It stands for a vitals route: the door lets an app through only with some ``vitals`` write scope,
and the handler (like the service does) checks the exact ``vitals.body_weight:write``.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, post

from ens.core.errors import Forbidden
from ens.spaces.door import Access, Need
from ens.spaces.rights import Action


class ScopeProbe(Controller):
    path = "/scope-probe"

    @post(
        "/body-weight",
        status_code=201,
        opt={"need": Need("vitals", action=Action.WRITE_DATA, app_scope="write")},
        operation_id="probeBodyWeightWrite",
    )
    async def write_weight(self, access: Access) -> dict[str, str]:
        if not access.may("vitals.body_weight:write"):
            raise Forbidden("This app may not write body weight.")
        return {"space": str(access.space_id), "role": access.role}


def scope_probe_routes() -> list[Any]:
    return [ScopeProbe]
