"""``ens serve | migrate | demo | purge | notify | audit | documents check | partition | apps register |
representatives add|end|restore-parent|list | claim-codes issue | vaccines load | export | dev token``: the parser
and the dispatch; each command's work in a sibling module."""

from __future__ import annotations

import argparse
import logging
import sys
import uuid
import warnings
from datetime import date

from ens.cli.apps import manage_apps, register_labelled_app
from ens.cli.claim_codes import issue_claim_code
from ens.cli.court_measures import manage_representatives
from ens.cli.development import demo, print_dev_token
from ens.cli.documents import check_documents
from ens.cli.export import export_space
from ens.cli.keys import rotate as rotate_keys
from ens.cli.maintenance import notify, purge, recheck_deletions
from ens.cli.refusal import database_refusal, fail
from ens.cli.schema import check_migrated, migrate, partition_table
from ens.cli.seals import MIN_SEAL_LAG, seal_or_verify
from ens.cli.serving import run_server
from ens.cli.vaccines import load_vaccine_list
from ens.core.log import KeyValueFormatter, print_withheld
from ens.core.settings import ConfigurationError, Settings
from ens.spaces.rights import COURT_KINDS

# The space's access history says an operator did it, by this name (none given: "Un opérateur du service").
_OPERATOR_HELP = "your name, as the space's access history shows it to the holder and the representatives"

# Commands that exist for development only: they seed test identities or mint tokens without a login.
_DEV_COMMANDS = {"demo": "ens demo", "dev": "ens dev token"}


