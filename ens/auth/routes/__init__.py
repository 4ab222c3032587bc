"""What ``ens.app`` mounts for the login, the OAuth server, the account and the apps.

One routes module per concern: :mod:`~ens.auth.routes.oauth` (the authorization server),
:mod:`~ens.auth.routes.login_pages` (the login's HTML pages), :mod:`~ens.auth.routes.account`
(``/v1/me``), :mod:`~ens.auth.routes.apps` (catalogue and grants). Each public route says so where
it is declared (``opt=PUBLIC``).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from litestar import Router
from litestar.di import Provide
from litestar.types import ControllerRouterHandler

from ens.auth.dev.provider import DevIdentityProvider, DevProIdentityProvider, DevProvider
from ens.auth.errors import LoginFailed, OAuthError
from ens.auth.login import LoginContext
from ens.auth.routes.account import AccountController
from ens.auth.routes.apps import AppCatalogueController, SpaceGrantsController
from ens.auth.routes.login_pages import LoginController, login_cookie, login_failed
from ens.auth.routes.oauth import OAuthController, oauth_error, relying_party_key_routes
from ens.auth.upstream import ProviderConfig, Upstream
from ens.core.mail import Mailer
from ens.core.settings import Settings


@dataclass
class AuthWiring:
    """What ``ens.app.create_app`` mounts for the login. ``upstream_transport`` is for tests."""

    settings: Settings
    upstream_transport: httpx.AsyncBaseTransport | None = None

    # The professionals' provider, when it is another server than the people's (tests).
    pro_upstream_transport: httpx.AsyncBaseTransport | None = None

    def __post_init__(self) -> None:
        pro = ProviderConfig.professionals(self.settings)
        self.context = LoginContext(
            settings=self.settings,
            upstream=Upstream(self.settings, self.upstream_transport),
            mailer=Mailer(self.settings),
            pro_upstream=None
            if pro is None
            else Upstream(self.settings, self.pro_upstream_transport or self.upstream_transport, provider=pro),
        )

    @property
    def dependencies(self) -> dict[str, Provide]:
        context = self.context
        return {
            "login_ctx": Provide(lambda: context, sync_to_thread=False),
            "cookie": Provide(login_cookie, sync_to_thread=False),
        }

    @property
    def routes(self) -> list[ControllerRouterHandler]:
        """The OAuth endpoints, the login pages, the catalogue (and the dev provider): all public."""
        handlers: list[ControllerRouterHandler] = [
            Router(
                path="/",
                route_handlers=[OAuthController, LoginController, *relying_party_key_routes(self.settings)],
                exception_handlers={LoginFailed: login_failed, OAuthError: oauth_error},
            ),
            AppCatalogueController,
        ]
        if self.settings.uses_dev_idp:
            provider = DevProvider(self.settings)
            handlers.append(
                Router(
                    path="/",
                    route_handlers=[DevIdentityProvider],
                    dependencies={"dev_provider": Provide(lambda: provider, sync_to_thread=False)},
                )
            )
        if self.settings.uses_dev_pro_idp:
            pro_provider = DevProvider(self.settings, professionals=True)
            handlers.append(
                Router(
                    path="/",
                    route_handlers=[DevProIdentityProvider],
                    dependencies={"dev_provider": Provide(lambda: pro_provider, sync_to_thread=False)},
                )
            )
        return handlers

    @property
    def account_routes(self) -> list[ControllerRouterHandler]:
        """Behind the account door."""
        return [AccountController]

    @staticmethod
    def space_routes() -> list[ControllerRouterHandler]:
        """Behind the space door."""
        return [SpaceGrantsController]
