"""``ens keys rotate``: what ENS_SECRET_KEY seals, sealed again under it after a change of key."""

from __future__ import annotations

import asyncio

from ens.cli.refusal import fail
from ens.core import db
from ens.core.settings import Settings


def rotate(settings: Settings) -> None:
    """Re-encrypt the OTP seeds and re-wrap the spaces' document keys under the current
    ENS_SECRET_KEY; what was sealed under a key it replaced (ENS_PREVIOUS_SECRET_KEYS) is read with
    that key. Safe to run again, and beside the service: a row already under the current key, or
    changed meanwhile, is left as it is."""
    from ens.auth.otp.totp import reseal_seeds
    from ens.documents.keys import rewrap_space_keys

    async def run() -> tuple[tuple[int, int], tuple[int, int]]:
        async with db.connected(settings):
            return await reseal_seeds(settings), await rewrap_space_keys(settings.secret_key)

    (seeds, lost_seeds), (keys, lost_keys) = asyncio.run(run())
    print(f"re-encrypted {seeds} second-factor seeds under the current key")
    print(f"re-wrapped {keys} spaces' document keys under the current key")
    if lost_seeds or lost_keys:
        fail(
            f"{lost_seeds} seeds and {lost_keys} document keys open under no configured key, left as they are: "
            "set ENS_PREVIOUS_SECRET_KEYS to the key(s) ENS_SECRET_KEY replaced, newest first, and run it again"
        )
