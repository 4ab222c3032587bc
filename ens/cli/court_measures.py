"""``ens representatives add | end | restore-parent | list``: court measures, recorded and ended by
operators, and a parent's right a court gave back after an operator ended it. Each change leaves its
row in the space's access history (``--operator``: the name it shows; ``ens.spaces.history.OperatorAction``)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta

from ens.cli.refusal import fail
from ens.core import db
from ens.core.settings import Settings


def manage_representatives(settings: Settings, args: argparse.Namespace) -> None:
    """Operators record court measures (checking the decision is their job) and end them, and restore
    a parent's right a court gave back."""
    from ens.core.errors import DomainError
    from ens.core.local_time import zone_of
    from ens.spaces import representatives
    from ens.spaces.codes import space_of

    async def run() -> None:
        async with db.connected(settings):
            if args.representatives_command == "add":
                measure = representatives.CourtMeasure(
                    space_id=args.space,
                    account_id=args.account,
                    kind=args.kind,
                    court_reference=args.court_reference,
                    since=args.since,
                    until=args.until,
                    relates_to=args.relates_to,
                )
                added = await representatives.add_court_measure(measure, operator=args.operator)
                print(f"representative_id: {added}")
            elif args.representatives_command == "end":
                await representatives.end_court_measure(args.space, args.id, reason=args.reason, operator=args.operator)
                print(f"ended: {args.id}")
            elif args.representatives_command == "restore-parent":
                restored = await representatives.restore_parent(
                    args.space, args.account, court_reference=args.court_reference, operator=args.operator
                )
                print(f"representative_id: {restored}")
            else:
                zone = zone_of((await space_of(args.space)).timezone)  # dates as the decision gives them
                for item in await representatives.list_for_operator(args.space, operator=args.operator):
                    # A measure's right ends at the midnight after its last day.
                    until = f"{(item.until.astimezone(zone) - timedelta(days=1)):%Y-%m-%d}" if item.until else "-"
                    court = f"  ({item.court_reference})" if item.court_reference else ""
                    print(
                        f"{item.id}  {item.kind:<22}  {item.relates_to:<8}  {item.given_name} {item.family_name}"
                        f"  since {item.since.astimezone(zone):%Y-%m-%d}  until {until}{court}"
                    )

    try:
        asyncio.run(run())
    except DomainError as exc:
        fail("; ".join([exc.detail, *(f"{e.pointer} {e.detail}" for e in exc.errors)]))
