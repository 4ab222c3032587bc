"""Booklet entries typed by a brand's usual name get that brand's diseases.

An outside audit: a vaccine typed as a booklet writes it ("M-M-RVAXPRO", "Rotarix", "Engerix B10",
"Prevenar", "Comirnaty") was no brand of the catalogue, which names each presentation ("M-M-RVAXPRO
(prefilled syringe)", "ROTARIX (tube)", "ENGERIX B 10"): stored with no disease, it filled no dose,
and a child's certificate printed a mandatory vaccination given twice as still to do. The names are
now read as booklets write them (``ens.vaccination.catalogue.diseases_of_brand``); the entries
stored with none are given the diseases their name now says, once. An entry given its diseases by
its writer, or with a name that still names none, is left as it is."""

from __future__ import annotations

from typing import Any

from ens.core.db import Index, data_migration, fetch, write_transaction

ID = "2026-12-19T00:02:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "diseases of the entries typed by a brand's usual name"

INDEXES: list[Index] = []

BATCH = 5000


async def name_the_brands_typed_before() -> int:
    """Give the entries typed by name and stored with no disease the diseases their name now
    says; how many were given some. A batch per transaction, by key."""
    from ens.vaccination.booklet.checks import diseases_of_name

    named = 0
    after: tuple[Any, ...] = ()
    while True:
        async with write_transaction():
            rows = await fetch(
                "SELECT space_id, id, vaccine_name FROM vaccinations WHERE vaccine_id IS NULL AND diseases = ''"
                + (" AND (space_id, id) > ({}, {})" if after else "")
                + " ORDER BY space_id, id LIMIT {}",
                *after,
                BATCH,
            )
            for row in rows:
                diseases = await diseases_of_name(str(row["vaccine_name"]))
                if diseases:
                    await fetch(
                        "UPDATE vaccinations SET diseases = {} WHERE space_id = {} AND id = {}",
                        " ".join(diseases),
                        row["space_id"],
                        row["id"],
                    )
                    named += 1
        if len(rows) < BATCH:
            return named
        after = (rows[-1]["space_id"], rows[-1]["id"])


forwards = data_migration(ID, "vaccination", description=DESCRIPTION, run=name_the_brands_typed_before)
