"""Make the OpenAPI document tell the truth: every problem status a route can answer, as the
problem+json body the service sends (never litestar's own error body); ``additionalProperties:
false`` on request bodies that refuse unknown fields; an explicit camelCase ``operationId`` on
every operation, since generated clients (Kotlin, Swift, TypeScript, Python) name their functions
after it; and the conventions every route shares, as parameters a generated client can pass and
answers it can read: ``Idempotency-Key`` on POSTs, ``If-None-Match`` and 304 on GETs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec
from litestar import Litestar
from litestar._openapi.datastructures import SchemaRegistry
from litestar._openapi.schema_generation import SchemaCreator
from litestar.enums import ParamType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import (
    Components,
    Link,
    OpenAPIHeader,
    OpenAPIResponse,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)
from litestar.openapi.spec import OpenAPIMediaType as MediaType
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.response import Stream
from litestar.types import Method
from litestar.types.internal_types import PathParameterDefinition
from litestar.typing import FieldDefinition

from ens.core.api import PUBLIC_OPT, Struct
from ens.core.fhir import FHIR_JSON
from ens.core.problems import PROBLEM_JSON, Problem, known_uris

_PROBLEM_ERROR_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["pointer", "detail"],
    properties={
        "pointer": Schema(type=OpenAPIType.STRING, description="JSON Pointer into the request"),
        "detail": Schema(type=OpenAPIType.STRING),
    },
)

_PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["type", "title", "status"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, description="A stable URN: urn:ens:problem:*"),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING),
        "instance": Schema(type=OpenAPIType.STRING),
        "errors": Schema(type=OpenAPIType.ARRAY, items=Reference("#/components/schemas/ProblemError")),
    },
)

_DESCRIPTIONS = {
    "400": "Malformed request (bad JSON, bad or unknown query parameter, a body where none is taken, forged cursor)",
    "401": "Missing, invalid or expired token; or its grant was revoked",
    "403": "The caller may see this space but not do this",
    "404": "No such resource, or none the caller may see",
    "406": "The Accept header admits none of the representations the route gives (the FHIR door: no JSON, "
    "or _format asked for another)",
    "409": "Conflict (e.g. a request with this Idempotency-Key is still running)",
    "410": "The space is closed (or the cursor expired)",
    "412": "If-Match does not match the current version",
    "413": "The body is too large",
    "415": "The body's Content-Type is not one this route takes (application/json, unless it says otherwise)",
    "422": "The request breaks a validation rule",
    "429": "Too many requests: Retry-After says in how many seconds to try again",
}

_RETRY_AFTER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.INTEGER, minimum=1), description="Seconds to wait before trying again"
)

_CAMEL_CASE = re.compile(r"[a-z][a-zA-Z0-9]*")


def _struct_names() -> set[str]:
    names: set[str] = set()
    stack: list[type[Any]] = [Struct]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            names.add(sub.__name__)
            stack.append(sub)
    return names


def _statuses(path: str, method: str, operation: Operation, *, public: bool) -> list[str]:
    """The problem statuses an operation can answer, from what it reads.

    400 on every operation: any address can be malformed (``%00`` in its path or query is 400
    before anything reads it), and under /v1 a query parameter the route does not read, or a body
    where it takes none, is 400 too (``ens.app.doors.refuse_what_it_would_drop``): ``GET /v1/me?limit=1``
    answered a 400 its operation did not list (an outside audit of the contract). 412 needs an
    ``If-Match`` the route reads.
    """
    parameters = [p for p in operation.parameters or [] if isinstance(p, Parameter)]
    reads_if_match = any(p.param_in == "header" and p.name.lower() == "if-match" for p in parameters)
    codes = ["400"]
    if path.startswith("/fhir") or isinstance(operation, Negotiated):
        # Asked for XML alone (ens.core.fhir.refuse_what_is_not_json); elsewhere, a route that gives
        # several representations refuses an Accept admitting none of them (ens.core.api.preferred).
        codes += ["406"]
    if public:
        # The OAuth endpoints are limited per client address (ens.core.limits), like the login pages.
        return [*codes, "429"] if path.startswith("/oauth/") else codes
    # Every route behind a token is behind a door: the space door, or (elsewhere) the account door
    # or the professionals' door, which refuse the wrong kind of caller (an app's token on /v1/me).
    codes += ["401", "403"]
    if path.startswith(("/v1/spaces/{space}", "/fhir")):
        codes += ["404", "410"]
    elif "{" in path:
        codes += ["404"]
    if method in ("post", "put", "patch"):
        codes += ["413", "422"]
    if operation.request_body is not None:
        codes += ["415"]  # a JSON route takes only JSON (ens.core.strict_json), an upload only its types
    if method == "post":
        codes += ["409"]
    if reads_if_match:
        codes += ["412"]
    # An account's and a grant's requests a minute are limited (ens.core.limits).
    return [*codes, "429"]


@dataclass
class _Declared:
    """What the handlers behind one OpenAPI operation declare about it."""

    public: bool = False
    responses: set[str] = field(default_factory=set)
    # An answer streamed as it is produced (no Content-Length), which carries no ETag unless the
    # handler sets one itself (ens.core.api.ETagMiddleware).
    streamed: bool = False


def _openapi_path(path: str) -> str:
    return re.sub(r"\{(\w+):[^}]+\}", r"{\1}", path)


def _declared(app: Litestar) -> dict[tuple[str, str], _Declared]:
    """Per (OpenAPI path, method): public (``opt=PUBLIC``), and the statuses the handler documents
    itself (``responses=``), which are left as the handler wrote them."""
    declared: dict[tuple[str, str], _Declared] = {}
    for route in app.routes:
        path = _openapi_path(route.path)
        for handler in getattr(route, "route_handlers", []):
            for method in handler.http_methods:
                entry = declared.setdefault((path, method.lower()), _Declared())
                entry.public = entry.public or bool(handler.opt.get(PUBLIC_OPT))
                entry.responses.update(str(status) for status in handler.responses or {})
                entry.streamed = entry.streamed or handler.parsed_fn_signature.return_type.is_subclass_of(Stream)
    return declared


# The FHIR routes (/fhir) answer their errors as FHIR does: an OperationOutcome.
_OPERATION_OUTCOME_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["resourceType", "issue"],
    properties={
        "resourceType": Schema(type=OpenAPIType.STRING, const="OperationOutcome"),
        "id": Schema(type=OpenAPIType.STRING),
        "issue": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(
                type=OpenAPIType.OBJECT,
                required=["severity", "code"],
                properties={
                    "severity": Schema(type=OpenAPIType.STRING),
                    "code": Schema(type=OpenAPIType.STRING),
                    "diagnostics": Schema(type=OpenAPIType.STRING),
                    "expression": Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.STRING)),
                },
            ),
        ),
    },
)


def _outcome(code: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=_DESCRIPTIONS[code],
        content={"application/fhir+json": MediaType(schema=_OPERATION_OUTCOME_SCHEMA)},
        headers={"Retry-After": _RETRY_AFTER} if code == "429" else None,
    )


# 403 outside a space: the account door (/v1/me, /v1/spaces, invitations and claims) takes only the
# person signed in to the phone app; the professionals' door (/v1/pro) only a professional.
_WRONG_CALLER = (
    "This kind of caller may not do this (a person's routes: only the person signed in to the phone app; "
    "/v1/pro: only a health professional)"
)


def _problem(code: str, path: str = "") -> OpenAPIResponse:
    space = path.startswith(("/v1/spaces/{space}", "/fhir"))
    return OpenAPIResponse(
        description=_WRONG_CALLER if code == "403" and not space else _DESCRIPTIONS[code],
        content={PROBLEM_JSON: MediaType(schema=Reference("#/components/schemas/Problem"))},
        headers={"Retry-After": _RETRY_AFTER} if code == "429" else None,
    )


def document_problems(app: Litestar) -> None:
    declared = _declared(app)
    schema = app.openapi_schema
    components = schema.components
    if components.schemas is None:
        components.schemas = {}
    # Also replaces the components litestar derives from ``ens.core.problems.Problem`` when a route
    # declares a problem response of its own (``responses={503: ResponseSpec(Problem, ...)}``).
    # The types as an enum (registered at import, all known by now): a client branching on one
    # finds them listed, not only "urn:ens:problem:*" (an outside audit of the contract).
    properties = dict(_PROBLEM_SCHEMA.properties or {})
    properties["type"] = Schema(
        type=OpenAPIType.STRING, enum=known_uris(), description="A stable URN: urn:ens:problem:<kind>"
    )
    components.schemas["Problem"] = replace(_PROBLEM_SCHEMA, properties=properties)
    components.schemas["ProblemError"] = _PROBLEM_ERROR_SCHEMA
    forbidding = _struct_names()
    for name, component in components.schemas.items():
        if isinstance(component, Schema) and name.split(".")[-1] in forbidding:
            component.additional_properties = False
    for path, item in (schema.paths or {}).items():
        for method in ("get", "head", "post", "put", "patch", "delete"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            own = declared.get((path, method), _Declared())
            responses = operation.responses or {}
            # Litestar documents its own 400 body ({"status_code", "detail", "extra"}) on every route
            # with a parameter; the service never sends it (ens.app maps validation to problem+json).
            if "400" not in own.responses:
                responses.pop("400", None)
            for code in _statuses(path, method, operation, public=own.public):
                if code not in own.responses:
                    responses[code] = _outcome(code) if path.startswith("/fhir") else _problem(code, path)
            if own.public and "429" in responses and isinstance(refused := responses.get("400"), OpenAPIResponse):
                # The OAuth endpoints answer a flood as they answer a malformed request: RFC 6749 JSON
                # from the token and revocation endpoints, a page from the browser's (ens.app).
                responses["429"] = OpenAPIResponse(
                    description=_DESCRIPTIONS["429"], content=refused.content, headers={"Retry-After": _RETRY_AFTER}
                )
            if method == "head":
                # A HEAD answer has no body (RFC 9110 §9.3.2): each status is documented without one.
                responses = {
                    code: OpenAPIResponse(description=answer.description, headers=answer.headers)
                    if isinstance(answer, OpenAPIResponse)
                    else answer
                    for code, answer in responses.items()
                }
            operation.responses = responses
            if method == "post" and not own.public:
                _add_header(operation, _IDEMPOTENCY_KEY)
            if method == "get" and "200" in responses:
                _document_revalidation(operation, streamed=own.streamed)
            for code, answer in responses.items():
                if code == "201" and isinstance(answer, OpenAPIResponse) and answer.description == _LITESTAR_201:
                    answer.description = "Created"
    _one_null_branch(components, schema.paths or {})


# Litestar's own description of every 201; ENS sends no Location (the answer's body names the item).
_LITESTAR_201 = "Document created, URL follows"

_IDEMPOTENCY_KEY = Parameter(
    name="Idempotency-Key",
    param_in=ParamType.HEADER,
    required=False,
    schema=Schema(type=OpenAPIType.STRING, min_length=1, max_length=255, pattern="^[\\x21-\\x7e]{1,255}$"),
    description="Optional, 1 to 255 visible ASCII characters (400 otherwise): a retry with the same key and body "
    "answers the first response and creates nothing; the same key with another body is 422; while the first runs, "
    "409. Keys are the caller's own and kept 24 hours; answers that carry secrets are never stored.",
)

_IF_NONE_MATCH = Parameter(
    name="If-None-Match",
    param_in=ParamType.HEADER,
    required=False,
    schema=Schema(type=OpenAPIType.STRING),
    description="An ETag this caller holds (or several, comma-separated; W/ tags match their strong twin): "
    "304 without a body when the current version is one of them",
)


_REVALIDATION_ETAG = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.STRING),
    description="The version of what the answer holds (strong): send it back as If-None-Match to revalidate a copy",
)


def _add_header(operation: Operation, parameter: Parameter) -> None:
    parameters = list(operation.parameters or [])
    names = {p.name.lower() for p in parameters if isinstance(p, Parameter) and p.param_in == ParamType.HEADER}
    if parameter.name.lower() not in names:
        operation.parameters = [*parameters, parameter]


def _document_revalidation(operation: Operation, *, streamed: bool) -> None:
    """Every GET's 200 carries a strong ETag and honours If-None-Match (304), except an answer
    streamed without a validator of its handler's own."""
    responses = operation.responses or {}
    ok = responses["200"]
    if not isinstance(ok, OpenAPIResponse):
        return
    if streamed and "ETag" not in (ok.headers or {}):
        return
    ok.headers = {"ETag": _REVALIDATION_ETAG, **(ok.headers or {})}
    _add_header(operation, _IF_NONE_MATCH)
    responses["304"] = OpenAPIResponse(
        description="Not modified: If-None-Match names the current version (no body)",
        headers={"ETag": _REVALIDATION_ETAG},
    )


