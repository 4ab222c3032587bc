"""Make the OpenAPI document tell the truth: every problem status a route can answer, and
``additionalProperties: false`` on request bodies that refuse unknown fields."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.openapi.spec import OpenAPIMediaType as MediaType
from litestar.openapi.spec import OpenAPIResponse, Reference, Schema
from litestar.openapi.spec.enums import OpenAPIType

from ens.core.api import PUBLIC_OPT, Struct

_PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["type", "title", "status"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, description="A stable URN: urn:ens:problem:*"),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING),
        "instance": Schema(type=OpenAPIType.STRING),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(
                type=OpenAPIType.OBJECT,
                required=["pointer", "detail"],
                properties={
                    "pointer": Schema(type=OpenAPIType.STRING, description="JSON Pointer into the request"),
                    "detail": Schema(type=OpenAPIType.STRING),
                },
            ),
        ),
    },
)

_DESCRIPTIONS = {
    "400": "Malformed request (bad JSON, bad parameter, forged cursor)",
    "401": "Missing, invalid or expired token; or its grant was revoked",
    "403": "The caller may see this space but not do this",
    "404": "No such resource, or none the caller may see",
    "409": "Conflict (e.g. a request with this Idempotency-Key is still running)",
    "410": "The space is closed (or the cursor expired)",
    "412": "If-Match does not match the current version",
    "413": "The body is too large",
    "422": "The request breaks a validation rule",
    "429": "Too many attempts",
}


def _struct_names() -> set[str]:
    names: set[str] = set()
    stack: list[type[Any]] = [Struct]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            names.add(sub.__name__)
            stack.append(sub)
    return names


def _statuses(path: str, method: str, *, public: bool) -> list[str]:
    if public:
        return ["400"] if method in ("post", "put", "patch") else []
    codes = ["400", "401"]
    if path.startswith("/v1/spaces/{space}"):
        codes += ["403", "404", "410"]
    elif "{" in path:
        codes += ["404"]
    if method in ("post", "put", "patch"):
        codes += ["413", "422"]
    if method == "post":
        codes += ["409"]
    if method in ("put", "patch", "delete"):
        codes += ["412"]
    return codes


def _public_operations(app: Litestar) -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every route declared public (``opt=PUBLIC``)."""
    public: set[tuple[str, str]] = set()
    for route in app.routes:
        path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", route.path)
        for handler in getattr(route, "route_handlers", []):
            if handler.opt.get(PUBLIC_OPT):
                public.update((path, method.lower()) for method in handler.http_methods)
    return public


def document_problems(app: Litestar) -> None:
    public_operations = _public_operations(app)
    schema = app.openapi_schema
    components = schema.components
    if components.schemas is None:
        components.schemas = {}
    components.schemas["Problem"] = _PROBLEM_SCHEMA
    forbidding = _struct_names()
    for name, component in components.schemas.items():
        if isinstance(component, Schema) and name.split(".")[-1] in forbidding:
            component.additional_properties = False
    for path, item in (schema.paths or {}).items():
        for method in ("get", "post", "put", "patch", "delete"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            public = (path, method) in public_operations
            responses = operation.responses or {}
            for code in _statuses(path, method, public=public):
                responses.setdefault(
                    code,
                    OpenAPIResponse(
                        description=_DESCRIPTIONS[code],
                        content={
                            "application/problem+json": MediaType(schema=Reference("#/components/schemas/Problem"))
                        },
                    ),
                )
            operation.responses = responses
