"""``ens documents check [--delete-strays]``: the document store and the rows compared (operators)."""

from __future__ import annotations

import asyncio

from ens.cli.refusal import fail
from ens.core import db
from ens.core.settings import Settings


def check_documents(settings: Settings, *, delete_strays: bool) -> None:
    """One line a problem (a space's id, a document's id, an object's path: nothing of what a
    document says), then the counts; exit status 1 when something is still wrong (a document
    without its whole object, a stray not deleted, an object where the service puts none), 0 when
    all is well (strays deleted included), 2 when the store cannot be used."""
    from ens.documents.storage import BlobStore, store_failure
    from ens.documents.store_check import (
        MissingObject,
        OutOfOrder,
        StrayObject,
        Tally,
        UnknownObject,
        WrongSize,
        check_store,
    )

    tally = Tally()

    async def run() -> None:
        async with db.connected(settings):
            blobs = BlobStore.from_settings(settings)
            unusable = await blobs.unusable()
            if unusable is not None:
                fail(f"the document store ({blobs.description}) cannot be used: {unusable}")
            async for finding in check_store(blobs, tally=tally, delete_strays=delete_strays):
                if isinstance(finding, MissingObject):
                    print(f"space {finding.space_id} document {finding.document_id}: object missing ({finding.path})")
                elif isinstance(finding, WrongSize):
                    print(
                        f"space {finding.space_id} document {finding.document_id}: object of {finding.size} bytes, "
                        f"{finding.expected} expected ({finding.path})"
                    )
                elif isinstance(finding, StrayObject):
                    done = {None: "", True: ", deleted", False: ", kept: a document or an upload holds it now"}
                    print(
                        f"space {finding.space_id}: stray object {finding.path} ({finding.size} bytes)"
                        f"{done[finding.deleted]}"
                    )
                elif isinstance(finding, UnknownObject):
                    print(f"unknown object {finding.path}: not a path this service writes (left as it is)")

    try:
        asyncio.run(run())
    except OutOfOrder as exc:
        fail(str(exc))
    except OSError as exc:
        if exc.filename is None:
            raise  # the database's (ens.cli.main says so)
        # A folder store's directory that cannot be read (its owner, a disk): names the path only.
        fail(f"the document store's folder cannot be read ({exc.strerror}: {exc.filename}); nothing more was compared")
    except Exception as exc:
        failure = store_failure(exc)
        if failure is None:
            raise
        fail(f"the document store failed during the check ({failure}); nothing more was compared")
    deleted = f" ({tally.deleted} deleted, {tally.kept} kept: held by then)" if delete_strays else ""
    print(
        f"checked {tally.documents} documents and {tally.objects} objects: {tally.missing} documents without "
        f"their object, {tally.wrong_size} with an object of the wrong size, {tally.strays} stray objects{deleted}, "
        f"{tally.unknown} unknown objects; left alone: {tally.young} objects written within a day, "
        f"{tally.in_ledger} in the ledger of uploads and removals (ens purge settles them), {tally.erasing} "
        "documents of spaces being erased"
    )
    if tally.problems:
        raise SystemExit(1)
