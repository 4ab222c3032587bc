"""The one place that wires things: routers, doors, middleware, error mapping, lifespan."""

from __future__ import annotations

import gc
import logging
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import msgspec
from litestar import Litestar, Request, Response, Router, get
from litestar.config.compression import CompressionConfig
from litestar.di import Provide
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.logging import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.middleware.compression import CompressionMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.types import ControllerRouterHandler
from piccolo.table import Table

from ens.auth.fcplus_routes import relying_party_key_routes
from ens.auth.middleware import BearerAuthentication
from ens.auth.routes import AuthWiring
from ens.auth.tokens import AccessTokens
from ens.core import db, errors
from ens.core.api import PROBLEM_JSON, Cursors, ETagMiddleware, Problem, ProblemError, json_pointer, problem_type
from ens.core.idempotency import IdempotencyMiddleware, replay_stored
from ens.core.log import logging_config
from ens.core.openapi import document_problems
from ens.core.settings import Settings
from ens.overview.routes import SummaryController
from ens.spaces.door import REQUEST_ID_KEY, Access, account_door, provide_space_access, space_door
from ens.spaces.history import AccessHistoryMiddleware
from ens.spaces.routes import MeController, SpaceController
from ens.vitals.routes import VitalsController, list_vital_types

log = logging.getLogger("ens")

SPACE_PATH = "/v1/spaces/{space:str}"

_DOMAIN_STATUS: list[tuple[type[errors.DomainError], int, str, str]] = [
    (errors.GrantRevoked, 401, "grant-revoked", "Authorization revoked"),
    (errors.Unauthorized, 401, "unauthorized", "Unauthorized"),
    (errors.Forbidden, 403, "forbidden", "Forbidden"),
    (errors.NotFound, 404, "not-found", "Not found"),
    (errors.Conflict, 409, "conflict", "Conflict"),
    (errors.Gone, 410, "gone", "Gone"),
    (errors.PreconditionFailed, 412, "precondition-failed", "Precondition failed"),
    (errors.PayloadTooLarge, 413, "payload-too-large", "Payload too large"),
    (errors.Invalid, 422, "validation", "Invalid request"),
    (errors.BadRequest, 400, "validation", "Bad request"),
    (errors.RateLimited, 429, "rate-limited", "Too many requests"),
]

_HTTP_TYPES = {
    400: "validation",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    410: "gone",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation",
    429: "rate-limited",
}


