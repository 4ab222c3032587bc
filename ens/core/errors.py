"""Domain errors raised by services. No HTTP here: each names its problem ``kind``, which
``ens.core.problems`` maps to a status and a problem type, once, for the whole API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True)
class FieldError:
    """One broken rule, located by a JSON Pointer into the request."""

    pointer: str
    detail: str


@dataclass
class DomainError(Exception):
    kind: ClassVar[str] = "internal"
    detail: str = ""
    errors: list[FieldError] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.detail)


class Invalid(DomainError):
    """The request is well-formed but breaks a rule (422)."""

    kind = "invalid"


class BadRequest(DomainError):
    """The request cannot be understood (400): a forged cursor, a bad query parameter."""

    kind = "bad-request"


class Unauthorized(DomainError):
    """No valid credentials (401)."""

    kind = "unauthorized"


class GrantRevoked(Unauthorized):
    """The session or app grant behind a token has been revoked (401)."""

    kind = "grant-revoked"


class Forbidden(DomainError):
    """The caller may see the resource but not do this (403)."""

    kind = "forbidden"


class NotFound(DomainError):
    """Nothing there, or nothing the caller may see (404)."""

    kind = "not-found"


# A write that met its space's erasure (both engines say it alike).
ERASED_MEANWHILE = "This space was erased while the request was under way."


class Conflict(DomainError):
    """The request conflicts with the current state (409)."""

    kind = "conflict"


class PreconditionFailed(DomainError):
    """If-Match did not match (412)."""

    kind = "precondition-failed"


class Gone(DomainError):
    """The resource existed and is no longer served (410): a closed space, an expired cursor."""

    kind = "gone"


class RateLimited(DomainError):
    """Too many attempts (429)."""

    kind = "rate-limited"

    retry_after: int = 60

    def __init__(self, detail: str = "", retry_after: int = 60) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class PayloadTooLarge(DomainError):
    """The body is larger than the service accepts (413)."""

    kind = "payload-too-large"


class NotAcceptable(DomainError):
    """No representation the route gives is one the client accepts (406): XML asked of /fhir."""

    kind = "not-acceptable"


class UnsupportedMediaType(DomainError):
    """The body, or a file in it, is of a type the route does not take (415)."""

    kind = "unsupported-media-type"


class UnsupportedContentCoding(UnsupportedMediaType):
    """A body sent compressed (``Content-Encoding``): 415, the answer saying ``Accept-Encoding:
    identity`` (RFC 9110 §15.5.16)."""


class RangeNotSatisfiable(DomainError):
    """No byte of the requested range exists (416); ``size`` is the representation's."""

    kind = "range-not-satisfiable"

    size: int = 0

    def __init__(self, detail: str = "", size: int = 0) -> None:
        super().__init__(detail)
        self.size = size


class PreconditionRequired(DomainError):
    """A conditional request was required (``If-Match``) and none was sent (428)."""

    kind = "precondition-required"


class Unavailable(DomainError):
    """A service the request needs does not answer (503): the database, for the readiness probe."""

    kind = "unavailable"


class NotSupported(Invalid):
    """Well-formed, but something ENS does not take (a FHIR profile it does not keep): 422, and
    FHIR's issue code ``not-supported``."""
