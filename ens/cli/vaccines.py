"""``ens vaccines load``: a newer vaccine list into the catalogue."""

from __future__ import annotations

import asyncio

from ens.cli.refusal import fail
from ens.core import db
from ens.core.settings import Settings


def load_vaccine_list(settings: Settings, path: str) -> None:
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
        fail(f"cannot load the vaccine list: {exc}")
