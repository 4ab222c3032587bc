"""The one mapping of errors to answers: problem+json on /v1, an ``OperationOutcome`` on /fhir."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap, Receive, Scope, Send

from ens.app.doors import FHIR_PREFIX
from ens.auth.login import pages
from ens.auth.routes.login_pages import html
from ens.auth.routes.oauth import oauth_error_response
from ens.core import errors, problems
from ens.core.api import NUL_IN_ADDRESS, field_error, with_choices
from ens.core.fhir import FHIR_JSON, fhir_location, operation_outcome
from ens.core.problems import PROBLEM_JSON, ProblemError, ProblemType, problem_body
from ens.core.security_headers import REQUEST_ID_KEY
from ens.documents.storage import store_failure

log = logging.getLogger("ens")

# A store that failed (a disk to free, a service to come back) is not mended within seconds.
STORE_RETRY_AFTER_S = 60


def problem_response(
    problem: ProblemType,
    detail: str,
    *,
    errors_: Sequence[ProblemError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[bytes]:
    return Response(
        problem_body(problem, detail, errors=errors_),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def error_response(
    request: Request[Any, Any, Any],
    problem: ProblemType,
    detail: str,
    *,
    errors_: Sequence[ProblemError] | None = None,
    headers: dict[str, str] | None = None,
    not_supported: bool = False,
) -> Response[Any]:
    """problem+json on /v1; on the FHIR routes, the same error as an ``OperationOutcome`` (each
    located error an issue, its pointer a FHIRPath expression there); on the token and revocation
    endpoints RFC 6749 JSON, and on the login's pages a page (a flood stopped, a wrong method)."""
    path = request.scope.get("path", "")
    if path in _OAUTH_JSON_PATHS:
        return oauth_error_response(
            "temporarily_unavailable" if problem.status == 429 else "invalid_request",
            detail,
            status=problem.status,
            headers=headers,
        )
    if path.startswith(_BROWSER_PREFIXES) and path != "/oauth/rp-jwks":
        return _page(problem.status, headers)
    if not path.startswith(FHIR_PREFIX):
        return problem_response(problem, detail, errors_=errors_, headers=headers)
    located = [(fhir_location(e.pointer), e.detail) for e in errors_ or []]
    return Response(
        operation_outcome(problem.status, detail, located=located, not_supported=not_supported),
        status_code=problem.status,
        media_type=FHIR_JSON,
        headers=headers,
    )


def _bearer_challenge(request: Request[Any, Any, Any]) -> str:
    """RFC 6750 §3: a request that sent a token it cannot use (expired, revoked, not ours) is told
    ``invalid_token``, so that a client refreshes rather than asks the person to log in; one that
    sent none gets the challenge alone (§3.1: no error code then)."""
    sent = request.headers.get("authorization", "")
    if sent[:7].lower() == "bearer ":
        return 'Bearer realm="ens", error="invalid_token"'
    return 'Bearer realm="ens"'


def _domain_error(request: Request[Any, Any, Any], exc: errors.DomainError) -> Response[bytes]:
    if exc.kind == "internal":
        return _unexpected(request, exc)
    problem = problems.of_error(exc)
    headers = {}
    if problem.status == 401:
        headers["WWW-Authenticate"] = _bearer_challenge(request)
    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, errors.RangeNotSatisfiable):
        headers["Content-Range"] = f"bytes */{exc.size}"
    if isinstance(exc, errors.UnsupportedContentCoding):
        headers["Accept-Encoding"] = "identity"
    return error_response(
        request,
        problem,
        exc.detail,
        errors_=[ProblemError(pointer=e.pointer, detail=e.detail) for e in exc.errors],
        headers=headers,
        not_supported=isinstance(exc, errors.NotSupported),
    )


# The OAuth endpoints an app calls, which answer RFC 6749 JSON, and the paths of the pages a
# browser shows during the login (the OAuth ones beside them: authorize, callbacks, logout).
_OAUTH_JSON_PATHS = frozenset({"/oauth/token", "/oauth/revoke"})
_BROWSER_PREFIXES = ("/oauth/", "/login/")


