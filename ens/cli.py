"""``ens serve | migrate | demo | purge | notify | apps register | representatives add|end|list | vaccines load |
dev token``."""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
import warnings
from datetime import date, timedelta
from typing import NoReturn

from ens.core import clock, db
from ens.core.settings import ConfigurationError, Settings
from ens.spaces.rights import COURT_KINDS


def _migrate(settings: Settings) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    async def run() -> None:
        async with db.connected(settings):
            result = await run_forwards(app_name="all")
            if not result.success:
                _fail(f"migration failed: {result.message}")

    asyncio.run(run())


def _serve(
    settings: Settings, host: str, *, port: int, workers: int, certfile: str | None, keyfile: str | None
) -> None:
    import uvicorn

    if bool(certfile) != bool(keyfile):
        _fail("--ssl-certfile and --ssl-keyfile go together (TLS ended by ens serve itself)")
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
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )


def _purge(settings: Settings) -> None:
    """Daily maintenance: vitals deletion tombstones past ENS_TOMBSTONE_RETENTION_DAYS, expired
    idempotency keys, login state nobody can use any more, and document objects a dead process left."""
    from ens.auth.maintenance import purge_expired_login_state
    from ens.core.idempotency import purge_expired
    from ens.core.limits import purge_old_windows
    from ens.documents.pending import settle_abandoned
    from ens.documents.storage import BlobStore
    from ens.vitals.service import purge_tombstones

    async def run() -> dict[str, int]:
        async with db.connected(settings):
            removed = {
                f"tombstones older than {settings.tombstone_retention_days} days": await purge_tombstones(
                    settings.tombstone_retention_days
                ),
                "expired idempotency keys": await purge_expired(),
                "document objects left by an interrupted upload or removal": await settle_abandoned(
                    BlobStore.from_settings(settings)
                ),
            }
            removed.update(await purge_expired_login_state(settings, clock.now()))
            removed["rate counters older than an hour"] = await purge_old_windows()
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
        _fail("cannot register the app: " + ("; ".join(e.detail for e in exc.errors) or exc.detail))


def _load_vaccines(settings: Settings, path: str) -> None:
    from pathlib import Path

    from ens.vaccination.catalogue import CatalogueFileError
    from ens.vaccination.service import load_vaccines

    async def run() -> None:
        async with db.connected(settings):
            loaded = await load_vaccines(Path(path))
        print(
            f"vaccines: {loaded.added} added, {loaded.updated} updated, {loaded.unchanged} unchanged"
            + (f", {loaded.kept} kept (not in this list; booklet entries may name them)" if loaded.kept else "")
        )

    try:
        asyncio.run(run())
    except CatalogueFileError as exc:
        _fail(f"cannot load the vaccine list: {exc}")


def _export(settings: Settings, space_id: uuid.UUID, path: str) -> None:
    """Operators: a space's whole FHIR Bundle to a file, with a progress bar on stderr."""
    from pathlib import Path

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ens.overview.export import export_to_file, space_for_export
    from ens.vitals.fhir import count_measurements

    async def run() -> int:
        async with db.connected(settings):
            space = await space_for_export(space_id)
            if space is None:
                _fail(f"no space {space_id}")
            # Entries: the measures and as many again at most for the rest (a bar, not a promise).
            total = await count_measurements(space_id)
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=Console(stderr=True)) as progress:
                task = progress.add_task("Export FHIR", total=total or None)
                written = await export_to_file(
                    space,
                    Path(path),
                    public_url=settings.public_url,
                    progress=lambda entries: progress.update(task, completed=min(entries, total)),
                )
                progress.update(task, completed=total)
            return written

    written = asyncio.run(run())
    print(f"export: {written} resources written to {path}")


def _dev_token(settings: Settings, identity: str) -> None:
    from ens.auth.dev.token import dev_token

    async def run() -> str:
        async with db.connected(settings):
            # A long-lived token is what curl sessions and benchmarks want; it still dies with its grant.
            return await dev_token(settings, identity, ttl=12 * 3600)

    try:
        print(asyncio.run(run()))
    except KeyError as exc:
        _fail(str(exc.args[0]))


def _notify(settings: Settings) -> None:
    """Daily: the notices that are due (the parents told three months before a child turns 18), and the
    digests of what representatives and apps changed, to the holders who asked for them."""
    from ens.core.mail import Mailer
    from ens.spaces.adulthood import send_adulthood_notices
    from ens.spaces.notifications import send_digests

    async def run() -> tuple[int, int]:
        async with db.connected(settings):
            return await send_adulthood_notices(Mailer(settings)), await send_digests(Mailer(settings))

    birthdays, digests = asyncio.run(run())
    print(f"sent {birthdays} notices of a coming 18th birthday, {digests} daily digests of changes")


