"""The types counted in whole units (heart rate, blood pressure, steps, pain) answered their values
as JSON floats, ``"value": 72.0``, which a phone app's decoder refuses for an integer field (Swift's
``Int``, Kotlin's). Their stored JSON (``body``) is written again from the row's columns, where it
is not what they make today; no index, no column, and no change to the values themselves."""

from ens.core.db import Index, Row, data_migration, fetch, in_key_order

ID = "2026-12-22T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "whole-number measures: their JSON gives 72, not 72.0"

INDEXES: list[Index] = []


async def rewrite_whole_number_bodies() -> int:
    """Rewrite the body of each measure of a whole-number type that its columns now make otherwise;
    how many were rewritten. A batch per transaction, by key; a body changed meanwhile (a
    correction, written by today's code) is left as it is."""
    from ens.vitals.catalogue import VITAL_TYPES
    from ens.vitals.representation import body_of_row

    async def rewrite(rows: list[Row]) -> int:
        rewritten = 0
        for row in rows:
            body = body_of_row(row)
            if body != row["body"]:
                changed = await fetch(
                    "UPDATE vital_measurements SET body = {} WHERE space_id = {} AND id = {} AND body = {} "
                    "RETURNING id",
                    body,
                    row["space_id"],
                    row["id"],
                    row["body"],
                )
                rewritten += len(changed)
        return rewritten

    whole = [vital.code for vital in VITAL_TYPES if vital.precision == 0 and not vital.derived]
    query = f"SELECT * FROM vital_measurements WHERE type IN ({', '.join('{}' for _ in whole)})"
    return await in_key_order(query, *whole, handle=rewrite)


forwards = data_migration(ID, "vitals", description=DESCRIPTION, run=rewrite_whole_number_bodies)
