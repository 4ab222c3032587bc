"""The headers every answer carries (issue 16, point 6), added in one place.

- ``Cache-Control: no-store`` on every answer to a request that carried credentials (a bearer
  token or a cookie) unless the handler chose otherwise: no shared or disk cache keeps health data.
  An app's own cache still revalidates its copy: the ``ETag`` stays, and ``If-None-Match`` still
  answers 304.
- ``Strict-Transport-Security`` when the service is served over HTTPS (``ENS_PUBLIC_URL``).
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``, and for answers that are
  not HTML pages (the login pages and the development provider's set their own policy),
  ``Content-Security-Policy: default-src 'none'; frame-ancestors 'none'``: a JSON answer opened in
  a browser runs nothing and is never framed.
- No ``Server`` banner (uvicorn's is off; litestar adds none).
- ``X-Request-Id`` on every answer: the access history's middleware gives each request its id and
  adds it to the answers that pass it; an answer made outside it (a refused token's 401, a NUL in
  the address, an address matching no route) is given it here (one of its own when it has none).

Added by a ``before_send`` hook: it only appends to the header list of ``http.response.start``.
"""

from __future__ import annotations

import secrets
from typing import Any

HSTS_SECONDS = 2 * 365 * 24 * 3600

# Where a request's id is kept in its scope's state (``ens.spaces.history`` gives it).
REQUEST_ID_KEY = "ens.request_id"

_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
_API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_NO_STORE = (b"cache-control", b"no-store")


class SecurityHeaders:
    """A litestar ``before_send`` hook: it sees every answer, those made from an exception raised
    before any route (a refused token) included, which a middleware would not."""

    def __init__(self, *, https: bool) -> None:
        self.always = list(_ALWAYS)
        if https:
            self.always.append((b"strict-transport-security", f"max-age={HSTS_SECONDS}; includeSubDomains".encode()))

    async def __call__(self, message: Any, scope: Any) -> None:
        if message["type"] != "http.response.start":
            return
        # One pass over the answer's headers (this runs for every answer).
        headers = message.get("headers", [])
        has_policy = has_cache_control = html = has_server = has_request_id = False
        for key, value in headers:
            name = key.lower()
            if name == b"x-request-id":
                has_request_id = True
            elif name == b"content-type":
                html = html or value.startswith(b"text/html")
            elif name == b"cache-control":
                has_cache_control = True
            elif name == b"content-security-policy":
                has_policy = True
            elif name == b"server":
                has_server = True
        kept = [(key, value) for key, value in headers if key.lower() != b"server"] if has_server else list(headers)
        kept += self.always
        if not has_policy and not html:
            kept.append(_API_CSP)
        if not has_cache_control and any(key in (b"authorization", b"cookie") for key, _ in scope["headers"]):
            kept.append(_NO_STORE)
        if not has_request_id:
            # An answer no middleware of a route gave its id (a refusal raised before the route, an
            # address matching none): the request's id if it has one, else one of its own.
            state = scope.setdefault("state", {})
            request_id = state.get(REQUEST_ID_KEY) or state.setdefault(REQUEST_ID_KEY, secrets.token_hex(16))
            kept.append((b"x-request-id", str(request_id).encode()))
        message["headers"] = kept