def _representatives(settings: Settings, args: argparse.Namespace) -> None:
    """Operators record court measures (checking the decision is their job) and end them."""
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
                print(f"representative_id: {await representatives.add_court_measure(measure)}")
            elif args.representatives_command == "end":
                await representatives.end_court_measure(args.space, args.id, reason=args.reason)
                print(f"ended: {args.id}")
            else:
                zone = zone_of((await space_of(args.space)).timezone)  # dates as the decision gives them
                for item in await representatives.list_representatives(args.space):
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
        _fail("; ".join([exc.detail, *(f"{e.pointer} {e.detail}" for e in exc.errors)]))


def _partition(settings: Settings, table: str, partitions: int) -> None:
    """Operators: a table of health data becomes hash-partitioned by space_id (PostgreSQL)."""
    from ens.core.partition import CannotPartition, partition_by_space

    if not settings.database_url.startswith(("postgres://", "postgresql://")):
        _fail("partitioning is PostgreSQL's: ENS_DATABASE_URL names an SQLite file")

    async def run() -> int:
        async with db.connected(settings):
            return await partition_by_space(table, partitions)

    try:
        moved = asyncio.run(run())
    except CannotPartition as exc:
        _fail(f"cannot partition {table}: {exc}")
    print(f"{table}: {partitions} partitions by hash of space_id, {moved} rows moved")


def _audit(settings: Settings, args: argparse.Namespace) -> None:
    """``ens audit seal`` (every few minutes) and ``ens audit verify [SPACE]``."""
    from datetime import timedelta

    from ens.spaces import audit
    from ens.spaces.history import SEALED_COLUMNS

    columns = SEALED_COLUMNS.split(", ")

    async def run() -> int:
        async with db.connected(settings):
            if args.audit_command == "seal":
                done = await audit.seal(lag=timedelta(seconds=args.lag))
                print(f"sealed {done.rows} rows in {done.checkpoints} checkpoints (up to row {done.upto_id})")
                return 0
            spaces = [args.space] if args.space else None
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
            return 1 if broken else 0

    code = asyncio.run(run())
    if code:
        raise SystemExit(code)


# Commands that exist for development only: they seed test identities or mint tokens without a login.
_DEV_COMMANDS = {"demo": "ens demo", "dev": "ens dev token"}