def problem_response(
    status: int,
    name: str,
    title: str,
    detail: str,
    errors_: Sequence[ProblemError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[bytes]:
    body = Problem(
        type=problem_type(name), title=title, status=status, detail=detail, errors=list(errors_ or []) or None
    )
    return Response(msgspec.json.encode(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _domain_error(request: Request[Any, Any, Any], exc: errors.DomainError) -> Response[bytes]:
    for kind, status, name, title in _DOMAIN_STATUS:
        if isinstance(exc, kind):
            headers = {}
            if status == 401:
                headers["WWW-Authenticate"] = 'Bearer realm="ens"'
            if isinstance(exc, errors.RateLimited):
                headers["Retry-After"] = str(exc.retry_after)
            return problem_response(
                status,
                name,
                title,
                exc.detail,
                [ProblemError(pointer=e.pointer, detail=e.detail) for e in exc.errors],
                headers,
            )
    return _unexpected(request, exc)


_UNKNOWN_FIELD = re.compile(r"Object contains unknown field `(.+)`")


def _validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    """Litestar's body/parameter validation, every problem located by a JSON Pointer.

    A body that is well-formed JSON but breaks the schema is 422; a missing body or a bad query or
    path parameter is 400.
    """
    extra = exc.extra if isinstance(exc.extra, list) else []
    problems: list[ProblemError] = []
    body_invalid = False
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid"))
        source = str(getattr(item.get("source"), "value", item.get("source")))
        key = str(item.get("key", ""))
        if message == f"'{key}'" and source == "path":
            continue  # litestar reports router path parameters a handler does not take; not an error
        if source == "body":
            if key == "data" and message == "'data'":
                problems.append(ProblemError(pointer="", detail="A JSON body is required."))
                continue
            body_invalid = True
            pointer = "" if key == "data" else json_pointer("$." + key)
            unknown = _UNKNOWN_FIELD.fullmatch(message)
            if unknown:
                pointer += "/" + unknown.group(1).replace("~", "~0").replace("/", "~1")
        else:
            pointer = "/" + key if key else ""
        problems.append(ProblemError(pointer=pointer, detail=message))
    status = 422 if body_invalid else 400
    detail = _first(problems) or "The request is invalid."
    return problem_response(status, "validation", "Invalid request", detail, problems)


def _first(problems: Sequence[ProblemError]) -> str:
    return f"{problems[0].pointer or '/'}: {problems[0].detail}" if problems else ""


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    if status >= 500:
        return _unexpected(request, exc)
    name = _HTTP_TYPES.get(status, "bad-request")
    detail = exc.detail if exc.detail and exc.detail != str(status) else ""
    if isinstance(exc, NotAuthorizedException):
        return problem_response(
            401, "unauthorized", "Unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="ens"'}
        )
    if isinstance(exc, PermissionDeniedException):
        return problem_response(403, "forbidden", "Forbidden", detail)
    headers = dict(exc.headers or {})
    return problem_response(status, name, _title(status), detail or _title(status), headers=headers)


def _title(status: int) -> str:
    from http import HTTPStatus

    return HTTPStatus(status).phrase


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    request_id = request.scope.get("state", {}).get(REQUEST_ID_KEY, "")
    log.error(
        "unhandled error", exc_info=exc, extra={"request_id": request_id, "path": request.scope.get("path_template")}
    )
    return problem_response(500, "internal", "Internal error", f"Something went wrong (request {request_id}).")


@get("/health", tags=["operations"], summary="Liveness")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@get("/ready", tags=["operations"], summary="Readiness: the database answers")
async def ready() -> Response[Any]:
    try:
        await db.fetch("SELECT 1 AS ok")
    except Exception as exc:
        log.warning("database not ready: %s", type(exc).__name__)
        return problem_response(503, "unavailable", "Service unavailable", "The database does not answer.")
    return Response({"status": "ready"})


def all_tables() -> list[type[Table]]:
    """Every table of every app, and piccolo's own record of applied migrations."""
    from piccolo.apps.migrations.tables import Migration
    from piccolo.conf.apps import Finder

    return [*Finder().get_table_classes(), Migration]


def space_routes() -> list[ControllerRouterHandler]:
    """Every controller that lives under /v1/spaces/{space}: all of them pass the door."""
    return [SummaryController, SpaceController, VitalsController, *AuthWiring.space_routes()]


def create_app(
    settings: Settings | None = None,
    extra_space_routes: Sequence[ControllerRouterHandler] = (),
    extra_routes: Sequence[ControllerRouterHandler] = (),
    upstream_transport: httpx.AsyncBaseTransport | None = None,
) -> Litestar:
    """Build the application. ``extra_*`` let tests mount their own routes behind the real doors;
    ``upstream_transport`` lets them reach an in-process identity provider over real HTTP."""
    settings = settings or Settings.from_env()
    engine = db.engine_for_url(settings.database_url)
    db.bind(engine, all_tables())
    tokens = AccessTokens(settings)
    cursors = Cursors(settings.secret_key)
    auth = AuthWiring(settings, upstream_transport)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await db.start(engine, settings.db_pool_size)
        # Everything loaded so far (routes, schemas, catalogues) lives as long as the process:
        # keep it out of the collector's scans, and collect the young generation less often, so
        # that a request does not pay for a full collection (measured: it set the p99 latency).
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
        try:
            yield
        finally:
            await db.stop(engine)

    async def cursors_after_access(access: Access) -> Cursors:
        # Declared as depending on the door's result so litestar resolves the two one after the
        # other: two independent dependencies would be resolved in a task group (measured: ~7% of
        # a page read's CPU).
        return cursors

    space_router = Router(
        path=SPACE_PATH,
        guards=[space_door],
        dependencies={"access": Provide(provide_space_access), "cursors": Provide(cursors_after_access)},
        route_handlers=[*space_routes(), *extra_space_routes],
    )
    me_router = Router(path="/", guards=[account_door], route_handlers=[MeController, *auth.me_routes])

    app = Litestar(
        route_handlers=[
            health,
            ready,
            list_vital_types,
            space_router,
            me_router,
            *relying_party_key_routes(settings),
            *auth.routes,
            *extra_routes,
        ],
        dependencies={
            "settings": Provide(lambda: settings, sync_to_thread=False),
            "tokens": Provide(lambda: tokens, sync_to_thread=False),
            **auth.dependencies,
        },
        middleware=[
            DefineMiddleware(CompressionMiddleware, config=CompressionConfig(backend="gzip", minimum_size=1024)),
            AccessHistoryMiddleware,
            ETagMiddleware,
            DefineMiddleware(BearerAuthentication, tokens=tokens),
            DefineMiddleware(IdempotencyMiddleware, max_body_bytes=settings.max_body_bytes),
        ],
        exception_handlers={
            errors.DomainError: _domain_error,
            ValidationException: _validation_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
        request_max_body_size=settings.max_body_bytes,
        before_request=replay_stored,
        openapi_config=OpenAPIConfig(
            title="ENS API",
            version="1",
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
            description="The patient health space API. Errors are RFC 9457 problem+json.",
        ),
        lifespan=[lifespan],
        logging_config=LoggingConfig(**logging_config(settings.log_level.upper())),
        debug=False,
    )
    _check_every_space_route_has_the_door(app)
    document_problems(app)
    return app


def _check_every_space_route_has_the_door(app: Litestar) -> None:
    """A route under /v1/spaces/{space} without the door must be impossible, not just wrong."""
    for route in app.routes:
        if not route.path.startswith("/v1/spaces/{space"):
            continue
        for handler in getattr(route, "route_handlers", []):
            if handler.http_methods == {"OPTIONS"}:
                continue
            if space_door not in handler.resolve_guards():
                raise RuntimeError(f"{route.path} is not behind the space door")
            if "need" not in handler.opt:
                raise RuntimeError(f"{route.path} does not declare what it needs")