def _nullable_enums(schema: Schema | Reference | None, seen: set[int]) -> None:
    """Rewrite each ``{"type": [null, T], "enum": [..., null]}`` (litestar's form of ``Literal[...] |
    None``) as ``{"oneOf": [{"type": T, "enum": [...]}, {"type": "null"}]}``: generators read the
    first as three unions of one enum (openapi-python-client makes three classes of the same values
    per field), the second as one enum that may be null."""
    if not isinstance(schema, Schema) or id(schema) in seen:
        return
    seen.add(id(schema))
    types = schema.type if isinstance(schema.type, list) else None
    if schema.enum is not None and types is not None and OpenAPIType.NULL in types and len(types) == 2:
        [kind] = [t for t in types if t != OpenAPIType.NULL]
        values = [value for value in schema.enum if value is not None]
        schema.one_of = [Schema(type=kind, enum=values), Schema(type=OpenAPIType.NULL)]
        schema.type, schema.enum = None, None
    children: list[Schema | Reference] = [*(schema.properties or {}).values()]
    children += [*(schema.one_of or []), *(schema.any_of or []), *(schema.all_of or []), *(schema.prefix_items or [])]
    for child in (schema.items, schema.additional_properties):
        if isinstance(child, (Schema, Reference)):
            children.append(child)
    for child in children:
        _nullable_enums(child, seen)


