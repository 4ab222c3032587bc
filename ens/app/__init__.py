"""The one place that wires things: ``create_app`` builds the routers, middleware and app from the
doors, the error mapping, the lifespan, the probes and the OpenAPI settings of its sibling modules."""

from __future__ import annotations

import re
from collections.abc import Sequence

import httpx
from litestar import Litestar, Router
from litestar.di import NamedDependency, Provide
from litestar.logging import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.types import ControllerRouterHandler

from ens.app.allow import AllowWhatThePathTakes
from ens.app.doors import (
    FHIR_PREFIX,
    SPACE_PATH,
    check_every_space_route_has_the_door,
    declared_matrix_names,
    note_what_routes_read_once,
    through_account_door,
    through_fhir_door,
    through_no_door,
    through_professional_door,
    through_space_door,
)
from ens.app.exception_handlers import answer_unexpected, exception_handlers
from ens.app.lifespan import process_lifespan
from ens.app.openapi import document_rights, openapi_config
from ens.app.operations import health, ready
from ens.app.stray import StrayRequests
from ens.auth.middleware import BearerAuthentication
from ens.auth.routes import AuthWiring
from ens.auth.tokens import AccessTokens
from ens.core import db, keyring
from ens.core.api import (
    Cursors,
    EdgeMiddleware,
    ETagMiddleware,
)
from ens.core.compression import GzipMiddleware
from ens.core.idempotency import IdempotencyMiddleware
from ens.core.limits import Limits, RateLimiter, RateLimitMiddleware
from ens.core.log import logging_config
from ens.core.openapi import (
    check_operation_ids,
    declare_links,
    document_items,
    document_problems,
    drop_head_twins,
    drop_unreferenced_components,
)
from ens.core.scopes import SCOPES
from ens.core.security_headers import SecurityHeaders
from ens.core.settings import Settings
from ens.core.slow_clients import BodyIdleTimeoutMiddleware
from ens.core.strict_json import StrictJSONRequest
from ens.documents import scopes as documents_scopes
from ens.documents.catalogue import FORM_ALLOWANCE_BYTES, MAX_DOCUMENT_BYTES
from ens.documents.masking import release_held_by
from ens.documents.routes import NO_COMPRESSION, DocumentsController, list_document_types
from ens.documents.storage import BlobStore
from ens.overview.routes import SpaceController
from ens.records.routes import CONTROLLERS as RECORDS_CONTROLLERS
from ens.spaces import audit
from ens.spaces.door import Access, provide_space_access
from ens.spaces.history import AccessHistoryMiddleware, created_item
from ens.spaces.matrix import access_matrix, check_matrix
from ens.spaces.professional_routes import AccessRequestsController, ProController, ProfessionalsController
from ens.spaces.professionals import when_a_right_ends
from ens.spaces.routes import (
    AccessHistoryController,
    CarersController,
    NotificationsController,
    RepresentativesController,
)
from ens.vaccination import scopes as vaccination_scopes
from ens.vaccination.routes import VaccinationController, list_vaccines
from ens.vitals import scopes as vitals_scopes
from ens.vitals.feed_watch import FeedWatch
from ens.vitals.fhir_routes import FhirController, fhir_metadata
from ens.vitals.ingest import MAX_BATCH
from ens.vitals.routes import VitalsController, list_vital_types
from ens.vitals.schemas import MeasurementBatch, MeasurementCreate


def register_capabilities() -> None:
    """What each capability declares for the whole process: its app scopes."""
    SCOPES.register(vitals_scopes.SCOPES)
    SCOPES.register(documents_scopes.SCOPES)
    SCOPES.register(vaccination_scopes.SCOPES)
    # What a professional held back from the holder is released when the holder ends their right.
    when_a_right_ends(release_held_by)


def space_routes() -> list[ControllerRouterHandler]:
    """Every controller that lives under /v1/spaces/{space}: all of them pass the door."""
    return [
        SpaceController,
        AccessHistoryController,
        RepresentativesController,
        VitalsController,
        VaccinationController,
        ProfessionalsController,
        AccessRequestsController,
        *RECORDS_CONTROLLERS,
        DocumentsController,
        *AuthWiring.space_routes(),
    ]


# Paths litestar serves itself, outside any capability: the OpenAPI document and its pages.
_FRAMEWORK_PUBLIC_PATHS = [r"^/schema"]