def build_parser() -> argparse.ArgumentParser:
    """Every command and its options (the README documents each: tests/test_readme_tells_the_truth.py)."""
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
    notify_parser = sub.add_parser(
        "notify",
        help="daily: send the notices that are due (a child's 18th birthday in three months) and the digests "
        "of changes holders asked for",
    )
    notify_parser.add_argument(
        "--owed-only",
        action="store_true",
        help="every few minutes: only the notices of documents and emergency accesses still owed (the mail server "
        "failed, or a process stopped, when they happened); no birthday notices, no digests",
    )
    audit = sub.add_parser("audit", help="the access history's seals (tamper evidence)")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    seal = audit_sub.add_parser("seal", help="every few minutes: checkpoints over the new rows of each space")
    seal.add_argument(
        "--lag",
        type=int,
        default=60,
        help=f"seconds a noted range waits before it is sealed (at least {MIN_SEAL_LAG}: a row's id is taken when it "
        "is inserted and committed a moment later, and an id not yet committed must not be sealed past)",
    )
    verify = audit_sub.add_parser("verify", help="recompute every MAC and checkpoint; exit 1 at a broken link")
    verify.add_argument("space", nargs="?", type=uuid.UUID, default=None, help="one space (default: all)")
    documents = sub.add_parser("documents", help="operators: the document store")
    documents_sub = documents.add_subparsers(dest="documents_command", required=True)
    check = documents_sub.add_parser(
        "check",
        help="compare the store with the documents' rows: objects missing or of the wrong size, objects no "
        "document names; exit 1 when something is wrong",
    )
    check.add_argument(
        "--delete-strays",
        action="store_true",
        help="delete the objects no document names (each under the space's document lock; none written within "
        "a day, none in the ledger of uploads)",
    )
    keys = sub.add_parser("keys", help="ENS_SECRET_KEY's rotation")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_sub.add_parser(
        "rotate",
        help="after a change of ENS_SECRET_KEY (the old one in ENS_PREVIOUS_SECRET_KEYS): re-encrypt the OTP seeds "
        "and re-wrap the spaces' document keys under the new one",
    )
    vitals = sub.add_parser("vitals", help="operators: the measures")
    vitals_sub = vitals.add_subparsers(dest="vitals_command", required=True)
    vitals_sub.add_parser(
        "recheck-deletions",
        help="once after upgrading: the spaces made before vital_deletion_free_spaces that never had an "
        "app's record deleted stop looking them up at each batch (resumable; run again if it says spaces "
        "were busy)",
    )
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
    add.add_argument("--operator", default=None, help=_OPERATOR_HELP)
    end = reps_sub.add_parser("end", help="end a representation (a measure, or a parent's right by court decision)")
    end.add_argument("id", type=uuid.UUID)
    end.add_argument("--space", type=uuid.UUID, required=True, help="the space it represents (from list)")
    end.add_argument("--reason", required=True, help="the court decision or reason, kept with the row")
    end.add_argument("--operator", default=None, help=_OPERATOR_HELP)
    restore = reps_sub.add_parser(
        "restore-parent",
        help="a court gave back the authority of a parent an operator ended (`end`): they are the minor's "
        "parent again; prints the id",
    )
    restore.add_argument("--space", type=uuid.UUID, required=True, help="the child's space id")
    restore.add_argument("--account", type=uuid.UUID, required=True, help="the parent's account id")
    restore.add_argument(
        "--court-reference", required=True, help="the decision that restores it (court, date, number), kept"
    )
    restore.add_argument("--operator", default=None, help=_OPERATOR_HELP)
    listing = reps_sub.add_parser("list", help="a space's live representatives (a row in its access history)")
    listing.add_argument("--space", type=uuid.UUID, required=True)
    listing.add_argument("--operator", default=None, help=_OPERATOR_HELP)
    claims = sub.add_parser("claim-codes", help="claim codes at 18 (operators only: they check the identity)")
    claims_sub = claims.add_subparsers(dest="claim_codes_command", required=True)
    issue = claims_sub.add_parser(
        "issue", help="a claim code for a space past its 18th birthday that no one claimed; prints it once"
    )
    issue.add_argument("--space", type=uuid.UUID, required=True, help="the young adult's space id")
    issue.add_argument("--operator", required=True, help="who checked the identity (kept with the code, and logged)")
    issue.add_argument(
        "--reason", required=True, help="how the identity was checked and its reference (kept, and logged)"
    )
    apps = sub.add_parser("apps", help="labelled apps (OAuth clients)")
    apps_sub = apps.add_subparsers(dest="apps_command", required=True)
    register = apps_sub.add_parser("register", help="register a labelled app; prints its client_id (and secret once)")
    register.add_argument("--name", required=True)
    register.add_argument("--redirect-uri", dest="redirect_uris", nargs="+", action="extend", required=True)
    register.add_argument("--scope", dest="scopes", nargs="+", action="extend", required=True)
    register.add_argument("--kind", choices=["device", "professional"], default="device")
    register.add_argument("--confidential", action="store_true", help="the app keeps a client secret (a server)")
    register.add_argument("--publisher", default=None)
    register.add_argument(
        "--jwks-file",
        default=None,
        help="a JWK Set of the app's public keys: a confidential app that signs its token requests "
        "(private_key_jwt, RFC 7523) instead of holding a secret",
    )
    apps_sub.add_parser("list", help="every registered app, disabled ones too")
    disable = apps_sub.add_parser(
        "disable",
        help="an app signs no one in any more, and every connection it holds ends now (in each space's history)",
    )
    disable.add_argument("client_id")
    disable.add_argument("--reason", required=True, help="why (its label withdrawn, a leaked secret...): logged only")
    disable.add_argument("--operator", default=None, help=_OPERATOR_HELP)
    enable = apps_sub.add_parser(
        "enable", help="a disabled app may sign people in again (ended connections stay ended)"
    )
    enable.add_argument("client_id")
    enable.add_argument("--operator", default=None, help="your name, for the security log")
    new_secret = apps_sub.add_parser(
        "new-secret", help="a confidential app's new secret, printed once; the old one stops at once"
    )
    new_secret.add_argument("client_id")
    new_secret.add_argument("--operator", default=None, help="your name, for the security log")
    new_keys = apps_sub.add_parser(
        "new-keys",
        help="a confidential app's public keys (a JWK Set file) replace its secret or its keys, at once",
    )
    new_keys.add_argument("client_id")
    new_keys.add_argument("--jwks-file", required=True, help="the JWK Set: public keys only")
    new_keys.add_argument("--operator", default=None, help="your name, for the security log")
    vaccines = sub.add_parser("vaccines", help="the vaccine catalogue")
    vaccines_sub = vaccines.add_subparsers(dest="vaccines_command", required=True)
    load = vaccines_sub.add_parser("load", help="load a newer vaccine list (the shape of vaccines-fr.json)")
    load.add_argument("file")
    export = sub.add_parser("export", help="operators: write a space's whole FHIR R4 Bundle to a file (with progress)")
    export.add_argument("space_id", type=uuid.UUID)
    export.add_argument("file")
    export.add_argument("--operator", required=True, help="who runs it: the name the space's history shows")
    export.add_argument(
        "--reason", required=True, help="the request it answers and its reference (logged, not in the history)"
    )
    export.add_argument(
        "--documents",
        choices=("linked", "embedded"),
        default="linked",
        help="linked: each document's file by its URL (the default); embedded: the files in the Bundle too",
    )
    dev = sub.add_parser("dev", help="development helpers")
    dev_sub = dev.add_subparsers(dest="dev_command", required=True)
    token = dev_sub.add_parser("token", help="print an access token for a test identity (dev only)")
    token.add_argument("identity")
    return parser


