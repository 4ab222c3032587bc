"""``ens export``: a space's whole FHIR R4 Bundle to a file, for operators."""

from __future__ import annotations

import asyncio
import uuid

from ens.cli.refusal import fail
from ens.core import db
from ens.core.settings import Settings


def export_space(settings: Settings, space_id: uuid.UUID, path: str) -> None:
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
                fail(f"no space {space_id}")
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