def create_app(
    settings: Settings | None = None,
    extra_space_routes: Sequence[ControllerRouterHandler] = (),
    *,
    extra_routes: Sequence[ControllerRouterHandler] = (),
    upstream_transport: httpx.AsyncBaseTransport | None = None,
    pro_upstream_transport: httpx.AsyncBaseTransport | None = None,
) -> Litestar:
    """Build the application. ``extra_*`` let tests mount their own routes behind the real doors;
    ``upstream_transport`` lets them reach an in-process identity provider over real HTTP."""
    settings = settings or Settings.from_env()
    register_capabilities()
    engine = db.engine_for_url(settings.database_url)
    db.bind(engine, db.all_tables())
    keyring.configure(settings.secret_key, settings.previous_keys)  # before anything derives a key
    tokens = AccessTokens(settings)
    limiter = RateLimiter(
        Limits(
            account=settings.rate_limit_account_per_minute,
            grant=settings.rate_limit_grant_per_minute,
            address=settings.rate_limit_address_per_minute,
        )
    )
    audit.configure(settings.secret_key)  # the access history's rows are sealed with it
    cursors = Cursors(settings.secret_key)
    auth = AuthWiring(settings, upstream_transport, pro_upstream_transport)
    blobs = BlobStore.from_settings(settings)

    # Behind the space door, the process-wide objects a handler takes are provided in a chain after
    # the door's result (access, then cursors, settings, blobs): litestar resolves dependencies
    # that do not depend on each other in a task group, which cost ~7% of a page read's CPU and
    # ~30 us of the change feed's (access, cursors, settings); a chain resolves one at a time.
    async def cursors_after_access(access: Access) -> Cursors:
        return cursors

    async def settings_after_cursors(cursors: NamedDependency[Cursors]) -> Settings:
        return settings

    async def blobs_after_settings(settings: NamedDependency[Settings]) -> BlobStore:
        return blobs

    def tokens_after_settings(settings: NamedDependency[Settings]) -> AccessTokens:
        return tokens

    behind_the_door = {
        "access": Provide(provide_space_access),
        "cursors": Provide(cursors_after_access),
        "settings": Provide(settings_after_cursors),
        "blobs": Provide(blobs_after_settings),
    }
    space_router = Router(
        path=SPACE_PATH,
        before_request=through_space_door,
        dependencies=behind_the_door,
        route_handlers=[*space_routes(), *extra_space_routes],
    )
    # The FHIR door of the measures: the same space door, the app's token naming its space.
    fhir_router = Router(
        path=FHIR_PREFIX,
        before_request=through_fhir_door,
        dependencies=behind_the_door,
        route_handlers=[FhirController],
    )
    account_router = Router(
        path="/",
        before_request=through_account_door,
        # Chained too: the signed-in devices take the cursors and the settings (their lifetime).
        dependencies={"settings": Provide(settings_after_cursors)},
        route_handlers=[*auth.account_routes, CarersController, NotificationsController],
    )
    professional_router = Router(
        path="/",
        before_request=through_professional_door,
        dependencies={"cursors": Provide(lambda: cursors, sync_to_thread=False)},
        route_handlers=[ProController],
    )

    app = Litestar(
        request_class=StrictJSONRequest,
        route_handlers=[
            health,
            ready,
            list_vital_types,
            list_document_types,
            list_vaccines,
            space_router,
            fhir_router,
            fhir_metadata,
            account_router,
            professional_router,
            *auth.routes,
            *extra_routes,
        ],
        dependencies={
            "settings": Provide(lambda: settings, sync_to_thread=False),
            # After settings, not beside them (see behind_the_door): the token endpoints take both.
            "tokens": Provide(tokens_after_settings, sync_to_thread=False),
            "blobs": Provide(lambda: blobs, sync_to_thread=False),
            # Public listings (the vaccine catalogue); the space router provides its own, after the door.
            "cursors": Provide(lambda: cursors, sync_to_thread=False),
            **auth.dependencies,
        },
        middleware=[
            EdgeMiddleware,
            DefineMiddleware(BodyIdleTimeoutMiddleware, idle_seconds=settings.body_idle_seconds),
            DefineMiddleware(GzipMiddleware, exclude_opt_key=NO_COMPRESSION),
            DefineMiddleware(AccessHistoryMiddleware, answer_failure=answer_unexpected),
            ETagMiddleware,
            DefineMiddleware(BearerAuthentication, tokens=tokens, exclude=_FRAMEWORK_PUBLIC_PATHS),
            DefineMiddleware(RateLimitMiddleware, limiter=limiter),
            DefineMiddleware(
                IdempotencyMiddleware,
                max_body_bytes=settings.max_body_bytes,
                lease_seconds=settings.idempotency_lease_seconds,
                secret=settings.secret_key,
                # What the request's history row named as created: a replay's row names it too.
                created_item=created_item,
                # Routes that take a larger body than ENS_MAX_BODY_BYTES, with their own limit: an
                # Idempotency-Key on them must not bring the smaller one back (413).
                large_bodies=[
                    (re.compile(r"/v1/spaces/[^/]+/documents/?"), MAX_DOCUMENT_BYTES + FORM_ALLOWANCE_BYTES),
                    (re.compile(r"/v1/spaces/[^/]+/import/?"), settings.import_max_bytes),
                ],
            ),
        ],
        exception_handlers=exception_handlers(),
        request_max_body_size=settings.max_body_bytes,
        before_request=through_no_door,
        # The stray requests' rows first: an answer it turns into another still gets its headers.
        before_send=[
            StrayRequests(tokens, limiter),
            SecurityHeaders(https=settings.public_url.startswith("https://")),
            AllowWhatThePathTakes(),
        ],
        openapi_config=openapi_config(interactive=settings.is_dev),
        lifespan=[
            process_lifespan(
                engine,
                pool_size=settings.db_pool_size,
                limiter=limiter,
                feed_watch=FeedWatch(settings.feed_hold_warn_seconds),
            )
        ],
        logging_config=LoggingConfig(**logging_config(settings.log_level.upper())),
        debug=False,
    )
    check_every_space_route_has_the_door(app)
    drop_head_twins(app)
    note_what_routes_read_once(app)
    # The access matrix is data shipped with the product: a matrix that names an unknown profession
    # or resource, or lets a profession write what it cannot read, stops the service here.
    check_matrix(access_matrix(), known_resources=declared_matrix_names(app))
    document_items(app, MeasurementBatch, "measurements", MeasurementCreate, min_items=1, max_items=MAX_BATCH)
    document_problems(app)
    document_rights(app)
    check_operation_ids(app)
    declare_links(app)
    drop_unreferenced_components(app)
    return app
