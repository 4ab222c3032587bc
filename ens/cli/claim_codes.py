"""``ens claim-codes issue``: an operator's claim code for a young adult whose parents made none."""

from __future__ import annotations

import argparse
import asyncio

from ens.cli.refusal import fail
from ens.core import db
from ens.core.settings import Settings


def issue_claim_code(settings: Settings, args: argparse.Namespace) -> None:
    """Operators, once they checked the young adult's identity: a claim code for their space, past
    the 18th birthday, when no parent made one in time (or it expired). Shown once."""
    from ens.core.errors import DomainError
    from ens.spaces import adulthood

    async def run() -> None:
        async with db.connected(settings):
            made = await adulthood.issue_claim_code(
                args.space, operator=args.operator, reason=args.reason, secret_key=settings.secret_key
            )
        print(f"claim_code: {made.code}")
        print(f"expires_at: {made.expires_at.isoformat()}")
        print(
            "Give it only to the person whose identity you checked: they enter it after signing in with "
            "their own identity (POST /v1/claims/{code}/accept). It is stored hashed and never shown again."
        )

    try:
        asyncio.run(run())
    except DomainError as exc:
        fail("; ".join([exc.detail, *(f"{e.pointer} {e.detail}" for e in exc.errors)]))
