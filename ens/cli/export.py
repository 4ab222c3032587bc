"""``ens export``: a space's whole FHIR R4 Bundle to a file, for operators."""

from __future__ import annotations

import asyncio
import errno
import uuid

from ens.cli.refusal import fail
from ens.core import db
from ens.core.settings import Settings
from ens.spaces.history import MAX_OPERATOR_TEXT, operator_text_refused

# What writing the file meets: a full disk, a quota, a file too large, a read-only file system.
_FILE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EIO}


def export_space(
    settings: Settings, space_id: uuid.UUID, path: str, *, operator: str, reason: str, embedded: bool = False
) -> None:
    """Operators: a space's whole FHIR Bundle to a file, with a progress bar on stderr; its rows in
    the space's history and its security log lines: :func:`ens.overview.export.operator_export`.
    ``embedded``: the documents' files are in the Bundle too."""
    from pathlib import Path

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ens.documents.content import ContentUnreadable
    from ens.documents.storage import BlobStore
    from ens.overview.export import operator_export, space_for_export
    from ens.vitals.fhir import count_measurements

    async def run() -> int:
        name, why = operator.strip(), reason.strip()
        for what, text in (("--operator", name), ("--reason", why)):
            if operator_text_refused(what, text) is not None:
                fail(f"{what}: required, {MAX_OPERATOR_TEXT} characters at most")
        async with db.connected(settings):
            space = await space_for_export(space_id)
            if space is None:
                fail(f"no space {space_id}")
            # Entries: the measures and as many again at most for the rest (a bar, not a promise).
            total = await count_measurements(space_id)
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=Console(stderr=True)) as progress:
                task = progress.add_task("Export FHIR", total=total or None)
                try:
                    written = await operator_export(
                        space,
                        Path(path),
                        operator=name,
                        reason=why,
                        secret=settings.secret_key,
                        public_url=settings.public_url,
                        blobs=BlobStore.from_settings(settings) if embedded else None,
                        progress=lambda entries: progress.update(task, completed=min(entries, total)),
                    )
                except FileExistsError:
                    fail(
                        f"{path}.partial exists: another export to {path} is running, or one was killed; "
                        "remove it once no export runs"
                    )
                except ContentUnreadable:
                    # A document's file gone from the store or not decrypting (the log line above
                    # names the document and why): it was a traceback naming nothing (an outside
                    # audit as the operator).
                    fail(
                        "a document's file cannot be read: missing from the store or not decrypting (the log "
                        f"names the document); nothing was written to {path}"
                    )
                except OSError as exc:
                    # The file (a full disk, a read-only mount): the database's own failures are
                    # said by the command line's handler, which reads any OSError as its own.
                    if exc.filename is None and exc.errno not in _FILE_ERRORS:
                        raise
                    fail(f"the export failed ({exc.strerror or exc}): nothing was written to {path}")
                progress.update(task, completed=total)
            return written

    written = asyncio.run(run())
    print(f"export: {written} resources written to {path}")