def _one_null_branch(components: Components, paths: dict[str, Any]) -> None:
    seen: set[int] = set()
    for component in (components.schemas or {}).values():
        _nullable_enums(component, seen)
    for item in paths.values():
        for _, operation in _operations(item):
            for parameter in operation.parameters or []:
                if isinstance(parameter, Parameter):
                    _nullable_enums(parameter.schema, seen)
            body = operation.request_body
            for media in (getattr(body, "content", None) or {}).values():
                _nullable_enums(media.schema, seen)


def document_items(app: Litestar, container: type[Any], field_name: str, item: type[Any], **limits: int) -> None:
    """Document the items of a list a body keeps raw (each is validated on its own, so that every bad
    one is named) as the Struct they are validated with: otherwise the document says ``items: {}``
    and a generated client types them as ``Any``. ``limits``: ``min_items``, ``max_items``."""
    registry = SchemaRegistry()
    creator = SchemaCreator(schema_registry=registry, plugins=app.plugins.openapi, prefer_alias=True)
    creator.for_field_definition(FieldDefinition.from_annotation(item))
    components = app.openapi_schema.components
    schemas = components.schemas if components.schemas is not None else {}
    for name, schema in registry.generate_components_schemas().items():
        schemas.setdefault(name, schema)
    components.schemas = schemas
    holder = schemas[container.__name__]
    [wire_name] = [f.encode_name for f in msgspec.structs.fields(container) if f.name == field_name]
    prop = holder.properties.get(wire_name) if isinstance(holder, Schema) and holder.properties else None
    if not isinstance(prop, Schema) or prop.type != OpenAPIType.ARRAY:
        raise RuntimeError(f"{container.__name__}.{field_name} is not a documented list")
    prop.items = Reference(f"#/components/schemas/{item.__name__}")
    for name, value in limits.items():
        setattr(prop, name, value)


