"""``ens audit``: the access history's seals, made (``seal``) and checked (``verify``)."""

from __future__ import annotations

import argparse
import asyncio

from ens.cli.refusal import fail
from ens.core import db
from ens.core.settings import Settings

# The shortest wait (seconds) between noting the newest row's id and sealing up to it: ids are
# taken when rows are inserted and committed a moment later (a request's transaction is short);
# sealed sooner, a row still being committed would be missed by its checkpoint and then look added.
MIN_SEAL_LAG = 10


def seal_or_verify(settings: Settings, args: argparse.Namespace) -> None:
    """``ens audit seal`` (every few minutes) and ``ens audit verify [SPACE]``."""
    from datetime import timedelta

    from ens.spaces import audit
    from ens.spaces.history import SEALED_COLUMNS

    columns = SEALED_COLUMNS.split(", ")
    if args.audit_command == "seal" and args.lag < MIN_SEAL_LAG:
        fail(
            f"--lag {args.lag} is too short: at least {MIN_SEAL_LAG} seconds, so that no row whose id was taken "
            "but not yet committed is sealed past (the default, 60, suits a run every few minutes)"
        )

    async def run() -> int:
        async with db.connected(settings):
            if args.audit_command == "seal":
                done = await audit.seal(lag=timedelta(seconds=args.lag))
                print(f"sealed {done.rows} rows in {done.checkpoints} checkpoints (up to row {done.upto_id})")
                return 0
            spaces = [args.space] if args.space else None
            if args.space and not await audit.space_exists(args.space):
                fail(f"no space {args.space} (never created, or erased with its history)")
            broken = checked = 0
            after = None
            while True:
                batch = spaces if spaces is not None else await audit.spaces_with_history(after=after, limit=500)
                for space_id in batch:
                    checked += 1
                    finding = await audit.verify_space(space_id, columns)
                    if finding is not None:
                        broken += 1
                        print(f"space {space_id}: BROKEN: {finding.what}")
                if spaces is not None or not batch:
                    break
                after = batch[-1]
            print(f"{checked} spaces checked, {broken} with a broken link")
            if broken and not settings.previous_keys:
                # The MAC of a row tells no key apart: a row sealed under a key ENS_SECRET_KEY replaced
                # reads as changed unless that key is configured.
                print(
                    "(rows sealed before a change of ENS_SECRET_KEY verify only with the key they were sealed "
                    "under, in ENS_PREVIOUS_SECRET_KEYS)"
                )
            return 1 if broken else 0

    code = asyncio.run(run())
    if code:
        raise SystemExit(code)
