"""``OPTIONS`` names in ``Allow`` every method its path takes.

Litestar makes one route per path and router, and when a second router adds methods to a path the
first one served, the OPTIONS handler it keeps is the first route's, which names that route's
methods only: ``OPTIONS /v1/spaces/me/vitals`` said ``GET, HEAD, OPTIONS``, without the POST a 405
on the same path named (an outside audit). The answer's ``Allow`` is set here from every route of
its path template, gathered once.
"""

from __future__ import annotations

from typing import Any

from litestar.routes import HTTPRoute


class AllowWhatThePathTakes:
    """A litestar ``before_send`` hook (it sees the answer of litestar's own OPTIONS handler)."""

    def __init__(self) -> None:
        self._allow: dict[str, bytes] | None = None

    async def __call__(self, message: Any, scope: Any) -> None:
        if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
            return
        if self._allow is None:
            self._allow = _allow_by_template(scope["litestar_app"].routes)
        allow = self._allow.get(scope.get("path_template", ""))
        if allow is not None:
            headers = [(key, value) for key, value in message.get("headers", []) if key.lower() != b"allow"]
            message["headers"] = [*headers, (b"allow", allow)]


def _allow_by_template(routes: list[Any]) -> dict[str, bytes]:
    methods: dict[str, set[str]] = {}
    for route in routes:
        if isinstance(route, HTTPRoute):
            methods.setdefault(route.path_format, set()).update(route.methods)
    return {template: ", ".join(sorted(names)).encode() for template, names in methods.items()}