def require_operation_id(
    route_handler: HTTPRouteHandler, http_method: Method, path_components: list[str | PathParameterDefinition]
) -> str:
    """``OpenAPIConfig.operation_id_creator``: called only for a route without ``operation_id=``,
    which then stops the app at start-up instead of getting a name derived from its path."""
    path = "/".join(c if isinstance(c, str) else "{" + c.name + "}" for c in path_components)
    method = getattr(http_method, "value", http_method)
    raise RuntimeError(
        f"{method} /{path.lstrip('/')} ({route_handler.handler_name}) declares no operation_id=: generated "
        "clients name their functions after it, so every route names its operation (camelCase)"
    )


def check_operation_ids(app: Litestar) -> None:
    """Every operation's id is camelCase (litestar itself refuses a duplicate)."""
    for path, item in (app.openapi_schema.paths or {}).items():
        for method in ("get", "head", "post", "put", "patch", "delete"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            if not _CAMEL_CASE.fullmatch(operation.operation_id or ""):
                raise RuntimeError(f"{method.upper()} {path}: operation_id {operation.operation_id!r} is not camelCase")


def problem(description: str) -> ResponseSpec:
    """A problem+json answer a route documents itself, saying when it comes (the statuses every
    route of its kind can answer are added by :func:`document_problems`)."""
    return ResponseSpec(Problem, media_type=PROBLEM_JSON, description=description, generate_examples=False)


class Negotiated(Operation):
    """An operation whose answer follows the ``Accept`` header (:func:`also_served_as`): 406 when it
    admits none of its representations."""


def also_served_as(media_type: str, description: str, *, binary: bool = False) -> type[Operation]:
    """An ``operation_class`` whose documented 200 also comes as ``media_type`` (content negotiated
    with ``Accept``): a string (``binary``: a file), or, for a ``+json`` type, an object."""
    if media_type.endswith("+json"):
        schema = Schema(type=OpenAPIType.OBJECT, description=description)
    else:
        schema = Schema(
            type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY if binary else None, description=description
        )

    @dataclass
    class AlsoServed(Negotiated):
        def __post_init__(self) -> None:
            ok = (self.responses or {}).get("200")
            if not isinstance(ok, OpenAPIResponse) or ok.content is None:
                raise RuntimeError(f"the route declares its JSON 200 (responses=) for {media_type} to be added to")
            ok.content[media_type] = MediaType(schema=schema)

    return AlsoServed


# Links: how one operation's answer feeds the next (OpenAPI 3.1 "links"), so a generated client or a
# stateful fuzzer can go create -> read -> change -> remove on the same item. Derived from the paths
# themselves, so a capability added later is linked without a line here:
# - a collection's POST (201) and its list (GET 200) give an item's ``id`` to every operation under
#   ``{collection}/{id}`` (the list: its first item's);
# - a resource's GET (200) gives its ETag, as ``If-Match``, to the operations on the same path that
#   read one (a change or a removal needs the version it was read at).
_METHODS = ("get", "post", "put", "patch", "delete")


def _operations(item: Any) -> list[tuple[str, Operation]]:
    return [(m, op) for m in _METHODS if (op := getattr(item, m, None)) is not None]


def _reads_if_match(operation: Operation) -> bool:
    return any(
        isinstance(p, Parameter) and p.param_in == "header" and p.name.lower() == "if-match"
        for p in operation.parameters or []
    )


def _path_names(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)


def _link_parameters(target_path: str, given: dict[str, str]) -> dict[str, str]:
    """The target's path parameters: those the source gives, the others from the source's request
    (the same name in the same place: ``{space}``)."""
    return {name: given.get(name, f"$request.path.{name}") for name in _path_names(target_path)}


def _ok_response(operation: Operation, code: str) -> OpenAPIResponse | None:
    response = (operation.responses or {}).get(code)
    return response if isinstance(response, OpenAPIResponse) else None


def _item_id_pointer(app: Litestar, response: OpenAPIResponse) -> str | None:
    """Where an answer carries an item's id: ``/id``, or the first of its ``items``."""
    media = (response.content or {}).get("application/json")
    schema = media.schema if media is not None else None
    components = app.openapi_schema.components.schemas or {}
    while isinstance(schema, Reference):
        schema = components.get(schema.ref.split("/")[-1])
    if not isinstance(schema, Schema) or not schema.properties:
        return None
    if "id" in schema.properties:
        return "/id"
    items = schema.properties.get("items")
    if isinstance(items, Schema) and items.items is not None:
        return "/items/0/id"
    return None


_ETAG = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.STRING),
    description="The version of what the answer holds: send it back as If-Match to change or remove it",
)


