"""The one way in to a space.

Every route under ``/v1/spaces/{space}`` sits behind :func:`space_door`, a guard installed on the
router that holds them (``ens.app`` refuses to start if a route there lacks it). The guard runs
before the request body is read, so every outcome — success, refusal, malformed body — is recorded:
it resolves ``{space}`` for the caller, checks in the same query that the caller's session or app
grant is still live, decides the caller's role, and leaves a pending access-history entry that
:class:`ens.spaces.history.AccessHistoryMiddleware` writes with the response status.

Spaces the caller may not see answer 404 exactly like spaces that do not exist, and go to the
operators' security log instead of the space's history.
"""

from __future__ import annotations

from ens.spaces.door.access import OPTIONS, Access, Need, SpaceAccess, provide_space_access, visible_to
from ens.spaces.door.guards import account_door, professional_door, request_id_of, security_log, space_door
from ens.spaces.door.resolution import (
    app_stands,
    authorisation_runs,
    is_live,
    professional_decisions,
    representation_decisions,
    representation_kind,
    representation_kind_of,
    resolve_space,
)
from ens.spaces.door.space import (
    SPACE_REF_COLUMNS,
    SpaceRef,
    adulthood,
    birthday,
    closed_space,
    erasure_begun,
    minors_space,
    space_ref,
)

__all__ = [
    "OPTIONS",
    "SPACE_REF_COLUMNS",
    "Access",
    "Need",
    "SpaceAccess",
    "SpaceRef",
    "account_door",
    "adulthood",
    "app_stands",
    "authorisation_runs",
    "birthday",
    "closed_space",
    "erasure_begun",
    "is_live",
    "minors_space",
    "professional_decisions",
    "professional_door",
    "provide_space_access",
    "representation_decisions",
    "representation_kind",
    "representation_kind_of",
    "request_id_of",
    "resolve_space",
    "security_log",
    "space_door",
    "space_ref",
    "visible_to",
]
