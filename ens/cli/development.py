"""Commands for development only (``ens demo``, ``ens dev token``): test identities, tokens without a login."""

from __future__ import annotations

import asyncio

from ens.cli.refusal import fail
from ens.core import db
from ens.core.settings import Settings


def demo(settings: Settings) -> None:
    from ens.demo import seed_demo

    asyncio.run(seed_demo(settings))


def print_dev_token(settings: Settings, identity: str) -> None:
    from ens.auth.dev.token import dev_token

    async def run() -> str:
        async with db.connected(settings):
            # A long-lived token is what curl sessions and benchmarks want; it still dies with its grant.
            return await dev_token(settings, identity, ttl=12 * 3600)

    try:
        print(asyncio.run(run()))
    except KeyError as exc:
        fail(str(exc.args[0]))