def _item_links(paths: dict[str, Any], collection: str, pointer: str) -> dict[str, Any]:
    """From an answer naming an item of ``collection`` (at ``pointer``) to every operation on it."""
    links: dict[str, Any] = {}
    for target_path, target in paths.items():
        if not target_path.startswith(f"{collection}/{{id}}"):
            continue
        for target_method, target_operation in _operations(target):
            links[target_operation.operation_id or ""] = Link(
                operation_id=target_operation.operation_id,
                parameters=_link_parameters(target_path, {"id": f"$response.body#{pointer}"}),
                description=f"{target_method.upper()} the item this answer names",
            )
    return links


def _version_links(path: str, item: Any) -> dict[str, Any]:
    """From a read to the operations on the same path that need its version (``If-Match``)."""
    links: dict[str, Any] = {}
    for target_method, target_operation in _operations(item):
        if target_method == "get" or not _reads_if_match(target_operation):
            continue
        parameters: dict[str, str] = {**_link_parameters(path, {}), "header.If-Match": "$response.header.ETag"}
        links[target_operation.operation_id or ""] = Link(
            operation_id=target_operation.operation_id,
            parameters=parameters,
            description=f"{target_method.upper()} what was read, at the version read",
        )
    return links


def declare_links(app: Litestar) -> None:
    paths = app.openapi_schema.paths or {}
    for path, item in paths.items():
        versioned = any(_reads_if_match(operation) for _, operation in _operations(item))
        for method, operation in _operations(item):
            for code, answer in (operation.responses or {}).items():
                if versioned and code in ("200", "201") and isinstance(answer, OpenAPIResponse) and answer.content:
                    answer.headers = {**(answer.headers or {}), "ETag": _ETAG}
            response = _ok_response(operation, "201" if method == "post" else "200")
            if response is None or method not in ("get", "post"):
                continue
            links: dict[str, Any] = dict(response.links or {})
            pointer = _item_id_pointer(app, response) if not path.endswith("{id}") else None
            if pointer is not None:
                links.update(_item_links(paths, path, pointer))
            if method == "get":
                links.update(_version_links(path, item))
            if links:
                response.links = links


