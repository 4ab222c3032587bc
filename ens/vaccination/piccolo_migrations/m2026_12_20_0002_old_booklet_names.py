"""Booklet entries typed by the name of a withdrawn brand get its diseases.

An outside audit: names common in old French booklets ("GenHevac B", "Rudivax", "Rouvax",
"Trimovax", "ROR Vax", "Imovax Oreillons", "Boostrix") were no name ENS knew: stored with no
disease, they filled no dose. ``vaccine-names-fr.json`` now holds them; the entries stored with
none are given the diseases their name now says, once, as the migration before did for the
catalogue's brands (the same walk: an entry given its diseases by its writer, or whose name still
names none, is left as it is)."""

from __future__ import annotations

from ens.core.db import Index, data_migration
from ens.vaccination.piccolo_migrations.m2026_12_19_0002_brands_as_booklets_write_them import (
    name_the_brands_typed_before,
)

ID = "2026-12-20T00:02:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "diseases of the entries typed by an old booklet's brand"

INDEXES: list[Index] = []

forwards = data_migration(ID, "vaccination", description=DESCRIPTION, run=name_the_brands_typed_before)