def _page(status: int, headers: dict[str, str] | None) -> Response[Any]:
    """A login page's refusal that its own handlers did not make, in the person's language."""
    if status == 429:
        wait = (headers or {}).get("Retry-After", "60")
        title, text = "Trop de tentatives", f"Trop de demandes depuis cette connexion. Réessayez dans {wait} secondes."
    else:
        title, text = (
            "Connexion impossible",
            "Cette page ne peut pas être affichée ainsi. Reprenez depuis l'application.",
        )
    page = html(pages.error_page(title, text), status)
    page.headers.update(headers or {})
    return page


def _validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    """Litestar's body/parameter validation, every problem located by a JSON Pointer.

    A body that is well-formed JSON but breaks the schema is 422; a missing body or a bad query or
    path parameter is 400.
    """
    extra = exc.extra if isinstance(exc.extra, list) else []
    found: list[ProblemError] = []
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
                found.append(ProblemError(pointer="", detail="A JSON body is required."))
                continue
            body_invalid = True
            pointer, message = field_error(message, "$" if key == "data" else "$." + key, within=_body_type(request))
        else:
            pointer = "/" + _parameter_name(request, key) if key else ""
            parameter = request.route_handler.parsed_fn_signature.parameters.get(key)
            if parameter is not None:
                message = with_choices(message, parameter.annotation, "")
        found.append(ProblemError(pointer=pointer, detail=message))
    problem = problems.for_status(422 if body_invalid else 400)
    return error_response(request, problem, _first(found) or "The request is invalid.", errors_=found)


def _body_type(request: Request[Any, Any, Any]) -> Any:
    """The type the handler decodes its JSON body to (``data``), if any."""
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    return data.annotation if data is not None else None


def _parameter_name(request: Request[Any, Any, Any], key: str) -> str:
    """The name a client sends a parameter under: litestar reports the handler's argument
    (``type_``, ``glucose_moment``), which names nothing the client sees (``type``,
    ``glucoseMoment``)."""
    parameter = request.route_handler.parsed_fn_signature.parameters.get(key)
    named = getattr(parameter.kwarg_definition, "name", None) if parameter is not None else None
    return named if isinstance(named, str) and named else key


def _first(found: Sequence[ProblemError]) -> str:
    return f"{found[0].pointer or '/'}: {found[0].detail}" if found else ""


