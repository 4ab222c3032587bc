"""Failures of the login and of the OAuth endpoints. No HTTP here: ``ens.auth.routes`` renders them.

The browser pages show a :class:`LoginFailed` as an HTML page in French; the token and revocation
endpoints answer an :class:`OAuthError` as RFC 6749 JSON (``{"error", "error_description"}``),
which is what OAuth clients expect there, rather than the problem+json of ``/v1``.
"""

from __future__ import annotations

import re
import unicodedata

from ens.core.errors import DomainError

# RFC 6749 §5.2 (and §4.1.2.1): error_description holds %x20-21 / %x23-5B / %x5D-7E only.
_OUTSIDE_DESCRIPTION = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def error_description(text: str) -> str:
    """``text`` in the characters RFC 6749 allows an ``error_description``: accents dropped
    (``é`` as ``e``), quotes as apostrophes, anything else outside the set as a space."""
    ascii_text = unicodedata.normalize("NFKD", text.replace("§", "section ")).encode("ascii", "ignore").decode()
    return _OUTSIDE_DESCRIPTION.sub(lambda m: "'" if m.group() == '"' else " ", ascii_text)


class LoginFailed(DomainError):
    """The login cannot go on; ``detail`` is shown to the person (French), ``status`` is the HTTP status."""

    status: int = 400
    title: str = "Connexion impossible"

    def __init__(self, detail: str, status: int = 400, title: str = "Connexion impossible") -> None:
        super().__init__(detail)
        self.status = status
        self.title = title


class CodeRefused(DomainError):
    """A one-time code was refused; the page is shown again with this message (French).
    ``locked_now``: this wrong code locked the person's codes (the caller tells them by e-mail)."""

    locked_now: bool = False


class TriesSpent(CodeRefused):
    """The way in (a login attempt, a session) has tried all the codes it may: it takes no more.

    ``detail`` says why this try failed (empty when the budget was spent before it); the caller adds
    what the person can do, which depends on the way in.
    """


class OAuthError(DomainError):
    """An RFC 6749 error: ``error`` is the standard code, ``detail`` its description."""

    error: str = "invalid_request"
    status: int = 400

    def __init__(self, error: str, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.error = error
        self.status = status


class UpstreamRefused(DomainError):
    """The upstream provider's answer failed a check (signature, iss, aud, exp, nonce, acr...)."""