def _fail(message: str) -> NoReturn:
    """One clear line on stderr and exit status 2: what a person at a shell can act on."""
    print(f"ens: {message}", file=sys.stderr)
    raise SystemExit(2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ens", description="ENS patient health space backend")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--ssl-certfile", default=None, help="serve HTTPS itself with this certificate (PEM)")
    serve.add_argument("--ssl-keyfile", default=None, help="the certificate's private key (PEM)")
    sub.add_parser("migrate", help="apply every migration")
    sub.add_parser("demo", help="seed a demo holder")
    sub.add_parser("purge", help="daily maintenance: old tombstones, expired idempotency keys and login state")
    sub.add_parser(
        "notify",
        help="daily: send the notices that are due (a child's 18th birthday in three months) and the digests "
        "of changes holders asked for",
    )
    audit = sub.add_parser("audit", help="the access history's seals (tamper evidence)")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    seal = audit_sub.add_parser("seal", help="every few minutes: checkpoints over the new rows of each space")
    seal.add_argument("--lag", type=int, default=60, help="seconds a noted range waits before it is sealed")
    verify = audit_sub.add_parser("verify", help="recompute every MAC and checkpoint; exit 1 at a broken link")
    verify.add_argument("space", nargs="?", type=uuid.UUID, default=None, help="one space (default: all)")
    part = sub.add_parser("partition", help="operators: hash-partition a health table by space_id (PostgreSQL)")
    part.add_argument("table")
    part.add_argument("--partitions", type=int, default=32)
    reps = sub.add_parser("representatives", help="court measures (operators only: they check the decision)")
    reps_sub = reps.add_subparsers(dest="representatives_command", required=True)
    add = reps_sub.add_parser("add", help="record a tutelle, curatelle or habilitation familiale; prints its id")
    add.add_argument("--space", type=uuid.UUID, required=True, help="the protected adult's space id")
    add.add_argument("--account", type=uuid.UUID, required=True, help="the representative's account id")
    add.add_argument("--kind", choices=list(COURT_KINDS), required=True)
    add.add_argument("--court-reference", required=True, help="the court decision (court, date, number)")
    add.add_argument("--since", type=date.fromisoformat, required=True, help="YYYY-MM-DD, in the space's time zone")
    add.add_argument("--until", type=date.fromisoformat, default=None, help="last day (included); none: open-ended")
    add.add_argument("--relates-to", choices=["person", "property"], default="person")
    end = reps_sub.add_parser("end", help="end a representation (a measure, or a parent's right by court decision)")
    end.add_argument("id", type=uuid.UUID)
    end.add_argument("--space", type=uuid.UUID, required=True, help="the space it represents (from list)")
    end.add_argument("--reason", required=True, help="the court decision or reason, kept with the row")
    listing = reps_sub.add_parser("list", help="a space's live representatives")
    listing.add_argument("--space", type=uuid.UUID, required=True)
    apps = sub.add_parser("apps", help="labelled apps (OAuth clients)")
    apps_sub = apps.add_subparsers(dest="apps_command", required=True)
    register = apps_sub.add_parser("register", help="register a labelled app; prints its client_id (and secret once)")
    register.add_argument("--name", required=True)
    register.add_argument("--redirect-uri", dest="redirect_uris", nargs="+", action="extend", required=True)
    register.add_argument("--scope", dest="scopes", nargs="+", action="extend", required=True)
    register.add_argument("--kind", choices=["device", "professional"], default="device")
    register.add_argument("--confidential", action="store_true", help="the app keeps a client secret (a server)")
    register.add_argument("--publisher", default=None)
    vaccines = sub.add_parser("vaccines", help="the vaccine catalogue")
    vaccines_sub = vaccines.add_subparsers(dest="vaccines_command", required=True)
    load = vaccines_sub.add_parser("load", help="load a newer vaccine list (the shape of vaccines-fr.json)")
    load.add_argument("file")
    export = sub.add_parser("export", help="operators: write a space's whole FHIR R4 Bundle to a file (with progress)")
    export.add_argument("space_id", type=uuid.UUID)
    export.add_argument("file")
    dev = sub.add_parser("dev", help="development helpers")
    dev_sub = dev.add_subparsers(dest="dev_command", required=True)
    token = dev_sub.add_parser("token", help="print an access token for a test identity (dev only)")
    token.add_argument("identity")
    args = parser.parse_args(argv)
    if args.command in _DEV_COMMANDS and Settings.env_from_env() != "dev":
        example = f"ENS_ENV=dev .venv/bin/{_DEV_COMMANDS[args.command]}" + (" camille" if args.command == "dev" else "")
        _fail(f"{_DEV_COMMANDS[args.command]} is for development only: set ENS_ENV=dev (for example: {example})")
    try:
        settings = Settings.from_env()
    except ConfigurationError as exc:
        _fail(f"configuration error: {exc}")
    if args.command == "serve":
        _serve(
            settings,
            args.host,
            port=args.port,
            workers=args.workers,
            certfile=args.ssl_certfile,
            keyfile=args.ssl_keyfile,
        )
        return
    # piccolo warns (in colour, on stderr) when it cannot reach the database; the line below says it.
    warnings.filterwarnings("ignore", message=".*Unable to connect to database", module="piccolo")
    try:
        _run(args, settings)
    except (TimeoutError, OSError) as exc:
        # The database named by the configuration does not answer (refused, unknown host, timeout).
        _fail(f"cannot reach the database named by ENS_DATABASE_URL ({type(exc).__name__}: {exc})")
    except Exception as exc:
        if not _is_unmigrated(exc):
            raise
        _fail("the database named by ENS_DATABASE_URL has no tables yet: run `ens migrate` first (`make run` does)")


def _is_unmigrated(exc: BaseException) -> bool:
    """SQLite's "no such table", PostgreSQL's undefined_table (42P01)."""
    import sqlite3

    if isinstance(exc, sqlite3.OperationalError) and "no such table" in str(exc):
        return True
    return getattr(exc, "sqlstate", None) == "42P01"


def _run(args: argparse.Namespace, settings: Settings) -> None:
    """The commands that work on the database."""
    from ens.spaces import audit

    audit.configure(settings.secret_key)  # rows a command writes to the access history are sealed too
    if args.command == "migrate":
        _migrate(settings)
    elif args.command == "purge":
        _purge(settings)
    elif args.command == "notify":
        _notify(settings)
    elif args.command == "representatives":
        _representatives(settings, args)
    elif args.command == "audit":
        _audit(settings, args)
    elif args.command == "partition":
        _partition(settings, args.table, args.partitions)
    elif args.command == "demo":
        from ens.demo import seed_demo

        asyncio.run(seed_demo(settings))
    elif args.command == "apps" and args.apps_command == "register":
        _register_app(settings, args)
    elif args.command == "vaccines" and args.vaccines_command == "load":
        _load_vaccines(settings, args.file)
    elif args.command == "export":
        _export(settings, args.space_id, args.file)
    elif args.command == "dev" and args.dev_command == "token":
        _dev_token(settings, args.identity)


if __name__ == "__main__":
    main()
