"""``ens apps register``: register a labelled app from the command line."""

from __future__ import annotations

import argparse

from ens.app import all_tables
from ens.auth.clients import register_app
from ens.core import db
from ens.core.errors import Invalid
from ens.core.settings import Settings


async def register_app_command(settings: Settings, args: argparse.Namespace) -> None:
    engine = db.engine_for_url(settings.database_url)
    db.bind(engine, all_tables())
    await db.start(engine, 2)
    try:
        registered = await register_app(
            settings.secret_key,
            name=args.name,
            redirect_uris=list(args.redirect_uris),
            scopes=list(args.scopes),
            kind=args.kind,
            confidential=args.confidential,
            publisher=args.publisher,
        )
    except Invalid as exc:
        details = "; ".join(e.detail for e in exc.errors) or exc.detail
        raise SystemExit(f"cannot register the app: {details}") from exc
    finally:
        await db.stop(engine)
    print(f"client_id: {registered.client_id}")
    if registered.client_secret:
        print(f"client_secret: {registered.client_secret}")
        print("Keep the secret now: it is stored hashed and will never be shown again.")