def _log_security_lines() -> None:
    """The operators' security log (``ens.security``: who ran a command on a space, and why) on
    stderr as the server writes it, key=value fields included: Python's last-resort handler gave
    the bare message, without the operator, the space or the reason. The other ``ens`` loggers'
    warnings and errors too, their tracebacks without messages (``ens.core.log``)."""
    handler = logging.StreamHandler()
    handler.setFormatter(KeyValueFormatter())
    for name, level in (("ens.security", logging.INFO), ("ens", logging.WARNING)):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False


def main(argv: list[str] | None = None) -> None:
    # An error that stops a command (cron's ens purge, to the journal) is printed without its
    # message, as the server logs one: asyncpg's would quote PostgreSQL's failing row.
    sys.excepthook = print_withheld
    args = build_parser().parse_args(argv)
    if args.command in _DEV_COMMANDS and Settings.env_from_env() != "dev":
        example = f"ENS_ENV=dev .venv/bin/{_DEV_COMMANDS[args.command]}" + (" camille" if args.command == "dev" else "")
        fail(f"{_DEV_COMMANDS[args.command]} is for development only: set ENS_ENV=dev (for example: {example})")
    try:
        settings = Settings.from_env()
        if args.command == "serve" and settings.oidc_encryption_key:
            from ens.auth.fcplus import load_encryption_key

            # Read here first: refused while uvicorn builds the app, it was a traceback and status 1.
            load_encryption_key(settings.oidc_encryption_key)
        if args.command == "serve":
            from ens.documents.storage import BlobStore

            # Here too: refused while uvicorn builds the app, it was a traceback and status 1.
            BlobStore.from_settings(settings).check_writable()
    except ConfigurationError as exc:
        fail(f"configuration error: {exc}")
    # piccolo warns (in colour, on stderr) when it cannot reach the database; the line below says it.
    warnings.filterwarnings("ignore", message=".*Unable to (connect to database|fetch server version)")
    if args.command == "serve":
        check_migrated(settings)
        run_server(
            settings,
            args.host,
            port=args.port,
            workers=args.workers,
            certfile=args.ssl_certfile,
            keyfile=args.ssl_keyfile,
        )
        return
    _log_security_lines()
    try:
        _run(args, settings)
    except ConfigurationError as exc:
        # Met on the way (the document folder, made when a command first needs it).
        fail(f"configuration error: {exc}")
    except (TimeoutError, OSError) as exc:
        # The database named by the configuration does not answer (refused, unknown host, timeout).
        fail(f"cannot reach the database named by ENS_DATABASE_URL ({type(exc).__name__}: {exc})")
    except Exception as exc:
        if (refused := database_refusal(exc)) is not None:
            fail(refused)
        if not _is_unmigrated(exc):
            raise
        fail("the database named by ENS_DATABASE_URL has no tables yet: run `ens migrate` first (`make run` does)")


def _is_unmigrated(exc: BaseException) -> bool:
    """SQLite's "no such table", PostgreSQL's undefined_table (42P01)."""
    import sqlite3

    if isinstance(exc, sqlite3.OperationalError) and "no such table" in str(exc):
        return True
    return getattr(exc, "sqlstate", None) == "42P01"


def _run(args: argparse.Namespace, settings: Settings) -> None:
    """The commands that work on the database."""
    from ens.core import keyring
    from ens.spaces import audit

    # What was made under the keys ENS_SECRET_KEY replaced is read too (ENS_PREVIOUS_SECRET_KEYS).
    keyring.configure(settings.secret_key, settings.previous_keys)
    audit.configure(settings.secret_key)  # rows a command writes to the access history are sealed too
    if args.command == "migrate":
        migrate(settings)
    elif args.command == "purge":
        purge(settings)
    elif args.command == "notify":
        notify(settings, owed_only=args.owed_only)
    elif args.command == "representatives":
        manage_representatives(settings, args)
    elif args.command == "claim-codes":
        issue_claim_code(settings, args)
    elif args.command == "audit":
        seal_or_verify(settings, args)
    elif args.command == "documents" and args.documents_command == "check":
        check_documents(settings, delete_strays=args.delete_strays)
    elif args.command == "keys" and args.keys_command == "rotate":
        rotate_keys(settings)
    elif args.command == "partition":
        partition_table(settings, args.table, args.partitions)
    elif args.command == "vitals" and args.vitals_command == "recheck-deletions":
        recheck_deletions(settings)
    elif args.command == "demo":
        demo(settings)
    elif args.command == "apps" and args.apps_command == "register":
        register_labelled_app(settings, args)
    elif args.command == "apps":
        manage_apps(settings, args)
    elif args.command == "vaccines" and args.vaccines_command == "load":
        load_vaccine_list(settings, args.file)
    elif args.command == "export":
        export_space(
            settings,
            args.space_id,
            args.file,
            operator=args.operator,
            reason=args.reason,
            embedded=args.documents == "embedded",
        )
    elif args.command == "dev" and args.dev_command == "token":
        print_dev_token(settings, args.identity)
