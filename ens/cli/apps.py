"""``ens apps register | list | disable | enable | new-secret | new-keys``: the registered apps (OAuth clients)."""

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
                jwks=_key_set_file(args.jwks_file) if args.jwks_file else None,
            )
        print(f"client_id: {registered.client_id}")
        if args.jwks_file:
            print("It authenticates with a JWT signed by one of its keys (private_key_jwt): no secret.")
        if registered.client_secret:
            print(f"client_secret: {registered.client_secret}")
            print("Keep the secret now: it is stored hashed and will never be shown again.")

    try:
        asyncio.run(run())
    except Invalid as exc:
        fail("cannot register the app: " + ("; ".join(e.detail for e in exc.errors) or exc.detail))


def _key_set_file(path: str) -> str:
    """The JWK Set file's text (its public keys), or the command ends in one line saying why."""
    try:
        with open(path, encoding="utf-8") as file:
            return file.read(1_000_000)
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read the key set {path}: {exc}")


def manage_apps(settings: Settings, args: argparse.Namespace) -> None:
    """``list``, ``disable``, ``enable``, ``new-secret``, ``new-keys`` (``ens.auth.client_admin``)."""
    from ens.auth import client_admin
    from ens.core.errors import DomainError

    async def run() -> None:
        async with db.connected(settings):
            if args.apps_command == "list":
                for client in await client_admin.list_clients():
                    state = f"disabled {client.disabled_at:%Y-%m-%d %H:%M}Z" if client.disabled_at else "enabled"
                    secret = "signs (keys)" if client.signs else "confidential" if client.confidential else "public"
                    print(
                        f"{client.client_id}  {client.kind:<12}  {client.label_status:<10}  {secret:<12}  "
                        f"{state:<27}  {client.name}"
                    )
            elif args.apps_command == "disable":
                done = await client_admin.disable_client(args.client_id, reason=args.reason, operator=args.operator)
                print(f"{'disabled' if done.newly else 'already disabled'}: {args.client_id} ({done.name})")
                print(f"connections ended: {done.connections_ended}")
            elif args.apps_command == "enable":
                name, newly = await client_admin.enable_client(args.client_id, operator=args.operator)
                if newly:
                    print(f"enabled: {args.client_id} ({name}); its ended connections stay ended")
                else:
                    print(f"already enabled: {args.client_id} ({name})")
            elif args.apps_command == "new-keys":
                count = await client_admin.new_client_keys(
                    args.client_id, _key_set_file(args.jwks_file), operator=args.operator
                )
                print(f"keys registered: {count}; its secret or former keys no longer work.")
            else:
                secret = await client_admin.new_client_secret(
                    settings.secret_key, args.client_id, operator=args.operator
                )
                print(f"client_secret: {secret}")
                print("Keep the secret now: it is stored hashed and will never be shown again.")
                print("The old one no longer works.")

    try:
        asyncio.run(run())
    except DomainError as exc:
        fail("; ".join([exc.detail, *(f"{e.pointer} {e.detail}" for e in exc.errors)]))
