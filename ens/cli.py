"""``ens serve | migrate | demo | purge | apps ... | dev token``."""

from __future__ import annotations

import argparse
import asyncio
import sys

from ens.core.settings import Settings


def _migrate(settings: Settings) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from ens.app import all_tables
    from ens.core import db

    engine = db.engine_for_url(settings.database_url)

    async def run() -> None:
        await db.start(engine, 2)
        try:
            db.bind(engine, all_tables())
            result = await run_forwards(app_name="all")
            if not result.success:
                raise SystemExit(f"migration failed: {result.message}")
        finally:
            await db.stop(engine)

    asyncio.run(run())


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
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
    from datetime import UTC, datetime

    from ens.app import all_tables
    from ens.auth.maintenance import purge_expired_login_state
    from ens.core import db
    from ens.core.idempotency import purge_expired
    from ens.vitals.service import purge_tombstones

    engine = db.engine_for_url(settings.database_url)

    async def run() -> dict[str, int]:
        db.bind(engine, all_tables())
        await db.start(engine, 2)
        try:
            removed = {
                f"tombstones older than {settings.tombstone_retention_days} days": await purge_tombstones(
                    settings.tombstone_retention_days
                ),
                "expired idempotency keys": await purge_expired(),
            }
            removed.update(await purge_expired_login_state(settings, datetime.now(UTC)))
            return removed
        finally:
            await db.stop(engine)

    for label, count in asyncio.run(run()).items():
        print(f"purged {count} {label}")


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
        _serve(settings, args.host, args.port, args.workers)
    elif args.command == "migrate":
        _migrate(settings)
    elif args.command == "purge":
        _purge(settings)
    elif args.command == "demo":
        from ens.demo import seed_demo

        asyncio.run(seed_demo(settings))
    elif args.command == "apps" and args.apps_command == "register":
        from ens.auth.cli import register_app_command

        asyncio.run(register_app_command(settings, args))
    elif args.command == "dev" and args.dev_command == "token":
        if not settings.is_dev:
            sys.exit("ens dev token is only available with ENS_ENV=dev")
        from ens.auth.devtoken import print_dev_token

        asyncio.run(print_dev_token(settings, args.identity))


if __name__ == "__main__":
    main()
