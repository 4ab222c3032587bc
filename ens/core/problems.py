"""RFC 9457 problem details: the one table of problem types, and the bodies built from it.

Each domain error names its problem type (``ens.core.errors``); this table gives each type its
HTTP status and title. A capability with a problem of its own registers it here, where it raises
it (``register``). Litestar's own HTTP errors are mapped by status (``for_status``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus

import msgspec

from ens.core.errors import DomainError

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "urn:ens:problem:"


@dataclass(frozen=True)
class ProblemType:
    """``kind`` is what a domain error names; ``name`` the URN suffix clients branch on."""

    kind: str
    name: str
    status: int
    title: str

    @property
    def uri(self) -> str:
        return PROBLEM_BASE + self.name


class ProblemError(msgspec.Struct, kw_only=True):
    pointer: str
    detail: str


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str = ""
    instance: str | None = None
    errors: list[ProblemError] | None = None


_BY_KIND: dict[str, ProblemType] = {}
_BY_STATUS: dict[int, ProblemType] = {}


def register(problem: ProblemType, *, default_for_status: bool = False) -> ProblemType:
    """Add a problem type; ``default_for_status`` makes it the one a bare HTTP status maps to."""
    known = _BY_KIND.get(problem.kind)
    if known is not None and known != problem:
        raise ValueError(f"problem kind {problem.kind!r} is declared twice")
    _BY_KIND[problem.kind] = problem
    if default_for_status:
        _BY_STATUS[problem.status] = problem
    return problem


# The types the API contract names (API.md, Conventions), and the types of bare HTTP statuses.
for _problem in (
    ProblemType("bad-request", "validation", 400, "Bad request"),
    ProblemType("unauthorized", "unauthorized", 401, "Unauthorized"),
    ProblemType("forbidden", "forbidden", 403, "Forbidden"),
    ProblemType("not-found", "not-found", 404, "Not found"),
    ProblemType("method-not-allowed", "method-not-allowed", 405, "Method not allowed"),
    ProblemType("not-acceptable", "not-acceptable", 406, "Not acceptable"),
    ProblemType("conflict", "conflict", 409, "Conflict"),
    ProblemType("gone", "gone", 410, "Gone"),
    ProblemType("precondition-failed", "precondition-failed", 412, "Precondition failed"),
    ProblemType("payload-too-large", "payload-too-large", 413, "Payload too large"),
    ProblemType("unsupported-media-type", "unsupported-media-type", 415, "Unsupported media type"),
    ProblemType("range-not-satisfiable", "range-not-satisfiable", 416, "Range not satisfiable"),
    ProblemType("invalid", "validation", 422, "Invalid request"),
    ProblemType("precondition-required", "precondition-required", 428, "Precondition required"),
    ProblemType("rate-limited", "rate-limited", 429, "Too many requests"),
    ProblemType("internal", "internal", 500, "Internal error"),
    ProblemType("unavailable", "unavailable", 503, "Service unavailable"),
):
    register(_problem, default_for_status=True)
register(ProblemType("grant-revoked", "grant-revoked", 401, "Authorization revoked"))


def known_uris() -> list[str]:
    """Every problem type the API answers (a bare status's is one of them: validation, internal)."""
    return sorted({problem.uri for problem in _BY_KIND.values()})


def of_error(error: DomainError) -> ProblemType:
    """The problem type a domain error names."""
    return _BY_KIND[error.kind]


def for_status(status: int) -> ProblemType:
    """The problem type of a bare HTTP status (litestar's own errors)."""
    known = _BY_STATUS.get(status)
    if known is not None:
        return known
    return ProblemType(str(status), "validation" if status < 500 else "internal", status, HTTPStatus(status).phrase)


def problem_body(
    problem: ProblemType, detail: str, *, errors: Sequence[ProblemError] | None = None, status: int | None = None
) -> bytes:
    """The JSON body of a problem."""
    return msgspec.json.encode(
        Problem(
            type=problem.uri,
            title=problem.title,
            status=status or problem.status,
            detail=detail,
            errors=list(errors or []) or None,
        )
    )