_REFERENCE = re.compile(r'"#/components/schemas/([^"]+)"')


def drop_head_twins(app: Litestar) -> None:
    """Leave out of the document the HEAD of each GET that answers one (:func:`ens.core.api.get_and_head`):
    the same operation without its body, which would double the operations a generated client
    names and a fuzzer calls. A route declared HEAD alone (a document's content) stays."""
    paths = app.openapi_schema.paths or {}
    for route in app.routes:
        item = paths.get(_openapi_path(route.path))
        for handler in getattr(route, "route_handlers", []):
            if item is not None and {"GET", "HEAD"} <= handler.http_methods:
                item.head = None


def drop_unreferenced_components(app: Litestar) -> None:
    """Remove the component schemas no operation reaches: a handler whose documented answer
    (``responses=``) differs from the type it returns (the change feed's raw rows) leaves its return
    type's schemas behind, which generated clients turn into classes nothing uses."""
    schema = app.openapi_schema
    components = schema.components.schemas or {}
    encoded = {name: msgspec.json.encode(component.to_schema()).decode() for name, component in components.items()}
    reached = set(_REFERENCE.findall(msgspec.json.encode(schema.to_schema().get("paths", {})).decode()))
    frontier = list(reached)
    while frontier:
        for name in _REFERENCE.findall(encoded.get(frontier.pop(), "")):
            if name not in reached:
                reached.add(name)
                frontier.append(name)
    schema.components.schemas = {name: component for name, component in components.items() if name in reached}


@dataclass
class FhirBundleBody(Operation):
    """The body of the routes that take a FHIR Bundle and read it themselves (``POST /fhir``, a
    space's import) as OpenAPI says it: litestar cannot derive it from a handler without ``data``.
    Each entry's resource is checked by the route against FHIR R4 and ENS's rules."""

    def __post_init__(self) -> None:
        bundle = Schema(
            type=OpenAPIType.OBJECT,
            required=["resourceType", "type", "entry"],
            properties={
                "resourceType": Schema(type=OpenAPIType.STRING, const="Bundle"),
                "type": Schema(type=OpenAPIType.STRING),
                "entry": Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.OBJECT)),
            },
        )
        self.request_body = RequestBody(
            required=True,
            # One media type: generated clients make a model per type of an inline schema.
            description="A FHIR R4 Bundle (application/fhir+json; application/json is taken too); any other "
            "type is 415.",
            content={FHIR_JSON: MediaType(schema=bundle)},
        )
