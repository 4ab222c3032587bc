"""Booklet entries typed by a brand's usual name get that brand's diseases.

An outside audit: a vaccine typed as a booklet writes it ("M-M-RVAXPRO", "Rotarix", "Engerix B10",
"Prevenar", "Comirnaty") was no brand of the catalogue, which names each presentation ("M-M-RVAXPRO
(prefilled syringe)", "ROTARIX (tube)", "ENGERIX B 10"): stored with no disease, it filled no dose,
and a child's certificate printed a mandatory vaccination given twice as still to do. The names are
now read as booklets write them (``ens.vaccination.catalogue.diseases_of_brand``); the entries
stored with none are given the diseases their name now says, once. An entry given its diseases by
its writer, or with a name that still names none, is left as it is."""

from __future__ import annotations

from ens.core.db import Index, Row, data_migration, fetch, in_key_order

ID = "2026-12-19T00:02:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "diseases of the entries typed by a brand's usual name"

INDEXES: list[Index] = []


async def name_the_brands_typed_before() -> int:
    """Give the entries typed by name and stored with no disease the diseases their name now
    says; how many were given some. A batch per transaction, by key."""
    from ens.vaccination.booklet.checks import diseases_of_name

    async def name(rows: list[Row]) -> int:
        named = 0
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
        return named

    query = "SELECT space_id, id, vaccine_name FROM vaccinations WHERE vaccine_id IS NULL AND diseases = ''"
    return await in_key_order(query, handle=name)


forwards = data_migration(ID, "vaccination", description=DESCRIPTION, run=name_the_brands_typed_before)
