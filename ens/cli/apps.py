"""``ens apps register``: a labelled app (an OAuth client), its secret shown once."""

from __future__ import annotations

import argparse
import asyncio

from ens.cli.refusal import fail
from ens.core import db
from ens.core.settings import Settings


def register_labelled_app(settings: Settings, args: argparse.Namespace) -> None:
    from ens.app import register_capabilities
    from ens.auth.clients import register_app
    from ens.core.errors import Invalid

    register_capabilities()  # the scopes an app may ask for

    async def run() -> None:
        async with db.connected(settings):
            registered = await register_app(
                settings.secret_key,
                name=args.name,
                redirect_uris=list(args.redirect_uris),
                scopes=list(args.scopes),
                kind=args.kind,
                confidential=args.confidential,
                publisher=args.publisher,
            )
        print(f"client_id: {registered.client_id}")
        if registered.client_secret:
            print(f"client_secret: {registered.client_secret}")
            print("Keep the secret now: it is stored hashed and will never be shown again.")

    try:
        asyncio.run(run())
    except Invalid as exc:
        fail("cannot register the app: " + ("; ".join(e.detail for e in exc.errors) or exc.detail))