# What litestar raises (a 500) when the client goes away before the body ends.
_CLIENT_GONE = "client disconnected prematurely"


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    if status >= 500 and exc.detail == _CLIENT_GONE:
        # A phone that lost its network mid-request: the request's end, not a fault of the service
        # (it was logged as an error with its traceback, and the history said 500). Nobody reads
        # this answer; the history says the request was cut short.
        request_id = request.scope.get("state", {}).get(REQUEST_ID_KEY, "")
        log.info("client gone before the body ended", extra={"request_id": request_id})
        return error_response(request, problems.for_status(400), "The connection closed before the body ended.")
    if status >= 500:
        return _unexpected(request, exc)
    if status in (404, 405) and "\x00" in request.scope["path"]:
        # A path no route matches is refused before EdgeMiddleware could see it.
        return error_response(request, problems.for_status(400), NUL_IN_ADDRESS)
    problem = problems.for_status(status)
    detail = exc.detail if exc.detail and exc.detail != str(status) else problem.title
    if status == 413 and detail == _LITESTAR_TOO_LARGE:
        detail = _too_large(request)
    headers = dict(exc.headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = _bearer_challenge(request)
    return error_response(request, problem, detail, headers=headers)


# What litestar says of a body past the route's limit (request_max_body_size): nothing of the limit.
_LITESTAR_TOO_LARGE = "Request Entity Too Large"


def _too_large(request: Request[Any, Any, Any]) -> str:
    """The limit said as a request with an ``Idempotency-Key`` hears it (ens.core.idempotency): the
    same body without a key was told only "Request Entity Too Large" (an outside audit)."""
    try:
        limit = request.route_handler.resolve_request_max_body_size()
    except (KeyError, AttributeError):  # no route resolved: the limit cannot be named, the refusal stands
        return _LITESTAR_TOO_LARGE
    return f"The body must not exceed {limit} bytes." if limit else _LITESTAR_TOO_LARGE


def _too_deep(request: Request[Any, Any, Any], exc: RecursionError) -> Response[bytes]:
    # Raised by the JSON decoder on a body of thousands of nested arrays or objects; the service's
    # own code never recurses that deep, so this is the request's fault (logged all the same).
    log.warning("request refused: nesting too deep", extra={"path": request.scope.get("path_template")})
    return error_response(request, problems.for_status(400), "The body nests arrays or objects too deeply to be read.")


def _not_utf8(request: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[bytes]:
    # A body (JSON or form) whose bytes are not UTF-8: the decoder's error, the request's fault.
    return error_response(request, problems.for_status(400), "The body is not valid UTF-8 text.")


def _chain(exc: BaseException, *, implicit: bool = True) -> list[BaseException]:
    """The error and those it came from (``raise ... from``, and with ``implicit`` those raised while
    handling another), each once: a chain can loop (``raise a from b`` inside a handler of ``a``)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not earlier for earlier in seen):
        seen.append(current)
        current = current.__cause__ or (current.__context__ if implicit else None)
    return seen


def _database_busy(exc: BaseException) -> bool:
    """SQLite's writers take turns; one that waited its whole busy timeout gets "database is locked"
    (a burst of writers on a small machine). It is the moment's load, not a fault: 503, retry."""
    return any(isinstance(e, sqlite3.OperationalError) and "database is locked" in str(e) for e in _chain(exc))


# PostgreSQL's states for "not reachable now": the connection failed, was refused or is gone
# (08000, 08001, 08003, 08004, 08006; not 08P01, a protocol violation: a fault), the server is
# shutting down, crashed or starting (57P01-57P03), or has no connection slot left (53300).
_UNREACHABLE_STATES = frozenset({"08000", "08001", "08003", "08004", "08006", "57P01", "57P02", "57P03", "53300"})


def _database_unreachable(exc: BaseException) -> bool:
    """The connection to PostgreSQL failed or was lost (a restart, a failover, a cut connection):
    nothing the request did, a phone should retry. Only the error itself and what it was raised
    from count: an unrelated error raised while handling a lost connection stays a fault (500)."""
    for error in _chain(exc, implicit=False):
        if getattr(error, "sqlstate", None) in _UNREACHABLE_STATES:
            return True
        if isinstance(error, ConnectionError):  # refused, reset, broken pipe: a new connection failed
            return True
        if type(error).__name__ == "InterfaceError" and "connection is closed" in str(error):  # asyncpg's
            return True
        if type(error).__name__ == "InternalClientError" and _CONSUMING_AN_ERROR in str(error):
            return True
    return False


# asyncpg's protocol in its state 2 (``PROTOCOL_ERROR_CONSUME``): it received an error it was not
# waiting for, and discards what follows. An idle connection receives one when the server ends it
# (the FATAL sent before it closes the socket); taken from the pool between that message and the
# end of the socket, its next statement fails so (seen while PostgreSQL's connections were killed
# under load; asyncpg issues #784 and #1069).
_CONSUMING_AN_ERROR = "another operation (2) is in progress"


def _transactions_collided(exc: BaseException) -> bool:
    """PostgreSQL ended this request's transaction to let another through: a deadlock (40P01) or a
    serialization failure (40001). Nothing of it was kept, and the same request sent again passes:
    503, retry. Each is still logged with its traceback: a deadlock that recurs is a lock order to
    mend (three were found and mended on 2026-12-06; this answers the next one honestly)."""
    return any(getattr(error, "sqlstate", None) in ("40P01", "40001") for error in _chain(exc, implicit=False))


def _space_erased(exc: BaseException) -> bool:
    """A write met its space's erasure: the erasure holds the space's row (``erase_space``), the
    write's foreign key to it waited, then found the space gone (PostgreSQL names the table)."""
    return any(
        getattr(error, "sqlstate", None) == "23503"
        and 'is not present in table "spaces"' in str(getattr(error, "detail", ""))
        for error in _chain(exc, implicit=False)
    )


def _retry_later(
    request: Request[Any, Any, Any], exc: Exception, level: int, event: str, detail: str, *, seconds: int
) -> Response[bytes]:
    """503 with ``Retry-After``: nothing the request did, the moment's; logged with its traceback."""
    request_id = request.scope.get("state", {}).get(REQUEST_ID_KEY, "")
    log.log(level, event, exc_info=exc, extra={"request_id": request_id, "path": request.scope.get("path_template")})
    return error_response(request, problems.for_status(503), detail, headers={"Retry-After": str(seconds)})


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    request_id = request.scope.get("state", {}).get(REQUEST_ID_KEY, "")
    if _space_erased(exc):
        log.info("write after its space's erasure", extra={"request_id": request_id})
        return error_response(request, problems.for_status(404), errors.ERASED_MEANWHILE)
    if _database_unreachable(exc):
        # With its traceback: a pool that ran out of connections may be a leak.
        return _retry_later(
            request,
            exc,
            logging.ERROR,
            "database unreachable",
            f"The service cannot reach its database at the moment; try again shortly (request {request_id}).",
            seconds=5,
        )
    if _transactions_collided(exc):
        return _retry_later(
            request,
            exc,
            logging.WARNING,
            "transaction ended by the database to let another through",
            f"Another change to the same data ran at the same moment; send the request again (request {request_id}).",
            seconds=1,
        )
    if _database_busy(exc):
        log.warning("database busy", extra={"request_id": request_id, "path": request.scope.get("path_template")})
        return problem_response(
            problems.for_status(503),
            f"The database is busy; try again in a moment (request {request_id}).",
            headers={"Retry-After": "2"},
        )
    if (failure := store_failure(exc)) is not None:
        # A full or read-only disk, S3 out of reach: the operator's to mend, logged as what it is
        # (it was an "unhandled error" answered 500: an outside audit). Nothing of an upload is kept.
        log.error(
            "document store failed",
            exc_info=exc,
            extra={"request_id": request_id, "path": request.scope.get("path_template"), "failure": failure},
        )
        return error_response(
            request,
            problems.for_status(503),
            f"The service cannot store or read documents' files at the moment; try again later (request {request_id}).",
            headers={"Retry-After": str(STORE_RETRY_AFTER_S)},
        )
    log.error(
        "unhandled error", exc_info=exc, extra={"request_id": request_id, "path": request.scope.get("path_template")}
    )
    return error_response(request, problems.for_status(500), f"Something went wrong (request {request_id}).")


async def answer_unexpected(scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
    """What :func:`_unexpected` answers, sent from outside litestar's own handling: for an error
    raised once the answer had started from litestar's view (the access-history row's write)."""
    request: Request[Any, Any, Any] = Request(scope, receive)
    await _unexpected(request, exc).to_asgi_response(None, request)(scope, receive, send)


def exception_handlers() -> ExceptionHandlersMap:
    """A new mapping for each app (litestar adds its own handlers to the one it is given)."""
    return {
        errors.DomainError: _domain_error,
        ValidationException: _validation_error,
        HTTPException: _http_error,
        RecursionError: _too_deep,
        UnicodeDecodeError: _not_utf8,
        Exception: _unexpected,
    }


def unexpected_answer(scope: Scope, exc: Exception) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """What :func:`_unexpected` answers (logged the same way), as a status, the headers it adds and
    a body: for a ``before_send`` hook that has to turn the answer about to leave into that one."""
    response = _unexpected(Request(scope), exc)
    headers = [
        (name.lower().encode("latin-1"), f"{value}".encode("latin-1")) for name, value in response.headers.items()
    ]
    body = response.content if isinstance(response.content, bytes) else b""
    return response.status_code or 500, headers, body
