"""The registry of OAuth scopes an app can be granted: each capability declares its own.

A capability lists its scopes (name, the capability it opens, read or write, the French words the
consent page shows) in its own ``scopes.py``; ``ens.app`` registers them here at start-up. Nothing
in ``core`` knows any capability's scope names: the consent page, the app registration and the
space door all ask this registry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Mode = Literal["read", "write"]


@dataclass(frozen=True)
class Scope:
    """One permission an app can hold on one space."""

    name: str
    capability: str
    mode: Mode
    wording: str


class ScopeRegistry:
    """Every app scope the product knows, by name."""

    def __init__(self) -> None:
        self._by_name: dict[str, Scope] = {}

    def register(self, scopes: Iterable[Scope]) -> None:
        """Add a capability's scopes; registering the same definition again changes nothing."""
        for scope in scopes:
            known = self._by_name.get(scope.name)
            if known is not None and known != scope:
                raise ValueError(f"scope {scope.name!r} is declared twice with different meanings")
            self._by_name[scope.name] = scope

    def get(self, name: str) -> Scope | None:
        return self._by_name.get(name)

    def is_app_scope(self, name: str) -> bool:
        return name in self._by_name

    def names(self) -> list[str]:
        return list(self._by_name)

    def describe(self, name: str) -> str:
        """The permission in plain French, as the consent page and the grants list say it."""
        scope = self._by_name.get(name)
        return scope.wording if scope else name

    def opens(self, granted: Iterable[str], capability: str, *, mode: Mode) -> bool:
        """Whether some granted scope opens ``capability`` for ``mode`` (the door's check)."""
        for name in granted:
            scope = self._by_name.get(name)
            if scope is not None and scope.capability == capability and scope.mode == mode:
                return True
        return False


# The process's registry, filled by ``ens.app`` from every capability's declaration.
SCOPES = ScopeRegistry()
