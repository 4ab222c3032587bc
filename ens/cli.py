"""``ens serve | migrate | demo | purge | apps register | dev token``."""

from __future__ import annotations

import argparse
import asyncio
import sys

from ens.core import clock, db
from ens.core.settings import Settings


def _migrate(settings: Settings) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    async def run() -> None:
        async with db.connected(settings):
            result = await run_forwards(app_name="all")
            if not result.success:
                raise SystemExit(f"migration failed: {result.message}")

    asyncio.run(run())


def _serve(settings: Settings, host: str, *, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        "ens.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
        proxy_headers=True,
        server_header=False,
    )


def _purge(settings: Settings) -> None:
    """Daily maintenance: vitals deletion tombstones past ENS_TOMBSTONE_RETENTION_DAYS, expired
    idempotency keys, and login state nobody can use any more."""
    from ens.auth.maintenance import purge_expired_login_state
    from ens.core.idempotency import purge_expired
    from ens.vitals.service import purge_tombstones

    async def run() -> dict[str, int]:
        async with db.connected(settings):
            removed = {
                f"tombstones older than {settings.tombstone_retention_days} days": await purge_tombstones(
                    settings.tombstone_retention_days
                ),
                "expired idempotency keys": await purge_expired(),
            }
            removed.update(await purge_expired_login_state(settings, clock.now()))
            return removed

    for label, count in asyncio.run(run()).items():
        print(f"purged {count} {label}")


def _register_app(settings: Settings, args: argparse.Namespace) -> None:
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
        details = "; ".join(e.detail for e in exc.errors) or exc.detail
        raise SystemExit(f"cannot register the app: {details}") from exc


def _dev_token(settings: Settings, identity: str) -> None:
    from ens.auth.dev.token import dev_token

    async def run() -> str:
        async with db.connected(settings):
            # A long-lived token is what curl sessions and benchmarks want; it still dies with its grant.
            return await dev_token(settings, identity, ttl=12 * 3600)

    try:
        print(asyncio.run(run()))
    except KeyError as exc:
        raise SystemExit(str(exc.args[0])) from exc


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ens", description="ENS patient health space backend")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    sub.add_parser("migrate", help="apply every migration")
    sub.add_parser("demo", help="seed a demo holder")
    sub.add_parser("purge", help="daily maintenance: old tombstones, expired idempotency keys and login state")
    apps = sub.add_parser("apps", help="labelled apps (OAuth clients)")
    apps_sub = apps.add_subparsers(dest="apps_command", required=True)
    register = apps_sub.add_parser("register", help="register a labelled app; prints its client_id (and secret once)")
    register.add_argument("--name", required=True)
    register.add_argument("--redirect-uri", dest="redirect_uris", nargs="+", action="extend", required=True)
    register.add_argument("--scope", dest="scopes", nargs="+", action="extend", required=True)
    register.add_argument("--kind", choices=["device", "professional"], default="device")
    register.add_argument("--confidential", action="store_true", help="the app keeps a client secret (a server)")
    register.add_argument("--publisher", default=None)
    dev = sub.add_parser("dev", help="development helpers")
    dev_sub = dev.add_subparsers(dest="dev_command", required=True)
    token = dev_sub.add_parser("token", help="print an access token for a test identity (dev only)")
    token.add_argument("identity")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command == "serve":
        _serve(settings, args.host, port=args.port, workers=args.workers)
    elif args.command == "migrate":
        _migrate(settings)
    elif args.command == "purge":
        _purge(settings)
    elif args.command == "demo":
        from ens.demo import seed_demo

        asyncio.run(seed_demo(settings))
    elif args.command == "apps" and args.apps_command == "register":
        _register_app(settings, args)
    elif args.command == "dev" and args.dev_command == "token":
        if not settings.is_dev:
            sys.exit("ens dev token is only available with ENS_ENV=dev")
        _dev_token(settings, args.identity)


if __name__ == "__main__":
    main()
