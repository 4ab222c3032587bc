"""Requests that name a space but that no route's door saw: their access-history row.

"Every request naming a space the caller may see adds exactly one row" (API.md). The space door
writes it for every request that reaches a route under ``/v1/spaces/{space}``. Some never reach
one: an address no route has (``/v1/spaces/me/nothing``), a method the address does not take
(405), an id that is no id (``/v1/spaces/me/vitals/not-a-uuid``, refused by litestar before any
hook of the route). litestar answers those before any route middleware runs, so the one place that
sees their answer is a ``before_send`` hook (:class:`StrayRequests`): when a failing answer leaves
for such an address and the door did not see the request, it identifies the caller (their token)
and lets :func:`ens.spaces.door.guards.record_stray_request` write the row — or, on a space they
may not see, the security log line — before the answer leaves.

Not written, as at the door: a request without a valid token (401: nobody to name) and one refused
for too many requests (429). A caller identified here is counted by the rate limiter too (the route
middleware that counts them never ran): past their limit, the answer becomes that 429, without a
row. When the row cannot be written (the database lost), the answer becomes the 503 (or 500) any
request gets then: no answer about a space leaves without its row.
"""

from __future__ import annotations

from typing import Any

from litestar.types import Scope

from ens.app.exception_handlers import unexpected_answer
from ens.auth.tokens import AccessTokens
from ens.core import problems
from ens.core.errors import RateLimited, Unauthorized
from ens.core.limits import RateLimiter, caller_keys
from ens.core.problems import PROBLEM_JSON, problem_body
from ens.core.security_headers import REQUEST_ID_KEY
from ens.spaces.caller import Caller
from ens.spaces.describe import RESOURCE_WORDS
from ens.spaces.door.guards import DOOR_KEY, record_stray_request
from ens.spaces.history import request_id_for

SPACES_PREFIX = "/v1/spaces/"
# No row, as at the door: no one to name (401), or a flood the limiter stopped (429).
_NOT_RECORDED = frozenset({401, 429})
# The answer that replaces the one whose row could not be written: (status, headers, body).
_REPLACEMENT_KEY = "ens.stray_replacement"


class StrayRequests:
    """A litestar ``before_send`` hook (it runs for every answer; for any but a failing answer to a
    request under ``/v1/spaces/`` that the door did not see, it returns at once)."""

    def __init__(self, tokens: AccessTokens, limiter: RateLimiter) -> None:
        self.tokens = tokens
        self.limiter = limiter

    async def __call__(self, message: Any, scope: Scope) -> None:
        state: dict[str, Any] = scope.setdefault("state", {})
        if message["type"] == "http.response.body":
            replacement = state.get(_REPLACEMENT_KEY)
            if replacement is not None:
                message["body"], state[_REPLACEMENT_KEY] = replacement[2], (0, [], b"")
            return
        if message["type"] != "http.response.start" or DOOR_KEY in state:
            return
        status = int(message["status"])
        path = str(scope.get("path", ""))
        if status < 400 or status in _NOT_RECORDED or not path.startswith(SPACES_PREFIX):
            return
        caller = scope.get("user")
        counted = isinstance(caller, Caller)  # the route's middlewares ran: the limiter counted it
        if not counted:
            caller = self._caller(scope)
            if caller is None:
                return
        if REQUEST_ID_KEY not in state:  # no route middleware gave it one
            state[REQUEST_ID_KEY] = request_id_for(scope)
        space_param, _, rest = path[len(SPACES_PREFIX) :].partition("/")
        method = str(scope.get("method", ""))
        try:
            if not counted and (keys := caller_keys(caller)) is not None:
                await self.limiter.check_keys(keys)
            await record_stray_request(
                caller,
                space_param=space_param,
                action=_action(method, path),
                resource_type=_resource(rest),
                status=status,
                request_id=str(state.get(REQUEST_ID_KEY, "")),
            )
        except RateLimited as exc:
            body = problem_body(problems.for_status(429), str(exc))
            _replace(message, state, (429, [(b"retry-after", str(exc.retry_after).encode())], body))
        except Exception as exc:
            _replace(message, state, unexpected_answer(scope, exc))

    def _caller(self, scope: Scope) -> Caller | None:
        """The caller the request's bearer token names, if it is a valid one (and the only one sent:
        two Authorization headers name no one, as at the door)."""
        sent = [value for key, value in scope.get("headers", []) if key == b"authorization"]
        if len(sent) != 1:
            return None
        scheme, _, token = sent[0].decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        try:
            return self.tokens.verify(token.strip())
        except Unauthorized:
            return None


def _action(method: str, path: str) -> str:
    """The row's action: the method and the address as a template, the space written ``{space}``
    as the door writes it, the resource's word if the address names one of the history's, and
    ``…`` for anything else. The address as written was kept before (an outside audit): an item's
    id in it reached the representatives, who read the row, though the item was hidden from them
    (the row names no item, which is what hides rows from them), and anyone who sees the space
    could write any text into its history (``/v1/spaces/{id}/Tension%20170``)."""
    _, slash, rest = path[len(SPACES_PREFIX) :].partition("/")
    if not slash:
        return f"{method} {SPACES_PREFIX}{{space}}"
    first, more, _ = rest.partition("/")
    if first not in RESOURCE_WORDS or first == "space":
        return f"{method} {SPACES_PREFIX}{{space}}/…"
    return f"{method} {SPACES_PREFIX}{{space}}/{first}" + ("/…" if more else "")


def _resource(rest: str) -> str:
    """The resource the address names, if it is one of the history's words, else the space."""
    first = rest.partition("/")[0]
    return first if first in RESOURCE_WORDS else "space"


Answer = tuple[int, list[tuple[bytes, bytes]], bytes]  # a status, the headers it adds, a problem body


def _replace(message: Any, state: dict[str, Any], answer: Answer) -> None:
    """Turn the answer about to start into another: its status and headers now, its body next."""
    status, headers, body = answer
    message["status"] = status
    message["headers"] = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        *[(name, value) for name, value in headers if name not in (b"content-type", b"content-length")],
    ]
    state[_REPLACEMENT_KEY] = answer
