"""``ens export``: a space's whole FHIR R4 Bundle to a file, for operators."""

from __future__ import annotations

import asyncio
import logging
import uuid

from ens.cli.refusal import fail
from ens.core import db
from ens.core.settings import Settings
from ens.spaces.history import MAX_OPERATOR_TEXT, OperatorAction, operator_text_refused

security_log = logging.getLogger("ens.security")


def export_space(settings: Settings, space_id: uuid.UUID, path: str, *, operator: str, reason: str) -> None:
    """Operators: a space's whole FHIR Bundle to a file, with a progress bar on stderr. It reads
    all the person's health data: a row in the space's history says so (``operator``, the name it
    shows) before the first byte is written, and the security log keeps ``reason`` (a request's
    reference: never in the history, where it could say something of the person)."""
    from pathlib import Path

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ens.overview.export import export_to_file, space_for_export
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
            noted = OperatorAction("ens export", name)

            async def record() -> None:
                await noted.record(space_id, outcome=200, resource_type="export")
                security_log.warning(
                    "space exported by an operator",
                    extra={
                        "event": "operator_export",
                        "space_id": str(space_id),
                        "operator": name,
                        "reason": why,
                        "request_id": noted.request_id,
                    },
                )

            # Entries: the measures and as many again at most for the rest (a bar, not a promise).
            total = await count_measurements(space_id)
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=Console(stderr=True)) as progress:
                task = progress.add_task("Export FHIR", total=total or None)
                try:
                    written = await export_to_file(
                        space,
                        Path(path),
                        public_url=settings.public_url,
                        progress=lambda entries: progress.update(task, completed=min(entries, total)),
                        before_first_byte=record,
                    )
                except FileExistsError:
                    fail(
                        f"{path}.partial exists: another export to {path} is running, or one was killed; "
                        "remove it once no export runs"
                    )
                progress.update(task, completed=total)
            return written

    written = asyncio.run(run())
    print(f"export: {written} resources written to {path}")
