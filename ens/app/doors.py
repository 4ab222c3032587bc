"""The doors the routers run before each handler, and the start-up check that no route under a space
or /fhir goes around the space door."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response
from litestar.routes import HTTPRoute

from ens.core import db
from ens.core.api import READ_ONCE_KEY, READS_KEY, repeated_query_parameters, unknown_query_parameters
from ens.core.db import as_uuid
from ens.core.errors import BadRequest, FieldError
from ens.core.fhir import refuse_what_is_not_json
from ens.core.idempotency import REPLAY_RECORDER_KEY, REPLAY_STATE_KEY, replay_stored
from ens.core.slow_clients import announces_body
from ens.spaces.describe import RESOURCE_WORDS
from ens.spaces.door import Need, SpaceAccess, account_door, professional_door, space_door
from ens.spaces.rights import Action

SPACE_PATH = "/v1/spaces/{space:str}"

FHIR_PREFIX = "/fhir"

# The one route under /fhir that needs no token (FHIR clients read it before they sign in).
FHIR_PUBLIC_PATHS = frozenset({"/fhir/metadata"})


async def through_space_door(request: Request[Any, Any, Any]) -> Response[bytes] | None:
    """Every request under /v1/spaces/{space}: the space door, then (Idempotency-Key) a refusal or a
    replay instead of the handler. A ``before_request`` hook rather than a guard: it runs at the
    same point (before the body is read), without litestar copying the handler for each guard
    (measured: ~27 us of a 1-item page's ~320 us)."""
    with_body = announces_body(request.scope)
    if not with_body:
        db.share_request_connection()  # the door's read and the handler's share one connection
    await space_door(request, request.route_handler)
    refuse_what_it_would_drop(request, with_body=with_body)
    replay = await replay_stored(request)
    if replay is not None:
        name_what_the_first_request_created(request)
    return replay


async def through_fhir_door(request: Request[Any, Any, Any]) -> Response[bytes] | None:
    """Every request under /fhir: JSON is what it answers (406 before anything else when the client
    accepts none), then the space door as under /v1/spaces/{space}."""
    refuse_what_is_not_json(request)
    return await through_space_door(request)


def name_what_the_first_request_created(request: Request[Any, Any, Any]) -> None:
    """A replay's history row names the item the first request's row named as created (kept with
    the stored answer: ``ens.spaces.history.created_item``), as that row does
    (``SpaceAccess.names_new_item``): the history leaves out, for whom an item is kept from, the
    rows naming it, and a retry's row naming nothing was shown to them. A professional's upload
    held back from the holder, retried, told the holder "a doctor added a document" before its
    release; a batch of measures hidden from the representatives, retried, told them the holder
    had added measures (outside audits). Rows stored before ``created_item`` name nothing (kept a
    day at most)."""
    state = request.scope.get("state", {})
    stored, access = state.get(REPLAY_STATE_KEY), state.get("ens.space_access")
    created = stored.get("created_item") if stored is not None else None
    if created is not None and isinstance(access, SpaceAccess) and access.need is not None:
        access.names_new_item(as_uuid(created), access.need.resource)


def refuse_what_it_would_drop(request: Request[Any, Any, Any], *, with_body: bool) -> None:
    """What the route would drop unread is refused, after the door (so the refusal is recorded): what
    the client sent must be what is done. A body where the route takes none (POST
    .../directives/confirm {"note": ...}); a query parameter named twice where the route reads one
    value (``?erase=true&erase=false`` kept only the last: litestar's choice, not the client's); under
    /v1, a query parameter the route does not read (a misspelt filter answered as no filter)."""
    handler = request.route_handler
    if with_body:
        need = handler.opt.get("need")
        if handler.parsed_data_field is None and not (isinstance(need, Need) and need.own_body):
            raise BadRequest("This request takes no body: send it without one.", [FieldError("", "no body expected")])
    refuse_unknown_query(request)
    repeated = repeated_query_parameters(request)
    if repeated:
        raise BadRequest(
            "A query parameter is given more than once where one value is read.",
            [FieldError(f"/{name}", "given more than once") for name in repeated],
        )


def refuse_unknown_query(request: Request[Any, Any, Any]) -> None:
    unknown = unknown_query_parameters(request)
    if unknown:
        reads = sorted(request.route_handler.opt[READS_KEY])
        known = f"it reads {', '.join(reads)}" if reads else "it reads none"
        raise BadRequest(
            f"A query parameter this route does not read was given ({known}).",
            [FieldError(f"/{name}", "unknown query parameter") for name in unknown],
        )


async def through_no_door(request: Request[Any, Any, Any]) -> Response[bytes] | None:
    """Every request outside the routers' doors (the public listings, OAuth, the login pages): an
    unknown query parameter refused under /v1, then an Idempotency-Key refusal or replay."""
    refuse_unknown_query(request)
    return await replay_stored(request)


def note_what_routes_read_once(app: Litestar) -> None:
    """Keep in each handler's ``opt`` the query parameters it reads as one value (its own and its
    dependencies', as litestar resolved them): only those are refused when repeated
    (:func:`ens.core.api.repeated_query_parameters`); a list (FHIR's ``date``, ``code``) takes
    several values. Under /v1, all it reads too: a name it does not read is refused there
    (:func:`ens.core.api.unknown_query_parameters`), but the cache-buster ``_``; elsewhere it stays
    ignored (FHIR's ``_include`` or ``_sort``, OAuth's extensions)."""
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler, kwargs_model in route.route_handler_map.values():
                handler.opt[READ_ONCE_KEY] = frozenset(
                    parameter.field_alias
                    for parameter in kwargs_model.expected_query_params
                    if not parameter.is_sequence
                )
                # OPTIONS too is lenient: a browser's CORS preflight carries the query of the
                # request it asks about, which this handler does not read.
                if route.path.startswith("/v1/") and "OPTIONS" not in handler.http_methods:
                    handler.opt[READS_KEY] = frozenset(
                        parameter.field_alias for parameter in kwargs_model.expected_query_params
                    )


async def through_account_door(request: Request[Any, Any, Any]) -> Response[bytes] | None:
    """Every request under /v1/me: the account door, then an Idempotency-Key refusal or replay."""
    await account_door(request, request.route_handler)
    refuse_what_it_would_drop(request, with_body=announces_body(request.scope))
    return await replay_stored(request)


async def through_professional_door(request: Request[Any, Any, Any]) -> Response[bytes] | None:
    """Every request under /v1/pro: the professional door, then an Idempotency-Key refusal or replay."""
    await professional_door(request, request.route_handler)
    refuse_what_it_would_drop(request, with_body=announces_body(request.scope))
    replay = await replay_stored(request)
    recorder = request.route_handler.opt.get(REPLAY_RECORDER_KEY)
    if replay is not None and recorder is not None:
        await recorder(request, request.scope["state"][REPLAY_STATE_KEY])
    return replay


def declared_matrix_names(app: Litestar) -> frozenset[str]:
    """What the space routes work on, in the access matrix's names (``Need.matrix_name``): the only
    names the matrix may use (:func:`ens.spaces.matrix.check_matrix`)."""
    return frozenset(
        need.matrix_name
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if (need := handler.opt.get("need")) is not None
    )


def check_every_space_route_has_the_door(app: Litestar) -> None:
    """A route under /v1/spaces/{space} or /fhir without the door must be impossible, not just wrong."""
    for route in app.routes:
        if not route.path.startswith(("/v1/spaces/{space", FHIR_PREFIX)) or route.path in FHIR_PUBLIC_PATHS:
            continue
        if not isinstance(route, HTTPRoute):
            # A websocket or raw ASGI route runs no before_request: nothing would open the door.
            raise RuntimeError(f"{route.path} is not an HTTP route: the space door cannot guard it")
        for handler in route.route_handlers:
            if handler.http_methods == {"OPTIONS"}:
                continue
            door = through_fhir_door if route.path.startswith(FHIR_PREFIX) else through_space_door
            if handler.resolve_before_request() is not door or handler.resolve_guards():
                raise RuntimeError(f"{route.path} is not behind the space door")
            need = handler.opt.get("need")
            if need is None:
                raise RuntimeError(f"{route.path} does not declare what it needs")
            if need.resource not in RESOURCE_WORDS:
                # The access history describes every row in plain French (ens.spaces.describe).
                raise RuntimeError(f"{route.path} names the resource {need.resource!r}, which has no words")
            if handler.http_methods - {"GET", "HEAD"} and need.action is Action.READ:
                # A write that forgot its action would be open to every kind that may read.
                raise RuntimeError(f"{route.path} writes but declares the action 'read'")
