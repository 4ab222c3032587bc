"""What a document says of itself in words — its title, file name and author — was stored in clear
beside its encrypted content, and a title alone can name a diagnosis ("Sérologie VIH"). They are
now sealed under the space's data key (``documents.sealed``, ``ens.documents.encryption``): the
column is added, each stored document's words are sealed into it, a batch per transaction in key
order (piccolo's one transaction around a migration is turned off: the table stays open to the
service meanwhile), then, in one transaction holding the table, what was written in clear meanwhile
is sealed too and the clear columns are dropped.

It reads the spaces' keys, hence it needs the server's ``ENS_SECRET_KEY`` (``ens migrate`` run
with the server's environment); another key stops it at its first document, before it changes one.
Run again after a failure, it goes on where it stopped (the batches committed stay sealed), and
after the columns were dropped it has nothing left to do."""

from typing import Any

from cryptography.exceptions import InvalidTag
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from ens.core.db import (
    Index,
    PostgresOnly,
    Row,
    current,
    fetch,
    in_key_order,
    is_postgres,
    run_ddl,
    write_transaction,
)

ID = "2026-12-21T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "documents: title, file name and author sealed under the space's key (sealed)"

# An empty default for the rows stored before (PostgreSQL adds it without rewriting the table);
# SQLite cannot drop a column's default, and never uses it: every insert gives the column.
ADD = ["ALTER TABLE documents ADD COLUMN sealed {blob} NOT NULL DEFAULT ''"]
DROP = [
    "ALTER TABLE documents DROP COLUMN title",
    "ALTER TABLE documents DROP COLUMN filename",
    "ALTER TABLE documents DROP COLUMN author_name",
    PostgresOnly("ALTER TABLE documents ALTER COLUMN sealed DROP DEFAULT"),
]

INDEXES: list[Index] = []


class SecretKeyMismatch(RuntimeError):
    """The secret given does not open the spaces' keys."""


async def seal_stored_words(secret: str) -> int:
    """Seal the words of every document stored in clear; how many were sealed. A document of a
    space whose key is gone (an erasure that stopped half-way: its rows can never be read again)
    is left as it is, for the erasure to finish."""
    from ens.documents.keys import space_key
    from ens.documents.rows import Words, sealed

    async def seal(rows: list[Row]) -> int:
        done = 0
        keys: dict[Any, Any] = {}
        for row in rows:
            space_id = row["space_id"]
            if space_id not in keys:
                try:
                    keys[space_id] = await space_key(space_id, secret)
                except InvalidTag as exc:
                    raise SecretKeyMismatch(
                        "ENS_SECRET_KEY does not open the spaces' document keys: run ens migrate with the "
                        "server's ENS_SECRET_KEY"
                    ) from exc
            key = keys[space_id]
            if key is None:
                continue
            words = Words(title=row["title"], filename=row["filename"], author=row["author_name"])
            # The clear columns emptied too: PostgreSQL's DROP COLUMN leaves their bytes in each
            # row's live version until it is written again; emptied, the live rows carry none.
            await fetch(
                "UPDATE documents SET sealed = {}, title = '', filename = '', author_name = '' "
                "WHERE space_id = {} AND id = {}",
                sealed(key, row["id"], words),
                space_id,
                row["id"],
            )
            done += 1
        return done

    query = "SELECT space_id, id, title, filename, author_name FROM documents WHERE length(sealed) = 0"
    return await in_key_order(query, handle=seal, batch=1000)


async def document_columns() -> set[str]:
    """The names of the ``documents`` table's columns, as the database has them now."""
    rows = await fetch(
        "SELECT column_name AS name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = 'documents'"
        if is_postgres(current())
        else "SELECT name FROM pragma_table_info('documents')"
    )
    return {row["name"] for row in rows}


async def migrate(secret: str) -> int:
    """The column, the stored words sealed into it, the clear columns dropped; how many were sealed."""
    columns = await document_columns()
    if "sealed" not in columns:
        await run_ddl(current(), ADD)
    if "title" not in columns:
        return 0  # sealed and dropped by a run that stopped before piccolo noted it
    done = await seal_stored_words(secret)
    async with write_transaction():
        if is_postgres(current()):
            # A server of the version before may still write words in clear: none from here on
            # (the drop below takes this lock anyway; taken first, no reader can come between).
            await fetch("LOCK TABLE documents IN ACCESS EXCLUSIVE MODE")
        done += await seal_stored_words(secret)
        await run_ddl(current(), DROP)
    return done


async def forwards() -> MigrationManager:
    from ens.core.settings import Settings

    # Its own transactions: a batch each, then the drop (above).
    manager = MigrationManager(
        migration_id=ID, app_name="documents", description=DESCRIPTION, wrap_in_transaction=False
    )

    async def run(*_: Any) -> None:
        await migrate(Settings.from_env().secret_key)

    manager.add_raw(run)
    return manager
