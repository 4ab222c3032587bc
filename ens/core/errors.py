"""Domain errors raised by services. No HTTP here: ``ens.app`` maps them to problem+json."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    """One broken rule, located by a JSON Pointer into the request."""

    pointer: str
    detail: str


@dataclass
class DomainError(Exception):
    detail: str = ""
    errors: list[FieldError] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.detail)


class Invalid(DomainError):
    """The request is well-formed but breaks a rule (422)."""


class BadRequest(DomainError):
    """The request cannot be understood (400): a forged cursor, a bad query parameter."""


class Unauthorized(DomainError):
    """No valid credentials (401)."""


class GrantRevoked(Unauthorized):
    """The session or app grant behind a token has been revoked (401)."""


class Forbidden(DomainError):
    """The caller may see the resource but not do this (403)."""


class NotFound(DomainError):
    """Nothing there, or nothing the caller may see (404)."""


class Conflict(DomainError):
    """The request conflicts with the current state (409)."""


class PreconditionFailed(DomainError):
    """If-Match did not match (412)."""


class Gone(DomainError):
    """The resource existed and is no longer served (410): a closed space, an expired cursor."""


class RateLimited(DomainError):
    """Too many attempts (429)."""

    retry_after: int = 60

    def __init__(self, detail: str = "", retry_after: int = 60) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class PayloadTooLarge(DomainError):
    """The body is larger than the service accepts (413)."""
